"""``invoice.record_refund``: settle what a credit note owes back (its ``refund_due``).

A credit note issued against a paid or part-paid invoice never makes the invoice's amount due
negative: the part already paid is the note's ``refund_due`` (``invoice.credit``, with
:func:`functions.domain.credit.settle_credit`). A refund paid to the client is recorded on the
credit note: ``refunds`` grows, ``refund_due`` shrinks, more than is owed is 422 on ``amount``.
The refund's journal entry (Dr refund due / Cr bank) and the timeline event
``refund_recorded`` (on the credit note and on the invoice it credits) commit with it.
"""

from __future__ import annotations

from typing import Any

from functions.domain.models import Invoice
from functions.domain.payments import record_refund
from storage_adapter import Record, Transaction

from .common import event
from .invoices import INVOICES, timeline_stream
from .invoices_lifecycle import (
    Events,
    RecordPayment,
    Settlement,
    record_settlement,
    settlement_payload,
)
from .registry import Context, action

#: A refund's fields are a payment's (``invoice_id`` names the credit note).
RecordRefund = RecordPayment


def _refund_events(
    tx: Transaction, ctx: Context, rec: Record, before: Invoice, after: Invoice
) -> Events:
    """``refund_recorded`` on the credit note, and on the invoice it credits (if it exists)."""
    payload = settlement_payload("refund_id", after.refunds[-1], "refund_due", after.refund_due)
    if after.original_invoice_id and tx.get(INVOICES, after.original_invoice_id):
        tx.append(
            timeline_stream(after.original_invoice_id),
            event(ctx, "refund_recorded", {**payload, "credit_note_id": rec.key}),
        )
    return [("refund_recorded", payload)]


REFUND = Settlement("refund", "ref", record_refund, _refund_events)


@action("invoice.record_refund", RecordRefund)
def record_refund_action(ctx: Context, p: RecordRefund) -> dict[str, Any]:
    """A refund on the credit note ``invoice_id``: at most its ``refund_due`` (else 422)."""
    return record_settlement(ctx, p, REFUND)
