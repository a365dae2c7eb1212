"""Receivables aging (``report.aging``): open amounts by days past due, per client and in total.

Counted: invoices (not credit notes, not self-billed documents, which the entity owes) in
``open``, ``sent`` or ``overdue`` with an amount due — what the ``receivables`` account
holds. Uncollectible invoices are written off and not counted. Days past due =
``as_of − due_date``: ``current`` (not yet due, or due today), ``1-30``, ``31-60``, ``61-90``,
``90+``. Amounts are never added across currencies: one block per currency.

Result::

    {"as_of": "2026-12-01", "buckets": ["current", "1-30", "31-60", "61-90", "90+"],
     "currencies": [{"currency": "EUR",
                     "total": {"current": "100.00", ..., "total": "350.00", "count": 3},
                     "clients": [{"client_id": "cli_1", "name": "…", "current": "…", …}]}]}

Clients are listed by their total, largest first (then by name).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from functions.domain.money import ZERO, format_amount
from functions.ledger.entries import Document

BUCKETS: tuple[str, ...] = ("current", "1-30", "31-60", "61-90", "90+")
_OUTSTANDING = frozenset({"open", "sent", "overdue"})


class AgingDocument(Document):
    due_date: date | None = None
    client_id: str | None = None
    buyer: dict[str, Any] | None = None


def bucket_of(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


def aging(documents: Iterable[Any], as_of: date, *, currency: str | None = None) -> dict[str, Any]:
    """The aging report of ``documents`` (dicts of ``invoice.get`` or Invoice models)."""
    sums: dict[str, dict[str, dict[str, Decimal]]] = {}
    names: dict[tuple[str, str], str] = {}
    counts: dict[str, int] = {}
    for raw in documents:
        doc = _read(raw)
        if doc.kind != "invoice" or doc.status not in _OUTSTANDING or doc.amount_due <= 0:
            continue
        if currency and doc.currency != currency.upper():
            continue
        due = doc.due_date or doc.issue_date or as_of
        bucket = bucket_of((as_of - due).days)
        client = doc.client_id or "?"
        per_client = sums.setdefault(doc.currency, {}).setdefault(
            client, dict.fromkeys(BUCKETS, ZERO)
        )
        per_client[bucket] += doc.amount_due
        counts[doc.currency] = counts.get(doc.currency, 0) + 1
        names.setdefault((doc.currency, client), str((doc.buyer or {}).get("name") or client))
    blocks = []
    for code in sorted(sums):
        clients = []
        total = dict.fromkeys(BUCKETS, ZERO)
        for client, amounts in sums[code].items():
            for bucket in BUCKETS:
                total[bucket] += amounts[bucket]
            clients.append((client, amounts, sum(amounts.values(), ZERO)))
        clients.sort(key=lambda item: (-item[2], names[(code, item[0])]))
        blocks.append(
            {
                "currency": code,
                "total": {
                    **_formatted(total, code),
                    "count": counts[code],
                },
                "clients": [
                    {
                        "client_id": client,
                        "name": names[(code, client)],
                        **_formatted(amounts, code),
                    }
                    for client, amounts, _ in clients
                ],
            }
        )
    return {"as_of": as_of.isoformat(), "buckets": list(BUCKETS), "currencies": blocks}


def _formatted(amounts: dict[str, Decimal], currency: str) -> dict[str, str]:
    result = {bucket: format_amount(amounts[bucket], currency) for bucket in BUCKETS}
    result["total"] = format_amount(sum(amounts.values(), ZERO), currency)
    return result


def _read(raw: Any) -> AgingDocument:
    if isinstance(raw, AgingDocument):
        return raw
    if hasattr(raw, "model_dump"):
        raw = raw.model_dump(mode="json")
    return AgingDocument.model_validate(raw)
