"""The daily run's quote job: every ``open`` quote whose ``valid_until`` lies before the run's
day becomes ``expired`` (timeline ``expired``), each in its own commit.

Idempotent: the query finds only ``open`` quotes, and each change re-reads the quote inside
its transaction (a quote accepted, converted or already expired meanwhile is left alone), so
a rerun the same day, a second process or a rerun after a crash changes nothing twice. Days
of downtime need no catch-up: an expired quote stays past its date.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from storage_adapter import Filter, Sort, Transaction, VersionConflict

PAGE_SIZE = 200


def run_quote_expiry(day: Any) -> dict[str, Any]:
    """Expire the open quotes past ``valid_until`` as of ``day.today`` (a ``functions.daily
    .run.Day``); returns ``{"checked", "expired"}``."""
    from functions.domain.quotes import expire, is_expired
    from functions.services.quotes import QUOTES, to_quote, write_quote
    from functions.services.registry import Context

    store = day.store
    counts = {"checked": 0, "expired": 0}
    last_id: str | None = None
    while True:
        filters = [
            Filter("status", "eq", "open"),
            Filter("valid_until", "lt", day.today.isoformat()),
        ]
        if last_id is not None:
            filters.append(Filter("id", "gt", last_id))
        page = store.query(
            QUOTES,
            account_id=None,
            filters=filters,
            sort=Sort("id", descending=False),
            limit=PAGE_SIZE,
        )
        for found in page.items:
            counts["checked"] += 1
            ctx = Context(
                store=store,
                account_id=found.account_id,
                actor="system:daily",
                now=day.now.astimezone(UTC),
            )

            def run(tx: Transaction, key: str = found.key, ctx: Context = ctx) -> bool:
                rec = tx.get(QUOTES, key)
                if rec is None:
                    return False
                quote = to_quote(rec)
                if not is_expired(quote, day.today):
                    return False
                after = expire(quote, ctx.now)
                payload = {
                    "valid_until": quote.valid_until.isoformat() if quote.valid_until else None
                }
                write_quote(tx, ctx, rec, after, [("expired", payload)])
                return True

            try:
                if store.transaction(run):
                    counts["expired"] += 1
            except VersionConflict:  # changed meanwhile (answered, converted): next run sees it
                continue
        if len(page.items) < PAGE_SIZE:
            break
        last_id = page.items[-1].key
    return counts
