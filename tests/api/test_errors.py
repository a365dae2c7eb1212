"""The transport contract: status codes, error shape, body limits, health."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.services.registry import ACTIONS, Params, action, load_all
from tests.support.api import call, request


def test_health(api_env: Path) -> None:
    status, body, headers = request("GET", "/health")
    assert status == 200
    assert body["status"] == "ok" and body["version"].count(".") == 2
    assert headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        ('{"email": "a@b.co"}', "bad_request"),
        ('{"action": 42}', "bad_request"),
        ('{"action": "invoice.explode"}', "unknown_action"),
    ],
)
def test_bad_bodies_are_400(api_env: Path, raw: str, code: str) -> None:
    status, body, _ = request("POST", "/api", raw, {"content-type": "application/json"})
    assert status == 400
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["details"] == []


def test_body_over_one_mebibyte_is_413(api_env: Path) -> None:
    big = json.dumps({"action": "auth.login", "email": "a@b.co", "pad": "x" * (1024 * 1024)})
    status, body, _ = request("POST", "/api", big)
    assert status == 413 and body["error"]["code"] == "payload_too_large"


def test_unknown_path_is_404_in_the_error_shape(api_env: Path) -> None:
    status, body, _ = request("GET", "/nope")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_unknown_parameter_is_422_naming_it(key: str) -> None:
    status, body, _ = call("entity.get", key=key, entity_id="ent_x", expand=["all"])
    assert status == 422
    assert body["error"]["details"] == [{"field": "expand", "message": "unknown field"}]


def test_missing_parameter_is_422(key: str) -> None:
    status, body, _ = call("client.get", key=key)
    assert status == 422
    assert body["error"]["details"][0]["field"] == "client_id"


class _Boom(Params):
    pass


@pytest.fixture
def exploding_action() -> Iterator[str]:
    load_all()
    name = "test.explode"

    @action(name, _Boom, mutating=False)
    def explode(ctx, p):
        raise RuntimeError("secret internals at /srv/app.py line 12")

    try:
        yield name
    finally:
        ACTIONS.pop(name, None)


def test_unexpected_errors_are_500_without_a_stack_trace(key: str, exploding_action: str) -> None:
    status, body, _ = call(exploding_action, key=key)
    assert status == 500
    assert body["error"]["code"] == "internal_error"
    text = json.dumps(body)
    assert "Traceback" not in text and "secret internals" not in text and ".py" not in text


def test_amounts_are_strings_never_floats(key: str) -> None:
    status, body, _ = call(
        "product.create", key=key, name="Tiny", unit_price=0.1, currency="EUR", vat_rate=7.7
    )
    assert status == 200
    assert body["unit_price"] == "0.1" and body["vat_rate"] == "7.7"
