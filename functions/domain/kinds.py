"""Document kinds: invoices and credit notes, issued by the entity or self-billed.

A self-billed document is issued by the entity (the buyer) in its supplier's name under a
self-billing agreement (VAT Directive art. 224): the seller is the client-as-supplier, the
buyer is the entity. Its arithmetic is that of the plain kind (:func:`base_kind`): a
self-billed credit note carries negative amounts like a credit note.
"""

from __future__ import annotations

KINDS: tuple[str, ...] = (
    "invoice",
    "credit_note",
    "self_billed_invoice",
    "self_billed_credit_note",
)
SELF_BILLED_KINDS: frozenset[str] = frozenset({"self_billed_invoice", "self_billed_credit_note"})
CREDIT_KINDS: frozenset[str] = frozenset({"credit_note", "self_billed_credit_note"})


def is_self_billed(kind: str) -> bool:
    return kind in SELF_BILLED_KINDS


def is_credit_kind(kind: str) -> bool:
    """Credit notes of either direction (negative amounts, settled against their original)."""
    return kind in CREDIT_KINDS


def base_kind(kind: str) -> str:
    """``invoice`` or ``credit_note``: the lifecycle and arithmetic a kind follows."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    return "credit_note" if kind in CREDIT_KINDS else "invoice"


def credit_kind_for(kind: str) -> str:
    """The kind of a credit note against a document of ``kind``."""
    return "self_billed_credit_note" if is_self_billed(kind) else "credit_note"
