"""Concurrency over real HTTP against ``billow serve`` subprocesses, on the embedded SQLite
store and on the AWS backend (DynamoDB + S3 on a moto server): 16 clients finalizing drafts of
one entity at the same moment get the numbers 1..16 of the series, each once; two browser tabs
autosaving the same draft version get one success and one ``409 conflict``, and the stored
draft is the winner's, whole."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.hardening.support import Serve
from tests.support.moto_server import create_bucket, create_table, store_url
from tests.support.params import client_params, entity_params

pytestmark = pytest.mark.slow

CLIENTS = 16


@pytest.fixture(params=["sqlite", "dynamodb"])
def serve(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Serve]:
    url = None
    if request.param == "dynamodb":
        endpoint = request.getfixturevalue("moto_endpoint")
        url = store_url(endpoint, create_table(endpoint), create_bucket(endpoint))
    server = Serve(tmp_path / "data", tmp_path, store_url=url)
    try:
        yield server
    finally:
        server.stop()


def _together(n: int, fn: Any) -> list[Any]:
    """Run ``fn(i)`` for ``i < n`` in ``n`` threads released at the same moment."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait(timeout=60)
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _setup(serve: Serve) -> tuple[str, dict[str, str]]:
    key = serve.sign_in("owner@example.com")
    entity = serve.ok("entity.create", key, **entity_params())
    client = serve.ok("client.create", key, **client_params(vat_number=None))
    return key, {"entity_id": entity["id"], "client_id": client["id"]}


def _post(url: str, key: str, body: dict[str, Any]) -> tuple[int, Any]:
    with requests.Session() as http:  # one connection per client, like separate browsers
        res = http.post(
            f"{url}/api", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=300
        )
        return res.status_code, res.json()


def test_sixteen_clients_finalizing_at_once_get_gapless_unique_numbers(serve: Serve) -> None:
    key, ids = _setup(serve)
    lines = [{"description": "Work", "quantity": "1", "unit_price": "100.00"}]
    drafts = [serve.ok("invoice.create", key, **ids, lines=lines)["id"] for _ in range(CLIENTS)]

    results = _together(
        CLIENTS,
        lambda i: _post(serve.url, key, {"action": "invoice.finalize", "invoice_id": drafts[i]}),
    )

    assert [status for status, _ in results] == [200] * CLIENTS, results
    numbers = [body["number"] for _, body in results]
    assert all(re.fullmatch(r"INV-\d{4}-\d{4}", n) for n in numbers), numbers
    assert sorted(int(n[-4:]) for n in numbers) == list(range(1, CLIENTS + 1))
    for draft_id, number in zip(drafts, numbers, strict=True):
        stored = serve.ok("invoice.get", key, invoice_id=draft_id)
        assert (stored["status"], stored["number"]) == ("open", number)
        events = serve.ok("invoice.timeline", key, invoice_id=draft_id)["events"]
        assert [e["data"].get("number") for e in events if e["type"] == "finalized"] == [number]
    # the series goes on from there
    nxt = serve.ok("invoice.create", key, **ids, lines=lines)["id"]
    assert serve.ok("invoice.finalize", key, invoice_id=nxt)["number"].endswith(
        f"{CLIENTS + 1:04d}"
    )


def test_one_draft_finalized_by_many_clients_at_once_is_numbered_once(serve: Serve) -> None:
    key, ids = _setup(serve)
    lines = [{"description": "Work", "quantity": "1", "unit_price": "100.00"}]
    draft = serve.ok("invoice.create", key, **ids, lines=lines)["id"]
    results = _together(
        8, lambda i: _post(serve.url, key, {"action": "invoice.finalize", "invoice_id": draft})
    )
    winners = [body for status, body in results if status == 200]
    losers = [(status, body["error"]["code"]) for status, body in results if status != 200]
    assert len(winners) == 1, results
    assert set(losers) <= {(409, "invalid_state"), (409, "conflict")}, losers
    assert winners[0]["number"].endswith("-0001")
    events = serve.ok("invoice.timeline", key, invoice_id=draft)["events"]
    assert [e["type"] for e in events].count("finalized") == 1


def test_two_tabs_autosaving_the_same_version_one_conflict_no_lost_line(serve: Serve) -> None:
    key, ids = _setup(serve)
    draft = serve.ok(
        "invoice.create",
        key,
        **ids,
        lines=[{"description": "Original", "quantity": "1", "unit_price": "10.00"}],
    )
    assert draft["version"] == 1
    tabs = [
        [
            {"description": f"Tab {tab} line {n}", "quantity": str(n), "unit_price": "25.00"}
            for n in range(1, 4)
        ]
        for tab in ("A", "B")
    ]
    results = _together(
        2,
        lambda i: _post(
            serve.url,
            key,
            {"action": "invoice.update", "invoice_id": draft["id"], "version": 1, "lines": tabs[i]},
        ),
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409], results
    loser = next(body for status, body in results if status == 409)
    assert loser["error"]["code"] == "conflict"
    winner_tab = next(i for i, (status, _) in enumerate(results) if status == 200)

    stored = serve.ok("invoice.get", key, invoice_id=draft["id"])
    assert stored["version"] == 2
    assert [line["description"] for line in stored["lines"]] == [
        line["description"] for line in tabs[winner_tab]
    ]
    assert stored["subtotal"] == "150.00"  # (1 + 2 + 3) x 25.00: every line of the winner
    events = serve.ok("invoice.timeline", key, invoice_id=draft["id"])["events"]
    assert [e["type"] for e in events].count("updated") == 1
    # the losing tab reloads and saves again: both edits survive
    merged = [*stored["lines"], {"description": "Late tab", "quantity": "1", "unit_price": "1"}]
    again = serve.ok(
        "invoice.update", key, invoice_id=draft["id"], version=stored["version"], lines=merged
    )
    assert again["version"] == 3 and len(again["lines"]) == 4
