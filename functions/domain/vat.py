"""EU VAT treatment: which category, rate and mention a line gets.

Categories are the UNCL 5305 codes used by EN 16931 (BT-118 / BT-151):

``S`` standard rate, ``Z`` zero rated, ``E`` exempt, ``AE`` reverse charge, ``K`` intra-community
supply (goods), ``G`` export outside the EU, ``O`` outside the scope of VAT.

Country handling: ISO 3166 codes everywhere, except that VAT numbers use ``EL`` for Greece
(ISO ``GR``) and ``XI`` for Northern Ireland, which belongs to the EU VAT area for *goods only*
(Windsor Framework); for services a buyer in ``XI`` is treated as a UK (non-EU) buyer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, NamedTuple

from functions.domain.errors import ValidationFailed
from functions.domain.money import ZERO

VatCategory = Literal["S", "Z", "E", "AE", "K", "G", "O"]
SupplyType = Literal["services", "goods"]

VAT_CATEGORIES: tuple[str, ...] = ("S", "Z", "E", "AE", "K", "G", "O")

#: Categories that must carry a zero rate and an exemption reason / mention on the document.
EXEMPT_CATEGORIES: frozenset[str] = frozenset({"E", "AE", "K", "G", "O"})
#: Categories that are only legal when both parties have a VAT number (art. 226(4)).
NEEDS_BOTH_VAT_NUMBERS: frozenset[str] = frozenset({"AE", "K"})

#: The 27 member states by ISO 3166-1 alpha-2 code (Greece is ``GR`` here, ``EL`` in VAT ids).
EU_MEMBER_STATES: frozenset[str] = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip

#: Default mention printed on the document per category (BT-120 exemption reason text).
DEFAULT_MENTIONS: dict[str, str] = {
    "E": "Exempt from VAT",
    "AE": "Reverse charge",
    "K": "Intra-community supply",
    "G": "Export outside the EU",
    "O": "Not subject to VAT",
}


class VatTreatment(NamedTuple):
    category: str
    rate: Decimal
    mention: str | None


def normalize_country(country: str | None) -> str | None:
    """Upper-case country code with VAT prefixes mapped: ``EL`` → ``GR``; ``XI`` kept."""
    if country is None:
        return None
    code = country.strip().upper()
    return "GR" if code == "EL" else code


def vat_country(vat_number: str | None) -> str | None:
    """Country of a VAT number's prefix (``EL…`` → ``GR``, ``XI…`` → ``XI``), else None."""
    if not vat_number:
        return None
    prefix = "".join(vat_number.split())[:2].upper()
    if not prefix.isalpha():
        return None
    return normalize_country(prefix)


def is_eu(country: str | None, supply_type: str = "services") -> bool:
    """Whether ``country`` is in the EU VAT area for this kind of supply (``XI``: goods only)."""
    code = normalize_country(country)
    if code == "XI":
        return supply_type == "goods"
    return code in EU_MEMBER_STATES


def vat_treatment(
    seller_country: str,
    buyer_country: str,
    buyer_vat_valid: bool,
    supply_type: str,
    default_rate: Decimal,
) -> VatTreatment:
    """Default (category, rate, mention) for a line, per the contract's VAT table.

    ``buyer_vat_valid`` means the buyer's VAT number was verified ``valid`` (VIES).
    ``buyer_country`` may be ``XI`` (from an ``XI`` VAT number) for Northern Ireland.
    """
    if supply_type not in ("services", "goods"):
        raise ValidationFailed.one("supply_type", "must be services or goods")
    seller = normalize_country(seller_country)
    buyer = normalize_country(buyer_country)
    # Northern Ireland buying services, or GB buying anything, is "outside the EU"; a
    # GB seller selling into XI is still a domestic (UK) sale.
    same = seller == buyer or {seller, buyer} == {"GB", "XI"}
    if same:
        return VatTreatment("S", Decimal(default_rate), None)
    if is_eu(seller, supply_type) and is_eu(buyer, supply_type):
        if buyer_vat_valid:
            category = "AE" if supply_type == "services" else "K"
            return VatTreatment(category, ZERO, DEFAULT_MENTIONS[category])
        return VatTreatment("S", Decimal(default_rate), None)
    if not is_eu(buyer, supply_type):
        category = "G" if supply_type == "goods" else "O"
        return VatTreatment(category, ZERO, DEFAULT_MENTIONS[category])
    # A seller outside the EU selling into the EU: not an EU VAT supply of this seller.
    return VatTreatment("O", ZERO, DEFAULT_MENTIONS["O"])


def resolve_line_vat(
    *,
    vat_category: str | None,
    vat_rate: Decimal | None,
    exemption_reason: str | None,
    default: VatTreatment,
    field: str = "lines[0]",
) -> VatTreatment:
    """Resolve a line's explicit category/rate/exemption against the default treatment.

    - no category: the default treatment; a line or product rate replaces the default rate
      only when the default is ``S``.
    - ``S``: the given rate, else the default rate (when the default is itself ``S``).
    - ``Z``: rate 0. ``E``/``AE``/``K``/``G``/``O``: rate 0 and the given exemption reason, or
      the default mention.
    Inconsistent input (a non-zero rate on a zero category) raises ValidationFailed.
    """
    if vat_category is None:
        if default.category == "S" and vat_rate is not None:
            return VatTreatment("S", _check_rate(vat_rate, f"{field}.vat_rate"), None)
        reason = exemption_reason if default.category in EXEMPT_CATEGORIES else None
        return VatTreatment(default.category, default.rate, reason or default.mention)
    category = vat_category.strip().upper()
    if category not in VAT_CATEGORIES:
        raise ValidationFailed.one(
            f"{field}.vat_category", f"must be one of {', '.join(VAT_CATEGORIES)}"
        )
    if category == "S":
        if vat_rate is not None:
            rate = _check_rate(vat_rate, f"{field}.vat_rate")
        elif default.category == "S":
            rate = default.rate
        else:
            raise ValidationFailed.one(f"{field}.vat_rate", "a standard-rated line needs a rate")
        if rate <= 0:
            raise ValidationFailed.one(f"{field}.vat_rate", "standard rate must be above zero")
        return VatTreatment("S", rate, None)
    if vat_rate is not None and Decimal(vat_rate) != 0:
        raise ValidationFailed.one(f"{field}.vat_rate", f"category {category} has a zero rate")
    if category == "Z":
        return VatTreatment("Z", ZERO, None)
    return VatTreatment(category, ZERO, exemption_reason or DEFAULT_MENTIONS[category])


def _check_rate(rate: Decimal, field: str) -> Decimal:
    rate = Decimal(rate)
    if not rate.is_finite() or rate < 0 or rate >= 100:
        raise ValidationFailed.one(field, "must be a percentage from 0 to below 100")
    return rate


def rate_key(rate: Decimal) -> Decimal:
    """Canonical rate for grouping: ``19``, ``19.0`` and ``19.00`` are the same rate."""
    normalized = Decimal(rate).normalize()
    # normalize() turns 20 into 2E+1; quantize back to an integer exponent where possible.
    if normalized == normalized.to_integral_value():
        return normalized.quantize(Decimal(1))
    return normalized
