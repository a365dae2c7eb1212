"""Sample invoices shaped like the JSON of ``invoice.get`` (api-v1 "Representation").

The amounts are worked out here with Decimal the way the domain does it (line net rounded,
VAT once per rate) so the samples are internally consistent; the renderer only prints them.
"""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

SELLER = {
    "name": "Nordlicht Studio",
    "legal_name": "Nordlicht Studio GmbH",
    "address": {
        "line1": "Torstraße 118",
        "line2": "Aufgang B, 3. OG",
        "postal_code": "10119",
        "city": "Berlin",
        "region": "",
        "country": "DE",
    },
    "vat_number": "DE811907980",
    "tax_number": "30/123/45678",
    "registration_number": "HRB 123456 B, Amtsgericht Charlottenburg",
    "email": "billing@nordlicht.example",
    "phone": "+49 30 1234567",
    "website": "nordlicht.example",
    "bank": {
        "account_holder": "Nordlicht Studio GmbH",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
        "bank_name": "Commerzbank",
    },
    "currency": "EUR",
    "locale": "de",
    "brand_color": "#0F766E",
    "page_size": "A4",
    "footer_text": "Managing director: Lena Vogt · Thank you for your business.",
}

BUYER = {
    "name": "Atelier Belleville SARL",
    "contact_name": "Camille Martin",
    "email": "compta@belleville.example",
    "address": {
        "line1": "42 rue de Belleville",
        "line2": "",
        "postal_code": "75020",
        "city": "Paris",
        "region": "",
        "country": "FR",
    },
    "vat_number": "FR40303265045",
    "locale": "en",
}

DESCRIPTIONS = [
    "Brand workshop (two days, on site in Paris)",
    "Logo redesign: three concepts, two revision rounds and a final artwork package in "
    "vector and raster formats for print and screen",
    "Design system: colour palette, typography scale and components",
    "Photography licence, web use, 12 months",
    "Project management",
]


def _net(quantity: Decimal, price: Decimal, discount: Decimal) -> Decimal:
    raw = quantity * price * (1 - discount / 100)
    return raw.quantize(CENT, rounding=ROUND_HALF_UP)


def make_invoice(
    n_lines: int = 5,
    *,
    reverse_charge: bool = True,
    number: str = "INV-2026-0042",
    sign: int = 1,
) -> dict:
    """An invoice (or, with ``sign=-1``, the amounts of a credit note) with ``n_lines`` lines."""
    lines = []
    groups: dict[tuple[str, Decimal, str | None], Decimal] = {}
    for i in range(n_lines):
        quantity = Decimal([1, 2, 8, "1.5", 12][i % 5])
        price = Decimal(["1200.00", "2450.00", "95.00", "480.00", "75.50"][i % 5])
        discount = Decimal("10") if i % 5 == 1 else Decimal("0")
        if reverse_charge:
            category, rate, reason = "AE", Decimal("0"), "Reverse charge"
        else:
            category, rate, reason = (
                ("S", Decimal("19"), None) if i % 4 else ("S", Decimal("7"), None)
            )
        net = _net(quantity, price, discount) * sign
        desc = DESCRIPTIONS[i % len(DESCRIPTIONS)]
        if n_lines > len(DESCRIPTIONS):
            desc = f"{desc} — item {i + 1}"
        lines.append(
            {
                "id": f"line_{i + 1:04d}",
                "description": desc,
                "quantity": str(quantity * sign),
                "unit": ["day", "piece", "hour", "month", "hour"][i % 5],
                "unit_price": str(price),
                "discount_percent": str(discount),
                "product_id": None,
                "supply_type": "services",
                "vat_category": category,
                "vat_rate": str(rate),
                "exemption_reason": reason,
                "net_amount": str(net),
            }
        )
        key = (category, rate, reason)
        groups[key] = groups.get(key, Decimal(0)) + net
    breakdown = []
    subtotal = tax_total = Decimal(0)
    for (category, rate, reason), taxable in groups.items():
        tax = (taxable * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        tax = tax.copy_abs() if tax == 0 else tax  # no "-0.00"
        breakdown.append(
            {
                "vat_category": category,
                "vat_rate": str(rate),
                "taxable_amount": str(taxable),
                "tax_amount": str(tax),
                "exemption_reason": reason,
            }
        )
        subtotal += taxable
        tax_total += tax
    total = subtotal + tax_total
    return {
        "id": "inv_01JD3Q4W6X8Y9Z0A1B2C3D4E5F",
        "object": "invoice",
        "kind": "invoice",
        "status": "open",
        "number": number,
        "version": 3,
        "entity_id": "ent_01JD3Q0000000000000000000",
        "client_id": "cli_01JD3Q0000000000000000000",
        "currency": "EUR",
        "issue_date": "2026-11-21",
        "supply_date": "2026-11-14",
        "due_date": "2026-12-21",
        "lines": lines,
        "tax_breakdown": breakdown,
        "subtotal": str(subtotal),
        "tax_total": str(tax_total),
        "total": str(total),
        "amount_paid": "0.00",
        "amount_due": str(total),
        "credited_amount": "0.00",
        "seller": copy.deepcopy(SELLER),
        "buyer": copy.deepcopy(BUYER),
        "payment_reference": "RF18539007547034",
        "po_number": "PO-88231",
        "notes": "Thank you for choosing Nordlicht Studio.\nAll artwork files are delivered "
        "through the shared project folder.",
        "terms": "Payment within 30 days of the issue date without deduction.",
        "metadata": {},
        "original_invoice_id": None,
        "payments": [],
        "pdf": None,
        "created_at": "2026-11-21T09:00:00Z",
        "updated_at": "2026-11-21T09:05:00Z",
        "finalized_at": "2026-11-21T09:05:00Z",
        "sent_at": None,
        "paid_at": None,
        "voided_at": None,
    }


def make_credit_note(n_lines: int = 2) -> dict:
    """A finalized partial credit note against INV-2026-0042 (negative amounts)."""
    note = make_invoice(n_lines, reverse_charge=True, number="CN-2026-0007", sign=-1)
    note.update(
        {
            "id": "inv_01JD3R0000000000000000000",
            "kind": "credit_note",
            "status": "open",
            "original_invoice_id": "inv_01JD3Q4W6X8Y9Z0A1B2C3D4E5F",
            "original_invoice_number": "INV-2026-0042",
            "due_date": None,
            "po_number": None,
            "payment_reference": None,
            "amount_due": note["total"],
            "notes": "Credit for the cancelled second workshop day.",
            "terms": None,
        }
    )
    return note
