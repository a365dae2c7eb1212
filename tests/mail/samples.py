"""Invoices as ``invoice.get`` returns them, and a real small PDF, for the mail tests."""

from __future__ import annotations

import copy
import io
from typing import Any

SELLER = {
    "name": "Acme GmbH",
    "legal_name": "Acme Software GmbH",
    "email": "billing@acme.example",
    "locale": "de",
    "currency": "EUR",
    "address": {"line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
    "vat_number": "DE136695976",
    "bank": {"account_holder": "Acme GmbH", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
    "brand_color": "#0f766e",
}

BUYER = {
    "name": "Globex Ltd",
    "email": "ap@globex.example",
    "contact_name": "Hank Scorpio",
    "locale": "en",
    "address": {"line1": "1 Main St", "postal_code": "D02", "city": "Dublin", "country": "IE"},
}

INVOICE: dict[str, Any] = {
    "id": "inv_01JD0000000000000000000042",
    "object": "invoice",
    "kind": "invoice",
    "status": "open",
    "number": "INV-2026-0042",
    "version": 3,
    "currency": "EUR",
    "issue_date": "2026-11-21",
    "supply_date": "2026-11-21",
    "due_date": "2026-12-21",
    "subtotal": "1037.39",
    "tax_total": "197.11",
    "total": "1234.50",
    "amount_paid": "0.00",
    "amount_due": "1234.50",
    "credited_amount": "0.00",
    "payment_reference": "RF18539007547034",
    "seller": SELLER,
    "buyer": BUYER,
    "lines": [],
    "payments": [],
}


def invoice(**overrides: Any) -> dict[str, Any]:
    """A deep copy of ``INVOICE``; ``seller``/``buyer`` overrides are merged, not replaced."""
    doc = copy.deepcopy(INVOICE)
    for key in ("seller", "buyer"):
        if key in overrides:
            doc[key].update(overrides.pop(key))
    doc.update(overrides)
    return doc


def credit_note(**overrides: Any) -> dict[str, Any]:
    base = {
        "kind": "credit_note",
        "number": "CN-2026-0007",
        "total": "-238.00",
        "subtotal": "-200.00",
        "tax_total": "-38.00",
        "amount_due": "-238.00",
        "original_invoice_id": "inv_01JD0000000000000000000042",
        "due_date": None,
    }
    base.update(overrides)
    return invoice(**base)


def pdf_bytes(text: str = "INV-2026-0042") -> bytes:
    """A real one-page PDF (reportlab) whose text layer holds ``text``."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
