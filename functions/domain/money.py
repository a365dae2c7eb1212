"""Exact money: Decimal only, minor units from ISO 4217 (via babel's CLDR data).

Every amount that reaches a document goes through :func:`round_money`, so the screen, the PDF
and the e-invoice agree to the last cent. Floats are never used for money; when a float does
arrive (a JSON number parsed without ``parse_float=Decimal``) it is converted through ``str()``
so ``0.1`` becomes ``Decimal("0.1")``, not ``0.1000000000000000055511151231257827``.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from babel import Locale
from babel.numbers import get_currency_precision, get_territory_currencies

from functions.domain.errors import ValidationFailed

Rounding = Literal["half_up", "half_even"]

#: The entity's ``rounding`` setting → the :mod:`decimal` rounding constant. ``ROUND_HALF_UP``
#: rounds halves away from zero, so it is symmetric: round(-x) == -round(x). That symmetry is
#: what lets an invoice and its full credit note sum to exactly zero.
ROUNDING_MODES: dict[str, str] = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}

ZERO = Decimal(0)
HUNDRED = Decimal(100)
#: Input bounds: keep every product and quantize inside the Decimal context's 28 digits and
#: out of exponent notation. 10^15 is far beyond any invoice; 10 places beyond any unit price.
MAX_INTEGER_DIGITS = 15
MAX_DECIMAL_PLACES = 10


#: Currencies accepted: legal tender somewhere at any time since this date (CLDR via babel).
#: Excludes the withdrawn ones (DEM, FRF, ...) and test/fund codes (XXX, XTS, CHE) while a
#: recently replaced currency stays usable for invoices being migrated.
CURRENCIES_SINCE = date(2020, 1, 1)


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    codes: set[str] = set()
    for territory in Locale("en").territories:
        if len(territory) == 2 and territory.isalpha():
            codes.update(
                get_territory_currencies(
                    territory, start_date=CURRENCIES_SINCE, end_date=date(9999, 12, 31)
                )
            )
    return frozenset(codes)


def validate_currency(currency: object, field: str = "currency") -> str:
    """Return the upper-case ISO 4217 code, or raise ValidationFailed naming ``field``."""
    if not isinstance(currency, str) or len(currency.strip()) != 3:
        raise ValidationFailed.one(field, "must be a three-letter ISO 4217 currency code")
    code = currency.strip().upper()
    if code not in _known_currencies():
        raise ValidationFailed.one(field, f"unknown ISO 4217 currency code {code!r}")
    return code


def is_currency(currency: object) -> bool:
    try:
        validate_currency(currency)
    except ValidationFailed:
        return False
    return True


@lru_cache(maxsize=512)
def minor_units(currency: str) -> int:
    """Number of decimal places of ``currency`` (EUR 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(validate_currency(currency)))


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency`` as a Decimal exponent (``Decimal("0.01")`` for EUR)."""
    return Decimal(1).scaleb(-minor_units(currency))


def rounding_mode(rounding: str) -> str:
    try:
        return ROUNDING_MODES[rounding]
    except KeyError:
        raise ValidationFailed.one("rounding", "must be half_up or half_even") from None


def to_decimal(value: object, field: str) -> Decimal:
    """Parse a money or quantity input (str, int, Decimal, float via ``str()``).

    Raises ValidationFailed naming ``field`` for garbage, booleans, NaN and infinities.
    """
    if isinstance(value, bool) or value is None:
        raise ValidationFailed.one(field, "must be a decimal number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = _parse(str(value), field)
    elif isinstance(value, str):
        result = _parse(value.strip(), field)
    else:
        raise ValidationFailed.one(field, "must be a decimal number")
    if not result.is_finite():
        raise ValidationFailed.one(field, "must be a finite decimal number")
    if result.is_zero():
        # keep "0.00" as written, but no "-0", "0E-50" or "0E+3"
        exponent = result.as_tuple().exponent
        if isinstance(exponent, int) and -MAX_DECIMAL_PLACES <= exponent <= 0:
            return result.copy_abs()
        return ZERO
    if result.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValidationFailed.one(field, "is too large")
    if -result.as_tuple().exponent > MAX_DECIMAL_PLACES:  # type: ignore[operator]
        trimmed = result.quantize(Decimal(1).scaleb(-MAX_DECIMAL_PLACES))
        if trimmed != result:
            raise ValidationFailed.one(field, f"has more than {MAX_DECIMAL_PLACES} decimal places")
        result = trimmed  # "1.000000000000000" is fine, just long
    return result


def _parse(text: str, field: str) -> Decimal:
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationFailed.one(field, f"{text!r} is not a decimal number") from None


def round_money(amount: Decimal, currency: str, rounding: str = "half_up") -> Decimal:
    """Round ``amount`` to the minor units of ``currency`` with the entity's rounding mode.

    A negative zero is normalised to zero so that ``"-0.00"`` never appears on a document.
    """
    result = Decimal(amount).quantize(quantum(currency), rounding=rounding_mode(rounding))
    if result.is_zero() and result.is_signed():
        result = result.copy_abs()
    return result


def check_minor_units(amount: Decimal, currency: str, field: str) -> Decimal:
    """Refuse amounts finer than the currency allows (``"1.005"`` EUR, ``"1.5"`` JPY)."""
    if amount != amount.quantize(quantum(currency), rounding=ROUND_HALF_UP):
        digits = minor_units(currency)
        raise ValidationFailed.one(
            field, f"{currency} amounts have at most {digits} decimal place{'s' * (digits != 1)}"
        )
    return round_money(amount, currency)


def format_amount(amount: Decimal | str | int, currency: str) -> str:
    """Plain string with exactly the minor-unit digits: ``"1234.50"``, ``"1500"``, ``"1.250"``.

    Rounds half-up if the amount has more digits than the currency allows; never uses an
    exponent and never prints ``-0.00``.
    """
    return decimal_str(round_money(to_decimal(amount, "amount"), currency))


def decimal_str(value: Decimal) -> str:
    """Fixed-point string of a Decimal as it stands (no exponent, no negative zero)."""
    if value.is_zero() and value.is_signed():
        value = value.copy_abs()
    return format(value, "f")
