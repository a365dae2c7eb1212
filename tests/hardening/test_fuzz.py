"""Property-based fuzzing of the action API through the real handler and a real SQLite store.

For every registered action, hypothesis sends random bodies (fields of the published schema
and stray ones, filled with wrong types, huge and odd unicode strings, NaN/±Infinity/1e999,
negative and absurdly precise numbers, nested junk) and mutations of a valid request (one
field replaced, removed or added), plus raw bodies that are not JSON objects at all. Every
answer must be either a success or the contract's error object with its status — never a 5xx
(except ``503 vies_unavailable``, the contract's answer when VIES is down) — and a refused
request must leave the store exactly as it was: records, timeline events, counters and blobs.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from functions.api.schema import action_request_schema, openapi_document
from functions.services.registry import load_all
from tests.hardening.conftest import World
from tests.hardening.support import (
    LINES,
    NO_VALID_MUTATION,
    TEMPLATES,
    check_error_shape,
    diff,
    fill,
    ok,
    snapshot,
)
from tests.support.api import request

#: ``BILLOW_FUZZ_EXAMPLES=5000 pytest tests/hardening/test_fuzz.py`` for a deeper hunt.
EXAMPLES = int(os.environ.get("BILLOW_FUZZ_EXAMPLES", "350"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

#: Written into the body verbatim: number literals that JSON parsers disagree about.
RAW_NUMBERS = ["1e999", "-1e999", "NaN", "Infinity", "-Infinity", "-0", "1e-999", "4e400"]
RAW_NUMBERS += ["123456789012345678901234567890.123456789", "0.1", "-0.005", "1E+2"]

ODD_STRINGS = [
    "",
    " ",
    "\u0000",
    "\ud800",  # a lone surrogate: valid JSON escape, not encodable as UTF-8
    "\u202e\u0041\u0301",
    "💶" * 300,
    "x" * 200_000,
    "inv_",
    "inv_01zzzzzzzzzzzzzzzzzzzzzzzz",
    "ent_" + "9" * 600,
    "../../etc/passwd",
    "a/b\\c",
    "<script>alert(1)</script>",
    "'; DROP TABLE records; --",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "-1",
    "1e999",
    "NaN",
    "-0.000000001",
    "10000000000000000000000000000",
    "EUR",
    "XXX",
    "draft",
    "#ZZZZZZ",
    "data:image/png;base64,!!!!",
    "DE000000000",
    "{SEQ:99}",
]


class Raw:
    """A JSON literal written as-is (e.g. ``1e999``, ``NaN``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text})"


def encode(value: Any) -> str:
    """JSON text of ``value``, with :class:`Raw` literals and NaN/Infinity floats kept."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(v) for v in value) + "]"
    return json.dumps(value)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(ODD_STRINGS),
    st.sampled_from(RAW_NUMBERS).map(Raw),
)


def junk(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(keys | st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )


def _field_names(name: str) -> list[str]:
    props = action_request_schema(name).get("properties", {})
    return [k for k in props if k != "action"]


def test_every_action_has_a_template() -> None:
    assert sorted(load_all()) == sorted(TEMPLATES)


ACTION_NAMES = sorted(TEMPLATES)
FIELD_KEYS = st.sampled_from(sorted({f for n in ACTION_NAMES for f in _field_names(n)}))


#: Values of the right JSON type but at the edge of what makes sense: they get past the
#: parameter models and into the services and the domain.
EDGE_NUMBERS = ["0", "-1", "-0.01", "0.001", "1e3", "1E-7", "99999999999999999999.99", "1e999"]
EDGE_NUMBERS += ["NaN", "Infinity", "-Infinity", "12,50", " 1 ", "0x10", "١٢", "1_000"]
EDGE_DATES = ["2026-02-29", "2024-02-29", "1970-01-01", "0001-01-01", "9999-12-31", "2026-13-01"]


def _edge(draw: st.DrawFn, current: Any) -> Any:
    """A value shaped like ``current`` (string, number, list of line dicts ...) but odd."""
    if isinstance(current, list) and current and isinstance(current[0], dict):
        lines = [dict(line) for line in current]
        line = draw(st.sampled_from(lines))
        field = draw(st.sampled_from(sorted(line)))
        line[field] = _edge(draw, line[field])
        if draw(st.booleans()):
            lines = lines * draw(st.integers(min_value=1, max_value=120))  # many lines
        return lines
    if isinstance(current, dict):
        return {k: _edge(draw, v) for k, v in current.items()}
    if isinstance(current, bool):
        return not current
    if isinstance(current, int):
        return draw(st.sampled_from([0, -1, 2**31, 2**63, 10**30]))
    if isinstance(current, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", current):
        return draw(st.sampled_from(EDGE_DATES))
    if isinstance(current, str) and re.fullmatch(r"-?[\d.]+", current):
        return draw(st.sampled_from(EDGE_NUMBERS) | st.sampled_from(RAW_NUMBERS).map(Raw))
    return draw(st.sampled_from(ODD_STRINGS) | st.text(min_size=1, max_size=40))


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, Any]:
    """``(action, body)``: a random or mutated request for a random action."""
    name = draw(st.sampled_from(ACTION_NAMES))
    own = _field_names(name)
    keys = st.sampled_from(own) | FIELD_KEYS if own else FIELD_KEYS
    if name in NO_VALID_MUTATION or draw(st.booleans()):
        params = draw(st.dictionaries(keys, junk(keys), min_size=1, max_size=6))
    else:
        params = dict(TEMPLATES[name])
        how = draw(st.sampled_from(["replace", "drop", "add", "nested", "edge", "edge"]))
        target = draw(st.sampled_from(sorted(params))) if params else None
        if how == "replace" and target:
            params[target] = draw(junk(keys))
        elif how == "edge" and target:
            params[target] = _edge(draw, params[target])
        elif how == "drop" and target:
            del params[target]
        elif how == "nested" and target and isinstance(params[target], list | dict):
            inner = params[target]
            inner = list(inner) if isinstance(inner, list) else dict(inner)
            if inner:
                k = draw(
                    st.sampled_from(
                        list(range(len(inner))) if isinstance(inner, list) else sorted(inner)
                    )
                )
                if isinstance(inner[k], dict) and draw(st.booleans()):
                    sub = dict(inner[k])
                    sub[draw(st.sampled_from(sorted(sub)) | st.text(max_size=8))] = draw(junk(keys))
                    inner[k] = sub
                else:
                    inner[k] = draw(junk(keys))
            params[target] = inner
        else:
            params[draw(keys | st.text(max_size=12))] = draw(junk(keys))
    return name, {"action": name, **params}


#: Collections a refused request may legitimately touch: none so far.
MAY_CHANGE_ON_FAILURE: frozenset[str] = frozenset()


def _send(raw: bytes | str, key: str | None, idem: str | None) -> tuple[int, Any, dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return request("POST", "/api", raw, headers)


def _check(
    world: World, action: str, raw: bytes | str, key: str | None, idem: str | None = None
) -> int:
    before = snapshot(world.data_dir, MAY_CHANGE_ON_FAILURE)
    status, body, headers = _send(raw, key, idem)
    event(f"{action} -> {status}")  # --hypothesis-show-statistics shows what the fuzz reached
    if status == 200:
        assert isinstance(body, dict), (action, body)
        return status
    code = check_error_shape(status, body, headers)
    if status >= 500:
        assert (status, code, action) == (503, "vies_unavailable", "client.verify_vat"), (
            action,
            str(raw)[:500],
            body,
        )
    changed = diff(before, snapshot(world.data_dir, MAY_CHANGE_ON_FAILURE))
    assert changed == [], (action, status, body, changed, str(raw)[:300])
    return status


@pytest.mark.slow
@FUZZ
@given(
    case=bodies(),
    use_api_key=st.booleans(),
    idem=st.none() | st.none() | st.text(min_size=1, max_size=300),
)
def test_random_and_mutated_bodies(
    world: World, case: tuple[str, Any], use_api_key: bool, idem: str | None
) -> None:
    name, body = case
    ids = dict(world.ann.ids)
    if "{fresh_draft}" in json.dumps(body, default=repr):
        ids["fresh_draft"] = ok(
            "invoice.create",
            world.ann.session,
            entity_id=ids["entity"],
            client_id=ids["client"],
            lines=LINES,
        )["id"]
    raw = encode(fill(body, ids))
    key = world.ann.api_key if use_api_key else world.ann.session
    _check(world, name, raw, key, idem)


#: Objects whose keys are the caller's (``{str: str}`` maps), not fields.
FREE_FORM = {"metadata"}


def object_paths(value: Any, path: str = "") -> list[str]:
    """The contract path of every JSON object in ``value`` (``""`` for the body itself, then
    ``address``, ``lines[0]`` ...), free-form maps left out."""
    paths: list[str] = []
    if isinstance(value, dict):
        paths.append(path)
        for key, item in value.items():
            if key not in FREE_FORM:
                paths += object_paths(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += object_paths(item, f"{path}[{index}]")
    return paths


def with_key(value: Any, path: str, key: str) -> Any:
    """A deep copy of ``value`` whose object at ``path`` has one more ``key``."""
    value = json.loads(json.dumps(value))
    target = value
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    target[key] = "1"
    return value


UNKNOWN_KEY_CASES = [
    (name, path) for name in ACTION_NAMES for path in object_paths(TEMPLATES[name])
]


def test_every_nested_object_is_covered() -> None:
    """The valid examples reach into every kind of nested input object."""
    paths = {path for _, path in UNKNOWN_KEY_CASES}
    assert {"address", "bank", "lines[0]", "lines[1]"} <= paths


@pytest.mark.parametrize(("name", "path"), UNKNOWN_KEY_CASES)
def test_an_unknown_field_at_any_depth_is_refused_by_name(
    world: World, name: str, path: str
) -> None:
    """Unknown fields are refused at every depth, never dropped: one more key in any object of
    a valid request is a 422 naming its full path, and nothing is written."""
    ids = dict(world.ann.ids)
    ids["fresh_draft"] = ok(
        "invoice.create",
        world.ann.session,
        entity_id=ids["entity"],
        client_id=ids["client"],
        lines=LINES,
    )["id"]
    key = "unknown_x"
    body = with_key({"action": name, **fill(TEMPLATES[name], ids)}, path, key)
    before = snapshot(world.data_dir, MAY_CHANGE_ON_FAILURE)
    status, answer, headers = _send(encode(body), world.ann.session, None)
    assert status == 422, (name, path, answer)
    check_error_shape(status, answer, headers)
    field = f"{path}.{key}" if path else key
    assert [d["field"] for d in answer["error"]["details"]] == [field], answer
    assert answer["error"]["details"][0]["message"] == "unknown field"
    assert diff(before, snapshot(world.data_dir, MAY_CHANGE_ON_FAILURE)) == []


NOT_OBJECTS = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=64),
    st.sampled_from(["", "null", "[]", '"x"', "1e999", "NaN", "[{}]", "{", '{"action"', "\x00"]),
    st.sampled_from(['{"action": "entity.get"', '{"action": null}', '{"action": ["auth.me"]}']),
    st.sampled_from([b"\xff\xfe{}", b'{"action": "auth.me", "x": "\xc3\x28"}', b"\xef\xbb\xbf{}"]),
    st.integers(min_value=10, max_value=60_000).map(
        lambda depth: '{"action": "entity.create", "name": ' + "[" * depth + "]" * depth + "}"
    ),
    st.integers(min_value=10, max_value=60_000).map(
        lambda depth: '{"action": "invoice.list", "q": ' + '{"a":' * depth + "1" + "}" * depth + "}"
    ),
    junk(st.text(max_size=5)).map(encode),
)


@settings(FUZZ, max_examples=max(120, EXAMPLES // 3))
@given(raw=NOT_OBJECTS, authenticated=st.booleans())
def test_bodies_that_are_not_json_objects(world: World, raw: Any, authenticated: bool) -> None:
    _check(world, "-", raw, world.ann.session if authenticated else None)


def test_published_schema_documents_every_action_and_the_error_shape(world: World) -> None:
    status, doc, headers = request("GET", "/api/schema.json")
    assert status == 200 and headers["content-type"] == "application/json"
    assert doc == json.loads(json.dumps(openapi_document()))
    assert doc["openapi"].startswith("3.1")
    from openapi_spec_validator import validate  # comes with moto[server]

    validate(doc)  # a valid OpenAPI 3.1 document, usable by any OpenAPI tool
    body = doc["paths"]["/api"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert sorted(body["discriminator"]["mapping"]) == sorted(load_all())
    assert len(body["oneOf"]) == len(load_all())
    import jsonschema

    # the documented request schema accepts the valid requests and refuses a misspelt field
    resolver_doc = {**doc["components"]["schemas"]["InvoiceCreateRequest"]}
    resolver_doc["components"] = doc["components"]
    validator = jsonschema.Draft202012Validator(resolver_doc)
    good = {"action": "invoice.create", **fill(TEMPLATES["invoice.create"], world.ann.ids)}
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({**good, "line": []}))  # misspelt
    assert list(validator.iter_errors({**good, "action": "invoice.get"}))
    for code in ("validation_error", "not_found", "rate_limited"):
        assert (
            code
            in doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"][
                "enum"
            ]
        )
    # each documented create schema lists the fields the contract names
    entity = doc["components"]["schemas"]["EntityCreateRequest"]["properties"]
    for field in ("name", "address", "vat_number", "bank", "invoice_number_pattern", "logo"):
        assert field in entity
