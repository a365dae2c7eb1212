"""The PDF function against a real SQLite store: blob stored, SHA-256 in the timeline."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys

import pytest
from pypdf import PdfReader

from functions.pdf.handler import handle
from functions.pdf.store import INVOICES, render_and_store, timeline_stream
from storage_adapter import open_store
from tests.pdf.samples import make_invoice


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'billow.db'}")
    yield s
    s.close()


def test_render_and_store_keeps_the_pdf_under_its_hash(store):
    invoice = make_invoice(3)
    ref = render_and_store(store, invoice, account_id="acct_1")
    blob = store.get_blob(ref["blob_key"])
    assert blob is not None and blob.content_type == "application/pdf"
    assert hashlib.sha256(blob.data).hexdigest() == ref["sha256"]
    assert ref["blob_key"] == f"pdf/acct_1/{invoice['id']}/{ref['sha256']}.pdf"
    assert ref["filename"] == "INV-2026-0042.pdf"
    assert "INV-2026-0042" in PdfReader(io.BytesIO(blob.data)).pages[0].extract_text()
    # rendering again gives the very same document (and key): a stored PDF never changes
    assert render_and_store(store, invoice, account_id="acct_1") == ref


def test_handler_with_invoice_json_leaves_the_bookkeeping_to_the_caller(store):
    invoice = make_invoice(2)
    result = handle({"invoice": invoice, "account_id": "acct_1"}, store)
    assert result["rendered"] is True
    assert store.get_blob(result["blob_key"]) is not None
    assert store.events(timeline_stream(invoice["id"])) == []


def test_handler_by_id_records_the_pdf_once(store):
    invoice = make_invoice(2)
    invoice["pdf"] = None
    store.put(INVOICES, invoice["id"], invoice, account_id="acct_1", expected_version=0)
    result = handle({"invoice_id": invoice["id"], "account_id": "acct_1"}, store)
    events = store.events(timeline_stream(invoice["id"]))
    assert [e["type"] for e in events] == ["pdf_rendered"]
    assert events[0]["data"]["sha256"] == result["sha256"]
    assert events[0]["data"]["filename"] == "INV-2026-0042.pdf"
    assert store.get(INVOICES, invoice["id"]).data["pdf"]["sha256"] == result["sha256"]
    again = handle({"invoice_id": invoice["id"], "account_id": "acct_1"}, store)
    assert again["rendered"] is False and again["sha256"] == result["sha256"]
    assert len(store.events(timeline_stream(invoice["id"]))) == 1


def test_handler_by_id_checks_the_account(store):
    invoice = make_invoice(2)
    invoice["pdf"] = None
    store.put(INVOICES, invoice["id"], invoice, account_id="acct_1", expected_version=0)
    result = handle({"invoice_id": invoice["id"], "account_id": "acct_1"}, store)
    assert result["rendered"] is True
    assert store.get_blob(result["blob_key"]) is not None

    other = handle({"invoice_id": invoice["id"], "account_id": "acct_2"}, store)
    assert other == {"error": {"code": "not_found", "message": "no such record"}}
    missing = handle({"invoice_id": "inv_nope", "account_id": "acct_1"}, store)
    assert missing["error"]["code"] == "not_found"
    assert handle({}, store)["error"]["code"] == "bad_request"


def test_finalized_invoice_with_a_pdf_is_not_rendered_again(store):
    invoice = make_invoice(2)
    first = handle({"invoice": invoice, "account_id": "acct_1"}, store)
    invoice["pdf"] = {"sha256": first["sha256"], "filename": first["filename"]}
    invoice["notes"] = "changed afterwards — must not change the stored document"
    again = handle({"invoice": invoice, "account_id": "acct_1"}, store)
    assert again["rendered"] is False
    assert again["sha256"] == first["sha256"]
    assert again["blob_key"] == first["blob_key"]


def test_api_side_imports_do_not_load_reportlab():
    """functions.pdf, its store helper and its handler are cheap to import (cold start)."""
    code = (
        "import sys, functions.pdf, functions.pdf.store, functions.pdf.handler;"
        "print('reportlab' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
