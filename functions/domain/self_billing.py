"""Self-billing: the entity issues invoices in its supplier's name (VAT Directive art. 224).

A client may carry ``self_billing`` (:class:`~functions.domain.models.SelfBillingAgreement`):
as a supplier, it has agreed that the entity issues its invoices. A ``self_billed_invoice``
or ``self_billed_credit_note`` then has the client as seller and the entity as buyer.

- :func:`parties_for` / :func:`check_parties`: the one validator of kind, seller and buyer.
  Allowed: ``invoice``/``credit_note`` from the entity to the client; ``self_billed_*`` from
  the client (with an agreement in force on the issue date) to the entity. Everything else is
  a 422.
- :func:`frozen_parties`: the supplier as the document's seller (an ``Entity``-shaped copy)
  and the entity as its buyer (a ``Client``-shaped copy), so the PDF, mail and e-invoice read
  them like any other document's parties.
- :func:`supplier_side_treatment`: the contract's VAT table with the roles swapped: the
  supplier's country is the seller's, the entity's the buyer's, and the entity's own VAT
  number stands for the buyer's verified one.
- :func:`prepare_self_billed` / :func:`series_counter` / :func:`complete_self_billed`: the
  finalize steps, numbered in a series per entity *and* supplier (entity
  ``self_billing_number_pattern``, default ``SB-{YYYY}-{SEQ:4}``), both self-billed kinds in
  that one series.
- :data:`SELF_BILLING_MENTION`: the art. 226 (10a) mention in the eight languages, for the
  PDF and the e-invoice (BT-22 note); :data:`TYPE_CODES`: UNTDID 1001 389 and 261.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from functions.domain.calc import compute, price_with_rule
from functions.domain.compliance import missing_mandatory
from functions.domain.errors import FieldError, ValidationFailed
from functions.domain.kinds import KINDS, is_credit_kind, is_self_billed
from functions.domain.lifecycle import transition
from functions.domain.models import Bank, Client, Entity, Invoice, Line
from functions.domain.numbering import format_number, period, validate_pattern
from functions.domain.vat import VatTreatment, normalize_country, vat_country, vat_treatment
from functions.einvoice.document import finalize_requirements

#: The mention of VAT Directive art. 226 (10a), in the wording of the Directive's language
#: versions (Council Directive 2010/45/EU; EUR-Lex): printed on every self-billed document.
SELF_BILLING_MENTION: dict[str, str] = {
    "en": "Self-billing",
    "de": "Gutschrift",
    "fr": "Autofacturation",
    "es": "Facturación por el destinatario",
    "it": "Autofatturazione",
    "nl": "Factuur uitgereikt door afnemer",
    "sv": "Självfakturering",
    "pl": "Samofakturowanie",
}

#: BT-3 (UNTDID 1001): 389 self-billed invoice, 261 self-billed credit note. A self-billed
#: credit note is a credit note (positive amounts in the XML, like our 381), not a 389 with
#: negative amounts: Peppol BIS Self-Billing 3.0 (and PINT, CIUS-FR) pair 389 invoices with
#: 261 credit notes. Also in models.DOCUMENT_TYPE_CODES, which the e-invoice builder reads.
TYPE_CODES: dict[str, str] = {"self_billed_invoice": "389", "self_billed_credit_note": "261"}

#: UBL: Peppol BIS Billing 3.0 forbids 389; self-billed UBL uses the Peppol Self-Billing 3.0
#: customization and profile (the contract's "Self-billing" section).
PEPPOL_SELF_BILLING_CUSTOMIZATION = (
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:selfbilling:3.0"
)
PEPPOL_SELF_BILLING_PROFILE = "urn:fdc:peppol.eu:2017:poacc:selfbilling:01:1.0"


def self_billing_mention(locale: str | None) -> str:
    """The mention in the document's language (``de-AT`` → German), English otherwise."""
    language = (locale or "en").replace("_", "-").split("-")[0].lower()
    return SELF_BILLING_MENTION.get(language, SELF_BILLING_MENTION["en"])


# --- who may sell to whom ----------------------------------------------------------------------


@dataclass(frozen=True)
class PartyRef:
    """A party of a document: which record (``entity`` or ``client``) and its id."""

    role: str
    id: str | None


def parties_for(kind: str, entity: Entity, client: Client) -> tuple[PartyRef, PartyRef]:
    """The only (seller, buyer) a document of ``kind`` between these two may have."""
    ours, theirs = PartyRef("entity", entity.id), PartyRef("client", client.id)
    if kind not in KINDS:
        raise ValidationFailed.one("kind", f"must be one of {', '.join(KINDS)}")
    return (theirs, ours) if is_self_billed(kind) else (ours, theirs)


def check_parties(
    kind: str,
    seller: PartyRef,
    buyer: PartyRef,
    *,
    entity: Entity,
    client: Client,
    issue_date: date,
) -> None:
    """Refuse (422) every combination of kind, seller and buyer but the allowed ones:

    - ``invoice``, ``credit_note``: seller = the entity, buyer = the client;
    - ``self_billed_invoice``, ``self_billed_credit_note``: seller = the client, with a
      self-billing agreement in force on ``issue_date``; buyer = the entity.
    """
    if kind not in KINDS:
        raise ValidationFailed.one("kind", f"must be one of {', '.join(KINDS)}")
    expected_seller, expected_buyer = parties_for(kind, entity, client)
    errors: list[FieldError] = []
    if seller != expected_seller:
        who = "the client (the supplier)" if is_self_billed(kind) else "the entity"
        errors.append(FieldError("seller", f"the seller of a {_words(kind)} must be {who}"))
    if buyer != expected_buyer:
        who = "the entity" if is_self_billed(kind) else "the client"
        errors.append(FieldError("buyer", f"the buyer of a {_words(kind)} must be {who}"))
    if is_self_billed(kind) and seller == expected_seller:
        agreement = client.self_billing
        if agreement is None:
            errors.append(
                FieldError(
                    "client_id",
                    "the supplier has no self-billing agreement (client self_billing)",
                )
            )
        elif not agreement.covers(issue_date):
            errors.append(
                FieldError(
                    "issue_date",
                    f"the self-billing agreement {agreement.agreement_reference} is not in "
                    f"force on {issue_date.isoformat()}",
                )
            )
    if errors:
        raise ValidationFailed(errors)


def _words(kind: str) -> str:
    return kind.replace("_", " ")


# --- the document's parties and VAT ------------------------------------------------------------


def frozen_parties(
    entity: Entity, supplier: Client, *, supplier_rate: Decimal | None = None
) -> tuple[Entity, Client]:
    """(seller, buyer) of a self-billed document: the supplier as an ``Entity``-shaped seller
    and the entity as a ``Client``-shaped buyer, frozen at finalize like any other parties.

    The seller's ``default_vat_rate`` is the entity's when both are in one country (a domestic
    supply), else ``supplier_rate`` (the supplier's own country's rate, needed only when the
    supply is taxed there: a cross-border sale to a buyer without a VAT number); rounding and
    numbering settings are the entity's, which issues the document. Not validated here: the
    art. 226 checks of :func:`prepare_self_billed` name what is missing (``seller.address.city``).
    """
    same_country = normalize_country(supplier.address.country) == normalize_country(
        entity.address.country
    )
    rate = entity.default_vat_rate if same_country else (supplier_rate or Decimal(0))
    # Only what the document shows of its seller; numbering settings stay at their defaults
    # (the entity numbers the document: complete_self_billed), so the copy also reads back
    # as a valid Entity from the store.
    seller = Entity.model_construct(
        id=supplier.id,
        name=supplier.name,
        address=supplier.address.model_copy(deep=True),
        vat_number=supplier.vat_number,
        registration_number=supplier.registration_number,
        email=supplier.email,
        phone=supplier.phone,
        electronic_address=supplier.electronic_address,
        bank=Bank(),  # the supplier's account is not on file; the entity pays it
        currency=supplier.currency or entity.currency,
        locale=supplier.locale or entity.locale,
        default_vat_rate=rate,
        payment_terms_days=entity.payment_terms_days,
        rounding=entity.rounding,
        brand_color=entity.brand_color,
        page_size=entity.page_size,
    )
    buyer = Client.model_construct(
        id=entity.id,
        name=entity.legal_name or entity.name,
        email=entity.email,
        address=entity.address.model_copy(deep=True),
        vat_number=entity.vat_number,
        registration_number=entity.registration_number,
        phone=entity.phone,
        electronic_address=entity.electronic_address,
        locale=entity.locale,
        currency=entity.currency,
        payment_terms_days=supplier.payment_terms_days,
    )
    return seller, buyer


def supplier_side_treatment(line: Line, seller: Entity, buyer: Client) -> VatTreatment:
    """The contract's VAT table for a self-billed line: the supplier (``seller``) supplies the
    entity (``buyer``). The entity's own VAT number counts as the buyer's valid one (it is
    checked on input and the entity vouches for it); Northern Ireland (``XI``) counts for
    goods as everywhere else."""
    buyer_country = buyer.address.country
    if line.supply_type == "goods" and vat_country(buyer.vat_number) == "XI":
        buyer_country = "XI"
    return vat_treatment(
        seller.address.country,
        buyer_country,
        buyer.vat_number is not None,
        line.supply_type,
        seller.default_vat_rate,
    )


# --- finalize ----------------------------------------------------------------------------------


def prepare_self_billed(
    invoice: Invoice,
    entity: Entity,
    supplier: Client,
    today: date,
    *,
    supplier_rate: Decimal | None = None,
) -> Invoice:
    """Everything finalize does for a self-billed document except the number: the agreement
    on the issue date, the swapped parties (a self-billed credit note keeps those of the
    invoice it credits), VAT from the supplier's side, art. 226 — one 422 listing every
    problem."""
    if not is_self_billed(invoice.kind):
        raise ValueError(f"not a self-billed document: {invoice.kind}")
    transition(
        invoice.status,
        "finalize",
        kind="credit_note" if is_credit_kind(invoice.kind) else "invoice",
    )
    issue_date = invoice.issue_date or today
    seller_ref, buyer_ref = parties_for(invoice.kind, entity, supplier)
    check_parties(
        invoice.kind, seller_ref, buyer_ref, entity=entity, client=supplier, issue_date=issue_date
    )
    if is_credit_kind(invoice.kind) and invoice.seller is not None and invoice.buyer is not None:
        seller, buyer = invoice.seller, invoice.buyer
        due_date = invoice.due_date or issue_date
        draft = invoice.model_copy(
            update={
                "issue_date": issue_date,
                "due_date": due_date,
                "seller": seller,
                "buyer": buyer,
            }
        )
        priced = compute(draft, seller.rounding)
    else:
        seller, buyer = frozen_parties(entity, supplier, supplier_rate=supplier_rate)
        terms = supplier.payment_terms_days
        days = entity.payment_terms_days if terms is None else terms
        due_date = invoice.due_date or issue_date + timedelta(days=days)
        draft = invoice.model_copy(
            update={
                "issue_date": issue_date,
                "due_date": due_date,
                "seller": seller,
                "buyer": buyer,
            }
        )
        priced = price_with_rule(draft, seller, buyer, supplier_side_treatment)
    errors = missing_mandatory(priced, seller, buyer)
    reported = {error.field for error in errors}
    errors += [e for e in finalize_requirements(priced) if e.field not in reported]
    if is_credit_kind(invoice.kind):
        if priced.total > 0:
            errors.append(FieldError("lines", "a credit note carries negative amounts"))
        if not priced.original_invoice_id:
            errors.append(FieldError("original_invoice_id", "the credited invoice is required"))
    elif priced.total < 0:
        errors.append(
            FieldError("lines", "an invoice total cannot be negative; issue a credit note")
        )
    if errors:
        raise ValidationFailed(errors)
    return priced


def series_counter(entity: Entity, supplier_id: str, issue_date: date) -> tuple[str, int]:
    """(store counter key, start) of the self-billing series of ``entity`` for ``supplier_id``.

    ``number:ent_1:self_billed:cli_7:2026``: the third part never equals the plain series'
    ``invoice``/``credit_note``, and the supplier id is part of the key, so no two series
    share a counter. Both self-billed kinds take their numbers from this one series (one
    pattern, one sequence: they can never print the same number).
    """
    if entity.id is None:
        raise ValueError("the entity has no id")
    reset = series_reset(entity)
    return f"number:{entity.id}:self_billed:{supplier_id}:{period(reset, issue_date)}", 1


def series_reset(entity: Entity) -> str:
    """When the self-billing series starts again: the entity's ``number_reset`` when its
    self-billing pattern shows that period, else the finest period the pattern does show
    (``SB-{YYYY}-{SEQ:4}`` under a daily reset: yearly), so a number never repeats."""
    pattern = entity.self_billing_number_pattern
    for reset in (entity.number_reset, "yearly"):
        try:
            validate_pattern(pattern, reset, "self_billing_number_pattern")
        except ValidationFailed:
            continue
        return reset
    return "never"


def complete_self_billed(prepared: Invoice, entity: Entity, seq: int, now: datetime) -> Invoice:
    """Number the prepared self-billed document with ``seq`` from its series and move it to
    ``open`` (``paid`` when an invoice has nothing to pay). No payment reference: the entity
    pays, it does not ask to be paid."""
    if prepared.issue_date is None:
        raise ValueError("prepare_self_billed() first: no issue date")
    kind = "credit_note" if is_credit_kind(prepared.kind) else "invoice"
    number = format_number(entity.self_billing_number_pattern, seq, prepared.issue_date)
    status = transition(prepared.status, "finalize", kind=kind)
    settled = kind == "invoice" and prepared.amount_due == 0
    if settled:
        status = transition(status, "record_full_payment", kind=kind)
    return prepared.model_copy(
        update={
            "number": number,
            "payment_reference": None,
            "status": status,
            "finalized_at": now,
            "paid_at": now if settled else prepared.paid_at,
        }
    )
