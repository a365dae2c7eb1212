"""Finalize in two pure steps around the store's counter.

1. :func:`prepare_finalize` — outside the transaction: checks the status, sets the dates,
   freezes seller and buyer (a credit note keeps those of the invoice it credits), resolves
   VAT with the frozen parties, computes, and raises one ValidationFailed listing every
   art. 226 problem and everything the buyer's e-invoice format needs (field and BT id, see
   :func:`functions.einvoice.document.finalize_requirements`). Returns the document still
   numberless.
2. The service reads/increments the counter named by :func:`series_counter` (gapless: only
   inside the commit that also stores the finalized document).
3. :func:`complete_finalize` — given the sequence value: number, payment reference, ``open``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from functions.domain.calc import compute, price
from functions.domain.compliance import missing_mandatory
from functions.domain.errors import ValidationFailed
from functions.domain.lifecycle import transition
from functions.domain.models import Client, Entity, Invoice
from functions.domain.numbering import counter_name, format_number, pattern_for, series_start
from functions.domain.references import payment_reference
from functions.einvoice.document import finalize_requirements

#: Fields of a stored record that must not travel inside a frozen seller/buyer copy.
_RECORD_ONLY = {"account_id"}

#: The entity's numbering settings: a credit note is numbered in the entity's *current*
#: credit-note series even though it keeps the credited invoice's frozen seller.
_NUMBERING = (
    "invoice_number_pattern",
    "credit_note_number_pattern",
    "number_reset",
    "next_invoice_number",
    "next_credit_note_number",
)


def due_date_for(issue_date: date, seller: Entity, buyer: Client) -> date:
    """Issue date + the client's payment terms, else the entity's."""
    days = buyer.payment_terms_days
    if days is None:
        days = seller.payment_terms_days
    return issue_date + timedelta(days=days)


def freeze(seller: Entity, buyer: Client) -> tuple[Entity, Client]:
    """Copies of the parties as they stand now, to keep on the finalized document."""
    return (
        seller.model_copy(update=dict.fromkeys(_RECORD_ONLY), deep=True),
        buyer.model_copy(update=dict.fromkeys(_RECORD_ONLY), deep=True),
    )


def prepare_finalize(invoice: Invoice, seller: Entity, buyer: Client, today: date) -> Invoice:
    """Everything finalize does except the number (see the module docstring)."""
    transition(invoice.status, "finalize", kind=invoice.kind)
    issue_date = invoice.issue_date or today
    due_date = invoice.due_date or due_date_for(issue_date, seller, buyer)
    frozen_seller, frozen_buyer = freeze(seller, buyer)
    if invoice.kind == "credit_note" and invoice.seller is not None:
        # A credit note corrects a supply between the parties of the credited invoice: it keeps
        # that invoice's frozen seller and buyer (names, addresses, VAT numbers, bank, rounding
        # — so the two still sum to zero), not the entity's and client's details of today.
        # Only the numbering is today's: the note takes the next number of the entity's series.
        numbering = {name: getattr(seller, name) for name in _NUMBERING}
        frozen_seller = invoice.seller.model_copy(update=numbering, deep=True)
        if invoice.buyer is not None:
            frozen_buyer = invoice.buyer.model_copy(deep=True)
    draft = invoice.model_copy(
        update={
            "issue_date": issue_date,
            "due_date": due_date,
            "seller": frozen_seller,
            "buyer": frozen_buyer,
        }
    )
    if invoice.kind == "credit_note":
        # A credit note keeps the VAT treatment and the rounding of the invoice it credits
        # (its lines were copied with their categories; the copied seller carries the mode).
        priced = compute(draft, frozen_seller.rounding)
    else:
        priced = price(draft, frozen_seller, frozen_buyer)
    errors = missing_mandatory(priced, frozen_seller, frozen_buyer)
    reported = {error.field for error in errors}
    errors += [e for e in finalize_requirements(priced) if e.field not in reported]
    if errors:
        raise ValidationFailed(errors)
    return priced


def series_counter(invoice: Invoice) -> tuple[str, int]:
    """(counter key, start value) for a prepared document: ``seq = max(counter + 1, start)``."""
    seller = _seller(invoice)
    if invoice.issue_date is None or seller.id is None:
        raise ValueError("prepare_finalize() first: no issue date or seller id")
    pattern = pattern_for(seller, invoice.kind)
    key = counter_name(seller.id, invoice.kind, pattern, seller.number_reset, invoice.issue_date)
    return key, series_start(seller, invoice.kind)


def complete_finalize(invoice: Invoice, seq: int, now: datetime) -> Invoice:
    """Number the prepared document with sequence ``seq`` and move it to ``open`` — or straight
    to ``paid`` when an invoice has nothing to pay (a 100 % discount, a zero-priced supply):
    left ``open`` it could never be settled, since any payment would be an overpayment."""
    seller = _seller(invoice)
    if invoice.issue_date is None:
        raise ValueError("prepare_finalize() first: no issue date")
    number = format_number(pattern_for(seller, invoice.kind), seq, invoice.issue_date)
    reference = None
    if invoice.kind == "invoice":
        reference = payment_reference(
            seller.payment_reference, number, ocr_length_digit=seller.ocr_length_digit
        )
    status = transition(invoice.status, "finalize", kind=invoice.kind)
    settled = invoice.kind == "invoice" and invoice.amount_due == 0
    if settled:
        status = transition(status, "record_full_payment", kind=invoice.kind)
    return invoice.model_copy(
        update={
            "number": number,
            "payment_reference": reference,
            "status": status,
            "finalized_at": now,
            "paid_at": now if settled else invoice.paid_at,
        }
    )


def _seller(invoice: Invoice) -> Entity:
    if invoice.seller is None:
        raise ValueError("prepare_finalize() first: the document has no frozen seller")
    return invoice.seller
