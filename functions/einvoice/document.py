"""The EN 16931 view of a finalized document: every business term the XML writers need, already
decided, signed and formatted, so that the CII and UBL writers only place values in elements.

:func:`requirements` lists what a format needs that a document lacks (each problem names our
field and its BT id, taken from :data:`functions.domain.models.EN16931`); finalize reports them
with the art. 226 checks. :func:`build_document` raises them as one ValidationFailed, else returns
the frozen :class:`Document`.

Where the values come from — never recomputed:

- amounts are the document's own computed fields (``functions.domain.calc`` is the one
  calculation path): line nets, the VAT breakdown, subtotal, tax total, total. Credit notes
  carry negative amounts in Billow; EN 16931 states a credit note's amounts positive (the type
  code 381 says it is a credit), so the writers get the negation. BT-115 = BT-112 − BT-113 +
  BT-114 (BR-CO-16) with nothing paid and no rounding at issue: the e-invoice is the document as
  issued, identical whenever it is asked for (later payments are not part of it).
- the parties are the frozen ``seller``/``buyer`` copied at finalize, never the live records.
- a line's allowance (BG-27) is its discount: base = quantity × unit price, percentage =
  ``discount_percent``, amount = base × percentage. EN 16931 states line amounts with two
  decimals; where the currency's rounding of the line net (a JPY line of 2.5 × 101) leaves a
  difference beyond the cent that Peppol's PEPPOL-EN16931-R120 tolerates, the difference is
  stated as a line allowance or charge "Rounding", so every line adds up.
- amounts are written with two decimals (BR-DEC-*); a document whose amounts need a third
  (KWD, BHD, ... with a non-zero third decimal) cannot be expressed and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from functions.domain.errors import FieldError, ValidationFailed
from functions.domain.identifiers import NOT_PEPPOL_SCHEMES
from functions.domain.kinds import is_credit_kind, is_self_billed
from functions.domain.models import (
    CUSTOMIZATION_IDS,
    DISCOUNT_REASON,
    DOCUMENT_TYPE_CODES,
    EINVOICE_FORMATS,
    PAYMENT_MEANS_CODES,
    PEPPOL_BILLING_PROCESS,
    VATEX_CODES,
    Address,
    Client,
    Entity,
    Invoice,
    Line,
    bt,
    unit_code,
)
from functions.domain.vat import EU_MEMBER_STATES

#: The XML formats ``invoice.einvoice`` writes: format → (syntax, what it is).
FORMATS: dict[str, tuple[str, str]] = {
    "cii": ("cii", "UN/CEFACT CII D16B, Factur-X / ZUGFeRD EN 16931 profile"),
    "ubl": ("ubl", "UBL 2.1, Peppol BIS Billing 3.0"),
    "xrechnung": ("ubl", "UBL 2.1, XRechnung 3.0"),
}

CENT = Decimal("0.01")
#: Line-net tolerance of PEPPOL-EN16931-R120 (and the reason a rounding allowance exists).
LINE_SLACK = Decimal("0.01")

#: SEPA scheme countries (EPC list): an IBAN of one of these is paid by SEPA credit transfer.
SEPA_COUNTRIES = EU_MEMBER_STATES | {
    "AD", "CH", "GB", "GI", "IS", "LI", "MC", "NO", "SM", "VA", "AX", "BL", "GF", "GP", "MF",
    "MQ", "PM", "RE", "YT", "PT", "ES",
}  # fmt: skip


@dataclass(frozen=True)
class PostalAddress:
    line1: str | None
    line2: str | None
    city: str | None
    postal_code: str | None
    region: str | None
    country: str


@dataclass(frozen=True)
class Contact:
    name: str | None
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class Party:
    """BG-4 seller / BG-7 buyer."""

    name: str  # BT-27 / BT-44
    trading_name: str | None  # BT-28 / BT-45
    identifier: str | None  # BT-29 / BT-46 (no scheme)
    registration_number: str | None  # BT-30 / BT-47
    vat_number: str | None  # BT-31 / BT-48
    tax_number: str | None  # BT-32
    legal_info: str | None  # BT-33
    electronic_address: tuple[str, str] | None  # BT-34 / BT-49 (scheme, value)
    address: PostalAddress  # BG-5 / BG-8
    contact: Contact | None  # BG-6 / BG-9


@dataclass(frozen=True)
class AllowanceCharge:
    """BG-27 line allowance / BG-28 line charge."""

    charge: bool
    amount: Decimal
    base: Decimal | None
    percent: Decimal | None
    reason_code: str | None
    reason: str


@dataclass(frozen=True)
class DocLine:
    """BG-25, signs as written (positive for a credit note's credited quantities)."""

    id: str  # BT-126
    quantity: Decimal  # BT-129
    unit_code: str  # BT-130
    net_amount: Decimal  # BT-131
    price: Decimal  # BT-146 (never negative, BR-27)
    name: str  # BT-153
    seller_item_id: str | None  # BT-155
    vat_category: str  # BT-151
    vat_rate: Decimal | None  # BT-152 (absent for O, BR-O-05)
    period: tuple[date, date] | None  # BG-26
    allowances: tuple[AllowanceCharge, ...]
    attributes: tuple[tuple[str, str], ...]  # BG-32 (BT-160, BT-161)


@dataclass(frozen=True)
class TaxRow:
    """BG-23."""

    category: str  # BT-118
    rate: Decimal  # BT-119
    taxable: Decimal  # BT-116
    tax: Decimal  # BT-117
    exemption_reason: str | None  # BT-120
    exemption_code: str | None  # BT-121


@dataclass(frozen=True)
class Payment:
    """BG-16 / BG-17."""

    means_code: str  # BT-81
    reference: str | None  # BT-83
    iban: str | None  # BT-84
    account_name: str | None  # BT-85
    bic: str | None  # BT-86


@dataclass(frozen=True)
class Document:
    """Everything an EN 16931 writer places, decided once for both syntaxes."""

    format: str
    customization_id: str  # BT-24
    profile_id: str | None  # BT-23
    type_code: str  # BT-3
    is_credit_note: bool
    number: str  # BT-1
    issue_date: date  # BT-2
    due_date: date | None  # BT-9
    currency: str  # BT-5
    buyer_reference: str | None  # BT-10
    po_number: str | None  # BT-13
    note: str | None  # BT-22 (one note: Peppol allows no more)
    terms: str | None  # BT-20
    preceding_number: str | None  # BT-25
    delivery_date: date | None  # BT-72
    period: tuple[date, date] | None  # BG-14
    deliver_to: PostalAddress | None  # BG-15 (BT-80 for intra-community supplies)
    seller: Party
    buyer: Party
    payment: Payment
    lines: tuple[DocLine, ...]
    tax_rows: tuple[TaxRow, ...]
    line_total: Decimal  # BT-106 (= BT-109: no document-level allowances or charges)
    tax_total: Decimal  # BT-110
    grand_total: Decimal  # BT-112
    due_payable: Decimal  # BT-115


# --------------------------------------------------------------------------------------------
# Requirements
# --------------------------------------------------------------------------------------------
def _need(field_name: str, message: str) -> FieldError:
    """A problem naming our field, with its BT id (from the EN16931 table) in the message."""
    return FieldError(field_name, f"{bt(field_name)}: {message}")


def requirements(invoice: Invoice, fmt: str) -> list[FieldError]:
    """What ``fmt`` (``cii``, ``ubl``, ``xrechnung``) needs that the priced, frozen document
    lacks (empty = it can be written). Checked before the number exists, so BT-1 is not."""
    if fmt not in FORMATS:
        raise ValidationFailed.one("format", f"must be one of {', '.join(FORMATS)}")
    seller, buyer = invoice.seller, invoice.buyer
    if seller is None or buyer is None:
        return [FieldError("seller", "the document has no frozen seller and buyer yet")]
    errors: list[FieldError] = []
    categories = {line.vat_category for line in invoice.lines}

    # EN 16931 (every format)
    if "O" in categories and len(categories) > 1:
        for index, line in enumerate(invoice.lines):
            if line.vat_category == "O":
                errors.append(
                    _need(
                        f"lines[{index}].vat_category",
                        "EN 16931 does not allow lines not subject to VAT (O) beside other VAT "
                        "categories on one invoice (BR-O-11); invoice them separately",
                    )
                )
    if not (seller.vat_number or seller.registration_number or seller.tax_number):
        errors.append(
            _need(
                "seller.vat_number",
                "EN 16931 needs an identifier of the seller: its VAT identifier, legal "
                "registration identifier (BT-30) or tax number (BR-CO-26)",
            )
        )
    errors.extend(_decimals(invoice))

    # XRechnung 3.0 (BR-DE-*) and the contract's requirements for it
    if fmt == "xrechnung":
        if not effective_buyer_reference(invoice):
            errors.append(
                _need("buyer_reference", "XRechnung needs a buyer reference, e.g. the Leitweg-ID")
            )
        if seller.electronic_address is None:
            errors.append(_need("seller.electronic_address", "XRechnung needs it"))
        if buyer.electronic_address is None:
            errors.append(_need("buyer.electronic_address", "XRechnung needs it"))
        if not seller.phone:
            errors.append(_need("seller.phone", "XRechnung needs the seller's phone (BR-DE-6)"))
        if not seller.email:
            errors.append(_need("seller.email", "XRechnung needs the seller's e-mail (BR-DE-7)"))
        if not buyer.address.postal_code:
            errors.append(
                _need("buyer.address.postal_code", "XRechnung needs the buyer's post code")
            )
        if not seller.address.city or not seller.address.postal_code:
            errors.append(_need("seller.address.city", "XRechnung needs city and post code"))

    # Peppol BIS Billing 3.0
    if fmt == "ubl":
        for role, party in (("seller", seller), ("buyer", buyer)):
            address = party.electronic_address
            if address is None:
                errors.append(_need(f"{role}.electronic_address", "Peppol needs it"))
            elif address.scheme in NOT_PEPPOL_SCHEMES:
                errors.append(
                    _need(
                        f"{role}.electronic_address.scheme",
                        f"{address.scheme} is not a Peppol participant scheme",
                    )
                )
        if not effective_buyer_reference(invoice) and not invoice.po_number:
            errors.append(
                _need(
                    "buyer_reference",
                    "Peppol needs a buyer reference or a purchase order number (BT-13) "
                    "(PEPPOL-EN16931-R003)",
                )
            )
        if invoice.period is not None:
            for index, line in enumerate(invoice.lines):
                if line.period is not None and (
                    line.period.start < invoice.period.start or line.period.end > invoice.period.end
                ):
                    errors.append(
                        _need(
                            f"lines[{index}].period",
                            "a line period must lie within the invoice period "
                            "(PEPPOL-EN16931-R110, R111)",
                        )
                    )
    return errors


def finalize_requirements(invoice: Invoice) -> list[FieldError]:
    """What the buyer's ``einvoice_format`` needs, for finalize's 422 (beside art. 226).

    ``facturx`` (the default) needs the CII e-invoice the PDF embeds; ``xrechnung`` and
    ``peppol`` need their UBL too. Amounts that need three decimals (KWD, BHD, ...) cannot be in
    any EN 16931 e-invoice: for a ``facturx`` buyer, who asked for no e-invoice, such a document
    is still issued (its PDF is a plain PDF/A, without factur-x.xml); for the others it is not.
    """
    fmt = invoice.buyer.einvoice_format if invoice.buyer else "facturx"
    found: dict[str, FieldError] = {}
    for xml_format in EINVOICE_FORMATS[fmt]:
        for error in requirements(invoice, xml_format):
            if fmt == "facturx" and DECIMALS_MARK in error.message:
                continue
            found.setdefault(error.field, error)
    return list(found.values())


def expressible(invoice: Invoice) -> bool:
    """Whether the document can be an EN 16931 e-invoice at all (its PDF a Factur-X)."""
    return not requirements(invoice, "cii")


DECIMALS_MARK = "three decimals"


def _decimals(invoice: Invoice) -> list[FieldError]:
    """Amounts EN 16931 cannot state: more than two decimals (BR-DEC-*)."""
    found: list[FieldError] = []

    def check(name: str, amount: Decimal | None) -> None:
        if amount is not None and amount != amount.quantize(CENT):
            found.append(
                _need(
                    name,
                    f"{invoice.currency} amounts with three decimals cannot be stated in an "
                    "EN 16931 e-invoice (at most two decimals, BR-DEC)",
                )
            )

    for index, line in enumerate(invoice.lines):
        check(f"lines[{index}].net_amount", line.net_amount)
    for name in ("subtotal", "tax_total", "total"):
        check(name, getattr(invoice, name))
    for row in invoice.tax_breakdown:
        check("tax_breakdown[].taxable_amount", row.taxable_amount)
        check("tax_breakdown[].tax_amount", row.tax_amount)
    unique: dict[str, FieldError] = {}
    for error in found:
        unique.setdefault(error.field, error)
    return list(unique.values())


def effective_buyer_reference(invoice: Invoice) -> str | None:
    """BT-10: the invoice's own buyer reference, else the (frozen) client's."""
    if invoice.buyer_reference:
        return invoice.buyer_reference
    return invoice.buyer.buyer_reference if invoice.buyer else None


# --------------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------------
def _customization(invoice: Invoice, fmt: str) -> str:
    """BT-24: self-billed UBL (not XRechnung) is Peppol Self-Billing 3.0, since Peppol BIS
    Billing 3.0 forbids type code 389."""
    if fmt == "ubl" and is_self_billed(invoice.kind):
        from functions.domain.self_billing import PEPPOL_SELF_BILLING_CUSTOMIZATION

        return PEPPOL_SELF_BILLING_CUSTOMIZATION
    return CUSTOMIZATION_IDS[fmt]


def _profile(invoice: Invoice, fmt: str) -> str | None:
    """BT-23 (UBL only)."""
    if fmt == "cii":
        return None
    if fmt == "ubl" and is_self_billed(invoice.kind):
        from functions.domain.self_billing import PEPPOL_SELF_BILLING_PROFILE

        return PEPPOL_SELF_BILLING_PROFILE
    return PEPPOL_BILLING_PROCESS


def _note(invoice: Invoice) -> str | None:
    """BT-22: a self-billed document states "Self-billing" (art. 226 (10a)) before its notes."""
    if not is_self_billed(invoice.kind):
        return invoice.notes
    from functions.domain.self_billing import self_billing_mention  # imports this module

    language = invoice.buyer.locale if invoice.buyer else None
    mention = self_billing_mention(language or (invoice.seller.locale if invoice.seller else None))
    return f"{mention}\n{invoice.notes}" if invoice.notes else mention


def build_document(invoice: Invoice, fmt: str, *, type_code: str | None = None) -> Document:
    """The EN 16931 document of a finalized invoice or credit note in format ``fmt``.

    ``type_code`` overrides BT-3 (default: :data:`DOCUMENT_TYPE_CODES` of the kind).
    Raises ValidationFailed listing every requirement the document does not meet.
    """
    errors = requirements(invoice, fmt)
    if not invoice.number or invoice.issue_date is None:
        errors.append(FieldError("number", "only a finalized document has an e-invoice"))
    if errors:
        raise ValidationFailed(errors)
    seller, buyer = invoice.seller, invoice.buyer
    assert seller is not None and buyer is not None and invoice.number and invoice.issue_date

    credit = is_credit_kind(invoice.kind)
    sign = Decimal(-1) if credit else Decimal(1)
    categories = {line.vat_category for line in invoice.lines}
    outside_scope = "O" in categories  # BR-O-02: no VAT identifiers on such an invoice

    lines = tuple(
        _doc_line(line, index, sign, invoice.currency) for index, line in enumerate(invoice.lines)
    )
    tax_rows = tuple(
        TaxRow(
            category=row.vat_category,
            rate=row.vat_rate,
            taxable=_amount(sign * row.taxable_amount),
            tax=_amount(sign * row.tax_amount),
            exemption_reason=row.exemption_reason,
            exemption_code=VATEX_CODES.get(row.vat_category),
        )
        for row in invoice.tax_breakdown
    )
    period = (invoice.period.start, invoice.period.end) if invoice.period else None
    # BT-72: the supply date, which is the issue date when none is stated (art. 226 (7));
    # an invoicing period stands for it unless a supply date was given.
    delivery_date = invoice.supply_date or (None if period else invoice.issue_date)
    deliver_to = _postal(buyer.address) if "K" in categories else None
    grand_total = _amount(sign * invoice.total)
    bank = seller.bank
    iban = bank.iban if bank else None
    if iban:
        means = (
            PAYMENT_MEANS_CODES["sepa_credit_transfer"]
            if iban[:2] in SEPA_COUNTRIES and invoice.currency == "EUR"
            else PAYMENT_MEANS_CODES["credit_transfer"]
        )
    else:
        means = PAYMENT_MEANS_CODES["not_defined"]
    return Document(
        format=fmt,
        customization_id=_customization(invoice, fmt),
        profile_id=_profile(invoice, fmt),
        type_code=type_code or DOCUMENT_TYPE_CODES[invoice.kind],
        is_credit_note=credit,
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        buyer_reference=effective_buyer_reference(invoice),
        po_number=invoice.po_number,
        note=_note(invoice),
        terms=invoice.terms,
        preceding_number=invoice.original_invoice_number if credit else None,
        delivery_date=delivery_date,
        period=period,
        deliver_to=deliver_to,
        seller=_seller(seller, outside_scope),
        buyer=_buyer(buyer, outside_scope),
        payment=Payment(
            means_code=means,
            reference=invoice.payment_reference or invoice.number,
            iban=iban,
            account_name=(bank.account_holder if bank else None) if iban else None,
            bic=(bank.bic if bank else None) if iban else None,
        ),
        lines=lines,
        tax_rows=tax_rows,
        line_total=_amount(sign * invoice.subtotal),
        tax_total=_amount(sign * invoice.tax_total),
        grand_total=grand_total,
        due_payable=grand_total,
    )


def _amount(value: Decimal) -> Decimal:
    """An amount as written: exactly two decimals (the caller checked none is lost)."""
    result = value.quantize(CENT)
    return result.copy_abs() if result.is_zero() else result


def _postal(address: Address) -> PostalAddress:
    return PostalAddress(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        postal_code=address.postal_code,
        region=address.region,
        country=address.country,
    )


def _seller(seller: Entity, outside_scope: bool) -> Party:
    legal = seller.legal_name or seller.name
    vat_number = None if outside_scope else seller.vat_number
    identifier = None
    if not vat_number and not seller.registration_number:
        # BR-CO-26 needs BT-29, BT-30 or BT-31. Without BT-31 (a small business exempt from
        # VAT has only a tax number; BR-O-02 forbids BT-31 outside the scope of VAT) and
        # without a registration number, the seller is identified by its VAT or tax number
        # as BT-29 (no scheme) — an identification, not a claim of VAT registration.
        identifier = seller.vat_number or seller.tax_number
    address = seller.electronic_address
    return Party(
        name=legal,
        trading_name=seller.name if seller.name != legal else None,
        identifier=identifier,
        registration_number=seller.registration_number,
        vat_number=vat_number,
        tax_number=seller.tax_number,
        legal_info=seller.footer_text,
        electronic_address=(address.scheme, address.value) if address else None,
        address=_postal(seller.address),
        contact=(
            Contact(name=seller.name, phone=seller.phone, email=seller.email)
            if seller.phone or seller.email
            else None
        ),
    )


def _buyer(buyer: Client, outside_scope: bool) -> Party:
    address = buyer.electronic_address
    contact = None
    if buyer.contact_name or buyer.phone or buyer.email:
        contact = Contact(name=buyer.contact_name, phone=buyer.phone, email=buyer.email)
    return Party(
        name=buyer.name,
        trading_name=None,
        identifier=None,
        registration_number=buyer.registration_number,
        vat_number=None if outside_scope else buyer.vat_number,
        tax_number=None,
        legal_info=None,
        electronic_address=(address.scheme, address.value) if address else None,
        address=_postal(buyer.address),
        contact=contact,
    )


def _doc_line(line: Line, index: int, sign: Decimal, currency: str) -> DocLine:
    """One line as written: credit-note signs flipped, a negative price turned into a negative
    quantity (BR-27), the discount and any rounding difference as allowances (BG-27/28)."""
    assert line.net_amount is not None and line.unit_price is not None
    quantity = sign * line.quantity
    price = line.unit_price
    if price < 0:
        price, quantity = -price, -quantity
    net = _amount(sign * line.net_amount)
    gross = quantity * price  # exact
    allowances: list[AllowanceCharge] = []
    stated = gross.quantize(CENT, ROUND_HALF_UP)
    if line.discount_percent:
        base = stated
        discount = (base * line.discount_percent / 100).quantize(CENT, ROUND_HALF_UP)
        allowances.append(
            AllowanceCharge(
                charge=False,
                amount=discount,
                base=base,
                percent=line.discount_percent,
                reason_code=DISCOUNT_REASON[0],
                reason=DISCOUNT_REASON[1],
            )
        )
        stated = base - discount
    difference = net - stated
    if abs(difference) > LINE_SLACK:
        # The currency's rounding of the line net (e.g. to whole yen) moved it further than
        # the cent Peppol tolerates: state that move so the line adds up exactly.
        allowances.append(
            AllowanceCharge(
                charge=difference > 0,
                amount=abs(difference),
                base=None,
                percent=None,
                reason_code=None,
                reason="Rounding",
            )
        )
    name = line.description or ""
    return DocLine(
        id=line.id or str(index + 1),
        quantity=quantity,
        unit_code=line.unit_code or unit_code(line.unit),
        net_amount=net,
        price=price,
        name=name,
        seller_item_id=line.product_id,
        vat_category=line.vat_category or "S",
        vat_rate=None if line.vat_category == "O" else line.vat_rate,
        period=(line.period.start, line.period.end) if line.period else None,
        allowances=tuple(allowances),
        attributes=tuple(sorted(line.metadata.items())),
    )
