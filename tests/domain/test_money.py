from decimal import Decimal

import pytest

from functions.domain.errors import ValidationFailed
from functions.domain.money import (
    check_minor_units,
    format_amount,
    minor_units,
    round_money,
    to_decimal,
    validate_currency,
)


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("EUR", 2), ("USD", 2), ("SEK", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3)],
)
def test_minor_units_follow_iso_4217(currency, digits):
    assert minor_units(currency) == digits


def test_minor_units_accepts_lower_case():
    assert minor_units("jpy") == 0


@pytest.mark.parametrize("bad", ["XYZ", "EURO", "", "E1", None, 978, "DEM", "XXX"])
def test_unknown_currency_is_refused_naming_the_field(bad):
    with pytest.raises(ValidationFailed) as err:
        validate_currency(bad, "currency")
    assert err.value.details[0].field == "currency"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.50", Decimal("1234.50")),
        (" 7.5 ", Decimal("7.5")),
        (3, Decimal(3)),
        (Decimal("0.10"), Decimal("0.10")),
        (0.1, Decimal("0.1")),  # through str(), not the binary value
        (1e-7, Decimal("1E-7")),
        ("-2", Decimal(-2)),
        ("-0.00", Decimal("0.00")),
        ("0E-50", Decimal(0)),
        ("1.000000000000000", Decimal("1.0000000000")),
        ("999999999999999.99", Decimal("999999999999999.99")),
    ],
)
def test_to_decimal_parses_exactly(value, expected):
    result = to_decimal(value, "amount")
    assert result == expected
    assert str(result) == str(expected)


@pytest.mark.parametrize(
    "bad",
    [
        "abc",
        "",
        "1,5",
        "NaN",
        "nan",
        "Infinity",
        "-inf",
        float("nan"),
        float("inf"),
        True,
        None,
        [1],
        {"a": 1},
        "1E+999999",  # finite, but would overflow every quantize
        "1000000000000000",
        "1e-30",
        "0.00000000001",
    ],
)
def test_to_decimal_refuses_garbage_naming_the_field(bad):
    with pytest.raises(ValidationFailed) as err:
        to_decimal(bad, "lines[2].quantity")
    assert [d.field for d in err.value.details] == ["lines[2].quantity"]


@pytest.mark.parametrize(
    ("amount", "currency", "rounding", "expected"),
    [
        ("2.345", "EUR", "half_up", "2.35"),
        ("2.345", "EUR", "half_even", "2.34"),
        ("2.355", "EUR", "half_even", "2.36"),
        ("-2.345", "EUR", "half_up", "-2.35"),  # symmetric: away from zero
        ("-2.345", "EUR", "half_even", "-2.34"),
        ("1500.5", "JPY", "half_up", "1501"),
        ("1500.5", "JPY", "half_even", "1500"),
        ("1.2345", "KWD", "half_up", "1.235"),
        ("-0.001", "EUR", "half_up", "0.00"),  # never a negative zero
        ("7", "KWD", "half_up", "7.000"),
    ],
)
def test_round_money(amount, currency, rounding, expected):
    result = round_money(Decimal(amount), currency, rounding)
    assert str(result) == expected


def test_round_money_refuses_unknown_mode():
    with pytest.raises(ValidationFailed):
        round_money(Decimal(1), "EUR", "up")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("1234.5"), "EUR", "1234.50"),
        ("1500", "JPY", "1500"),
        (Decimal("1.25"), "KWD", "1.250"),
        (Decimal("1E+3"), "EUR", "1000.00"),
        (Decimal("-0.004"), "EUR", "0.00"),
        (12, "USD", "12.00"),
    ],
)
def test_format_amount_has_exactly_the_minor_unit_digits(amount, currency, expected):
    assert format_amount(amount, currency) == expected


def test_check_minor_units_refuses_finer_amounts():
    assert check_minor_units(Decimal("10.5"), "EUR", "amount") == Decimal("10.50")
    with pytest.raises(ValidationFailed) as err:
        check_minor_units(Decimal("10.5"), "JPY", "amount")
    assert err.value.details[0].field == "amount"
    with pytest.raises(ValidationFailed):
        check_minor_units(Decimal("1.005"), "EUR", "amount")


def test_huge_line_is_a_validation_error_not_a_crash():
    from functions.domain.calc import compute
    from functions.domain.models import Invoice, Line

    line = Line(
        description="x",
        quantity="999999999999999",
        unit_price="999999999999999",
        vat_category="S",
        vat_rate="19",
    )
    with pytest.raises(ValidationFailed) as err:
        compute(Invoice(currency="KWD", lines=[line]))
    assert [d.field for d in err.value.details] == ["lines[0].unit_price"]
