"""EU VAT Directive art. 226: finalize reports every missing item at once."""

from datetime import date
from decimal import Decimal

import pytest

from functions.domain.calc import price
from functions.domain.compliance import missing_mandatory
from functions.domain.errors import ValidationFailed
from functions.domain.finalize import prepare_finalize
from functions.domain.models import Client, Invoice, Line

from .conftest import TODAY, make_client, make_entity


def line(**kw) -> Line:
    return Line(
        **{"description": "Consulting", "quantity": Decimal(1), "unit_price": Decimal(100), **kw}
    )


def test_complete_invoice_has_nothing_missing():
    seller, buyer = make_entity(), make_client("FR")
    invoice = price(Invoice(issue_date=TODAY, lines=[line()]), seller, buyer)
    assert missing_mandatory(invoice, seller, buyer) == []


def test_lists_several_missing_fields_at_once():
    seller = make_entity(vat_number=None)
    buyer = Client(name="Client SARL", address={"country": "FR", "line1": "1 rue"})
    invoice = price(
        Invoice(lines=[line(), line(description=None, quantity=Decimal(0))]), seller, buyer
    )
    errors = missing_mandatory(invoice, seller, buyer)
    assert [e.field for e in errors] == [
        "issue_date",
        "seller.vat_number",
        "buyer.address.postal_code",
        "buyer.address.city",
        "lines[1].description",
        "lines[1].quantity",
    ]
    assert all(e.message for e in errors)


def test_reverse_charge_needs_both_vat_numbers_and_the_mention():
    seller = make_entity()
    buyer = make_client("FR", verified=False, vat_number=None)
    invoice = price(
        Invoice(
            issue_date=TODAY,
            lines=[line(vat_category="AE"), line(vat_category="K", supply_type="goods")],
        ),
        seller,
        buyer,
    )
    # the resolution gave both lines their default mention
    assert [li.exemption_reason for li in invoice.lines] == [
        "Reverse charge",
        "Intra-community supply",
    ]
    assert [e.field for e in missing_mandatory(invoice, seller, buyer)] == ["buyer.vat_number"]
    # a mention removed afterwards is reported too
    stripped = invoice.model_copy(
        update={"lines": [invoice.lines[0].model_copy(update={"exemption_reason": None})]}
    )
    assert [e.field for e in missing_mandatory(stripped, seller, buyer)] == [
        "lines[0].exemption_reason",
        "buyer.vat_number",
    ]


def test_small_business_without_vat_number_may_show_its_tax_number():
    seller = make_entity(vat_number=None, tax_number="21/815/08150")
    buyer = make_client("DE")
    invoice = price(
        Invoice(issue_date=TODAY, lines=[line(vat_category="E", exemption_reason="§ 19 UStG")]),
        seller,
        buyer,
    )
    assert missing_mandatory(invoice, seller, buyer) == []
    charged = price(Invoice(issue_date=TODAY, lines=[line()]), seller, buyer)
    assert [e.field for e in missing_mandatory(charged, seller, buyer)] == ["seller.vat_number"]


def test_no_lines_and_bad_due_date():
    seller, buyer = make_entity(), make_client("FR")
    invoice = price(
        Invoice(issue_date=date(2026, 5, 2), due_date=date(2026, 5, 1), lines=[]), seller, buyer
    )
    assert [e.field for e in missing_mandatory(invoice, seller, buyer)] == ["due_date", "lines"]


def test_negative_invoice_total_must_be_a_credit_note():
    seller, buyer = make_entity(), make_client("DE")
    invoice = price(Invoice(issue_date=TODAY, lines=[line(quantity=Decimal(-1))]), seller, buyer)
    assert [e.field for e in missing_mandatory(invoice, seller, buyer)] == ["lines"]


def test_prepare_finalize_raises_one_422_with_everything():
    seller = make_entity(vat_number=None)
    buyer = Client(name="Client", address={"country": "FR"})
    with pytest.raises(ValidationFailed) as err:
        prepare_finalize(Invoice(lines=[line(description=None)]), seller, buyer, TODAY)
    assert [d.field for d in err.value.details] == [
        "seller.vat_number",
        "buyer.address.line1",
        "buyer.address.postal_code",
        "buyer.address.city",
        "lines[0].description",
    ]
