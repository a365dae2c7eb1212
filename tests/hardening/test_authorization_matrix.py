"""The authorization matrix, beyond ``tests/api/test_authorization.py`` (which tries one id of
each kind with a session key): every id of the second account — each invoice state, credit
note, API key, entity, client, product — in every id-taking position of every action, with a
session key AND an API key, is the same 404 as a missing record; nothing of the other account
changes. And every authenticated action refuses revoked API keys, logged-out and expired
sessions and made-up keys with 401, returning no data and writing nothing.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from functions.services.common import hash_secret
from functions.services.registry import load_all
from storage_adapter import open_store
from tests.api.test_authorization import FILTER_ACTIONS, ID_ACTIONS, MISSING
from tests.hardening.conftest import World
from tests.hardening.support import TEMPLATES, check_error_shape, diff, fill, ok, snapshot
from tests.support.api import call, sign_in

INVOICE_STATES = ("draft", "open", "void", "credit_note", "credited")


def _id_slots(template: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """Where a template takes ids: ``[(path, kind)]``."""
    if isinstance(template, str) and template.startswith("{") and template.endswith("}"):
        return [(path, template[1:-1])]
    if isinstance(template, dict):
        return [s for k, v in template.items() for s in _id_slots(v, (*path, k))]
    if isinstance(template, list):
        return [s for i, v in enumerate(template) for s in _id_slots(v, (*path, i))]
    return []


def _set(params: Any, path: tuple[Any, ...], value: str) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = list(params) if isinstance(params, list) else dict(params)
    copy[head] = _set(copy[head], rest, value)
    return copy


def _cases(world: World) -> list[tuple[str, dict[str, Any], str]]:
    """``(action, params, what)``: ann's valid request with one id swapped for one of bob's."""
    cases = []
    bob = world.bob.ids
    own = {**world.ann.ids, "invoice": world.ann.ids["draft"]}
    templates = dict(ID_ACTIONS)
    # ids in nested and optional positions, too
    templates["invoice.create+product"] = {
        "entity_id": "{entity}",
        "client_id": "{client}",
        "lines": [{"product_id": "{product}", "quantity": "1"}],
    }
    templates["client.verify_vat+entity"] = {"client_id": "{client}", "entity_id": "{entity}"}
    templates["invoice.update+client"] = {
        "invoice_id": "{invoice}",
        "client_id": "{client}",
        "entity_id": "{entity}",
    }
    templates["report.summary+entity"] = {"entity_id": "{entity}"}
    for label, template in templates.items():
        action = label.split("+")[0]
        if action not in load_all():
            continue
        base = fill(template, own)
        for path, kind in _id_slots(template):
            victims = [bob[s] for s in INVOICE_STATES] if kind == "invoice" else [bob[kind]]
            for victim in victims:
                cases.append((action, _set(base, path, victim), f"{label} {path} {victim}"))
    return cases


def _bobs_part(world: World, bob_account: str) -> dict[str, Any]:
    snap = snapshot(world.data_dir)
    records = {k: v for k, v in snap["records"].items() if v[0] == bob_account}
    streams = set(world.bob.ids.values())
    events = [e for e in snap["events"] if any(s in e[0] for s in streams)]
    return {"records": records, "events": events, "counters": snap["counters"], "blobs": []}


@pytest.mark.slow
def test_every_id_of_another_account_is_404_with_session_and_api_keys(world: World) -> None:
    bob_account = ok("auth.me", world.bob.session)["account_id"]
    bob_text = {json.dumps(v) for v in world.bob.ids.values()}
    before = _bobs_part(world, bob_account)
    cases = _cases(world)
    assert len(cases) >= 40
    tried = 0
    for action, params, what in cases:
        for key in (world.ann.session, world.ann.api_key):
            status, body, headers = call(action, key=key, **params)
            assert status in (404, 422), (what, status, body)
            check_error_shape(status, body, headers)
            if status == 422:  # a product of another account in a line: "no such product"
                assert action == "invoice.create" and "product" in json.dumps(body), body
            text = json.dumps(body)
            assert not any(t.strip('"') in text for t in bob_text if "prd_" not in t), (what, body)
            # same answer as for an id that exists nowhere
            swapped = json.loads(json.dumps(params).replace(_victim_in(what), MISSING[_kind(what)]))
            assert call(action, key=key, **swapped)[:2] == (status, body), what
            tried += 1
    assert tried == 2 * len(cases)
    assert diff(before, _bobs_part(world, bob_account)) == []


def _victim_in(what: str) -> str:
    return what.rsplit(" ", 1)[1]


def _kind(what: str) -> str:
    prefix = _victim_in(what).split("_")[0]
    kinds = {"inv": "invoice", "ent": "entity", "cli": "client", "prd": "product", "key": "apikey"}
    kinds["rec"] = "recurring"
    kinds["quo"] = "quote"
    kinds["wh"] = "webhook"
    return kinds[prefix]


def test_filters_with_another_accounts_ids_match_nothing(world: World) -> None:
    bob = world.bob.ids
    for key in (world.ann.session, world.ann.api_key):
        for params in ({"client_id": bob["client"]}, {"entity_id": bob["entity"]}):
            status, body, _ = call("invoice.list", key=key, **params)
            assert (status, body["total"], body["items"]) == (200, 0, []), params
        for name in sorted(FILTER_ACTIONS - {"invoice.list", "report.summary"}):
            items = call(name, key=key)[1]["items"]
            assert not {i["id"] for i in items} & set(bob.values()), name
        ids = {i["id"] for i in call("apikey.list", key=key)[1]["items"]}
        assert not ids & {bob["apikey"], world.bob.apikey_id}


AUTH_ACTIONS = sorted(n for n, s in load_all().items() if s.auth)


def _refused_everywhere(world: World, key: str | None, what: str) -> None:
    before = snapshot(world.data_dir)
    secrets = {json.dumps(v).strip('"') for v in world.ann.ids.values()}
    for name in AUTH_ACTIONS:
        params = fill(TEMPLATES[name], {**world.ann.ids, "fresh_draft": world.ann.ids["draft"]})
        status, body, headers = call(name, key=key, **params)
        assert status == 401, (what, name, status, body)
        assert check_error_shape(status, body, headers) == "unauthenticated"
        text = json.dumps(body)
        assert not any(s in text for s in secrets), (what, name, body)
    assert diff(before, snapshot(world.data_dir)) == [], what


def test_revoked_api_keys_are_401_on_every_action(world: World) -> None:
    created = ok("apikey.create", world.ann.session, name="to revoke")
    assert call("auth.me", key=created["key"])[0] == 200
    ok("apikey.revoke", world.ann.session, apikey_id=created["id"])
    _refused_everywhere(world, created["key"], "revoked api key")
    # revoking one key leaves the others working
    assert call("auth.me", key=world.ann.api_key)[0] == 200


def test_logged_out_sessions_are_401_on_every_action(world: World) -> None:
    second = sign_in("ann@example.com", world.data_dir)
    ok("auth.logout", second)
    _refused_everywhere(world, second, "logged-out session")
    assert call("auth.me", key=world.ann.session)[0] == 200  # only that session ended


def test_expired_sessions_are_401_on_every_action(world: World) -> None:
    session = sign_in("ann@example.com", world.data_dir)
    store = open_store()
    rec = store.get("credentials", hash_secret(session))
    assert rec is not None and rec.expires_at is not None and rec.expires_at > time.time()
    store.put(  # what the clock does when the session's lifetime is over
        "credentials",
        rec.key,
        rec.data,
        account_id=rec.account_id,
        expected_version=rec.version,
        expires_at=int(time.time()) - 1,
    )
    _refused_everywhere(world, session, "expired session")


def test_missing_and_made_up_keys_are_401_on_every_action(world: World) -> None:
    for key in (None, "bs_" + "A" * 43, "bk_nothing", world.ann.apikey_id, "x" * 500):
        _refused_everywhere(world, key, f"key {key!r}")
