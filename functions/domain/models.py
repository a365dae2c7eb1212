"""Pydantic v2 models of the contract (../shared/spec/api-v1.md): entities, clients, products,
invoices and credit notes, lines, payments, timeline events.

- Money and quantities are :class:`~decimal.Decimal`; ``model_dump(mode="json")`` writes them as
  strings. Invoice amounts are written with exactly the currency's minor-unit digits.
- Inputs accept str / int / Decimal and floats (through ``str()``); NaN and infinities are refused.
- VAT numbers (``stdnum.eu.vat``, with ``EL``/``XI``; other countries via their stdnum module),
  IBAN and BIC are checked for format and check digits and stored compact.
- :func:`parse_model` turns pydantic's errors into :class:`ValidationFailed` with contract-style
  paths (``lines[2].quantity``, ``address.city``).
- Unknown keys: the models themselves ignore them, because they also read *stored* data, which
  carries fields the services own (an invoice's ``client_name``, ``reminder_claim``, its frozen
  seller's ``logo_blob``, ``pdf.blob_key`` ...). *Input* is parsed with pydantic's
  ``extra="forbid"`` instead (``parse_model(..., as_input=True)``, :func:`unknown_fields`,
  and every action's ``Params``), which applies to every nested model: an unknown key at any
  depth is a 422 naming its path (``bank.bankgiro``, ``lines[0].foo``), for fields added
  later too.

EN 16931 mapping — field → business term (BT) / group (BG), for the e-invoice export
(see :data:`EN16931` for the machine-readable table).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal, TypeVar

from babel import Locale, UnknownLocaleError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError
from stdnum import bic as stdnum_bic
from stdnum import get_cc_module
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

from functions.domain.errors import FieldError, ValidationFailed
from functions.domain.identifiers import (
    check_electronic_address,
    check_leitweg_id,
    check_unit_code,
    looks_like_leitweg_id,
    problem_field,
)
from functions.domain.money import decimal_str, is_currency, minor_units, to_decimal
from functions.domain.numbering import (
    DEFAULT_CREDIT_NOTE_PATTERN,
    DEFAULT_INVOICE_PATTERN,
    DEFAULT_QUOTE_PATTERN,
    patterns_collide,
    validate_pattern,
)
from functions.domain.vat import VAT_CATEGORIES

# --------------------------------------------------------------------------------------------
# EN 16931 semantic model mapping. Keys are our field paths, values the BT-/BG- ids.
# --------------------------------------------------------------------------------------------
EN16931: dict[str, str] = {
    # Document (BG-0)
    "number": "BT-1 Invoice number",
    "issue_date": "BT-2 Invoice issue date",
    "kind": "BT-3 Invoice type code (invoice=380, credit_note=381)",
    "currency": "BT-5 Invoice currency code",
    "due_date": "BT-9 Payment due date",
    "buyer_reference": "BT-10 Buyer reference (the client's buyer_reference when not set)",
    "po_number": "BT-13 Purchase order reference",
    "terms": "BT-20 Payment terms",
    "notes": "BT-22 Invoice note (BG-1)",
    "original_invoice_id": "BG-3 Preceding invoice reference (BT-25 = original number)",
    "original_invoice_number": "BT-25 Preceding invoice reference",
    "supply_date": "BT-72 Actual delivery date (the issue date when not set, art. 226 (7))",
    "period": "BG-14 Invoicing period",
    "period.start": "BT-73 Invoicing period start date",
    "period.end": "BT-74 Invoicing period end date",
    "payment_reference": "BT-83 Remittance information",
    # Seller (BG-4)
    "seller": "BG-4 Seller",
    "seller.legal_name": "BT-27 Seller name (registered name)",
    "seller.name": "BT-28 Seller trading name (BT-27 when legal_name is empty)",
    "seller.registration_number": "BT-30 Seller legal registration identifier",
    "seller.vat_number": "BT-31 Seller VAT identifier",
    "seller.tax_number": "BT-32 Seller tax registration identifier",
    "seller.footer_text": "BT-33 Seller additional legal information",
    "seller.electronic_address": "BT-34 Seller electronic address",
    "seller.electronic_address.scheme": "BT-34-1 Seller electronic address scheme (EAS)",
    "seller.address": "BG-5 Seller postal address",
    "seller.address.line1": "BT-35 Seller address line 1",
    "seller.address.line2": "BT-36 Seller address line 2",
    "seller.address.city": "BT-37 Seller city",
    "seller.address.postal_code": "BT-38 Seller post code",
    "seller.address.region": "BT-39 Seller country subdivision",
    "seller.address.country": "BT-40 Seller country code",
    "seller.contact": "BT-41 Seller contact point (BG-6; the seller's name)",
    "seller.phone": "BT-42 Seller contact telephone number (BG-6)",
    "seller.email": "BT-43 Seller contact email address (BG-6)",
    # Buyer (BG-7)
    "buyer": "BG-7 Buyer",
    "buyer.name": "BT-44 Buyer name",
    "buyer.registration_number": "BT-47 Buyer legal registration identifier",
    "buyer.vat_number": "BT-48 Buyer VAT identifier",
    "buyer.electronic_address": "BT-49 Buyer electronic address",
    "buyer.electronic_address.scheme": "BT-49-1 Buyer electronic address scheme (EAS)",
    "buyer.buyer_reference": "BT-10 Buyer reference (e.g. a German Leitweg-ID)",
    "buyer.address": "BG-8 Buyer postal address",
    "buyer.address.line1": "BT-50 Buyer address line 1",
    "buyer.address.line2": "BT-51 Buyer address line 2",
    "buyer.address.city": "BT-52 Buyer city",
    "buyer.address.postal_code": "BT-53 Buyer post code",
    "buyer.address.region": "BT-54 Buyer country subdivision",
    "buyer.address.country": "BT-55 Buyer country code",
    "buyer.contact_name": "BT-56 Buyer contact point (BG-9)",
    "buyer.phone": "BT-57 Buyer contact telephone number (BG-9)",
    "buyer.email": "BT-58 Buyer contact email address (BG-9)",
    # Delivery (BG-13 / BG-15): intra-community supplies name where the goods went
    "buyer.address.country#delivery": "BT-80 Deliver to country code (the buyer's address)",
    # Payment instructions (BG-16 / BG-17)
    "seller.bank#means": "BT-81 Payment means type code (58 SEPA, 30 credit transfer, 1 other)",
    "seller.bank": "BG-17 Credit transfer",
    "seller.bank.iban": "BT-84 Payment account identifier",
    "seller.bank.account_holder": "BT-85 Payment account name",
    "seller.bank.bic": "BT-86 Payment service provider identifier",
    # Totals (BG-22)
    "subtotal": "BT-106 Sum of invoice line net amount (= BT-109, no document allowances)",
    "tax_total": "BT-110 Invoice total VAT amount",
    "total": "BT-112 Invoice total amount with VAT",
    "amount_paid": "BT-113 Paid amount",
    "amount_due": "BT-115 Amount due for payment",
    # VAT breakdown (BG-23)
    "tax_breakdown": "BG-23 VAT breakdown",
    "tax_breakdown[].taxable_amount": "BT-116 VAT category taxable amount",
    "tax_breakdown[].tax_amount": "BT-117 VAT category tax amount",
    "tax_breakdown[].vat_category": "BT-118 VAT category code",
    "tax_breakdown[].vat_rate": "BT-119 VAT category rate",
    "tax_breakdown[].exemption_reason": "BT-120 VAT exemption reason text",
    # Lines (BG-25)
    "lines": "BG-25 Invoice line",
    "lines[].id": "BT-126 Invoice line identifier",
    "lines[].quantity": "BT-129 Invoiced quantity",
    "lines[].unit": "BT-130 Invoiced quantity unit of measure (mapped to UN/ECE Rec 20)",
    "lines[].unit_code": "BT-130 Invoiced quantity unit of measure code (UN/ECE Rec 20)",
    "lines[].net_amount": "BT-131 Invoice line net amount",
    "lines[].period": "BG-26 Invoice line period (BT-134 start, BT-135 end)",
    "lines[].discount_percent": "BT-138 Invoice line allowance percentage (BG-27)",
    "lines[].unit_price": "BT-146 Item net price (before the line allowance)",
    "lines[].vat_category": "BT-151 Invoiced item VAT category code",
    "lines[].vat_rate": "BT-152 Invoiced item VAT rate",
    "lines[].description": "BT-153 Item name (BT-154 Item description)",
    "lines[].product_id": "BT-155 Item Seller's identifier",
    "lines[].metadata": "BG-32 Item attributes (BT-160 name, BT-161 value)",
}


def bt(field: str) -> str:
    """The BT/BG id of one of our fields (``"buyer_reference"`` → ``"BT-10"``), from EN16931.

    Indexed paths are looked up without their index (``lines[3].period`` → ``lines[].period``).
    """
    key = re.sub(r"\[\d+\]", "[]", field)
    return EN16931[key].split(" ", 1)[0]


#: BT-3 invoice type code (UNTDID 1001) per document kind. Data, not code: a self-billed
#: invoice (389) or self-billed credit note (261) is one more entry.
DOCUMENT_TYPE_CODES: dict[str, str] = {
    "invoice": "380",
    "credit_note": "381",
    "self_billed_invoice": "389",  # see functions/domain/self_billing.py TYPE_CODES
    "self_billed_credit_note": "261",
}

#: BT-121 VAT exemption reason code (CEF VATEX) per category whose reason is known from the
#: category alone; ``E`` (exempt) has many legal bases, so it carries the text (BT-120) only.
VATEX_CODES: dict[str, str] = {
    "AE": "VATEX-EU-AE",
    "K": "VATEX-EU-IC",
    "G": "VATEX-EU-G",
    "O": "VATEX-EU-O",
}

#: BT-81 payment means type code (UNCL 4461).
PAYMENT_MEANS_CODES: dict[str, str] = {
    "sepa_credit_transfer": "58",
    "credit_transfer": "30",
    "not_defined": "1",
}

#: BT-139 / BT-140 line allowance reason (UNCL 5189 code 95 "Discount").
DISCOUNT_REASON = ("95", "Discount")

#: BT-24 specification identifiers and BT-23 business process per e-invoice format.
CUSTOMIZATION_IDS: dict[str, str] = {
    "cii": "urn:cen.eu:en16931:2017",
    "ubl": "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
    "xrechnung": "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
}
PEPPOL_BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

#: The client's ``einvoice_format`` → the XML ``invoice.einvoice`` formats it needs to pass.
EINVOICE_FORMATS: dict[str, tuple[str, ...]] = {
    "facturx": ("cii",),
    "xrechnung": ("xrechnung", "cii"),
    "peppol": ("ubl", "cii"),
}

#: BT-130 unit of measure: our free-text ``unit`` → UN/ECE Recommendation 20 code.
UNIT_CODES: dict[str, str] = {
    "piece": "H87",
    "pieces": "H87",
    "pcs": "H87",
    "unit": "C62",
    "hour": "HUR",
    "hours": "HUR",
    "h": "HUR",
    "day": "DAY",
    "days": "DAY",
    "week": "WEE",
    "month": "MON",
    "year": "ANN",
    "minute": "MIN",
    "kg": "KGM",
    "g": "GRM",
    "t": "TNE",
    "l": "LTR",
    "m": "MTR",
    "km": "KMT",
    "m2": "MTK",
    "m3": "MTQ",
    "kwh": "KWH",
    "lump sum": "LS",
    "flat": "LS",
}


def unit_code(unit: str | None) -> str:
    """UN/ECE Rec 20 code for a line's ``unit`` (``C62`` "one" when unknown or empty), the
    default of ``lines[].unit_code``."""
    if not unit:
        return "C62"
    return UNIT_CODES.get(unit.strip().lower(), "C62")


Status = Literal["draft", "open", "sent", "overdue", "paid", "void", "uncollectible", "credited"]
STATUSES: tuple[str, ...] = (
    "draft",
    "open",
    "sent",
    "overdue",
    "paid",
    "void",
    "uncollectible",
    "credited",
)
Kind = Literal["invoice", "credit_note", "self_billed_invoice", "self_billed_credit_note"]
#: Default numbering of self-billed documents: one series per entity and supplier.
DEFAULT_SELF_BILLING_PATTERN = "SB-{YYYY}-{SEQ:4}"

M = TypeVar("M", bound=BaseModel)


# --------------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------------
def _parse_decimal(value: Any) -> Any:
    if value is None:
        return None
    try:
        return to_decimal(value, "value")
    except ValidationFailed as exc:
        raise PydanticCustomError("decimal_parsing", exc.details[0].message) from None


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


#: A decimal parsed with :func:`to_decimal`, dumped to JSON as a fixed-point string.
Dec = Annotated[
    Decimal,
    BeforeValidator(_parse_decimal),
    PlainSerializer(decimal_str, return_type=str, when_used="json"),
]
OptDec = Annotated[
    Decimal | None,
    BeforeValidator(_parse_decimal),
    PlainSerializer(lambda v: None if v is None else decimal_str(v), when_used="json"),
]
#: Optional text: surrounding whitespace stripped, empty string → None.
OptStr = Annotated[str | None, BeforeValidator(_blank_to_none)]


def _field_errors(errors: list[tuple[str, str]]) -> PydanticCustomError:
    """Raise several field problems from one model validator, each keeping its own path."""
    return PydanticCustomError(
        "fields",
        "; ".join(f"{path}: {message}" for path, message in errors),
        {"fields": errors},
    )


# --------------------------------------------------------------------------------------------
# Checks shared by several models
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    territories = Locale("en").territories
    pseudo = {"EU", "EZ", "UN", "QO", "ZZ"}
    return frozenset(c for c in territories if len(c) == 2 and c.isalpha() and c not in pseudo)


def is_country(code: str) -> bool:
    """ISO 3166-1 alpha-2 (plus ``XK``), upper case."""
    return code in _countries()


def clean_vat_number(number: str, country: str | None = None) -> str:
    """Validate a VAT number and return its compact form with country prefix.

    EU numbers (incl. ``EL`` Greece and ``XI`` Northern Ireland) go through
    ``stdnum.eu.vat``; others through the stdnum module of their prefix or of ``country``
    (``GB``, ``CH``, ``NO``, ...). A country with no module is accepted as typed (compacted).
    Raises ValueError with a user-facing message.
    """
    compact = re.sub(r"[\s.\-]", "", number).upper()
    prefix = compact[:2].lower() if compact[:2].isalpha() else None
    try:
        if prefix in eu_vat.MEMBER_STATES or prefix == "el":
            return eu_vat.validate(compact)
        cc = prefix or (country or "").lower()
        module = get_cc_module(cc, "vat") if cc else None
        if module is None:
            if not re.fullmatch(r"[A-Z0-9]{4,20}", compact):
                raise ValueError("is not a valid VAT number")
            return compact
        module.validate(compact)
        return compact
    except StdnumError as exc:
        raise ValueError(f"is not a valid VAT number ({exc.message})") from None


def _compact(number: str) -> str:
    return re.sub(r"[\s.\-]", "", number).upper()


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_email(value: str | None) -> str | None:
    if value is not None and (len(value) > 254 or not _EMAIL.fullmatch(value)):
        raise ValueError("is not a valid email address")
    return value


def _check_country(value: str) -> str:
    code = value.strip().upper() if isinstance(value, str) else value
    if code == "EL":
        code = "GR"
    if not isinstance(code, str) or not is_country(code):
        raise ValueError("must be an ISO 3166-1 alpha-2 country code")
    return code


def _check_currency(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if not is_currency(code):
        raise ValueError("must be an ISO 4217 currency code")
    return code


def _check_locale(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError("must be a BCP 47 locale such as en, de or sv-SE") from None
    return value


def _check_metadata(value: dict[str, str]) -> dict[str, str]:
    for key, item in value.items():
        if not key or len(key) > 40 or len(item) > 500:
            raise ValueError("keys are 1-40 characters, values at most 500")
    return value


def _check_buyer_reference(value: str | None) -> str | None:
    """A buyer reference shaped like a Leitweg-ID must be a valid one (check digits)."""
    if value is not None and looks_like_leitweg_id(value):
        return check_leitweg_id(value)
    return value


def _check_rate(value: Decimal | None) -> Decimal | None:
    if value is not None and not (0 <= value < 100):
        raise ValueError("must be a percentage from 0 to below 100")
    return value


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------
class DomainModel(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, validate_default=False)


class Address(DomainModel):
    """Postal address (BG-5 seller / BG-8 buyer). Only ``country`` is required here; entities
    also require ``line1``, ``postal_code`` and ``city``, and finalize checks the buyer's."""

    line1: OptStr = None
    line2: OptStr = None
    postal_code: OptStr = None
    city: OptStr = None
    region: OptStr = None
    country: str

    _country = field_validator("country")(_check_country)


class StrictInput(DomainModel):
    """A nested object that refuses unknown keys (a typo must not be silently dropped)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_default=False)


class ElectronicAddress(StrictInput):
    """Where e-invoices reach a party (BT-34 seller / BT-49 buyer): an EAS scheme and a value,
    checked per scheme (see :mod:`functions.domain.identifiers`)."""

    scheme: str = Field(min_length=1, max_length=4)
    value: str = Field(min_length=1, max_length=254)

    @model_validator(mode="after")
    def _check(self) -> ElectronicAddress:
        try:
            scheme, value = check_electronic_address(self.scheme, self.value)
        except ValueError as exc:
            raise _field_errors([(problem_field(exc), str(exc))]) from None
        self.scheme, self.value = scheme, value
        return self


class Period(StrictInput):
    """An invoicing period (BG-14) or a line period (BG-26): both dates, start ≤ end."""

    start: date
    end: date

    @model_validator(mode="after")
    def _order(self) -> Period:
        if self.end < self.start:
            raise _field_errors([("end", "must not be before the start")])
        return self


class Bank(DomainModel):
    """Credit transfer details (BG-17)."""

    account_holder: OptStr = None
    iban: OptStr = None
    bic: OptStr = None
    bank_name: OptStr = None

    @field_validator("iban", "bic")
    @classmethod
    def _bank_codes(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        module, label = (stdnum_iban, "IBAN") if info.field_name == "iban" else (stdnum_bic, "BIC")
        try:
            return module.validate(value)
        except StdnumError as exc:
            raise ValueError(f"is not a valid {label} ({exc.message})") from None


class Record(DomainModel):
    """Fields every stored record has."""

    id: str | None = None
    account_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = Field(default=1, ge=1)


_BRAND_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_LOGO = re.compile(r"data:image/(png|jpeg|jpg);base64,([A-Za-z0-9+/=\s]+)")
MAX_LOGO_BYTES = 512 * 1024


class LogoBlob(DomainModel):
    """Where an entity's logo lives (a content-addressed blob); records never hold the image."""

    key: str
    sha256: str
    content_type: Literal["image/png", "image/jpeg"]


@lru_cache(maxsize=256)
def _books_problems(
    chart: str | None,
    accounts: tuple[tuple[str, str], ...],
    country: str,
    invoice_pattern: str,
    credit_note_pattern: str,
    self_billing_pattern: str,
) -> tuple[tuple[str, str], ...]:
    """Entity._books, cached: every stored invoice's frozen seller is an Entity parsed again."""
    from functions.ledger.charts import check_accounts  # the ledger imports this module

    errors = check_accounts(chart, dict(accounts), country)
    for name, pattern in (
        ("invoice_number_pattern", invoice_pattern),
        ("credit_note_number_pattern", credit_note_pattern),
    ):
        if patterns_collide(pattern, self_billing_pattern):
            errors.append(
                ("self_billing_number_pattern", f"would print the same numbers as {name}")
            )
    return tuple(errors)


class SelfBillingAgreement(DomainModel):
    """A supplier's agreement that the entity issues its invoices (self-billing, VAT Directive
    art. 224): in force from ``valid_from`` to ``valid_to`` (inclusive; open-ended if absent)."""

    agreement_reference: str = Field(min_length=1, max_length=100)
    valid_from: date
    valid_to: date | None = None

    @model_validator(mode="after")
    def _order(self) -> SelfBillingAgreement:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise _field_errors([("valid_to", "must not be before valid_from")])
        return self

    def covers(self, day: date) -> bool:
        """Whether the agreement is in force on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class Entity(Record):
    """A company the account invoices from (the seller, BG-4)."""

    object: Literal["entity"] = "entity"
    name: str = Field(min_length=1, max_length=200)
    legal_name: OptStr = None
    address: Address
    vat_number: OptStr = None
    tax_number: OptStr = None
    registration_number: OptStr = None
    email: OptStr = None
    phone: OptStr = None
    website: OptStr = None
    electronic_address: ElectronicAddress | None = None
    bank: Bank = Field(default_factory=Bank)
    currency: str = "EUR"
    locale: str = "en"
    default_vat_rate: Dec
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    number_reset: Literal["yearly", "monthly", "daily", "never"] = "yearly"
    invoice_number_pattern: str = DEFAULT_INVOICE_PATTERN
    credit_note_number_pattern: str = DEFAULT_CREDIT_NOTE_PATTERN
    next_invoice_number: int | None = Field(default=None, ge=1)
    next_credit_note_number: int | None = Field(default=None, ge=1)
    payment_reference: Literal["number", "rf", "ocr"] = "number"
    ocr_length_digit: bool = False
    rounding: Literal["half_up", "half_even"] = "half_up"
    reminder_days: list[int] = Field(default_factory=lambda: [7, 14, 30], max_length=10)
    brand_color: str = "#1F4E79"
    logo: OptStr = None
    logo_blob: LogoBlob | None = None
    footer_text: OptStr = None
    default_notes: OptStr = None
    page_size: Literal["A4", "Letter"] = "A4"
    # Self-billing and the books (issue 19): see functions/domain/self_billing.py and
    # functions/ledger/charts.py; checked by _self_billing_pattern and _books below.
    self_billing_number_pattern: str = DEFAULT_SELF_BILLING_PATTERN
    chart_of_accounts: Literal["skr03", "skr04", "bas", "generic"] | None = None
    accounts: dict[str, str] = Field(default_factory=dict, max_length=60)
    # Quotes (issue 20): their own gapless series, see functions/domain/quotes.py.
    quote_number_pattern: str = DEFAULT_QUOTE_PATTERN

    _email = field_validator("email")(_check_email)
    _locale = field_validator("locale")(_check_locale)
    _rate = field_validator("default_vat_rate")(_check_rate)

    @field_validator("quote_number_pattern")
    @classmethod
    def _quote_pattern(cls, value: str) -> str:
        # the syntax only: the quote series restarts on the finest period its pattern shows
        # (functions.domain.quotes.quote_series_reset), so any pattern stays unique
        try:
            return validate_pattern(value, "never", "quote_number_pattern")
        except ValidationFailed as exc:
            raise ValueError(exc.details[0].message) from None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return _check_currency(value) or "EUR"

    @field_validator("brand_color")
    @classmethod
    def _brand_color(cls, value: str) -> str:
        if not _BRAND_COLOR.fullmatch(value):
            raise ValueError("must be a colour #RRGGBB")
        return value.upper()

    @field_validator("reminder_days")
    @classmethod
    def _reminder_days(cls, value: list[int]) -> list[int]:
        if any(day < 1 or day > 365 for day in value):
            raise ValueError("days after the due date must be between 1 and 365")
        return sorted(set(value))

    @field_validator("logo")
    @classmethod
    def _logo(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _LOGO.fullmatch(value)
        if not match:
            raise ValueError("must be a data:image/png;base64 or data:image/jpeg;base64 URL")
        try:
            raw = base64.b64decode("".join(match.group(2).split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("is not valid base64") from None
        if len(raw) > MAX_LOGO_BYTES:
            raise ValueError("must be at most 512 KiB")
        is_png = raw.startswith(b"\x89PNG\r\n\x1a\n")
        is_jpeg = raw.startswith(b"\xff\xd8\xff")
        if not (is_png if match.group(1) == "png" else is_jpeg):
            raise ValueError(f"is not a {match.group(1).upper()} image")
        return value

    @field_validator("address")
    @classmethod
    def _full_address(cls, value: Address) -> Address:
        missing = [
            part for part in ("line1", "postal_code", "city") if getattr(value, part) is None
        ]
        if missing:
            raise _field_errors([(part, "Field required") for part in missing])
        return value

    @field_validator("vat_number")
    @classmethod
    def _vat_number(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        address = info.data.get("address")
        return clean_vat_number(value, address.country if address else None)

    @field_validator("self_billing_number_pattern")
    @classmethod
    def _self_billing_pattern(cls, value: str) -> str:
        # the syntax only: the self-billing series restarts on the finest period its pattern
        # shows (functions.domain.self_billing.series_reset), so any pattern stays unique
        try:
            return validate_pattern(value, "never", "self_billing_number_pattern")
        except ValidationFailed as exc:
            raise ValueError(exc.details[0].message) from None

    @model_validator(mode="after")
    def _books(self) -> Entity:
        """Self-billed numbers must not read like the entity's own; account overrides must name
        known roles in the chart's account format (functions/ledger/charts.py)."""
        errors = _books_problems(
            self.chart_of_accounts,
            tuple(self.accounts.items()),
            self.address.country,
            self.invoice_number_pattern,
            self.credit_note_number_pattern,
            self.self_billing_number_pattern,
        )
        if errors:
            raise _field_errors(list(errors))
        return self

    @field_validator("invoice_number_pattern", "credit_note_number_pattern")
    @classmethod
    def _pattern(cls, value: str, info: ValidationInfo) -> str:
        # a refused number_reset is not in info.data: then only the syntax is judged here
        reset = info.data.get("number_reset", "never")
        try:
            return validate_pattern(value, reset, info.field_name or "")
        except ValidationFailed as exc:
            raise ValueError(exc.details[0].message) from None

    @model_validator(mode="after")
    def _patterns_fit_the_reset(self) -> Entity:
        """The default patterns show the whole counter period too (given patterns were checked
        by :meth:`_pattern`): a ``daily`` reset with ``INV-{YYYY}-{SEQ:4}`` would print every
        day's first number alike."""
        errors = []
        for name in ("invoice_number_pattern", "credit_note_number_pattern"):
            try:
                validate_pattern(getattr(self, name), self.number_reset, name)
            except ValidationFailed as exc:
                errors.append((name, exc.details[0].message))
        if errors:
            raise _field_errors(errors)
        return self


class VatVerification(DomainModel):
    """Evidence of a VIES check (read-only on clients)."""

    status: Literal["valid", "invalid", "unavailable"]
    checked_at: datetime
    vat_number: OptStr = None
    name: OptStr = None
    address: OptStr = None
    request_identifier: OptStr = None


class Client(Record):
    """A customer (the buyer, BG-7)."""

    object: Literal["client"] = "client"
    name: str = Field(min_length=1, max_length=200)
    email: OptStr = None
    contact_name: OptStr = None
    address: Address
    vat_number: OptStr = None
    registration_number: Annotated[str | None, Field(max_length=100)] = None
    phone: Annotated[str | None, Field(max_length=50)] = None
    electronic_address: ElectronicAddress | None = None
    buyer_reference: Annotated[str | None, Field(max_length=200)] = None
    einvoice_format: Literal["facturx", "xrechnung", "peppol"] = "facturx"
    locale: OptStr = None
    currency: OptStr = None
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    notes: OptStr = None
    vat_verification: VatVerification | None = None
    archived: bool = False
    self_billing: SelfBillingAgreement | None = None

    _email = field_validator("email")(_check_email)
    _blank = field_validator("registration_number", "phone", "buyer_reference", mode="before")(
        _blank_to_none
    )
    _buyer_reference = field_validator("buyer_reference")(lambda v: _check_buyer_reference(v))
    _locale = field_validator("locale")(_check_locale)
    _currency = field_validator("currency")(_check_currency)

    @field_validator("vat_number")
    @classmethod
    def _vat_number(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        address = info.data.get("address")
        return clean_vat_number(value, address.country if address else None)

    @property
    def vat_verified(self) -> bool:
        """True when the *current* VAT number was verified ``valid``."""
        check = self.vat_verification
        if self.vat_number is None or check is None or check.status != "valid":
            return False
        return check.vat_number is None or _compact(check.vat_number) == _compact(self.vat_number)


class Product(Record):
    """A catalogue price."""

    object: Literal["product"] = "product"
    name: str = Field(min_length=1, max_length=200)
    description: OptStr = None
    unit_price: Dec
    currency: str = "EUR"
    unit: OptStr = None
    vat_rate: OptDec = None
    supply_type: Literal["services", "goods"] = "services"
    archived: bool = False

    _currency = field_validator("currency")(_check_currency)
    _rate = field_validator("vat_rate")(_check_rate)


class Line(DomainModel):
    """An invoice line (BG-25). ``net_amount`` is computed by :func:`calc.compute`.

    ``vat_defaulted`` records that the VAT category came from the treatment table rather than
    from the user, so it is re-resolved at finalize with the frozen buyer.
    ``original_line_id`` links a credit-note line to the invoice line it credits.
    """

    id: str | None = None
    description: OptStr = None
    quantity: Dec = Decimal(1)
    unit: OptStr = None
    unit_price: OptDec = None
    discount_percent: Dec = Decimal(0)
    product_id: OptStr = None
    supply_type: Literal["services", "goods"] = "services"
    vat_category: OptStr = None
    vat_rate: OptDec = None
    exemption_reason: OptStr = None
    net_amount: OptDec = None
    vat_defaulted: bool = False
    original_line_id: OptStr = None

    unit_code: Annotated[str | None, Field(max_length=3)] = None
    period: Period | None = None
    metadata: dict[str, str] = Field(default_factory=dict, max_length=20)

    _rate = field_validator("vat_rate")(_check_rate)
    _metadata = field_validator("metadata")(lambda v: _check_metadata(v))

    @field_validator("unit_code", mode="before")
    @classmethod
    def _unit_code(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        return check_unit_code(value) if isinstance(value, str) else value

    @field_validator("discount_percent")
    @classmethod
    def _discount(cls, value: Decimal) -> Decimal:
        if not (0 <= value <= 100):
            raise ValueError("must be a percentage from 0 to 100")
        return value

    @field_validator("vat_category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.upper()
        if value not in VAT_CATEGORIES:
            raise ValueError(f"must be one of {', '.join(VAT_CATEGORIES)}")
        return value


class TaxBreakdown(DomainModel):
    """VAT breakdown per (category, rate) (BG-23)."""

    vat_category: str
    vat_rate: Dec
    taxable_amount: Dec
    tax_amount: Dec
    exemption_reason: OptStr = None


class Payment(DomainModel):
    id: str | None = None
    amount: Dec
    paid_on: date
    method: OptStr = None
    reference: OptStr = None
    created_at: datetime | None = None


class PdfRef(DomainModel):
    sha256: str
    filename: str


#: Invoice-level amount fields written with the currency's minor-unit digits.
INVOICE_AMOUNTS = (
    "subtotal",
    "tax_total",
    "total",
    "amount_paid",
    "amount_due",
    "credited_amount",
    "refund_due",
)


class Invoice(Record):
    """An invoice or credit note, the full contract representation."""

    object: Literal["invoice"] = "invoice"
    kind: Kind = "invoice"
    status: Status = "draft"
    number: OptStr = None
    entity_id: str | None = None
    client_id: str | None = None
    currency: str = "EUR"
    issue_date: date | None = None
    supply_date: date | None = None
    due_date: date | None = None
    lines: list[Line] = Field(default_factory=list, max_length=500)
    tax_breakdown: list[TaxBreakdown] = Field(default_factory=list)
    subtotal: Dec = Decimal(0)
    tax_total: Dec = Decimal(0)
    total: Dec = Decimal(0)
    amount_paid: Dec = Decimal(0)
    amount_due: Dec = Decimal(0)
    credited_amount: Dec = Decimal(0)
    seller: Entity | None = None
    buyer: Client | None = None
    payment_reference: OptStr = None
    po_number: OptStr = None
    buyer_reference: Annotated[str | None, Field(max_length=200)] = None
    period: Period | None = None
    notes: OptStr = None
    terms: OptStr = None
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50)
    original_invoice_id: OptStr = None
    original_invoice_number: OptStr = None
    payments: list[Payment] = Field(default_factory=list)
    pdf: PdfRef | None = None
    finalized_at: datetime | None = None
    sent_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    # Additive fields (not in the contract table, allowed by it):
    void_reason: OptStr = None
    credit_reason: OptStr = None
    uncollectible_at: datetime | None = None
    credited_at: datetime | None = None
    # Credit notes on paid invoices: what is owed back, and the refunds that settle it.
    refund_due: Dec = Decimal(0)
    refunds: list[Payment] = Field(default_factory=list)
    # The quote this invoice was converted from (quote.convert), if any.
    quote_id: OptStr = None

    _currency = field_validator("currency")(_check_currency)
    _metadata = field_validator("metadata")(lambda v: _check_metadata(v))
    _blank = field_validator("buyer_reference", mode="before")(_blank_to_none)
    _buyer_reference = field_validator("buyer_reference")(lambda v: _check_buyer_reference(v))

    @model_serializer(mode="wrap")
    def _serialize(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data = handler(self)
        if info.mode_is_json() and isinstance(data, dict):
            _format_amounts(data, self.currency)
        return data


def _format_amounts(data: dict[str, Any], currency: str) -> None:
    """Rewrite computed amounts of a JSON dump with exactly the minor-unit digits."""
    try:
        digits = minor_units(currency)
    except ValidationFailed:
        return
    q = Decimal(1).scaleb(-digits)

    def fix(container: dict[str, Any], key: str) -> None:
        value = container.get(key)
        if isinstance(value, str):
            container[key] = decimal_str(Decimal(value).quantize(q))

    for key in INVOICE_AMOUNTS:
        fix(data, key)
    for line in data.get("lines") or []:
        if isinstance(line, dict):
            fix(line, "net_amount")
    for row in data.get("tax_breakdown") or []:
        if isinstance(row, dict):
            fix(row, "taxable_amount")
            fix(row, "tax_amount")
    for payment in [*(data.get("payments") or []), *(data.get("refunds") or [])]:
        if isinstance(payment, dict):
            fix(payment, "amount")


EventType = Literal[
    "created",
    "updated",
    "finalized",
    "pdf_rendered",
    "sent",
    "send_failed",
    "payment_recorded",
    "paid",
    "overdue",
    "reminder_sent",
    "voided",
    "marked_uncollectible",
    "credited",
    "duplicated",
    "refund_recorded",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]


class TimelineEvent(DomainModel):
    """One append-only entry of an invoice's timeline. ``type`` is one of EVENT_TYPES or a
    later addition (kept open so adding an event type never breaks reading old ones)."""

    type: str = Field(min_length=1, max_length=40)
    at: datetime
    actor: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
UNKNOWN_FIELD = "unknown field"


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """``("lines", 2, "quantity")`` → ``lines[2].quantity`` (under ``prefix`` if given)."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part:
            path = f"{path}.{part}" if path else str(part)
    return path


def _loc(item: Any) -> tuple[int | str, ...]:
    """An error's location without pydantic's union-member tags (``list[str]`` ...)."""
    return tuple(p for p in item["loc"] if not (isinstance(p, str) and "[" in p))


def field_errors(error: ValidationError, prefix: str = "") -> list[FieldError]:
    """Pydantic errors as contract ``details`` entries, model-level problems expanded."""
    details: list[FieldError] = []
    for item in error.errors(include_url=False):
        base = field_path(_loc(item), prefix)
        ctx = item.get("ctx") or {}
        if item["type"] == "fields" and "fields" in ctx:
            for sub, message in ctx["fields"]:
                details.append(FieldError(f"{base}.{sub}" if base else sub, message))
        elif item["type"] == "extra_forbidden":
            details.append(FieldError(base or "body", UNKNOWN_FIELD))
        else:
            message = item["msg"].removeprefix("Value error, ")
            details.append(FieldError(base or "body", message))
    return details


def parse_model(cls: type[M], data: Any, prefix: str = "", *, as_input: bool = False) -> M:
    """``cls.model_validate(data)`` raising :class:`ValidationFailed` with every field problem.

    ``as_input``: ``data`` comes from a caller, so a key no model knows, at any depth, is one of
    the problems (``extra="forbid"``); stored data is read without it.

    >>> parse_model(Line, {"quantity": "x"}, "lines[3]")
    Traceback (most recent call last):
    ...
    functions.domain.errors.ValidationFailed: lines[3].quantity: 'x' is not a decimal number
    >>> parse_model(Address, {"country": "SE", "street_no": "4"}, "address", as_input=True)
    Traceback (most recent call last):
    ...
    functions.domain.errors.ValidationFailed: address.street_no: unknown field
    """
    try:
        return cls.model_validate(data, extra="forbid" if as_input else None)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc, prefix)) from None


def unknown_fields(cls: type[BaseModel], data: Any, prefix: str = "") -> list[FieldError]:
    """The keys of caller input ``data`` that ``cls`` has no field for, at any depth.

    ``data`` may be partial (an update's changes): only unknown keys are reported, not what is
    missing or malformed — the caller validates the complete record afterwards.

    >>> unknown_fields(Entity, {"bank": {"iban": None, "bankgiro": "123-4567"}})
    [FieldError(field='bank.bankgiro', message='unknown field')]
    """
    try:
        cls.model_validate(data, extra="forbid")
    except ValidationError as exc:
        return [
            FieldError(field_path(_loc(item), prefix) or "body", UNKNOWN_FIELD)
            for item in exc.errors(include_url=False)
            if item["type"] == "extra_forbidden"
        ]
    return []
