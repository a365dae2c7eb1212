"""Finalize: gapless numbers, art. 226 checks, frozen parties, the PDF (once, also lazily)."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from functions.domain.errors import InvalidState, ValidationFailed
from functions.pdf.store import render_and_store

from .support import SELLER, act, draft, make_ctx, pdf_key, seed


def test_finalize_numbers_freezes_and_renders(ctx, ids, store):
    inv = draft(ctx, ids)
    fin = act(ctx, "invoice.finalize", invoice_id=inv["id"])
    assert fin["status"] == "open"
    assert fin["number"] == "INV-2026-0001"
    assert fin["payment_reference"] == "INV-2026-0001"
    assert fin["issue_date"] == "2026-11-21" and fin["due_date"] == "2026-12-05"  # 14 days
    assert fin["finalized_at"] == "2026-11-21T09:30:00Z"
    assert fin["seller"]["name"] == "Acme GmbH" and fin["seller"]["vat_number"] == "DE136695976"
    assert fin["buyer"]["name"] == "Kunde AG"
    assert fin["total"] == inv["total"]

    # The stored PDF is the one named on the invoice, with the number printed in it.
    blob = store.get_blob(pdf_key(store, fin))
    assert blob is not None and blob.content_type == "application/pdf"
    assert hashlib.sha256(blob.data).hexdigest() == fin["pdf"]["sha256"]
    assert fin["pdf"]["filename"] == "INV-2026-0001.pdf"
    text = "".join(page.extract_text() for page in PdfReader(_bytes_io(blob.data)).pages)
    assert "INV-2026-0001" in text

    events = act(ctx, "invoice.timeline", invoice_id=inv["id"])["events"]
    assert [e["type"] for e in events] == ["created", "finalized", "pdf_rendered"]
    assert events[1]["data"]["number"] == "INV-2026-0001"
    assert events[2]["data"]["sha256"] == fin["pdf"]["sha256"]

    # Later changes of the entity do not touch the frozen copy.
    act(ctx, "entity.update", entity_id=ids["entity_id"], name="Renamed GmbH")
    assert act(ctx, "invoice.get", invoice_id=inv["id"])["seller"]["name"] == "Acme GmbH"

    with pytest.raises(InvalidState) as err:
        act(ctx, "invoice.finalize", invoice_id=inv["id"])
    assert "open" in err.value.message


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)


def test_numbers_continue_and_credit_notes_have_their_own_series(ctx, ids):
    numbers = []
    for _ in range(3):
        numbers.append(act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])["number"])
    assert numbers == ["INV-2026-0001", "INV-2026-0002", "INV-2026-0003"]
    note = act(
        ctx,
        "invoice.credit",
        invoice_id=act(ctx, "invoice.list")["items"][0]["id"],
        reason="cancelled",
    )
    assert note["number"] == "CN-2026-0001"
    fourth = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    assert fourth["number"] == "INV-2026-0004"


def test_series_starts_at_next_invoice_number(ctx):
    ids = seed(
        ctx,
        seller={**SELLER, "next_invoice_number": 120, "invoice_number_pattern": "A{YY}-{SEQ:5}"},
    )
    first = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    second = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    assert (first["number"], second["number"]) == ("A26-00120", "A26-00121")


def test_missing_mandatory_fields_all_listed_and_no_number_used(ctx):
    seller = {k: v for k, v in SELLER.items() if k != "vat_number"}
    ids = seed(
        ctx,
        seller=seller,
        client={"name": "Walk-in", "address": {"country": "DE"}},
    )
    inv = draft(ctx, ids, lines=[{"unit_price": "10"}])
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "invoice.finalize", invoice_id=inv["id"])
    fields = {d.field for d in err.value.details}
    assert {
        "seller.vat_number",
        "buyer.address.line1",
        "buyer.address.city",
        "buyer.address.postal_code",
        "lines[0].description",
    } <= fields
    got = act(ctx, "invoice.get", invoice_id=inv["id"])
    assert got["status"] == "draft" and got["number"] is None and got["version"] == 1
    assert [e["type"] for e in act(ctx, "invoice.timeline", invoice_id=inv["id"])["events"]] == [
        "created"
    ]
    # Fix the problems: the first number is still 0001 — the failed attempt used none.
    act(ctx, "entity.update", entity_id=ids["entity_id"], vat_number="DE136695976")
    act(
        ctx,
        "client.update",
        client_id=ids["client_id"],
        address={"line1": "Weg 1", "postal_code": "20095", "city": "Hamburg", "country": "DE"},
    )
    act(
        ctx,
        "invoice.update",
        invoice_id=inv["id"],
        lines=[{"description": "Fix", "unit_price": "10"}],
    )
    assert act(ctx, "invoice.finalize", invoice_id=inv["id"])["number"] == "INV-2026-0001"


def test_rendering_failure_leaves_invoice_finalized_and_pdf_is_rendered_lazily_once(
    ctx, ids, store
):
    def broken(*_args, **_kwargs):
        raise RuntimeError("renderer crashed")

    failing = make_ctx(store)
    failing.services["pdf"] = broken
    inv = draft(ctx, ids)
    fin = act(failing, "invoice.finalize", invoice_id=inv["id"])
    assert fin["status"] == "open" and fin["number"] == "INV-2026-0001"
    assert fin["pdf"] is None

    calls = []

    def counting(store_, invoice, logo=None):
        calls.append(invoice["id"])
        return render_and_store(store_, invoice, logo)

    ctx.services["pdf"] = counting
    first = act(ctx, "invoice.pdf", invoice_id=inv["id"])
    second = act(ctx, "invoice.pdf", invoice_id=inv["id"])
    assert calls == [inv["id"]]  # rendered once, then the stored one is used
    assert first["filename"] == second["filename"] == "INV-2026-0001.pdf"
    assert "/blobs/pdf/" in first["url"] and "sig=" in first["url"]
    stored = act(ctx, "invoice.get", invoice_id=inv["id"])["pdf"]
    assert stored["sha256"] in first["url"] and stored["sha256"] in second["url"]
    types = [e["type"] for e in act(ctx, "invoice.timeline", invoice_id=inv["id"])["events"]]
    assert types == ["created", "finalized", "pdf_rendered"]


def test_pdf_link_is_signed_and_expires_in_15_minutes(ctx, ids, store):
    inv = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    before = datetime.now(UTC).replace(microsecond=0)
    link = act(ctx, "invoice.pdf", invoice_id=inv["id"])
    expires = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
    assert 14 * 60 <= (expires - before).total_seconds() <= 15 * 60 + 2
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(link["url"])
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    key = unquote(parts.path.removeprefix("/blobs/"))
    assert store.verify_blob_link(key, q["expires"], q["filename"], q["sig"])
    assert not store.verify_blob_link(key, q["expires"], "other.pdf", q["sig"])
    assert store.get_blob(key).data[:5] == b"%PDF-"


def test_draft_pdf_is_a_preview_not_recorded(ctx, ids):
    inv = draft(ctx, ids)
    link = act(ctx, "invoice.pdf", invoice_id=inv["id"])
    assert link["filename"] == f"DRAFT-{inv['id']}.pdf"
    assert act(ctx, "invoice.get", invoice_id=inv["id"])["pdf"] is None


def test_concurrent_finalize_gives_gapless_unique_numbers(tmp_path: Path):
    """16 threads, each with its own connection to one SQLite file, finalize 48 drafts of
    one entity at once: every number of the series is used exactly once."""
    from storage_adapter.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "db" / "billow.db")
    ctx = make_ctx(store)
    ids = seed(ctx)
    drafts = [draft(ctx, ids)["id"] for _ in range(48)]
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def worker(chunk: list[str]) -> None:
        own = make_ctx(store)  # same store object: thread-local SQLite connections
        start.wait()
        for invoice_id in chunk:
            try:
                number = act(own, "invoice.finalize", invoice_id=invoice_id)["number"]
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                continue
            with lock:
                numbers.append(number)

    threads = [threading.Thread(target=worker, args=(drafts[i::16],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(numbers) == [f"INV-2026-{n:04d}" for n in range(1, 49)]
    listed = act(ctx, "invoice.list", status="open", limit=100, fields=["number"])
    assert sorted(i["number"] for i in listed["items"]) == sorted(numbers)
