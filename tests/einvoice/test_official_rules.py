"""Every generated e-invoice passes the official rules: XSD, the EN 16931 schematron, and the
Factur-X, XRechnung or Peppol layer of its format — for hundreds of random finalized invoices
and credit notes (tests/einvoice/strategies.py). A document a format cannot express is refused
with 422 details naming fields and BT ids, never written broken."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings

from functions.domain.errors import ValidationFailed
from functions.domain.models import Invoice
from functions.einvoice import build_document, render, requirements
from functions.einvoice.document import effective_buyer_reference

from .strategies import credit_notes, invoices
from .validation import compile_all, validate

FORMATS = ("cii", "ubl", "xrechnung")
SUITE = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    for fmt in FORMATS:
        compile_all(fmt)


def _amounts(doc: Invoice) -> list[Decimal]:
    amounts = [doc.subtotal, doc.tax_total, doc.total]
    amounts += [line.net_amount for line in doc.lines if line.net_amount is not None]
    for row in doc.tax_breakdown:
        amounts += [row.taxable_amount, row.tax_amount]
    return amounts


def expected_refusals(doc: Invoice, fmt: str) -> set[str]:
    """What the format cannot take from this document, worked out from the rules' words."""
    fields: set[str] = set()
    if any(a != a.quantize(Decimal("0.01")) for a in _amounts(doc)):
        fields.add("three decimals")
    reference = effective_buyer_reference(doc)
    if fmt == "xrechnung" and not reference:
        fields.add("buyer_reference")
    if fmt == "ubl":
        assert doc.buyer is not None and doc.buyer.electronic_address is not None
        if doc.buyer.electronic_address.scheme == "EM":
            fields.add("buyer.electronic_address.scheme")
        if not reference and not doc.po_number:
            fields.add("buyer_reference")
        if doc.period is not None:
            for index, line in enumerate(doc.lines):
                if line.period and not (
                    doc.period.start <= line.period.start and line.period.end <= doc.period.end
                ):
                    fields.add(f"lines[{index}].period")
    return fields


def check_document(doc: Invoice) -> None:
    for fmt in FORMATS:
        expected = expected_refusals(doc, fmt)
        problems = requirements(doc, fmt)
        got = {"three decimals" if "three decimals" in p.message else p.field for p in problems}
        assert got == expected, problems
        if problems:
            assert all(p.message.startswith(("BT-", "BG-")) for p in problems)
            with pytest.raises(ValidationFailed):
                build_document(doc, fmt)
            event(f"{fmt}: refused")
            continue
        xml = render(build_document(doc, fmt))
        report = validate(xml, fmt)
        assert report.valid, f"{fmt}\n{report.describe()}\n{xml.decode()}"
        assert report.layers, "no schematron ran"
        # the one warning left: Factur-X's PEPPOL-EN16931-R008 on the empty (XSD-required)
        # ApplicableHeaderTradeDelivery when an invoicing period replaces the delivery date
        assert {f.id for f in report.findings} <= {"PEPPOL-EN16931-R008"}, report.describe()
        # the totals are the document's, to the cent (credit notes state them positive)
        total = f"{abs(doc.total):.2f}"
        assert f">{total}</".encode() in xml
        event(f"{fmt}: valid")


@SUITE
@given(invoices())
def test_random_invoices_pass_the_official_rules(doc: Invoice) -> None:
    event(f"currency {doc.currency}")
    event("categories " + "+".join(sorted({line.vat_category or "?" for line in doc.lines})))
    check_document(doc)


@settings(SUITE, max_examples=220)
@given(credit_notes())
def test_random_credit_notes_pass_the_official_rules(doc: Invoice) -> None:
    assert doc.kind == "credit_note" and doc.total <= 0
    check_document(doc)
