"""Models: JSON shape (decimals as strings with the minor-unit digits) and input checks."""

import base64
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from functions.domain.calc import compute
from functions.domain.errors import ValidationFailed
from functions.domain.models import (
    EN16931,
    Client,
    Entity,
    Invoice,
    Line,
    Payment,
    Product,
    TimelineEvent,
    parse_model,
)

from .conftest import make_client, make_entity


def fields(err: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [d.field for d in err.value.details]


@pytest.mark.parametrize(
    ("currency", "net", "tax", "total"),
    [
        ("EUR", "10.00", "1.90", "11.90"),
        ("JPY", "10", "2", "12"),
        ("KWD", "10.000", "1.900", "11.900"),
    ],
)
def test_invoice_json_amounts_are_strings_with_minor_unit_digits(currency, net, tax, total):
    invoice = compute(
        Invoice(
            currency=currency,
            lines=[
                Line(description="x", quantity=2, unit_price="5", vat_category="S", vat_rate="19")
            ],
            payments=[Payment(amount=Decimal(1), paid_on=date(2026, 1, 2))],
        )
    )
    data = invoice.model_dump(mode="json")
    assert data["lines"][0]["net_amount"] == net
    assert data["subtotal"] == data["tax_breakdown"][0]["taxable_amount"] == net
    assert data["tax_total"] == data["tax_breakdown"][0]["tax_amount"] == tax
    assert data["total"] == total
    assert data["payments"][0]["amount"] == {"EUR": "1.00", "JPY": "1", "KWD": "1.000"}[currency]
    assert data["amount_paid"] == data["payments"][0]["amount"]
    assert data["lines"][0]["quantity"] == "2" and data["lines"][0]["unit_price"] == "5"
    assert data["credited_amount"] == {"EUR": "0.00", "JPY": "0", "KWD": "0.000"}[currency]
    # and through JSON text, not just the dict
    assert f'"total":"{total}"' in invoice.model_dump_json()
    # python mode keeps Decimals
    assert isinstance(invoice.model_dump()["total"], Decimal)


def test_invoice_json_examples():
    invoice = compute(
        Invoice(
            currency="EUR",
            lines=[
                Line(
                    description="a",
                    quantity="1",
                    unit_price="1234.5",
                    vat_category="S",
                    vat_rate="19",
                ),
            ],
        )
    )
    data = invoice.model_dump(mode="json")
    assert (data["subtotal"], data["tax_total"], data["total"]) == ("1234.50", "234.56", "1469.06")
    assert data["tax_breakdown"][0]["vat_rate"] == "19"
    assert data["number"] is None and data["status"] == "draft" and data["object"] == "invoice"


def test_decimal_inputs_accept_numbers_and_refuse_nan():
    line = parse_model(Line, {"description": "x", "quantity": 0.1, "unit_price": 7})
    assert line.quantity == Decimal("0.1") and line.unit_price == Decimal(7)
    with pytest.raises(ValidationFailed) as err:
        parse_model(
            Line,
            {"description": "x", "quantity": "NaN", "unit_price": "abc", "discount_percent": "120"},
            "lines[4]",
        )
    assert fields(err) == ["lines[4].quantity", "lines[4].unit_price", "lines[4].discount_percent"]


def test_entity_defaults_match_the_contract():
    entity = make_entity()
    assert entity.currency == "EUR" and entity.locale == "en"
    assert entity.payment_terms_days == 30
    assert entity.invoice_number_pattern == "INV-{YYYY}-{SEQ:4}"
    assert entity.credit_note_number_pattern == "CN-{YYYY}-{SEQ:4}"
    assert entity.number_reset == "yearly" and entity.rounding == "half_up"
    assert entity.reminder_days == [7, 14, 30] and entity.page_size == "A4"
    assert entity.payment_reference == "number"
    assert entity.model_dump(mode="json")["default_vat_rate"] == "19"


@pytest.mark.parametrize(
    ("number", "country", "stored"),
    [
        ("DE 136 695 976", "DE", "DE136695976"),
        ("EL094259216", "GR", "EL094259216"),
        ("el 094259216", "GR", "EL094259216"),
        ("XI980780684", "GB", "XI980780684"),
        ("GB980780684", "GB", "GB980780684"),
        ("FR 40 303 265 045", "FR", "FR40303265045"),
    ],
)
def test_vat_numbers_are_checked_and_compacted(number, country, stored):
    address = {"line1": "1 Road", "postal_code": "1", "city": "C", "country": country}
    assert make_entity(vat_number=number, address=address).vat_number == stored
    client = parse_model(
        Client, {"name": "c", "address": {"country": country}, "vat_number": number}
    )
    assert client.vat_number == stored


@pytest.mark.parametrize("number", ["DE136695977", "FR00000000000", "EL12345", "XI123", "GB1"])
def test_bad_vat_numbers_are_422_on_the_field(number):
    with pytest.raises(ValidationFailed) as err:
        make_entity(vat_number=number)
    assert fields(err) == ["vat_number"]
    with pytest.raises(ValidationFailed) as err:
        parse_model(Client, {"name": "c", "address": {"country": "DE"}, "vat_number": number})
    assert fields(err) == ["vat_number"]


def test_iban_and_bic():
    entity = make_entity(bank={"iban": "de89 3704 0044 0532 0130 00", "bic": "deutdeff500"})
    assert entity.bank.iban == "DE89370400440532013000" and entity.bank.bic == "DEUTDEFF500"
    with pytest.raises(ValidationFailed) as err:
        make_entity(bank={"iban": "DE89370400440532013001", "bic": "DEUT"})
    assert fields(err) == ["bank.iban", "bank.bic"]


def test_entity_reports_all_field_problems_at_once():
    with pytest.raises(ValidationFailed) as err:
        parse_model(
            Entity,
            {
                "name": "Acme",
                "address": {"country": "DE", "city": "Berlin"},
                "vat_number": "DE000",
                "default_vat_rate": "19",
                "brand_color": "blue",
                "currency": "EURO",
                "invoice_number_pattern": "INV-{SEQ}",
                "email": "not-an-email",
            },
        )
    assert sorted(fields(err)) == sorted(
        [
            "address.line1",
            "address.postal_code",
            "vat_number",
            "brand_color",
            "currency",
            "invoice_number_pattern",
            "email",
        ]
    )


@pytest.mark.parametrize("color", ["#12AB9f", "#000000"])
def test_brand_color_ok(color):
    assert make_entity(brand_color=color).brand_color == color.upper()


@pytest.mark.parametrize("color", ["12AB9F", "#12AB9", "#GGGGGG", "red", "#12AB9F0"])
def test_brand_color_refused(color):
    with pytest.raises(ValidationFailed) as err:
        make_entity(brand_color=color)
    assert fields(err) == ["brand_color"]


@pytest.mark.parametrize("country", ["XX", "D", "DEU", "EU", "12"])
def test_country_codes_are_iso_3166(country):
    with pytest.raises(ValidationFailed) as err:
        parse_model(Client, {"name": "c", "address": {"country": country}})
    assert fields(err) == ["address.country"]


def test_country_codes_are_upper_cased_and_el_is_greece():
    assert parse_model(Client, {"name": "c", "address": {"country": "se"}}).address.country == "SE"
    assert parse_model(Client, {"name": "c", "address": {"country": "EL"}}).address.country == "GR"


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def test_logo_data_url():
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert make_entity(logo=url).logo == url
    big = "data:image/png;base64," + base64.b64encode(PNG + b"\0" * 512 * 1024).decode()
    jpeg_claim = "data:image/jpeg;base64," + base64.b64encode(PNG).decode()
    for bad in (big, jpeg_claim, "https://example.com/logo.png", "data:image/png;base64,!!!"):
        with pytest.raises(ValidationFailed) as err:
            make_entity(logo=bad)
        assert fields(err) == ["logo"]


def test_client_vat_verification_and_currency():
    client = make_client("FR")
    assert client.vat_verified
    data = client.model_dump(mode="json")
    assert data["vat_verification"]["status"] == "valid"
    assert data["vat_verification"]["checked_at"] == "2026-11-20T10:00:00Z"
    assert make_client("US").vat_verification is None
    with pytest.raises(ValidationFailed) as err:
        parse_model(
            Client,
            {
                "name": "c",
                "address": {"country": "FR"},
                "currency": "ZZZ",
                "vat_verification": {"status": "maybe", "checked_at": "x"},
            },
        )
    assert sorted(fields(err)) == [
        "currency",
        "vat_verification.checked_at",
        "vat_verification.status",
    ]


def test_product():
    product = parse_model(
        Product, {"name": "Hour", "unit_price": "95.5", "currency": "sek", "unit": "hour"}
    )
    assert product.currency == "SEK" and product.supply_type == "services"
    assert product.model_dump(mode="json")["unit_price"] == "95.5"
    with pytest.raises(ValidationFailed) as err:
        parse_model(
            Product, {"name": "x", "unit_price": "1", "vat_rate": "150", "supply_type": "rights"}
        )
    assert sorted(fields(err)) == ["supply_type", "vat_rate"]


def test_timeline_event():
    event = TimelineEvent(
        type="payment_recorded",
        at=datetime(2026, 11, 21, 7, tzinfo=UTC),
        actor="key_1",
        data={"amount": "10.00"},
    )
    assert event.model_dump(mode="json") == {
        "type": "payment_recorded",
        "at": "2026-11-21T07:00:00Z",
        "actor": "key_1",
        "data": {"amount": "10.00"},
    }


def test_invoice_status_kind_metadata_checked():
    with pytest.raises(ValidationFailed) as err:
        parse_model(
            Invoice,
            {"status": "archived", "kind": "quote", "metadata": {"k": 1}, "currency": "EUR"},
        )
    assert sorted(fields(err)) == ["kind", "metadata.k", "status"]


def test_en16931_mapping_names_business_terms():
    assert EN16931["number"].startswith("BT-1 ")
    assert EN16931["seller.vat_number"].startswith("BT-31")
    assert EN16931["tax_breakdown[].tax_amount"].startswith("BT-117")
    assert all(v.startswith(("BT-", "BG-")) for v in EN16931.values())
    # every top-level invoice field named in the table exists on the model
    for path in EN16931:
        head = path.split(".")[0].split("[")[0]
        assert head in Invoice.model_fields, head


def test_unit_and_document_codes_for_the_e_invoice():
    from functions.domain.models import DOCUMENT_TYPE_CODES, unit_code

    assert DOCUMENT_TYPE_CODES == {
        "invoice": "380",
        "credit_note": "381",
        "self_billed_invoice": "389",
        "self_billed_credit_note": "261",
    }
    assert [unit_code(u) for u in ("hour", " Day ", "piece", None, "widgets")] == [
        "HUR",
        "DAY",
        "H87",
        "C62",
        "C62",
    ]
