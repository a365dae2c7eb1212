"""Render an invoice and keep the PDF as a blob: the piece ``invoice.finalize`` calls.

The blob key is content-addressed (it ends in the PDF's SHA-256) and rendering is deterministic
(same invoice JSON → same bytes), so storing twice writes the same object and a stored PDF is
never overwritten by a different one.

The storage side imports nothing heavy; reportlab is imported only when a PDF is rendered.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

#: Collection and timeline stream of invoices, as the invoice service stores them.
INVOICES = "invoices"


def timeline_stream(invoice_id: str) -> str:
    """The event stream holding an invoice's timeline."""
    return f"timeline:{invoice_id}"


_SAFE = re.compile(r"[^A-Za-z0-9_.=-]+")


def _segment(value: object, fallback: str) -> str:
    text = _SAFE.sub("-", str(value or "")).strip("-.")[:100]
    return text or fallback


def blob_key(invoice: dict[str, Any], sha256: str, account_id: str | None = None) -> str:
    """``pdf/<account>/<invoice id>/<sha256>.pdf`` (without the account part when unknown)."""
    parts = ["pdf"]
    if account_id:
        parts.append(_segment(account_id, "account"))
    parts.append(_segment(invoice.get("id"), "invoice"))
    parts.append(f"{sha256}.pdf")
    return "/".join(parts)


def seller_logo(store: Any, invoice: dict[str, Any]) -> bytes | None:
    """The logo the invoice's (frozen) seller names with ``logo_blob``, read from the store.

    Only blobs under ``logos/`` are read (an invoice JSON must not pull any other blob into a
    PDF). A missing blob or a mismatching SHA-256 gives no logo: the header prints the name.
    """
    seller = invoice.get("seller")
    ref = seller.get("logo_blob") if isinstance(seller, dict) else None
    if not isinstance(ref, dict):
        return None
    key = ref.get("key")
    if not isinstance(key, str) or not key.startswith("logos/") or ".." in key:
        return None
    blob = store.get_blob(key)
    if blob is None:
        return None
    if ref.get("sha256") and hashlib.sha256(blob.data).hexdigest() != ref["sha256"]:
        return None
    return blob.data


def render_and_store(
    store: Any,
    invoice: dict[str, Any],
    logo: bytes | None = None,
    *,
    account_id: str | None = None,
    locale: str | None = None,
) -> dict[str, str]:
    """Render ``invoice`` (the JSON of ``invoice.get``), store the PDF, return its reference.

    The logo is read from the blob ``invoice.seller.logo_blob`` names (``logo`` overrides it,
    for previews and tests), so callers pass the invoice only.
    Returns ``{"blob_key", "sha256", "filename"}``. The caller records ``pdf_rendered`` with
    the SHA-256 in the invoice's timeline inside its own transaction (finalize does so
    atomically with the status change); :func:`record_rendered` does it for standalone use.
    """
    from .facturx import facturx_xml
    from .render import filename_for, render_invoice_pdf  # reportlab only when rendering

    if logo is None:
        logo = seller_logo(store, invoice)
    pdf = render_invoice_pdf(invoice, logo=logo, locale=locale, einvoice=facturx_xml(invoice))
    sha256 = hashlib.sha256(pdf).hexdigest()
    key = blob_key(invoice, sha256, account_id)
    store.put_blob(key, pdf, "application/pdf")
    return {"blob_key": key, "sha256": sha256, "filename": filename_for(invoice)}


def rendered_event(reference: dict[str, str], at: str, actor: str | None = None) -> dict:
    """The ``pdf_rendered`` timeline event for a stored PDF."""
    return {
        "type": "pdf_rendered",
        "at": at,
        "actor": actor,
        # the blob key is internal (it is kept on the invoice's ``pdf``, never shown)
        "data": {"sha256": reference["sha256"], "filename": reference["filename"]},
    }


def record_rendered(
    store: Any, invoice_id: str, reference: dict[str, str], at: str, actor: str | None = None
) -> None:
    """Record the PDF on the stored invoice and append ``pdf_rendered``, in one commit.

    Only when the invoice has no PDF yet: a finalized document's PDF is recorded once.
    """
    event = rendered_event(reference, at, actor)

    from functions.webhooks.jobs import complete_pdf_job

    def commit(tx: Any) -> None:
        rec = tx.get(INVOICES, invoice_id)
        if rec is None or rec.data.get("pdf"):
            complete_pdf_job(tx, invoice_id)
            return
        pdf = {k: reference[k] for k in ("blob_key", "sha256", "filename")}
        tx.put(
            INVOICES,
            invoice_id,
            {**rec.data, "pdf": pdf},
            account_id=rec.account_id,
            expected_version=rec.version,
        )
        tx.append(timeline_stream(invoice_id), event)
        complete_pdf_job(tx, invoice_id)

    store.transaction(commit)
