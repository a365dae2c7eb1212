"""Properties of VAT resolution and numbering over random parties and patterns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.domain.calc import price
from functions.domain.compliance import missing_mandatory
from functions.domain.credit import build_credit_note
from functions.domain.finalize import complete_finalize, prepare_finalize
from functions.domain.models import Invoice, Line
from functions.domain.money import round_money
from functions.domain.numbering import format_number
from functions.domain.vat import EU_MEMBER_STATES

from .conftest import NOW, TODAY, make_client, make_entity

COUNTRIES = ["DE", "FR", "BE", "US", "CH", "GB", "NO", "JP"]


@settings(max_examples=100, deadline=None)
@given(
    buyer_country=st.sampled_from(COUNTRIES),
    verified=st.booleans(),
    supplies=st.lists(st.sampled_from(["services", "goods"]), min_size=1, max_size=4),
    rate=st.sampled_from(["19", "7"]),
)
def test_resolved_vat_always_satisfies_the_mandatory_checks(
    buyer_country, verified, supplies, rate
):
    seller = make_entity(default_vat_rate=rate)
    buyer = make_client(buyer_country, verified=verified)
    lines = [Line(description="x", unit_price=Decimal(10), supply_type=s) for s in supplies]
    invoice = price(Invoice(issue_date=TODAY, lines=lines), seller, buyer)
    assert missing_mandatory(invoice, seller, buyer) == []
    for line in invoice.lines:
        if buyer_country == "DE":
            assert (line.vat_category, line.vat_rate) == ("S", Decimal(rate))
        elif buyer_country in EU_MEMBER_STATES:
            expected = ("AE" if line.supply_type == "services" else "K") if verified else "S"
            assert line.vat_category == expected
        else:
            assert line.vat_category == ("O" if line.supply_type == "services" else "G")
    standard = sum((li.net_amount for li in invoice.lines if li.vat_category == "S"), Decimal(0))
    assert invoice.tax_total == round_money(standard * Decimal(rate) / 100, "EUR")


@settings(max_examples=100, deadline=None)
@given(
    prefix=st.sampled_from(["INV-", "", "RE ", "2026/"]),
    width=st.integers(0, 6),
    seqs=st.sets(st.integers(1, 10**7), min_size=2, max_size=20),
    year=st.integers(2000, 2099),
)
def test_numbers_are_distinct_per_sequence(prefix, width, seqs, year):
    pattern = f"{prefix}{{YYYY}}-{{SEQ:{width}}}"
    numbers = {format_number(pattern, seq, date(year, 6, 1)) for seq in seqs}
    assert len(numbers) == len(seqs)
    assert all(n.startswith(f"{prefix}{year}-") for n in numbers)


def test_credit_note_keeps_the_rounding_of_the_invoice():
    half_even = make_entity(rounding="half_even")
    lines = [Line(description="x", quantity=Decimal(1), unit_price=Decimal("0.125"))]
    draft = price(Invoice(id="inv_1", lines=lines), half_even, make_client("DE"))
    invoice = complete_finalize(
        prepare_finalize(draft, half_even, make_client("DE"), TODAY), 1, NOW
    )
    assert invoice.lines[0].net_amount == Decimal("0.12")  # half_even
    note = build_credit_note(invoice, reason="x", issue_date=TODAY)
    # the entity switched to half_up in between
    half_up = make_entity(rounding="half_up")
    issued = prepare_finalize(note, half_up, make_client("DE"), TODAY)
    assert issued.lines[0].net_amount == Decimal("-0.12")
    assert issued.total + invoice.total == 0
