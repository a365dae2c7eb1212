"""Lambda entry point of the PDF function.

Events:

- ``{"invoice": {...}, "account_id"?: "acct_..."}`` — the JSON of ``invoice.get``.
- ``{"invoice_id": "inv_...", "account_id": "acct_..."}`` — read from the store; an invoice of
  another account is not found (same answer as a missing one).

Optional ``"locale"``. The seller's logo is read from the blob ``invoice.seller.logo_blob``
names (never sent in the event). Renders, stores the PDF as a blob and returns
``{"blob_key", "sha256", "filename"}``. Given an ``invoice_id``, the function also records the
PDF on the stored invoice and appends ``pdf_rendered`` (with the SHA-256) to its timeline; given
the invoice JSON, that bookkeeping is the caller's (``invoice.finalize`` records it in its own
commit), so the event is written once whichever way the PDF was made. A
finalized invoice whose PDF is already recorded is not rendered again: the stored document of a
finalized invoice never changes, so the existing reference is returned (``"rendered": false``).
Failures are returned as ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from aws_lambda_powertools import Logger

from .store import INVOICES, blob_key, record_rendered, render_and_store

logger = Logger(service="billow-pdf")

_store = None


def _open_store() -> Any:
    global _store
    if _store is None:
        from storage_adapter import open_store

        _store = open_store()
    return _store


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def handle(event: dict[str, Any], store: Any) -> dict[str, Any]:
    """The handler's work against an explicit store (what tests and the local server call)."""
    event = event or {}
    account_id = event.get("account_id")
    invoice = event.get("invoice")
    loaded = invoice is None
    if loaded:
        invoice_id = event.get("invoice_id")
        if not isinstance(invoice_id, str) or not invoice_id or not account_id:
            return _error("bad_request", "give 'invoice', or 'invoice_id' and 'account_id'")
        try:
            record = store.get(INVOICES, invoice_id)
        except ValueError:  # malformed id
            record = None
        if record is None or record.account_id != account_id:
            return _error("not_found", "no such record")
        # the stored data is the representation minus the record's version (see
        # functions/services/invoices.py); bookkeeping fields are simply not printed
        invoice = {**record.data, "version": record.version}
        invoice.setdefault("id", record.key)
    if not isinstance(invoice, dict):
        return _error("bad_request", "'invoice' must be an object")

    existing = invoice.get("pdf")
    if isinstance(existing, dict) and existing.get("sha256") and invoice.get("status") != "draft":
        key = existing.get("blob_key") or blob_key(invoice, existing["sha256"], account_id)
        return {
            "blob_key": key,
            "sha256": existing["sha256"],
            "filename": existing.get("filename"),
            "rendered": False,
        }

    reference = render_and_store(store, invoice, account_id=account_id, locale=event.get("locale"))
    if loaded:
        record_rendered(store, str(invoice["id"]), reference, _now(), event.get("actor"))
    logger.info(
        "PDF rendered",
        extra={
            "invoice_id": invoice.get("id"),
            "blob_key": reference["blob_key"],
            "sha256": reference["sha256"],
            "pdf_filename": reference["filename"],  # "filename" is a LogRecord attribute
        },
    )
    return {**reference, "rendered": True}


def handle_jobs(event: dict[str, Any], store: Any) -> dict[str, Any]:
    """PDF jobs from the PDF queue (``{"invoice_id", "account_id"}`` per message, sent when a
    finalize or credit commit staged ``jobs/pdf:<id>``): render and record, which completes
    the job; a document that already has its PDF, or is gone, just completes it."""
    from functions.webhooks.jobs import complete_pdf_job

    failures = []
    for message in event.get("Records") or []:
        try:
            body = json.loads(message["body"])
            result = handle({**body, "actor": "system:pdf"}, store)
            if not result.get("rendered"):
                invoice_id = str(body.get("invoice_id") or "")
                store.transaction(lambda tx, key=invoice_id: complete_pdf_job(tx, key))
        except Exception:
            logger.exception("PDF job failed; the queue delivers it again")
            failures.append({"itemIdentifier": message["messageId"]})
    return {"batchItemFailures": failures}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if isinstance(event, dict) and "Records" in event:  # the PDF job queue
        return handle_jobs(event, _open_store())
    return handle(event, _open_store())
