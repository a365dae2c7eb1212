"""Recording payments: partial payments add up, reaching zero due → ``paid``, overpaying is
refused (422 on ``amount``). Recording refunds: what a credit note owes back (``refund_due``)
is settled by refunds, never more than is owed (422 on ``amount``)."""

from __future__ import annotations

from datetime import date, datetime

from functions.domain.calc import compute
from functions.domain.errors import InvalidState, ValidationFailed
from functions.domain.kinds import is_credit_kind
from functions.domain.lifecycle import transition
from functions.domain.models import Invoice, Payment
from functions.domain.money import check_minor_units, format_amount, to_decimal


def apply_payment(
    invoice: Invoice,
    amount: object,
    *,
    paid_on: date,
    method: str | None = None,
    reference: str | None = None,
    payment_id: str | None = None,
    now: datetime | None = None,
) -> Invoice:
    """Return ``invoice`` with the payment added, totals recomputed and the status moved.

    Raises InvalidState (draft, void, paid, credited, credit notes) before looking at the
    amount, then ValidationFailed on ``amount`` for zero, negative, too many decimals or more
    than ``amount_due``.
    """
    if is_credit_kind(invoice.kind):
        raise InvalidState(
            invoice.status, "record_payment", "cannot record a payment on a credit note"
        )
    transition(invoice.status, "record_payment")
    value = to_decimal(amount, "amount")
    if value <= 0:
        raise ValidationFailed.one("amount", "must be greater than zero")
    value = check_minor_units(value, invoice.currency, "amount")
    current = compute(invoice)
    if value > current.amount_due:
        raise ValidationFailed.one(
            "amount",
            f"{format_amount(value, invoice.currency)} is more than the amount due "
            f"({format_amount(current.amount_due, invoice.currency)} {invoice.currency})",
        )
    payment = Payment(
        id=payment_id,
        amount=value,
        paid_on=paid_on,
        method=method,
        reference=reference,
        created_at=now,
    )
    updated = compute(current.model_copy(update={"payments": [*current.payments, payment]}))
    full = updated.amount_due <= 0
    status = transition(invoice.status, "record_payment", full=full)
    changes: dict[str, object] = {"status": status}
    if full:
        changes["paid_at"] = now
    return updated.model_copy(update=changes)


def record_refund(
    credit_note: Invoice,
    amount: object,
    *,
    paid_on: date,
    method: str | None = None,
    reference: str | None = None,
    refund_id: str | None = None,
    now: datetime | None = None,
) -> Invoice:
    """Return ``credit_note`` with the refund added to ``refunds`` and ``refund_due`` reduced.

    Raises InvalidState on anything but a finalized credit note, then ValidationFailed on
    ``amount`` for zero, negative, too many decimals or more than ``refund_due``.
    """
    if not is_credit_kind(credit_note.kind):
        raise InvalidState(
            credit_note.status, "record_refund", "a refund is recorded on the credit note"
        )
    if credit_note.status == "draft":
        raise InvalidState(
            credit_note.status, "record_refund", "cannot record a refund on a draft credit note"
        )
    value = to_decimal(amount, "amount")
    if value <= 0:
        raise ValidationFailed.one("amount", "must be greater than zero")
    value = check_minor_units(value, credit_note.currency, "amount")
    owed = credit_note.refund_due
    if value > owed:
        raise ValidationFailed.one(
            "amount",
            f"{format_amount(value, credit_note.currency)} is more than the refund due "
            f"({format_amount(owed, credit_note.currency)} {credit_note.currency})",
        )
    refund = Payment(
        id=refund_id,
        amount=value,
        paid_on=paid_on,
        method=method,
        reference=reference,
        created_at=now,
    )
    return credit_note.model_copy(
        update={"refunds": [*credit_note.refunds, refund], "refund_due": owed - value}
    )
