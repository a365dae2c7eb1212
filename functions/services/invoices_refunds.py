"""``invoice.record_refund``: settle what a credit note owes back (its ``refund_due``).

A credit note issued against a paid or part-paid invoice never makes the invoice's amount due
negative: the part already paid is the note's ``refund_due`` (``invoice.credit``, with
:func:`functions.domain.credit.settle_credit`). A refund paid to the client is recorded on the
credit note: ``refunds`` grows, ``refund_due`` shrinks, more than is owed is 422 on ``amount``.
The refund's journal entry (Dr refund due / Cr bank) and the timeline event
``refund_recorded`` (on the credit note and on the invoice it credits) commit with it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from functions.domain.payments import record_refund
from storage_adapter import Record, Transaction

from .common import event, new_id
from .invoices import (
    INVOICES,
    load_invoice,
    mutate,
    now_utc,
    present,
    timeline_stream,
    to_invoice,
    today,
    write_invoice,
)
from .ledger import post_entry
from .registry import Context, Params, action


class RecordRefund(Params):
    invoice_id: str
    amount: Any
    paid_on: date | None = None
    method: str | None = Field(default=None, max_length=100)
    reference: str | None = Field(default=None, max_length=200)


@action("invoice.record_refund", RecordRefund)
def record_refund_action(ctx: Context, p: RecordRefund) -> dict[str, Any]:
    """A refund on the credit note ``invoice_id``: at most its ``refund_due`` (else 422)."""
    refund_id = new_id("ref")

    def run(tx: Transaction) -> Record:
        rec = load_invoice(ctx, p.invoice_id, tx)
        after = record_refund(
            to_invoice(rec),
            p.amount,
            paid_on=p.paid_on or today(ctx),
            method=p.method,
            reference=p.reference,
            refund_id=refund_id,
            now=now_utc(ctx),
        )
        refund = after.refunds[-1]
        payload = {
            "refund_id": refund_id,
            "amount": format(refund.amount, "f"),
            "paid_on": refund.paid_on.isoformat(),
            "method": refund.method,
            "reference": refund.reference,
            "refund_due": format(after.refund_due, "f"),
        }
        post_entry(tx, ctx, "refund", after, refund_id)
        if after.original_invoice_id and tx.get(INVOICES, after.original_invoice_id):
            tx.append(
                timeline_stream(after.original_invoice_id),
                event(ctx, "refund_recorded", {**payload, "credit_note_id": rec.key}),
            )
        return write_invoice(tx, ctx, rec, after, [("refund_recorded", payload)])

    return present(mutate(ctx, run))
