"""The webhook actions through the API function: 422 naming the field at any depth, the secret
shown once (an Idempotency-Key replay answers it as ``null``), http/loopback only with
``BILLOW_WEBHOOKS_ALLOW_LOCAL=1``."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from storage_adapter.sqlite import SqliteStore
from tests.support.api import call, sign_in, use_tmp_store


@pytest.fixture
def api_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BILLOW_WEBHOOK_SEAL_KEY", base64.b64encode(os.urandom(32)).decode())
    return use_tmp_store(tmp_path / "data", monkeypatch)


@pytest.fixture
def key(api_env: Path) -> str:
    return sign_in("ann@example.com", api_env)


def fields(body) -> list[str]:
    return [d["field"] for d in body["error"]["details"]]


def test_loopback_is_refused_unless_allowed(key, monkeypatch):
    monkeypatch.delenv("BILLOW_WEBHOOKS_ALLOW_LOCAL", raising=False)
    for url in ("http://127.0.0.1:9/x", "https://127.0.0.1:9/x", "https://[::1]/x"):
        status, body, _ = call("webhook.create", key, url=url, events=["*"])
        assert status == 422 and fields(body) == ["url"], (url, body)
    monkeypatch.setenv("BILLOW_WEBHOOKS_ALLOW_LOCAL", "1")
    status, body, _ = call("webhook.create", key, url="http://127.0.0.1:9/x", events=["*"])
    assert status == 200, body
    status, body, _ = call("webhook.create", key, url="http://169.254.169.254/x", events=["*"])
    assert status == 422 and fields(body) == ["url"]  # metadata stays refused


def test_422_names_the_field_and_changes_nothing(key, monkeypatch):
    monkeypatch.setenv("BILLOW_WEBHOOKS_ALLOW_LOCAL", "1")
    url = "http://127.0.0.1:9/x"
    cases = [
        ({"url": url, "events": ["invoice.paid", 3]}, ["events[1]"]),
        ({"url": url, "events": []}, ["events"]),
        ({"url": url, "events": ["*", "invoice.paid"]}, ["events[0]"]),
        ({"url": url, "events": ["*"], "secret": "whsec_mine"}, ["secret"]),
        ({"events": ["*"]}, ["url"]),
    ]
    for params, expected in cases:
        status, body, _ = call("webhook.create", key, **params)
        assert status == 422 and body["error"]["code"] == "validation_error", params
        assert set(expected) <= set(fields(body)), (params, body)
    assert call("webhook.list", key)[1]["total"] == 0
    status, created, _ = call("webhook.create", key, url=url, events=["*"])
    status, body, _ = call(
        "webhook.update", key, webhook_id=created["id"], version=1, status="paused"
    )
    assert status == 422 and fields(body) == ["status"]
    status, body, _ = call("webhook.update", key, webhook_id=created["id"], version=7)
    assert status == 409 and body["error"]["code"] == "conflict"


def test_the_secret_is_shown_once_even_to_a_replayed_request(key, api_env, monkeypatch):
    monkeypatch.setenv("BILLOW_WEBHOOKS_ALLOW_LOCAL", "1")
    params = {"url": "http://127.0.0.1:9/x", "events": ["invoice.paid"]}
    status, first, _ = call("webhook.create", key, idem="hook-1", **params)
    assert status == 200 and first["secret"].startswith("whsec_")
    status, replay, _ = call("webhook.create", key, idem="hook-1", **params)
    assert status == 200 and replay["id"] == first["id"] and replay["secret"] is None
    store = SqliteStore(api_env / "billow.db")
    try:
        dump = json.dumps([r.data for c in ("webhooks", "idempotency") for r in _all(store, c)])
    finally:
        store.close()
    assert first["secret"] not in dump
    status, got, _ = call("webhook.get", key, webhook_id=first["id"])
    assert "secret" not in got and "secret_sealed" not in got


def _all(store, collection):
    return store.query(collection, account_id=None).items
