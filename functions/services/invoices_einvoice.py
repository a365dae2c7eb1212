"""``invoice.einvoice``: the EN 16931 XML of a finalized document, as a signed download link.

The XML is written from the stored, frozen document (the seller and buyer copied at finalize,
the amounts computed then), never from today's entity or client, by the pure generator in
``functions.einvoice``; the same function builds the ``factur-x.xml`` the PDF embeds, so the two
are byte for byte the same. A draft has no e-invoice (409 ``invalid_state``); a document that
lacks what the format needs is 422 naming each field and its BT id. The XML is kept as a
content-addressed blob, like the PDF.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from functions.domain.errors import InvalidState
from functions.domain.models import Invoice

from .invoices import load_invoice, to_invoice
from .invoices_finalize import PDF_LINK_SECONDS
from .registry import Context, Params, action

EInvoiceFormat = Literal["cii", "ubl", "xrechnung"]
CONTENT_TYPE = "application/xml"
#: File name suffix per format: what a person sees in the download.
SUFFIX = {"cii": "factur-x", "ubl": "peppol", "xrechnung": "xrechnung"}


class InvoiceEInvoice(Params):
    invoice_id: str
    format: EInvoiceFormat


def einvoice_xml(invoice: Invoice, fmt: str) -> bytes:
    """The XML bytes of a finalized document in ``fmt`` (422 if the format cannot take it)."""
    from functions.einvoice import build_document, render

    return render(build_document(invoice, fmt))


def filename_for(invoice: Invoice, fmt: str) -> str:
    return f"{invoice.number or invoice.id}-{SUFFIX[fmt]}.xml"


def store_einvoice(ctx: Context, invoice: Invoice, account_id: str | None, fmt: str) -> str:
    """Write the XML blob (content-addressed) and return its key."""
    xml = einvoice_xml(invoice, fmt)
    sha = hashlib.sha256(xml).hexdigest()
    key = f"einvoice/{account_id or 'account'}/{invoice.id}/{fmt}-{sha}.xml"
    ctx.store.put_blob(key, xml, CONTENT_TYPE)  # same key, same bytes: writing twice is harmless
    return key


@action("invoice.einvoice", InvoiceEInvoice, mutating=False)
def invoice_einvoice(ctx: Context, p: InvoiceEInvoice) -> dict[str, Any]:
    """A signed link, valid 15 minutes, to the document's e-invoice in ``format``."""
    rec = load_invoice(ctx, p.invoice_id)
    if rec.data.get("status", "draft") == "draft":
        raise InvalidState("draft", "einvoice", "a draft has no e-invoice; finalize it first")
    invoice = to_invoice(rec)
    key = store_einvoice(ctx, invoice, rec.account_id, p.format)
    filename = filename_for(invoice, p.format)
    url, expires = ctx.store.blob_url(key, filename=filename, expires_in=PDF_LINK_SECONDS)
    return {
        "url": url,
        "expires_at": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "filename": filename,
        "format": p.format,
        "content_type": CONTENT_TYPE,
    }
