"""Every row of the contract's VAT treatment table, and explicit line categories."""

from decimal import Decimal

import pytest

from functions.domain.calc import apply_vat, price
from functions.domain.errors import ValidationFailed
from functions.domain.models import Invoice, Line
from functions.domain.vat import (
    EU_MEMBER_STATES,
    VatTreatment,
    is_eu,
    resolve_line_vat,
    vat_country,
    vat_treatment,
)

from .conftest import make_client, make_entity

R19 = Decimal(19)
ZERO = Decimal(0)


@pytest.mark.parametrize(
    ("seller", "buyer", "valid", "supply", "expected"),
    [
        # same country → S at the entity's default rate, whatever the VAT number
        ("DE", "DE", True, "services", ("S", R19, None)),
        ("DE", "DE", False, "goods", ("S", R19, None)),
        # other EU country, buyer VAT verified valid, services → reverse charge
        ("DE", "FR", True, "services", ("AE", ZERO, "Reverse charge")),
        ("DE", "GR", True, "services", ("AE", ZERO, "Reverse charge")),
        # other EU country, buyer VAT verified valid, goods → intra-community supply
        ("DE", "FR", True, "goods", ("K", ZERO, "Intra-community supply")),
        ("DE", "XI", True, "goods", ("K", ZERO, "Intra-community supply")),
        # other EU country, no valid verified VAT number → S at the seller's rate
        ("DE", "FR", False, "services", ("S", R19, None)),
        ("DE", "FR", False, "goods", ("S", R19, None)),
        # buyer outside the EU, goods → export
        ("DE", "US", False, "goods", ("G", ZERO, "Export outside the EU")),
        ("DE", "CH", True, "goods", ("G", ZERO, "Export outside the EU")),
        ("DE", "GB", True, "goods", ("G", ZERO, "Export outside the EU")),
        # buyer outside the EU, services → outside scope
        ("DE", "US", False, "services", ("O", ZERO, "Not subject to VAT")),
        ("DE", "GB", True, "services", ("O", ZERO, "Not subject to VAT")),
        # Northern Ireland is in the EU VAT area for goods only
        ("DE", "XI", True, "services", ("O", ZERO, "Not subject to VAT")),
        # EL is Greece's VAT prefix
        ("DE", "EL", True, "services", ("AE", ZERO, "Reverse charge")),
        ("EL", "GR", True, "services", ("S", R19, None)),
    ],
)
def test_vat_treatment_table(seller, buyer, valid, supply, expected):
    assert vat_treatment(seller, buyer, valid, supply, R19) == VatTreatment(*expected)


def test_member_states_are_the_27():
    assert len(EU_MEMBER_STATES) == 27
    assert "GB" not in EU_MEMBER_STATES and "GR" in EU_MEMBER_STATES
    assert is_eu("el") and not is_eu("XI") and is_eu("XI", "goods")


@pytest.mark.parametrize(
    ("number", "country"),
    [
        ("EL094259216", "GR"),
        ("XI980780684", "XI"),
        ("DE 136695976", "DE"),
        ("12345", None),
        (None, None),
    ],
)
def test_vat_country_from_prefix(number, country):
    assert vat_country(number) == country


def test_unknown_supply_type_is_refused():
    with pytest.raises(ValidationFailed):
        vat_treatment("DE", "FR", True, "rights", R19)


DOMESTIC = VatTreatment("S", R19, None)
REVERSE = VatTreatment("AE", ZERO, "Reverse charge")


@pytest.mark.parametrize(
    ("given", "default", "expected"),
    [
        # no category: the default; a line/product rate only replaces an S default
        ({}, DOMESTIC, ("S", R19, None)),
        ({"vat_rate": Decimal(7)}, DOMESTIC, ("S", Decimal(7), None)),
        ({"vat_rate": Decimal(7)}, REVERSE, ("AE", ZERO, "Reverse charge")),
        ({"exemption_reason": "Art. 196"}, REVERSE, ("AE", ZERO, "Art. 196")),
        # explicit categories
        ({"vat_category": "S"}, DOMESTIC, ("S", R19, None)),
        ({"vat_category": "S", "vat_rate": Decimal("5.5")}, REVERSE, ("S", Decimal("5.5"), None)),
        ({"vat_category": "Z"}, DOMESTIC, ("Z", ZERO, None)),
        ({"vat_category": "E"}, DOMESTIC, ("E", ZERO, "Exempt from VAT")),
        (
            {"vat_category": "E", "exemption_reason": "§ 4 Nr. 14 UStG"},
            DOMESTIC,
            ("E", ZERO, "§ 4 Nr. 14 UStG"),
        ),
        ({"vat_category": "AE"}, DOMESTIC, ("AE", ZERO, "Reverse charge")),
        ({"vat_category": "K"}, DOMESTIC, ("K", ZERO, "Intra-community supply")),
        ({"vat_category": "G", "vat_rate": ZERO}, DOMESTIC, ("G", ZERO, "Export outside the EU")),
        ({"vat_category": "O"}, DOMESTIC, ("O", ZERO, "Not subject to VAT")),
    ],
)
def test_resolve_line_vat(given, default, expected):
    args = {"vat_category": None, "vat_rate": None, "exemption_reason": None, **given}
    assert resolve_line_vat(**args, default=default) == VatTreatment(*expected)


@pytest.mark.parametrize(
    ("given", "default", "field"),
    [
        ({"vat_category": "E", "vat_rate": Decimal(19)}, DOMESTIC, "lines[3].vat_rate"),
        ({"vat_category": "S", "vat_rate": ZERO}, DOMESTIC, "lines[3].vat_rate"),
        ({"vat_category": "S"}, REVERSE, "lines[3].vat_rate"),
        ({"vat_category": "X"}, DOMESTIC, "lines[3].vat_category"),
    ],
)
def test_resolve_line_vat_refuses_inconsistent_input(given, default, field):
    args = {"vat_category": None, "vat_rate": None, "exemption_reason": None, **given}
    with pytest.raises(ValidationFailed) as err:
        resolve_line_vat(**args, default=default, field="lines[3]")
    assert err.value.details[0].field == field


def test_apply_vat_uses_the_verified_status_of_the_current_vat_number():
    seller = make_entity()
    unverified = make_client("FR", verified=False)
    stale = make_client(
        "FR",
        vat_verification={
            "status": "valid",
            "checked_at": "2026-01-01T00:00:00Z",
            "vat_number": "FR00000000000",
        },
    )
    invoice = Invoice(currency="EUR", lines=[Line(description="x", unit_price=Decimal(100))])
    for buyer in (unverified, stale):
        assert apply_vat(invoice, seller, buyer).lines[0].vat_category == "S"
    assert apply_vat(invoice, seller, make_client("FR")).lines[0].vat_category == "AE"


def test_defaulted_lines_are_re_resolved_explicit_ones_kept():
    seller = make_entity()
    lines = [
        Line(description="advice", unit_price=Decimal(100)),
        Line(description="books", unit_price=Decimal(10), vat_category="S", vat_rate=Decimal(7)),
    ]
    draft = price(Invoice(lines=lines), seller, make_client("FR", verified=False))
    assert [(li.vat_category, li.vat_rate) for li in draft.lines] == [("S", R19), ("S", 7)]
    assert draft.tax_total == Decimal("19.70")
    # the client's VAT number is verified before finalize: the defaulted line flips
    final = price(draft, seller, make_client("FR"))
    assert [(li.vat_category, li.vat_rate) for li in final.lines] == [("AE", 0), ("S", 7)]
    assert final.tax_total == Decimal("0.70")
    assert [row.exemption_reason for row in final.tax_breakdown] == ["Reverse charge", None]
    # and back again (verification lost): the defaulted line is standard rated once more
    again = price(final, seller, make_client("FR", verified=False))
    assert [(li.vat_category, li.vat_rate) for li in again.lines] == [("S", R19), ("S", 7)]
