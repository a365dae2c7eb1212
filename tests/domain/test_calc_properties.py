"""Property tests of the one calculation path, over random invoices in random currencies
(incl. JPY with 0 and KWD with 3 minor units), quantities, discounts and mixed VAT rates."""

from __future__ import annotations

import itertools
import os
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.domain.calc import compute
from functions.domain.credit import apply_credit, build_credit_note
from functions.domain.errors import InvalidState, ValidationFailed
from functions.domain.models import INVOICE_AMOUNTS, Invoice, Line
from functions.domain.money import minor_units
from functions.domain.payments import apply_payment

from .conftest import make_entity

CURRENCIES = ["EUR", "JPY", "KWD", "USD", "SEK", "CHF", "BHD", "CLP", "HUF"]
VAT = [
    ("S", "19"),
    ("S", "7"),
    ("S", "5.5"),
    ("S", "21"),
    ("S", "25"),
    ("S", "8.1"),
    ("S", "2.1"),
    ("S", "19.00"),
    ("Z", "0"),
    ("E", "0"),
    ("AE", "0"),
    ("K", "0"),
    ("G", "0"),
    ("O", "0"),
]
# BILLOW_PROPERTY_EXAMPLES=2000 for a deeper run; no deadline (never a timed assertion).
SETTINGS = settings(
    max_examples=int(os.environ.get("BILLOW_PROPERTY_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def decimals(low: str, high: str, max_places: int) -> st.SearchStrategy[Decimal]:
    return st.integers(0, max_places).flatmap(
        lambda places: st.decimals(
            min_value=Decimal(low),
            max_value=Decimal(high),
            places=places,
            allow_nan=False,
            allow_infinity=False,
        )
    )


@st.composite
def lines(draw: st.DrawFn, signed: bool = False) -> Line:
    quantity = draw(decimals("0.001", "1000", 3))
    if signed and draw(st.booleans()):
        quantity = -quantity
    category, rate = draw(st.sampled_from(VAT))
    discount = draw(st.one_of(st.just(Decimal(0)), decimals("0", "100", 2)))
    return Line(
        description=draw(st.sampled_from(["Consulting", "Widget", "Kaffee ☕", "Hosting"])),
        quantity=quantity,
        unit_price=draw(decimals("0", "50000", 4)),
        discount_percent=discount,
        vat_category=category,
        vat_rate=Decimal(rate),
        exemption_reason="reason" if category not in ("S", "Z") else None,
    )


@st.composite
def invoices(draw: st.DrawFn, signed: bool = False) -> tuple[Invoice, str]:
    currency = draw(st.sampled_from(CURRENCIES))
    rounding = draw(st.sampled_from(["half_up", "half_even"]))
    items = draw(st.lists(lines(signed=signed), min_size=1, max_size=8))
    items = [line.model_copy(update={"id": f"ln_{i + 1}"}) for i, line in enumerate(items)]
    invoice = Invoice(
        id="inv_1",
        status="open",
        currency=currency,
        issue_date=date(2026, 11, 21),
        lines=items,
        seller=make_entity(rounding=rounding),
    )
    return invoice, rounding


# An oracle written with Fractions, independent of Decimal contexts and quantize().
def oracle_round(value: Fraction, digits: int, rounding: str) -> Fraction:
    scaled = value * 10**digits
    sign = -1 if scaled < 0 else 1
    magnitude = abs(scaled)
    floor = magnitude.numerator // magnitude.denominator
    rest = magnitude - floor
    if rest > Fraction(1, 2) or (
        rest == Fraction(1, 2) and (rounding == "half_up" or floor % 2 == 1)
    ):
        floor += 1
    return Fraction(sign * floor, 10**digits)


def amounts(invoice: Invoice) -> list[Decimal]:
    values = [getattr(invoice, name) for name in INVOICE_AMOUNTS]
    values += [line.net_amount for line in invoice.lines]
    for row in invoice.tax_breakdown:
        values += [row.taxable_amount, row.tax_amount]
    return values


@SETTINGS
@given(invoices(signed=True))
def test_subtotal_plus_tax_is_total_and_breakdown_matches_lines(case):
    invoice, rounding = case
    digits = minor_units(invoice.currency)
    result = compute(invoice, rounding)

    assert result.subtotal + result.tax_total == result.total
    assert sum(line.net_amount for line in result.lines) == result.subtotal
    assert sum(row.taxable_amount for row in result.tax_breakdown) == result.subtotal
    assert sum(row.tax_amount for row in result.tax_breakdown) == result.tax_total
    assert result.amount_due == max(result.total, 0)  # never below zero (refund_due instead)

    # each line net, exactly as the contract defines it
    groups: dict[tuple[str, Fraction], Fraction] = defaultdict(Fraction)
    for line in result.lines:
        exact = (
            Fraction(line.quantity)
            * Fraction(line.unit_price)
            * (1 - Fraction(line.discount_percent) / 100)
        )
        assert Fraction(line.net_amount) == oracle_round(exact, digits, rounding)
        groups[(line.vat_category, Fraction(line.vat_rate))] += Fraction(line.net_amount)

    # one breakdown row per (category, rate) — "19" and "19.00" are one rate — VAT once per row
    assert len(result.tax_breakdown) == len(groups)
    for row in result.tax_breakdown:
        taxable = groups[(row.vat_category, Fraction(row.vat_rate))]
        assert Fraction(row.taxable_amount) == taxable
        expected_tax = oracle_round(taxable * Fraction(row.vat_rate) / 100, digits, rounding)
        assert Fraction(row.tax_amount) == expected_tax

    # every amount carries exactly the currency's minor-unit digits
    for value in amounts(result):
        assert value.as_tuple().exponent == -digits


@SETTINGS
@given(invoices(signed=True))
def test_rounding_is_stable(case):
    invoice, rounding = case
    once = compute(invoice, rounding)
    assert compute(once, rounding) == once
    # what the API returns, read back by the PDF/e-invoice renderer, computes the same
    dumped = once.model_dump(mode="json")
    again = compute(Invoice.model_validate(dumped), rounding)
    assert again.model_dump(mode="json") == dumped
    digits = minor_units(invoice.currency)
    pattern = re.compile(r"-?\d+" + (rf"\.\d{{{digits}}}" if digits else ""))
    for name in INVOICE_AMOUNTS:
        assert isinstance(dumped[name], str) and pattern.fullmatch(dumped[name]), dumped[name]
    for row in dumped["tax_breakdown"]:
        assert pattern.fullmatch(row["taxable_amount"]) and pattern.fullmatch(row["tax_amount"])


@SETTINGS
@given(invoices())
def test_invoice_plus_full_credit_note_sums_to_zero(case):
    invoice, rounding = case
    original = compute(invoice, rounding)
    note = build_credit_note(original, reason="returned", issue_date=date(2026, 11, 30))

    assert note.kind == "credit_note" and note.original_invoice_id == "inv_1"
    assert original.total + note.total == 0
    assert original.subtotal + note.subtotal == 0
    assert original.tax_total + note.tax_total == 0
    assert all(line.quantity < 0 for line in note.lines)
    assert [
        (r.vat_category, r.vat_rate, -r.taxable_amount, -r.tax_amount) for r in note.tax_breakdown
    ] == [
        (r.vat_category, r.vat_rate, r.taxable_amount, r.tax_amount) for r in original.tax_breakdown
    ]

    credited = apply_credit(original, note)
    assert credited.status == "credited"
    assert credited.credited_amount == original.total
    assert credited.amount_due == 0
    # nothing remains to be credited
    with pytest.raises(InvalidState, match="credited"):
        build_credit_note(credited, reason="again", previous_credit_notes=[note])


@st.composite
def partial_plans(draw: st.DrawFn) -> tuple[Invoice, str, list[list[dict]]]:
    invoice, rounding = draw(invoices())
    # split every line's quantity in up to three parts, credited in random order
    parts: list[tuple[str, Decimal]] = []
    for line in invoice.lines:
        cuts = draw(st.lists(st.integers(1, 999), max_size=2, unique=True))
        points = sorted(Decimal(c) / 1000 for c in cuts)
        previous = Decimal(0)
        for share in [*points, Decimal(1)]:
            qty = (line.quantity * share).quantize(Decimal("0.001")) - previous
            if qty > 0:
                parts.append((line.id, qty))
                previous += qty
        if previous < line.quantity:
            parts.append((line.id, line.quantity - previous))
    order = draw(st.permutations(parts))
    size = draw(st.integers(1, 3))
    plans = [
        [{"line_id": key, "quantity": str(qty)} for key, qty in order[i : i + size]]
        for i in range(0, len(order), size)
    ]
    return invoice, rounding, plans


@SETTINGS
@given(partial_plans())
def test_partial_credits_never_exceed_what_remains(case):
    invoice, rounding, plans = case
    original = compute(invoice, rounding)
    digits = minor_units(original.currency)
    notes: list[Invoice] = []
    for index, plan in enumerate(plans):
        last = index == len(plans) - 1
        if original.status == "credited":
            # the money was all credited before the quantities ran out (rounding up)
            assert original.credited_amount == original.total > 0
            with pytest.raises(InvalidState):
                build_credit_note(original, lines=plan, previous_credit_notes=notes)
            return
        remaining = original.total - original.credited_amount
        try:
            note = build_credit_note(
                original, reason="partial", lines=plan, previous_credit_notes=notes
            )
        except ValidationFailed as exc:
            # refused only when per-line rounding would credit more money than remains
            assert not last
            assert exc.details[0].field == "lines" and "remains" in exc.details[0].message
            return
        assert -note.total <= remaining or last
        original = apply_credit(original, note, previous_credit_notes=notes)
        notes.append(note)
        assert original.credited_amount <= original.total
        assert original.amount_due == original.total - original.credited_amount
        if not last and original.status != "credited":
            assert original.status == ("paid" if original.amount_due == 0 else "open")
    assert original.status == "credited"
    assert original.credited_amount == original.total and original.amount_due == 0
    # the notes themselves differ from the total by at most the per-line/per-rate rounding
    drift = abs(original.total + sum(note.total for note in notes))
    slack = len(notes) * (len(invoice.lines) + len(original.tax_breakdown))
    assert drift <= slack * Decimal(1).scaleb(-digits)


@st.composite
def payment_plans(draw: st.DrawFn) -> tuple[Invoice, list[Decimal]]:
    invoice, rounding = draw(invoices())
    original = compute(invoice, rounding)
    digits = minor_units(original.currency)
    units = int(original.total.scaleb(digits))
    if units == 0:
        return original, []
    cuts = sorted(draw(st.lists(st.integers(1, units), max_size=4, unique=True)))
    bounds = [0, *[c for c in cuts if c < units], units]
    parts = [Decimal(b - a).scaleb(-digits) for a, b in itertools.pairwise(bounds) if b > a]
    return original, parts


@SETTINGS
@given(payment_plans())
def test_partial_payments_add_up_and_overpayment_is_refused(case):
    invoice, parts = case
    for index, part in enumerate(parts):
        if index == len(parts) - 1:
            too_much = part + Decimal(1).scaleb(-minor_units(invoice.currency))
            try:
                apply_payment(invoice, too_much, paid_on=date(2026, 12, 1))
            except ValidationFailed as exc:
                assert [d.field for d in exc.details] == ["amount"]
            else:
                raise AssertionError("overpayment accepted")
        invoice = apply_payment(invoice, part, paid_on=date(2026, 12, 1))
        assert invoice.amount_paid + invoice.amount_due == invoice.total
        assert invoice.status == ("paid" if index == len(parts) - 1 else "open")
    if parts:
        assert invoice.amount_due == 0 and len(invoice.payments) == len(parts)
