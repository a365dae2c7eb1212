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

from functions.domain.kinds import is_self_billed
from functions.domain.models import STATUSES
from functions.domain.money import format_amount

from .common import load
from .invoices import ENTITIES, INVOICES, today
from .registry import Context, Params, action

OUTSTANDING = ("open", "sent", "overdue")


class ReportSummary(Params):
    entity_id: str | None = None
    currency: str | None = None


def _blocks(
    status_rows: list[tuple[tuple[Any, ...], int, dict[str, Decimal]]],
    payment_rows: list[tuple[int, dict[str, Decimal]]],
    currency: str,
) -> dict:
    """The blocks of one currency from the aggregates' rows (group ``(entity, currency, kind,
    status)`` with count and sums; payments in the window with count and sum)."""
    by_status: dict[str, dict[str, Any]] = {
        s: {"count": 0, "total": Decimal(0), "amount_due": Decimal(0)} for s in STATUSES
    }
    outstanding = {"count": 0, "amount": Decimal(0)}
    overdue = {"count": 0, "amount": Decimal(0)}
    paid = {"count": 0, "amount": Decimal(0)}
    credit = {"count": 0, "total": Decimal(0)}
    for (_entity, _cur, kind, status), n, sums in status_rows:
        total, due = sums.get("total", Decimal(0)), sums.get("amount_due", Decimal(0))
        if kind == "credit_note":
            credit["count"] += n
            credit["total"] += total
            continue
        block = by_status.setdefault(
            status, {"count": 0, "total": Decimal(0), "amount_due": Decimal(0)}
        )
        block["count"] += n
        block["total"] += total
        block["amount_due"] += due
        if status in OUTSTANDING:
            outstanding["count"] += n
            outstanding["amount"] += due
        if status == "overdue":
            overdue["count"] += n
            overdue["amount"] += due
    for n, sums in payment_rows:
        paid["count"] += n
        paid["amount"] += sums.get("amount", Decimal(0))

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
    """From the invoices' aggregates (kept in each commit), not from the invoices: the cost
    follows the number of statuses, currencies and days, not the account's history."""
    account_id = ctx.require_account()
    # sales only: a self-billed document is one the entity owes (its payables)
    if p.entity_id:
        load(ctx, ENTITIES, p.entity_id)  # 404 for a missing or foreign entity
    wanted = p.currency.strip().upper() if p.currency else None

    def keep(entity_id: Any, currency: str) -> bool:
        return (not p.entity_id or entity_id == p.entity_id) and (not wanted or currency == wanted)

    end = today(ctx)
    since, until = (end - timedelta(days=30)).isoformat(), end.isoformat()
    status_rows: dict[str, list] = {}
    for _r, group, n, sums in ctx.store.aggregate(INVOICES, "by_status", account_id=account_id):
        entity_id, currency = group[0], str(group[1])
        if keep(entity_id, currency) and not is_self_billed(str(group[2] or "invoice")):
            status_rows.setdefault(currency, []).append((group, n, sums))
    payment_rows: dict[str, list] = {}
    for _r, group, n, sums in ctx.store.aggregate(
        INVOICES, "payments_by_day", account_id=account_id, range_from=since, range_to=until
    ):
        entity_id, currency = group[0], str(group[1])
        if keep(entity_id, currency) and currency in status_rows:
            payment_rows.setdefault(currency, []).append((n, sums))
    by_currency = {
        cur: _blocks(rows, payment_rows.get(cur, []), cur)
        for cur, rows in sorted(status_rows.items())
    }
    usage = Counter({cur: sum(n for _g, n, _s in rows) for cur, rows in status_rows.items()})
    main = wanted or (usage.most_common(1)[0][0] if usage else "EUR")
    counts: Counter[str] = Counter()
    for rows in status_rows.values():
        for group, n, _s in rows:
            if group[2] != "credit_note":
                counts[str(group[3])] += n
    return {
        "object": "report.summary",
        "as_of": until,
        "entity_id": p.entity_id,
        "currency": main,
        "counts": {s: counts.get(s, 0) for s in STATUSES},
        **(by_currency.get(main) or _blocks([], [], main)),
        "by_currency": by_currency,
    }
