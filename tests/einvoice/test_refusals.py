"""The validators can fail: deliberately broken documents are refused by the official rules,
and documents a format cannot express are refused by the generator (422 naming field and BT)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from functions.domain.errors import ValidationFailed
from functions.einvoice import build_document, render, requirements

from . import factory
from .validation import compile_all, validate

LINES = [
    {"description": "Beratung", "quantity": "3", "unit": "hour", "unit_price": "120"},
    {
        "description": "Reisekosten",
        "quantity": "1",
        "unit_price": "80.50",
        "discount_percent": "10",
    },
]


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    for fmt in ("cii", "ubl", "xrechnung"):
        compile_all(fmt)


@pytest.fixture(scope="module")
def good() -> dict[str, bytes]:
    invoice = factory.finalized(LINES)
    xml = {fmt: render(build_document(invoice, fmt)) for fmt in ("cii", "ubl", "xrechnung")}
    for fmt, data in xml.items():
        assert validate(data, fmt).valid, validate(data, fmt).describe()
    return xml


def _sub(xml: bytes, pattern: str, replacement: str, count: int = 1) -> bytes:
    text, n = re.subn(pattern, replacement, xml.decode(), count=count, flags=re.S)
    assert n, pattern
    return text.encode()


BROKEN = [
    # (format, what is broken, mutation, a rule id or "XSD" that must fire)
    (
        "cii",
        "line total off by a cent",
        (r"<ram:LineTotalAmount>360.00", "<ram:LineTotalAmount>360.01"),
        "BR-CO-10",
    ),
    (
        "cii",
        "grand total not net + VAT",
        (r"<ram:GrandTotalAmount>[^<]*", "<ram:GrandTotalAmount>1.00"),
        "BR-CO-15",
    ),
    ("cii", "unknown unit code", (r'unitCode="HUR"', 'unitCode="HOURS"'), "FX-SCH-A-000613"),
    (
        "cii",
        "three decimals",
        (r"<ram:CalculatedAmount>([0-9]+)\.([0-9]{2})", r"<ram:CalculatedAmount>\1.\g<2>1"),
        "BR-DEC-20",
    ),
    (
        "cii",
        "elements out of order",
        (r"(<ram:ID>INV-[^<]*</ram:ID>)(\s*)(<ram:TypeCode>380</ram:TypeCode>)", r"\3\2\1"),
        "XSD",
    ),
    (
        "ubl",
        "unknown VAT category",
        (
            r"<cbc:ID>S</cbc:ID>(\s*<cbc:Percent>19</cbc:Percent>\s*<cac:TaxScheme>)",
            r"<cbc:ID>Q</cbc:ID>\1",
        ),
        "BR-CL-17",
    ),
    (
        "ubl",
        "payable amount not the total",
        (r'<cbc:PayableAmount currencyID="EUR">[^<]*', '<cbc:PayableAmount currencyID="EUR">0.00'),
        "BR-CO-16",
    ),
    (
        "ubl",
        "seller without name",
        (r"<cbc:RegistrationName>Nordlicht Studio GmbH</cbc:RegistrationName>", ""),
        "BR-06",
    ),
    (
        "xrechnung",
        "no buyer reference",
        (r"<cbc:BuyerReference>[^<]*</cbc:BuyerReference>", ""),
        "BR-DE-15",
    ),
    (
        "xrechnung",
        "no seller e-mail",
        (r"<cbc:ElectronicMail>billing[^<]*</cbc:ElectronicMail>", ""),
        "BR-DE-7",
    ),
    ("xrechnung", "no seller phone", (r"<cbc:Telephone>[^<]*</cbc:Telephone>", ""), "BR-DE-6"),
]


@pytest.mark.parametrize(("fmt", "what", "mutation", "rule"), BROKEN, ids=[b[1] for b in BROKEN])
def test_broken_documents_are_refused(
    good: dict[str, bytes], fmt: str, what: str, mutation: tuple[str, str], rule: str
) -> None:
    broken = _sub(good[fmt], *mutation)
    report = validate(broken, fmt)
    assert not report.valid, what
    if rule == "XSD":
        assert report.schema_errors
    else:
        assert rule in {f.id for f in report.findings}, report.describe()


def _fields(problems: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {p.field: p.message for p in problems}


def test_three_decimal_amounts_are_refused_with_their_bt_ids() -> None:
    seller = factory.entity(currency="KWD")
    invoice = factory.finalized(
        [{"description": "Service", "quantity": "1", "unit_price": "10.125"}],
        seller=seller,
        currency="KWD",
    )
    assert invoice.total == Decimal("12.049")  # 10.125 + 19 % VAT (1.924), three decimals
    for fmt in ("cii", "ubl", "xrechnung"):
        problems = _fields(requirements(invoice, fmt))
        assert problems["lines[0].net_amount"].startswith("BT-131:")
        assert problems["total"].startswith("BT-112:")
        with pytest.raises(ValidationFailed):
            build_document(invoice, fmt)
    # KWD amounts that happen to need only two decimals are fine
    whole = factory.finalized(
        [{"description": "Service", "quantity": "1", "unit_price": "100"}],
        seller=seller,
        currency="KWD",
    )
    assert validate(render(build_document(whole, "cii")), "cii").valid


def test_format_requirements_name_fields_and_bt_ids() -> None:
    buyer = factory.client(
        buyer_reference=None, electronic_address={"scheme": "EM", "value": "ap@buyer.example"}
    )
    seller = factory.entity(phone=None, electronic_address=None)
    invoice = factory.finalized(LINES, seller=seller, buyer=buyer)
    xr = _fields(requirements(invoice, "xrechnung"))
    assert xr["buyer_reference"].startswith("BT-10:")
    assert xr["seller.electronic_address"].startswith("BT-34:")
    assert xr["seller.phone"].startswith("BT-42:")
    peppol = _fields(requirements(invoice, "ubl"))
    assert peppol["buyer.electronic_address.scheme"].startswith("BT-49-1:")
    assert peppol["seller.electronic_address"].startswith("BT-34:")
    assert peppol["buyer_reference"].startswith("BT-10:")
    assert requirements(invoice, "cii") == []


def test_not_subject_to_vat_beside_other_categories_is_refused() -> None:
    """EN 16931 forbids O beside other categories (BR-O-11): finalize names the O lines."""
    buyer = factory.client(
        address={"line1": "1 Market St", "city": "SF", "postal_code": "94105", "country": "US"},
        vat_number=None,
    )
    with pytest.raises(ValidationFailed) as err:
        factory.finalized(
            [
                {"description": "Consulting", "unit_price": "100", "supply_type": "services"},
                {"description": "Hardware", "unit_price": "100", "supply_type": "goods"},
            ],
            buyer=buyer,
        )
    problems = _fields(err.value.details)
    assert list(problems) == ["lines[0].vat_category"]  # the services line: O, beside G
    assert problems["lines[0].vat_category"].startswith("BT-151:")
    assert "BR-O-11" in problems["lines[0].vat_category"]


def test_jpy_rounding_and_negative_prices_are_stated_so_lines_add_up() -> None:
    """2.5 h × ¥101 = ¥252.5, rounded to ¥253: the half yen is a line charge "Rounding"; a
    discount line with a negative price is written as a negative quantity (BR-27)."""
    seller = factory.entity(currency="JPY")
    invoice = factory.finalized(
        [
            {"description": "Support", "quantity": "2.5", "unit": "hour", "unit_price": "101"},
            {"description": "Goodwill", "quantity": "1", "unit_price": "-50"},
        ],
        seller=seller,
        currency="JPY",
    )
    assert [line.net_amount for line in invoice.lines] == [Decimal(253), Decimal(-50)]
    document = build_document(invoice, "ubl")
    first, second = document.lines
    assert [(a.charge, a.amount, a.reason) for a in first.allowances] == [
        (True, Decimal("0.50"), "Rounding")
    ]
    assert (second.quantity, second.price, second.net_amount) == (-1, 50, Decimal("-50.00"))
    for fmt in ("cii", "ubl", "xrechnung"):
        report = validate(render(build_document(invoice, fmt)), fmt)
        assert report.valid, report.describe()


def test_credit_note_states_positive_amounts_and_the_original() -> None:
    invoice = factory.finalized(LINES)
    note = factory.credit_note(invoice)
    assert note.total == -invoice.total
    document = build_document(note, "ubl")
    assert document.type_code == "381" and document.is_credit_note
    assert document.grand_total == invoice.total == document.due_payable  # BR-CO-16
    assert document.preceding_number == invoice.number
    xml = render(document)
    assert b"<CreditNote" in xml and b"<cbc:CreditedQuantity" in xml
    assert f">{invoice.number}</cbc:ID>".encode() in xml
    assert validate(xml, "ubl").valid


def test_small_business_with_only_a_tax_number_is_identified_by_it() -> None:
    """An exempt small business (all lines E, no VAT number, no register entry) has only a tax
    number: BT-32 plus BT-29 satisfy BR-CO-26, so its e-invoice is valid."""
    seller = factory.entity(vat_number=None, registration_number=None)
    invoice = factory.finalized(
        [{"description": "Lektorat", "unit_price": "300", "vat_category": "E"}], seller=seller
    )
    xml = render(build_document(invoice, "cii"))
    assert b"<ram:ID>30/123/45678</ram:ID>" in xml and b'schemeID="FC"' in xml
    assert validate(xml, "cii").valid, validate(xml, "cii").describe()
    assert validate(render(build_document(invoice, "ubl")), "ubl").valid
