"""Crash safety: ``billow serve`` killed with SIGKILL in the middle of a burst of finalizes and
payments restarts on the same data dir with a consistent store. Every document is either still
a draft (no number, no ``finalized`` event) or finalized with its number, exactly one
``finalized`` event and a PDF — rendered on demand by ``invoice.pdf`` when the kill came
between the finalize commit and the PDF; numbers are gapless; every payment is whole; every
answer the clients got before the kill is still true."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.hardening.support import LINES, Serve, ok
from tests.support.api import sign_in
from tests.support.params import client_params, entity_params

pytestmark = pytest.mark.slow

WORKERS = 8
DRAFTS = 64
OPEN = 8


@pytest.fixture
def first(tmp_path: Path) -> Iterator[Serve]:
    server = Serve(tmp_path / "data", tmp_path)
    try:
        yield server
    finally:
        server.stop()


def _all_invoices(serve: Serve, key: str) -> list[dict[str, Any]]:
    items, page = [], 1
    while True:
        body = serve.ok("invoice.list", key, limit=100, page=page, sort_order="asc")
        items += body["items"]
        if page >= body["pages"]:
            return items
        page += 1


def _check_document(serve: Serve, key: str, inv: dict[str, Any]) -> None:
    """A finalized document has its number, one ``finalized`` event and a PDF; a draft none."""
    events = serve.ok("invoice.timeline", key, invoice_id=inv["id"])["events"]
    finalized = [e for e in events if e["type"] == "finalized"]
    if inv["status"] == "draft":
        assert inv["number"] is None and finalized == [], inv["id"]
        return
    assert inv["number"] and inv["finalized_at"], inv["id"]
    assert [e["data"]["number"] for e in finalized] == [inv["number"]]
    link = serve.ok("invoice.pdf", key, invoice_id=inv["id"])  # renders it now if missing
    pdf = requests.get(link["url"], timeout=60)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), inv["id"]
    again = serve.ok("invoice.get", key, invoice_id=inv["id"])
    assert again["pdf"] and again["pdf"]["sha256"], inv["id"]
    rendered = serve.ok("invoice.timeline", key, invoice_id=inv["id"])["events"]
    assert [e["type"] for e in rendered].count("pdf_rendered") == 1, inv["id"]


def _check_payments(serve: Serve, key: str, inv: dict[str, Any]) -> None:
    paid = sum((Decimal(p["amount"]) for p in inv["payments"]), Decimal(0))
    assert Decimal(inv["amount_paid"]) == paid, inv["id"]
    assert Decimal(inv["amount_due"]) == Decimal(inv["total"]) - paid - Decimal(
        inv["credited_amount"]
    )
    events = serve.ok("invoice.timeline", key, invoice_id=inv["id"])["events"]
    recorded = [e["data"]["payment_id"] for e in events if e["type"] == "payment_recorded"]
    assert recorded == [p["id"] for p in inv["payments"]], inv["id"]


def test_sigkill_during_a_burst_of_finalizes_and_payments(first: Serve, tmp_path: Path) -> None:
    key = first.sign_in("owner@example.com")
    ids = {
        "entity_id": first.ok("entity.create", key, **entity_params())["id"],
        "client_id": first.ok("client.create", key, **client_params(vat_number=None))["id"],
    }
    lines = [*LINES, {"description": "Big", "quantity": "1", "unit_price": "10000.00"}]
    drafts = [first.ok("invoice.create", key, **ids, lines=lines)["id"] for _ in range(DRAFTS)]
    opened = []
    for _ in range(OPEN):
        inv = first.ok("invoice.create", key, **ids, lines=lines)["id"]
        opened.append(first.ok("invoice.finalize", key, invoice_id=inv)["id"])

    acknowledged: dict[str, Any] = {}  # what a client was told before the crash
    payments_ok: list[tuple[str, str]] = []
    enough = threading.Event()
    lock = threading.Lock()

    def worker(w: int) -> None:
        http = requests.Session()
        headers = {"Authorization": f"Bearer {key}"}
        mine = drafts[w::WORKERS]
        for i, draft in enumerate(mine):
            bodies = [
                {"action": "invoice.finalize", "invoice_id": draft},
                {
                    "action": "invoice.record_payment",
                    "invoice_id": opened[(w + i) % OPEN],
                    "amount": "1.00",
                },
            ]
            for body in bodies:
                try:
                    res = http.post(f"{first.url}/api", json=body, headers=headers, timeout=120)
                except requests.RequestException:
                    return  # the server is gone; this request's outcome is unknown
                if res.status_code != 200:
                    continue
                with lock:
                    if body["action"] == "invoice.finalize":
                        acknowledged[draft] = res.json()["number"]
                        if len(acknowledged) >= DRAFTS // 4:
                            enough.set()
                    else:
                        payments_ok.append((body["invoice_id"], res.json()["payments"][-1]["id"]))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    assert enough.wait(timeout=300), "the burst did not get going"
    first.kill()  # mid-burst: other requests are in flight right now
    for t in threads:
        t.join(timeout=120)
    assert len(acknowledged) < DRAFTS, "the kill came after the burst; nothing was tested"

    db = first.data_dir / "billow.db"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()

    second = Serve(first.data_dir, tmp_path)  # restart on the same data dir
    try:
        invoices = {inv["id"]: inv for inv in _all_invoices(second, key)}
        assert len(invoices) == DRAFTS + OPEN
        for draft, number in acknowledged.items():
            assert invoices[draft]["number"] == number  # every acknowledged finalize holds
        for invoice_id, payment_id in payments_ok:
            assert payment_id in {p["id"] for p in invoices[invoice_id]["payments"]}
        numbers = sorted(int(inv["number"][-4:]) for inv in invoices.values() if inv["number"])
        assert numbers == list(range(1, len(numbers) + 1))  # gapless, no duplicate
        for inv in invoices.values():
            _check_document(second, key, inv)
            _check_payments(second, key, inv)
        # and the series goes on without a gap after the restart
        left = next((i for i, inv in invoices.items() if inv["status"] == "draft"), None)
        if left is None:
            left = second.ok("invoice.create", key, **ids, lines=lines)["id"]
        nxt = second.ok("invoice.finalize", key, invoice_id=left)["number"]
        assert int(nxt[-4:]) == len(numbers) + 1
    finally:
        second.stop()


def test_finalized_invoice_without_pdf_gets_it_lazily_after_a_restart(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The state a crash between the finalize commit and the PDF leaves behind: finalized,
    numbered, no PDF. ``invoice.pdf`` on the restarted server renders and records it once."""
    from functions.api import runtime

    key = sign_in("owner@example.com", data_dir)
    ids = {
        "entity_id": ok("entity.create", key, **entity_params())["id"],
        "client_id": ok("client.create", key, **client_params(vat_number=None))["id"],
    }
    draft = ok("invoice.create", key, **ids, lines=LINES)["id"]

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise SystemError("the process died before the PDF was stored")

    with monkeypatch.context() as patch:
        patch.setattr(runtime, "render_pdf", crash)
        inv = ok("invoice.finalize", key, invoice_id=draft)
    assert inv["status"] == "open" and inv["number"].endswith("-0001")
    assert inv["pdf"] is None
    assert not list((data_dir / "blobs").rglob("*.pdf"))
    runtime._stores.clear()  # the in-process handler lets go of the store; a server takes it

    server = Serve(data_dir, tmp_path)
    try:
        link = server.ok("invoice.pdf", key, invoice_id=draft)
        pdf = requests.get(link["url"], timeout=60)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert inv["number"] in pdf.headers["Content-Disposition"]
        stored = server.ok("invoice.get", key, invoice_id=draft)
        assert stored["pdf"]["filename"] == f"{inv['number']}.pdf"
        events = [e["type"] for e in server.ok("invoice.timeline", key, invoice_id=draft)["events"]]
        assert events.count("finalized") == 1 and events.count("pdf_rendered") == 1
        # asking again serves the same file, rendered once
        server.ok("invoice.pdf", key, invoice_id=draft)
        again = server.ok("invoice.get", key, invoice_id=draft)
        assert again["pdf"]["sha256"] == stored["pdf"]["sha256"]
        events = [e["type"] for e in server.ok("invoice.timeline", key, invoice_id=draft)["events"]]
        assert events.count("pdf_rendered") == 1
    finally:
        server.stop()
