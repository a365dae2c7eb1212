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
#: The quotes collection and the fields the store keeps on the record, not in its data (as
#: ``functions/services/quotes.py`` stores them; the daily run does not load the services).
QUOTES = "quotes"
_RECORD_FIELDS = {"account_id", "version"}


def run_quote_expiry(day: Any) -> dict[str, Any]:
    """Expire the open quotes past ``valid_until`` as of ``day.today`` (a ``functions.daily
    .run.Day``); returns ``{"checked", "expired"}``."""
    from functions.domain.models import parse_model
    from functions.domain.quotes import Quote, expire, is_expired
    from functions.services.timeline import append_timeline

    store = day.store
    now = day.now.astimezone(UTC).replace(microsecond=0)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
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

            def run(tx: Transaction, key: str = found.key) -> bool:
                rec = tx.get(QUOTES, key)
                if rec is None:
                    return False
                quote = parse_model(
                    Quote, {**rec.data, "account_id": rec.account_id, "version": rec.version}
                )
                if not is_expired(quote, day.today):
                    return False
                after = expire(quote, now).model_copy(update={"updated_at": now})
                data = {**rec.data, **after.model_dump(mode="json", exclude=_RECORD_FIELDS)}
                new = tx.put(
                    QUOTES, key, data, account_id=rec.account_id, expected_version=rec.version
                )
                valid_until = quote.valid_until.isoformat() if quote.valid_until else None
                append_timeline(  # timeline + quote.expired for webhooks, in this commit
                    tx,
                    new,
                    {
                        "type": "expired",
                        "at": stamp,
                        "actor": "system:daily",
                        "data": {"valid_until": valid_until},
                    },
                )
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
