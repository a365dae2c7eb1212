"""Credit notes: full or partial, negative amounts, linked to the original invoice.

:func:`build_credit_note` makes the credit note (status ``draft``, no number; the service then
finalizes it in the credit-note series with :mod:`functions.domain.finalize`).
:func:`apply_credit` updates the original: ``credited_amount``, ``amount_due`` and the status
(full credit → ``credited``; a partial credit that leaves nothing due → ``paid``).

What remains creditable is tracked per line (quantity not yet credited, via each credit-note
line's ``original_line_id``) and in total (``total − credited_amount``). Crediting more than
remains is 422. A credit note that takes the whole remaining quantity of every line is a full
credit even if per-line rounding of earlier partial credits makes the notes differ from the
invoice total by a minor unit or so; the invoice's ``credited_amount`` is then its total.
A single full credit note is the exact negation of the invoice, so the two sum to zero.

Refunds: an invoice's ``amount_due`` never goes below zero. What a credit note takes beyond
what was still due (the client had already paid it) is owed back: :func:`settle_credit` puts
it on the credit note as ``refund_due``, and :func:`functions.domain.payments.record_refund`
settles it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from functions.domain.calc import compute
from functions.domain.errors import FieldError, InvalidState, ValidationFailed
from functions.domain.kinds import credit_kind_for
from functions.domain.lifecycle import transition
from functions.domain.models import Invoice, Line
from functions.domain.money import ZERO, format_amount, to_decimal

_PAYABLE = ("open", "sent", "overdue", "uncollectible")


def line_key(line: Line, index: int) -> str:
    """Stable key of an invoice line: its id, else its position (``#0``)."""
    return line.id or f"#{index}"


def credited_quantities(credit_notes: Iterable[Invoice]) -> dict[str, Decimal]:
    """Quantity already credited per original line key (positive numbers)."""
    done: dict[str, Decimal] = {}
    for note in credit_notes:
        for line in note.lines:
            if line.original_line_id is not None:
                done[line.original_line_id] = done.get(line.original_line_id, ZERO) + abs(
                    line.quantity
                )
    return done


def remaining_quantities(original: Invoice, credit_notes: Iterable[Invoice]) -> dict[str, Decimal]:
    """Quantity still creditable per line key."""
    done = credited_quantities(credit_notes)
    return {
        line_key(line, i): abs(line.quantity) - done.get(line_key(line, i), ZERO)
        for i, line in enumerate(original.lines)
    }


def remaining_creditable(original: Invoice) -> Decimal:
    """Amount that may still be credited: ``total − credited_amount``."""
    return original.total - original.credited_amount


def build_credit_note(
    original: Invoice,
    *,
    reason: str | None = None,
    lines: Sequence[Mapping[str, Any]] | None = None,
    previous_credit_notes: Iterable[Invoice] = (),
    issue_date: date | None = None,
    credit_note_id: str | None = None,
) -> Invoice:
    """A credit note for ``original`` (all that remains, or the ``lines`` given).

    ``lines`` items: ``{"line_id": <invoice line id or "#index">, "quantity"?: positive}``
    (``line_index`` is accepted instead of ``line_id``); no quantity = all that remains of that
    line. The credit note copies the original's frozen seller/buyer, VAT treatment and prices,
    with negative quantities.
    """
    if original.kind not in ("invoice", "self_billed_invoice"):
        raise InvalidState(original.status, "credit", "cannot credit a credit note")
    transition(original.status, "credit")
    previous = list(previous_credit_notes)
    remaining = remaining_quantities(original, previous)
    by_key = {line_key(line, i): line for i, line in enumerate(original.lines)}

    wanted: list[tuple[str, Decimal]] = []
    errors: list[FieldError] = []
    if lines is None:
        wanted = [(key, qty) for key, qty in remaining.items() if qty > 0]
        if not wanted:
            raise ValidationFailed.one("lines", "nothing remains to be credited")
    else:
        if not lines:
            raise ValidationFailed.one("lines", "list at least one line, or omit lines")
        for i, item in enumerate(lines):
            path = f"lines[{i}]"
            key = _requested_key(item, original)
            if key is None or key not in by_key:
                errors.append(FieldError(f"{path}.line_id", "no such line on the invoice"))
                continue
            try:
                qty = (
                    to_decimal(item["quantity"], f"{path}.quantity")
                    if item.get("quantity") is not None
                    else remaining[key]
                )
            except ValidationFailed as exc:
                errors.extend(exc.details)
                continue
            already = sum((q for k, q in wanted if k == key), ZERO)
            if qty <= 0 and item.get("quantity") is not None:
                errors.append(FieldError(f"{path}.quantity", "must be greater than zero"))
            elif qty + already > remaining[key]:
                errors.append(
                    FieldError(
                        f"{path}.quantity",
                        f"only {remaining[key].normalize():f} of this line remains creditable",
                    )
                )
            else:
                wanted.append((key, qty))
        if errors:
            raise ValidationFailed(errors)

    credit_lines = [
        _credit_line(by_key[key], key, qty, n) for n, (key, qty) in enumerate(wanted, start=1)
    ]
    note = Invoice(
        id=credit_note_id,
        kind=credit_kind_for(original.kind),
        status="draft",
        entity_id=original.entity_id,
        client_id=original.client_id,
        account_id=original.account_id,
        currency=original.currency,
        issue_date=issue_date,
        supply_date=original.supply_date,
        due_date=issue_date,
        lines=credit_lines,
        seller=original.seller,
        buyer=original.buyer,
        po_number=original.po_number,
        buyer_reference=original.buyer_reference,
        period=original.period,
        notes=reason,
        credit_reason=reason,
        original_invoice_id=original.id,
        original_invoice_number=original.number,
    )
    rounding = original.seller.rounding if original.seller else None
    note = compute(note, rounding)

    exhausts = _exhausts(original, previous, note)
    if -note.total > remaining_creditable(original) and not exhausts:
        raise ValidationFailed.one(
            "lines",
            f"credits {format_amount(-note.total, note.currency)} but only "
            f"{format_amount(remaining_creditable(original), note.currency)} "
            f"{note.currency} remains creditable",
        )
    return note


def apply_credit(
    original: Invoice,
    credit_note: Invoice,
    *,
    previous_credit_notes: Iterable[Invoice] = (),
    now: datetime | None = None,
) -> Invoice:
    """The original invoice after ``credit_note`` (not among ``previous_credit_notes``)."""
    previous = list(previous_credit_notes)
    credited = original.credited_amount - credit_note.total
    full = _exhausts(original, previous, credit_note) or (
        original.total > 0 and credited >= original.total
    )
    if full:
        # Partial quantities round line by line: the credit that takes the last of every line
        # settles the invoice even if the notes differ from its total by that rounding.
        credited = original.total
    updated = compute(original.model_copy(update={"credited_amount": credited}))
    changes: dict[str, Any] = {
        "status": transition(original.status, "credit", full=full),
        "credit_reason": credit_note.credit_reason or original.credit_reason,
    }
    if full:
        changes["credited_at"] = now
    elif updated.amount_due <= 0 and original.status in _PAYABLE:
        # Nothing left to pay: the credit settled the rest (what the client had already paid
        # beyond it is the credit note's refund_due: settle_credit).
        changes["status"] = transition(original.status, "record_full_payment")
        changes["paid_at"] = now
    return updated.model_copy(update=changes)


def refund_owed(original: Invoice, credit_note: Invoice) -> Decimal:
    """What ``credit_note`` takes from ``original`` (as it stood before the credit) beyond what
    was still due on it: the part already paid, owed back to the client. Never negative."""
    credit = -credit_note.total
    return max(credit - max(original.amount_due, ZERO), ZERO)


def settle_credit(
    original: Invoice,
    credit_note: Invoice,
    *,
    previous_credit_notes: Iterable[Invoice] = (),
    now: datetime | None = None,
) -> tuple[Invoice, Invoice]:
    """(original after the credit, credit note with its ``refund_due``): :func:`apply_credit`
    plus what is owed back. Use it where ``apply_credit`` is used today and store both."""
    after = apply_credit(
        original, credit_note, previous_credit_notes=previous_credit_notes, now=now
    )
    owed = refund_owed(original, credit_note)
    return after, credit_note.model_copy(update={"refund_due": owed})


def _requested_key(item: Mapping[str, Any], original: Invoice) -> str | None:
    if item.get("line_id") is not None:
        return str(item["line_id"])
    index = item.get("line_index")
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(original.lines):
        return line_key(original.lines[index], index)
    return None


def _credit_line(line: Line, key: str, quantity: Decimal, number: int) -> Line:
    return line.model_copy(
        update={
            "id": f"ln_{number}",
            "quantity": -quantity if line.quantity > 0 else quantity,
            "net_amount": None,
            "vat_defaulted": False,
            "original_line_id": key,
        }
    )


def _exhausts(original: Invoice, previous: list[Invoice], note: Invoice) -> bool:
    """Whether ``note`` credits all that remains of every line of ``original``."""
    remaining = remaining_quantities(original, previous)
    now_credited = credited_quantities([note])
    return all(now_credited.get(key, ZERO) >= qty for key, qty in remaining.items() if qty > 0)
