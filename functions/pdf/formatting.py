"""Locale-aware formatting of amounts, quantities, percentages and dates (babel), memoised.

Amounts arrive as decimal strings computed by the domain; they are printed, never recomputed
or rounded: an amount keeps every decimal it was given (``decimal_quantization=False``) and is
padded to the currency's minor units. babel costs ~6-12 µs a call, so results are cached per
(text, locale) — a 150-line invoice repeats a handful of prices and rates many times.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_format_date
from babel.numbers import format_currency as _babel_format_currency
from babel.numbers import format_decimal as _babel_format_decimal
from babel.numbers import get_currency_precision

from .labels import SUPPORTED


@lru_cache(maxsize=64)
def babel_locale(tag: str) -> Locale:
    """A babel Locale for a BCP 47 tag (``de``, ``de-AT``, ``pt_BR``); English if unknown."""
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def choose_locale(*candidates: object) -> str:
    """The first usable locale tag among ``candidates`` (argument, buyer, seller), else ``en``.

    A tag whose language has no labels here (say ``pt``) is skipped in favour of the next
    candidate, so the document never mixes English words with Portuguese numbers.
    """
    for tag in candidates:
        if isinstance(tag, str) and tag.strip():
            tag = tag.strip()
            language = tag.replace("_", "-").split("-")[0].lower()
            if language in SUPPORTED:
                return tag
    return "en"


def language_of(tag: str) -> str:
    return tag.replace("_", "-").split("-")[0].lower()


def to_decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = str(value)
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


@lru_cache(maxsize=64)
def _digits(currency: str) -> int:
    try:
        return int(get_currency_precision(currency))
    except Exception:  # unknown code: print as given, two decimals
        return 2


@lru_cache(maxsize=64)
def _amount_pattern(currency: str) -> str:
    digits = _digits(currency)
    return "#,##0" + ("." + "0" * digits if digits else "")


@lru_cache(maxsize=8192)
def amount(value: str, currency: str, tag: str) -> str:
    """``value`` with grouping and the currency's decimals, no symbol (for table columns)."""
    number = to_decimal(value)
    if number is None:
        return str(value or "")
    return _babel_format_decimal(
        number,
        format=_amount_pattern(currency),
        locale=babel_locale(tag),
        decimal_quantization=False,
    )


@lru_cache(maxsize=4096)
def money(value: str, currency: str, tag: str) -> str:
    """``value`` as a currency amount of ``tag`` (``1.234,50 €``, ``€1,234.50``)."""
    number = to_decimal(value)
    if number is None:
        return str(value or "")
    try:
        return _babel_format_currency(
            number, currency, locale=babel_locale(tag), decimal_quantization=False
        )
    except Exception:
        return f"{amount(value, currency, tag)} {currency}"


@lru_cache(maxsize=4096)
def quantity(value: str, tag: str) -> str:
    """A quantity without meaningless trailing zeros (``2.000`` → ``2``, ``1.50`` → ``1,5``)."""
    number = to_decimal(value)
    if number is None:
        return str(value or "")
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    else:
        number = number.normalize()
    return _babel_format_decimal(number, locale=babel_locale(tag), decimal_quantization=False)


@lru_cache(maxsize=1024)
def percent(value: str, tag: str) -> str:
    """A percentage given in percent units (``"19"`` → ``19 %`` / ``19%``)."""
    number = to_decimal(value)
    if number is None:
        return str(value or "")
    text = quantity(str(number), tag)
    locale = babel_locale(tag)
    pattern = locale.percent_formats.get(None)
    suffix = "%"
    if pattern is not None and "\xa0%" in pattern.pattern:
        suffix = "\xa0%"
    elif pattern is not None and "\u202f%" in pattern.pattern:
        suffix = "\u202f%"
    return text + suffix


@lru_cache(maxsize=2048)
def date(value: str | None, tag: str) -> str:
    """An ISO date (``2026-11-21``) in the locale's medium format; other text is kept."""
    if not value:
        return ""
    try:
        parsed = _dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return _babel_format_date(parsed, format="medium", locale=babel_locale(tag))


def iban(value: str) -> str:
    """IBAN in groups of four, as printed on paper."""
    compact = "".join(str(value).split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
