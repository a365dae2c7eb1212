"""Idempotency-Key: a retry returns the first answer and changes nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from storage_adapter import open_store
from tests.support.api import call
from tests.support.params import client_params, entity_params


def test_same_key_twice_creates_one_record(key: str) -> None:
    first = call("entity.create", key=key, idem="create-acme-1", **entity_params())
    again = call("entity.create", key=key, idem="create-acme-1", **entity_params())
    assert first[0] == again[0] == 200
    assert again[1] == first[1]
    assert call("entity.list", key=key)[1]["total"] == 1


def test_same_key_with_another_body_is_409(key: str) -> None:
    assert call("entity.create", key=key, idem="k1", **entity_params())[0] == 200
    status, body, _ = call("entity.create", key=key, idem="k1", **entity_params(name="Other"))
    assert status == 409 and body["error"]["code"] == "idempotency_mismatch"
    status, body, _ = call("client.create", key=key, idem="k1", **client_params())
    assert status == 409 and body["error"]["code"] == "idempotency_mismatch"
    assert call("entity.list", key=key)[1]["total"] == 1
    assert call("client.list", key=key)[1]["total"] == 0


def test_keys_are_per_account(key: str, other_key: str) -> None:
    a = call("entity.create", key=key, idem="shared", **entity_params())[1]
    b = call("entity.create", key=other_key, idem="shared", **entity_params())[1]
    assert a["id"] != b["id"]


def test_a_failed_request_can_be_retried_with_the_same_key(key: str) -> None:
    bad = call("entity.create", key=key, idem="retry", **entity_params(vat_number="DE1"))
    assert bad[0] == 422
    fixed = call("entity.create", key=key, idem="retry", **entity_params(vat_number="DE1"))
    assert fixed[0] == 422  # not replayed as a success, not stuck "in progress"
    assert call("entity.list", key=key)[1]["total"] == 0


def test_updates_replay_instead_of_applying_twice(key: str) -> None:
    ent = call("entity.create", key=key, **entity_params())[1]
    params = {"entity_id": ent["id"], "version": 1, "name": "Acme AG"}
    first = call("entity.update", key=key, idem="rename", **params)
    second = call("entity.update", key=key, idem="rename", **params)
    assert first[0] == second[0] == 200  # not 409 conflict: the retry is answered from the record
    assert second[1]["version"] == 2
    assert call("entity.get", key=key, entity_id=ent["id"])[1]["version"] == 2


def test_records_are_kept_at_least_24_hours(api_env: Path, key: str) -> None:
    import time

    call("entity.create", key=key, idem="ttl", **entity_params())
    page = open_store().query("idempotency", account_id=None)
    assert page.total == 1
    rec = page.items[0]
    assert rec.data["status"] == "COMPLETED"
    assert rec.expires_at is not None and rec.expires_at >= time.time() + 24 * 3600 - 60


def test_concurrent_retries_create_one_record(key: str) -> None:
    results: list[int] = []

    def go() -> None:
        results.append(call("entity.create", key=key, idem="race", **entity_params())[0])

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) <= {200, 409}
    assert 200 in results
    assert call("entity.list", key=key)[1]["total"] == 1


def test_same_key_twice_creates_one_invoice(key: str) -> None:
    ent = call("entity.create", key=key, **entity_params())[1]
    cli = call("client.create", key=key, **client_params())[1]
    params = {
        "entity_id": ent["id"],
        "client_id": cli["id"],
        "lines": [{"description": "Work", "quantity": "2", "unit_price": "50.00"}],
    }
    first = call("invoice.create", key=key, idem="inv-1", **params)
    again = call("invoice.create", key=key, idem="inv-1", **params)
    assert first[0] == again[0] == 200, first
    assert again[1]["id"] == first[1]["id"]
    assert call("invoice.list", key=key)[1]["total"] == 1


def test_persistence_layer_takes_over_a_dead_in_progress_record(api_env: Path) -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyItemAlreadyExistsError,
    )

    from functions.api.idempotency import StorePersistenceLayer, make_config

    class Ctx:
        def __init__(self, ms: int) -> None:
            self.ms = ms

        def get_remaining_time_in_millis(self) -> int:
            return self.ms

    layer = StorePersistenceLayer(open_store())
    layer.configure(make_config(), key_prefix="t")
    data = {"account_id": "acct_1", "key": "k", "body": {"action": "x"}}
    layer.save_inprogress(data, remaining_time_in_millis=60_000)
    with pytest.raises(IdempotencyItemAlreadyExistsError):  # a live attempt blocks a second
        layer.save_inprogress(data, remaining_time_in_millis=60_000)
    layer.delete_record(data, RuntimeError("x"))
    layer.save_inprogress(data, remaining_time_in_millis=-1000)  # its Lambda timed out
    layer.save_inprogress(data, remaining_time_in_millis=60_000)  # so the retry takes over
    assert layer.get_record(data).status == "INPROGRESS"
