"""``report.summary``: counts and sums by status, outstanding, overdue, paid in the last 30 days.

Amounts of different currencies are never added together. The result::

    {"object": "report.summary", "as_of": "2026-11-21", "entity_id": null,
     "currency": "EUR",                       # the one asked for, else the most used one
     "counts": {"draft": 2, "open": 1, ...},  # invoices (not credit notes), all currencies
     "by_status": {"open": {"count": 1, "total": "119.00", "amount_due": "119.00"}, ...},
     "outstanding": {"count": 3, "amount": "..."},   # open + sent + overdue, amount due
     "overdue": {"count": 1, "amount": "..."},
     "paid_last_30_days": {"count": 2, "amount": "..."},   # payments with paid_on in the window
     "credit_notes": {"count": 1, "total": "-50.00"},
     "by_currency": {"EUR": {...the same blocks...}, "USD": {...}}}

The top-level blocks are those of ``currency``. Sums are Decimal (strings in JSON) with the
currency's minor units.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

from functions.domain.models import STATUSES
from functions.domain.money import format_amount
from storage_adapter import Filter

from .common import load
from .invoices import ENTITIES, INVOICES, decimal_of, today
from .registry import Context, Params, action

OUTSTANDING = ("open", "sent", "overdue")


class ReportSummary(Params):
    entity_id: str | None = None
    currency: str | None = None


def _blocks(records: list[dict[str, Any]], currency: str, since: str, until: str) -> dict:
    by_status: dict[str, dict[str, Any]] = {
        s: {"count": 0, "total": Decimal(0), "amount_due": Decimal(0)} for s in STATUSES
    }
    outstanding = {"count": 0, "amount": Decimal(0)}
    overdue = {"count": 0, "amount": Decimal(0)}
    paid = {"count": 0, "amount": Decimal(0)}
    credit = {"count": 0, "total": Decimal(0)}
    for data in records:
        if data.get("kind") == "credit_note":
            credit["count"] += 1
            credit["total"] += decimal_of(data.get("total"))
            continue
        status = str(data.get("status"))
        block = by_status.setdefault(
            status, {"count": 0, "total": Decimal(0), "amount_due": Decimal(0)}
        )
        block["count"] += 1
        block["total"] += decimal_of(data.get("total"))
        block["amount_due"] += decimal_of(data.get("amount_due"))
        if status in OUTSTANDING:
            outstanding["count"] += 1
            outstanding["amount"] += decimal_of(data.get("amount_due"))
        if status == "overdue":
            overdue["count"] += 1
            overdue["amount"] += decimal_of(data.get("amount_due"))
        for payment in data.get("payments") or []:
            if since <= str(payment.get("paid_on") or "") <= until:
                paid["count"] += 1
                paid["amount"] += decimal_of(payment.get("amount"))

    def money(block: dict[str, Any]) -> dict[str, Any]:
        return {
            k: format_amount(v, currency) if isinstance(v, Decimal) else v for k, v in block.items()
        }

    return {
        "by_status": {s: money(b) for s, b in by_status.items()},
        "outstanding": money(outstanding),
        "overdue": money(overdue),
        "paid_last_30_days": money(paid),
        "credit_notes": money(credit),
    }


@action("report.summary", ReportSummary, mutating=False)
def report_summary(ctx: Context, p: ReportSummary) -> dict[str, Any]:
    # sales only: a self-billed document is one the entity owes (its payables)
    filters: list[Filter] = [Filter("kind", "in", ["invoice", "credit_note"])]
    if p.entity_id:
        load(ctx, ENTITIES, p.entity_id)  # 404 for a missing or foreign entity
        filters.append(Filter("entity_id", "eq", p.entity_id))
    wanted = p.currency.strip().upper() if p.currency else None
    if wanted:
        filters.append(Filter("currency", "eq", wanted))
    page = ctx.store.query(INVOICES, account_id=ctx.require_account(), filters=filters)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for rec in page.items:
        grouped.setdefault(str(rec.data.get("currency") or "EUR"), []).append(rec.data)
    end = today(ctx)
    since, until = (end - timedelta(days=30)).isoformat(), end.isoformat()
    by_currency = {cur: _blocks(rows, cur, since, until) for cur, rows in sorted(grouped.items())}
    usage = Counter({cur: len(rows) for cur, rows in grouped.items()})
    main = wanted or (usage.most_common(1)[0][0] if usage else "EUR")
    counts = Counter(
        str(rec.data.get("status")) for rec in page.items if rec.data.get("kind") != "credit_note"
    )
    return {
        "object": "report.summary",
        "as_of": until,
        "entity_id": p.entity_id,
        "currency": main,
        "counts": {s: counts.get(s, 0) for s in STATUSES},
        **(by_currency.get(main) or _blocks([], main, since, until)),
        "by_currency": by_currency,
    }
