"""After finalize: ``invoice.send``, ``invoice.record_payment``, ``invoice.void``,
``invoice.mark_uncollectible``.

Each change is one transaction that re-reads the invoice, lets the domain decide the new status
(``functions.domain.lifecycle`` / ``payments``; an illegal move is 409 ``invalid_state`` naming
the status), writes it with a version check and appends the timeline event.

``invoice.send`` delivers first and records afterwards: the mail (or, later, the Peppol
message) cannot be part of the store's transaction. A delivery failure leaves the invoice
untouched, appends ``send_failed`` with the reason and answers the transport's error (mail: 502
``mail_delivery_failed``). Which transport, and to whom: ``delivery.transport_for``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field

from functions.domain.errors import NotFound
from functions.domain.lifecycle import allowed, ensure_voidable, transition
from functions.domain.models import Invoice, Payment
from functions.domain.payments import apply_payment
from storage_adapter import Record, Transaction

from .common import event, load, new_id
from .delivery import transport_for, xml_attachments
from .invoices import (
    CLIENTS,
    load_invoice,
    mutate,
    now_utc,
    present,
    timeline_stream,
    to_invoice,
    today,
    write_invoice,
)
from .invoices_finalize import pdf_bytes
from .ledger import post_entry
from .registry import Context, Params, action

logger = logging.getLogger("billow.invoices")


# --- send --------------------------------------------------------------------------------------


class InvoiceSend(Params):
    invoice_id: str
    to: str | list[str] | None = None
    cc: str | list[str] | None = None
    message: str | None = Field(default=None, max_length=5000)


def default_recipient(ctx: Context, rec: Record) -> str | None:
    """The client's current e-mail address, else the one frozen on the document."""
    try:
        client = load(ctx, CLIENTS, str(rec.data.get("client_id") or ""))
        if client.data.get("email"):
            return str(client.data["email"])
    except NotFound:
        pass
    buyer = rec.data.get("buyer") or {}
    return buyer.get("email") or rec.data.get("client_email")


def _mailer(ctx: Context) -> Any:
    mailer = ctx.services.get("mailer")
    if mailer is None:
        from functions.mail.transport import get_mailer

        mailer = get_mailer()
    return mailer


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@action("invoice.send", InvoiceSend)
def send_invoice(ctx: Context, p: InvoiceSend) -> dict[str, Any]:
    """Send the document to ``to`` (default: the client's e-mail) with what the client's
    e-invoice format asks for (see ``delivery``); ``open``/``overdue`` → ``sent``."""
    rec = load_invoice(ctx, p.invoice_id)
    kind = rec.data.get("kind", "invoice")
    transition(rec.data["status"], "send", kind=kind)
    transport = transport_for(ctx, present(rec), lambda: _mailer(ctx))
    requested = _as_list(p.to) or _as_list(default_recipient(ctx, rec))
    to = transport.recipients(present(rec), requested)
    rec, pdf = pdf_bytes(ctx, rec)
    document = present(rec)
    attachments = xml_attachments(document)  # what the client's e-invoice format asks for
    try:
        message_id = transport.deliver(
            document, pdf, attachments, to=to, cc=_as_list(p.cc) or None, message=p.message
        )
    except transport.failure as exc:
        reason = {"to": to, "cc": _as_list(p.cc), "reason": exc.message}
        failure = event(ctx, "send_failed", {**reason, "transport": transport.name})
        ctx.store.transaction(lambda tx: tx.append(timeline_stream(rec.key), failure))
        raise transport.failure(f"the invoice was not sent: {exc.message}") from exc

    def run(tx: Transaction) -> Record:
        current = load_invoice(ctx, rec.key, tx)
        status = current.data["status"]
        invoice = to_invoice(current)
        changes: dict[str, Any] = {"sent_at": now_utc(ctx)}
        if allowed(status, "send", kind):  # a payment may have landed while mailing
            changes["status"] = transition(status, "send", kind=kind)
        payload = {
            "to": to,
            "cc": _as_list(p.cc),
            "message_id": message_id,
            "transport": transport.name,
            "attachments": [a.filename for a in attachments] + ["pdf"],
        }
        return write_invoice(
            tx, ctx, current, invoice.model_copy(update=changes), [("sent", payload)]
        )

    return present(mutate(ctx, run))


# --- payments ----------------------------------------------------------------------------------


class RecordPayment(Params):
    invoice_id: str
    amount: Any
    paid_on: date | None = None
    method: str | None = Field(default=None, max_length=100)
    reference: str | None = Field(default=None, max_length=200)


Events = list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Settlement:
    """What differs between recording a payment and a refund: the ``name`` (``payment``,
    ``refund``) is the journal entry's kind, and ``<name>_id`` the keyword the domain's
    ``settle`` takes the new id by and the event's field for it."""

    name: str
    id_prefix: str
    settle: Callable[..., Invoice]
    #: ``(tx, ctx, record, before, after)`` → the document's events (may append others')
    events: Callable[[Transaction, Context, Record, Invoice, Invoice], Events]


def record_settlement(ctx: Context, p: RecordPayment, how: Settlement) -> dict[str, Any]:
    """Money received on an invoice or paid back on a credit note (``invoice.record_payment``,
    ``invoice.record_refund``), in one commit: the domain's ``settle`` adds it to the document
    ``p`` names under a new id, its journal entry is posted and the document is written with
    its events."""
    settlement_id = new_id(how.id_prefix)

    def run(tx: Transaction) -> Record:
        rec = load_invoice(ctx, p.invoice_id, tx)
        before = to_invoice(rec)
        after = how.settle(
            before,
            p.amount,
            paid_on=p.paid_on or today(ctx),
            method=p.method,
            reference=p.reference,
            now=now_utc(ctx),
            **{f"{how.name}_id": settlement_id},
        )
        post_entry(tx, ctx, how.name, after, settlement_id)
        return write_invoice(tx, ctx, rec, after, how.events(tx, ctx, rec, before, after))

    return present(mutate(ctx, run))


def settlement_payload(
    id_field: str, settlement: Payment, due_field: str, due: Decimal
) -> dict[str, Any]:
    """The timeline (and webhook) data of a payment or refund, with what remains due after it."""
    return {
        id_field: settlement.id,
        "amount": format(settlement.amount, "f"),
        "paid_on": settlement.paid_on.isoformat(),
        "method": settlement.method,
        "reference": settlement.reference,
        due_field: format(due, "f"),
    }


def _payment_events(
    tx: Transaction, ctx: Context, rec: Record, before: Invoice, after: Invoice
) -> Events:
    payment = after.payments[-1]
    events = [
        (
            "payment_recorded",
            settlement_payload("payment_id", payment, "amount_due", after.amount_due),
        )
    ]
    if after.status == "paid" and before.status != "paid":
        events.append(("paid", {"amount_paid": format(after.amount_paid, "f")}))
    return events


PAYMENT = Settlement("payment", "pay", apply_payment, _payment_events)


@action("invoice.record_payment", RecordPayment)
def record_payment(ctx: Context, p: RecordPayment) -> dict[str, Any]:
    """Partial payments add up; reaching ``amount_due`` 0 → ``paid``; more than due is 422."""
    return record_settlement(ctx, p, PAYMENT)


# --- void / uncollectible ----------------------------------------------------------------------


class InvoiceVoid(Params):
    invoice_id: str
    reason: str | None = Field(default=None, max_length=1000)


@action("invoice.void", InvoiceVoid)
def void_invoice(ctx: Context, p: InvoiceVoid) -> dict[str, Any]:
    """``open``/``sent``/``overdue`` without payments → ``void``; the number stays used."""

    def run(tx: Transaction) -> Record:
        rec = load_invoice(ctx, p.invoice_id, tx)
        invoice = to_invoice(rec)
        transition(invoice.status, "void", kind=invoice.kind)
        status = ensure_voidable(
            invoice.status, bool(invoice.payments), has_credits=invoice.credited_amount != 0
        )
        voided = invoice.model_copy(
            update={"status": status, "voided_at": now_utc(ctx), "void_reason": p.reason}
        )
        post_entry(tx, ctx, "void", voided)
        return write_invoice(tx, ctx, rec, voided, [("voided", {"reason": p.reason})])

    return present(mutate(ctx, run))


@action("invoice.mark_uncollectible", InvoiceVoid)
def mark_uncollectible(ctx: Context, p: InvoiceVoid) -> dict[str, Any]:
    """``open``/``sent``/``overdue`` → ``uncollectible``; a later payment still settles it."""

    def run(tx: Transaction) -> Record:
        rec = load_invoice(ctx, p.invoice_id, tx)
        invoice = to_invoice(rec)
        status = transition(invoice.status, "mark_uncollectible", kind=invoice.kind)
        marked = invoice.model_copy(update={"status": status, "uncollectible_at": now_utc(ctx)})
        post_entry(tx, ctx, "uncollectible", marked)
        return write_invoice(tx, ctx, rec, marked, [("marked_uncollectible", {"reason": p.reason})])

    return present(mutate(ctx, run))
