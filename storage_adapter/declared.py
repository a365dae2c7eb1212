"""What the services query collections by (see :mod:`storage_adapter.indexes`).

Add a collection's declaration here (one ``declare`` call); backends build it when a store
opens and keep it in every commit. Changing a declaration changes its signature: SQLite rebuilds
its side tables on the next open (``billow migrate``), DynamoDB backfills with ``billow
migrate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .indexes import DATE, NUMBER, TEXT, Aggregate, Due, Index, declare, number

#: Invoice statuses whose amount is still owed (the daily run's candidates).
OUTSTANDING = ("open", "sent", "overdue")


def _amount(value: Any) -> Decimal:
    return number(value) or Decimal(0)


def _currency(data: Mapping[str, Any]) -> str:
    return str(data.get("currency") or "EUR")


def invoice_by_status(data: Mapping[str, Any]) -> list:
    """One row per document: group ``(entity_id, currency, kind, status)``, sums ``total`` and
    ``amount_due`` (``report.summary``'s blocks)."""
    group = (data.get("entity_id"), _currency(data), data.get("kind"), str(data.get("status")))
    sums = {"total": _amount(data.get("total")), "amount_due": _amount(data.get("amount_due"))}
    return [("", group, sums)]


def invoice_payments_by_day(data: Mapping[str, Any]) -> list:
    """One row per payment of an invoice (credit notes' refunds are not payments), under its
    ``paid_on`` day: group ``(entity_id, currency)``, sum ``amount``. Sales only: a self-billed
    invoice is one the entity owes, its payments are outgoing."""
    if data.get("kind", "invoice") != "invoice":
        return []
    rows = []
    for payment in data.get("payments") or []:
        if isinstance(payment, dict):
            day = str(payment.get("paid_on") or "")
            group = (data.get("entity_id"), _currency(data))
            rows.append((day, group, {"amount": _amount(payment.get("amount"))}))
    return rows


def invoice_is_open(data: Mapping[str, Any]) -> bool:
    """An invoice that is still owed: the daily run marks it overdue and sends reminders."""
    return (
        data.get("kind", "invoice") == "invoice"
        and data.get("status") in OUTSTANDING
        and _amount(data.get("amount_due")) > 0
    )


# --- the universal search (functions.domain.facets): every record publishes its amounts, dates
# and identifiers as rows of a `facets` aggregate, kept in the record's commit -------------------


def _facet_rows(collection: str):
    def rows(data: Mapping[str, Any]) -> list:
        from functions.domain.facets import FACETS_OF
        from functions.domain.facets import rows as facet_rows

        return [(r, g, {}) for r, g in facet_rows(FACETS_OF[collection](data))]

    return rows


#: The aggregate holding a collection's search rows (see ``functions.domain.facets.rows``).
FACETS = "facets"


_SORTS = ("created_at", "issue_date", "due_date", "total", "number", "client_name")

INVOICES = declare(
    "invoices",
    fields={
        "status": TEXT,
        "kind": TEXT,
        "client_id": TEXT,
        "entity_id": TEXT,
        "currency": TEXT,
        "number": TEXT,
        "client_name": TEXT,
        "client_email": TEXT,
        "id": TEXT,
        "created_at": DATE,
        "issue_date": DATE,
        "due_date": DATE,
        "total": NUMBER,
    },
    indexes=[
        *(Index(sort=s) for s in _SORTS),
        *(Index(eq=("status",), sort=s) for s in _SORTS),
        Index(eq=("client_id",), sort="created_at"),
        Index(eq=("number",)),
    ],
    q=("number", "client_name", "client_email"),
    q_shared=("client_name", "client_email"),
    pairs=("metadata",),
    counts=("entity_id", "currency", "kind", "status"),
    aggregates=[
        Aggregate("by_status", invoice_by_status),
        Aggregate("payments_by_day", invoice_payments_by_day),
        Aggregate(FACETS, _facet_rows("invoices")),
    ],
    due=Due("due_date", when=invoice_is_open),
)

QUOTES, RECURRING, CLIENTS = (
    declare(
        c,
        fields={"created_at": DATE},
        indexes=[Index(sort="created_at")],
        aggregates=[Aggregate(FACETS, _facet_rows(c))],
    )
    for c in ("quotes", "recurring", "clients")
)
