"""Invoice lifecycle as an explicit transition table.

``TRANSITIONS[(status, action)]`` is the status after the action; any pair not in the table is
refused with :class:`InvalidState` naming the current status. Actions that come in two flavours
are separate table entries:

- ``record_payment`` (partial: the status is kept) / ``record_full_payment`` (→ ``paid``);
- ``credit_partial`` (status kept) / ``credit`` (full credit → ``credited``).

:func:`transition` also accepts ``record_payment`` / ``credit`` with ``full=...`` to pick the
flavour. ``delete`` returns :data:`DELETED`: the service removes the record.

Credit notes are issued already finalized (``open``); they may be sent, nothing else — they are
settled by being applied to their original invoice.
"""

from __future__ import annotations

from functions.domain.errors import InvalidState

DELETED = "deleted"

ACTIONS: tuple[str, ...] = (
    "update",
    "delete",
    "finalize",
    "send",
    "record_payment",
    "record_full_payment",
    "void",
    "mark_uncollectible",
    "mark_overdue",
    "credit",
    "credit_partial",
)

_OUTSTANDING = ("open", "sent", "overdue")

TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "update"): "draft",
    ("draft", "delete"): DELETED,
    ("draft", "finalize"): "open",
    # send: open/overdue → sent; resending keeps sent
    ("open", "send"): "sent",
    ("sent", "send"): "sent",
    ("overdue", "send"): "sent",
    # the daily job
    ("open", "mark_overdue"): "overdue",
    ("sent", "mark_overdue"): "overdue",
    # payments: partial keeps the status, full → paid (also from uncollectible)
    **{(s, "record_payment"): s for s in (*_OUTSTANDING, "uncollectible")},
    **{(s, "record_full_payment"): "paid" for s in (*_OUTSTANDING, "uncollectible")},
    # void only while outstanding (payments are checked by the caller: void_allowed)
    **{(s, "void"): "void" for s in _OUTSTANDING},
    **{(s, "mark_uncollectible"): "uncollectible" for s in _OUTSTANDING},
    # credit notes against a finalized, not voided, not fully credited invoice
    **{(s, "credit"): "credited" for s in (*_OUTSTANDING, "paid", "uncollectible")},
    **{(s, "credit_partial"): s for s in (*_OUTSTANDING, "paid", "uncollectible")},
}

#: Credit notes: issued as ``open`` and may be (re)sent; no payments, voids or credits.
CREDIT_NOTE_TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "finalize"): "open",
    ("draft", "update"): "draft",
    ("draft", "delete"): DELETED,
    ("open", "send"): "sent",
    ("sent", "send"): "sent",
}

_VERBS = {
    "update": "update",
    "delete": "delete",
    "finalize": "finalize",
    "send": "send",
    "record_payment": "record a payment on",
    "record_full_payment": "record a payment on",
    "void": "void",
    "mark_uncollectible": "mark uncollectible",
    "mark_overdue": "mark overdue",
    "credit": "credit",
    "credit_partial": "credit",
}


def with_article(word: str) -> str:
    """``open`` → ``an open``, ``draft`` → ``a draft`` (every status starts as it sounds).

    >>> with_article("uncollectible"), with_article("sent")
    ('an uncollectible', 'a sent')
    """
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def transition(status: str, action: str, *, full: bool | None = None, kind: str = "invoice") -> str:
    """New status after ``action`` on a document in ``status``, or raise InvalidState.

    ``full`` picks the flavour of ``record_payment`` / ``credit`` (True → ``paid`` /
    ``credited``); without it ``record_payment`` is partial and ``credit`` is full.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if full is not None:
        if action in ("record_payment", "record_full_payment"):
            action = "record_full_payment" if full else "record_payment"
        elif action in ("credit", "credit_partial"):
            action = "credit" if full else "credit_partial"
    table = CREDIT_NOTE_TRANSITIONS if kind == "credit_note" else TRANSITIONS
    try:
        return table[(status, action)]
    except KeyError:
        document = "credit note" if kind == "credit_note" else "invoice"
        raise InvalidState(
            status,
            action,
            f"cannot {_VERBS[action]} {with_article(status)} {document}"
            if kind == "credit_note"
            else f"cannot {_VERBS[action]} an invoice that is {status}",
        ) from None


def allowed(status: str, action: str, kind: str = "invoice") -> bool:
    """Whether ``action`` is allowed in ``status`` (without raising)."""
    table = CREDIT_NOTE_TRANSITIONS if kind == "credit_note" else TRANSITIONS
    return (status, action) in table


def allowed_actions(status: str, kind: str = "invoice") -> list[str]:
    """Actions the app may offer for a document in ``status``."""
    table = CREDIT_NOTE_TRANSITIONS if kind == "credit_note" else TRANSITIONS
    return [action for action in ACTIONS if (status, action) in table]


def ensure_voidable(status: str, has_payments: bool, *, has_credits: bool = False) -> str:
    """``void`` is refused once any payment was recorded (refund with a credit note instead)
    or a credit note was issued against it (voiding would cancel the credited part twice)."""
    new_status = transition(status, "void")
    if has_payments:
        raise InvalidState(
            status, "void", f"cannot void an invoice that is {status} and has payments; credit it"
        )
    if has_credits:
        raise InvalidState(
            status,
            "void",
            f"cannot void an invoice that is {status} and has credit notes; credit the rest",
        )
    return new_status
