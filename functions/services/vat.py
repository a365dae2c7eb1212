"""``vat.rates``: the VAT rates in force in a country, so the app can warn about a rate that is
none of them (a line's ``"0.25"`` meant as 25 %) without refusing it (0.9 % exists in Corsica,
special regimes elsewhere).

The rates come from the ``eu-vat-rates-data`` package (the European Commission's TEDB for the
EU, kept up to date by its maintainers), imported on the first call only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator

from .registry import Context, Params, action


class VatRates(Params):
    country: str = Field(min_length=2, max_length=2)

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str) -> str:
        return "GR" if value.upper() == "EL" else value.upper()


def _percent(value: Any) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def rates_of(country: str) -> dict[str, Any]:
    """``{"country", "standard", "rates", "source", "version"}``; ``rates`` is every rate in
    force (standard, reduced, super-reduced, parking), highest first; empty when unknown."""
    import eu_vat_rates_data as data

    found = data.get_rate(country) if data.has_rate(country) else None
    rates: set[Decimal] = set()
    standard = None
    if found:
        standard = _percent(found["standard"])
        values = [found["standard"], *found.get("reduced", [])]
        values += [found.get("super_reduced"), found.get("parking")]
        rates = {Decimal(_percent(v)) for v in values if v is not None}
    return {
        "country": country,
        "standard": standard,
        "rates": [_percent(r) for r in sorted(rates, reverse=True)],
        "source": "European Commission TEDB (eu-vat-rates-data)",
        "version": data.data_version,
    }


@action("vat.rates", VatRates, mutating=False)
def vat_rates(ctx: Context, p: VatRates) -> dict[str, Any]:
    """The VAT rates in force in ``country`` (ISO 3166-1 alpha-2), to check a line's rate."""
    ctx.require_account()
    return rates_of(p.country)
