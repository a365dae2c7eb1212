"""Expiry by the daily run (``functions/daily/quotes.py``), on both backends: open quotes past
``valid_until`` become ``expired`` once; reruns and quotes already answered change nothing."""

from __future__ import annotations

from datetime import date

from functions.daily.run import run_daily
from tests.invoices.support import act

LINES = [{"description": "Audit", "unit_price": "500"}]


def _open(ctx, ids, valid_until: str) -> dict:
    quote = act(ctx, "quote.create", lines=LINES, valid_until=valid_until, **ids)
    return act(ctx, "quote.finalize", quote_id=quote["id"])


def test_daily_run_expires_open_quotes_once(ctx, ids, store):
    past = _open(ctx, ids, "2026-11-30")
    last_day = _open(ctx, ids, "2026-12-01")
    accepted = _open(ctx, ids, "2026-11-25")
    act(ctx, "quote.accept", quote_id=accepted["id"], name="Quick Buyer")
    draft = act(ctx, "quote.create", lines=LINES, valid_until="2026-11-22", **ids)

    result = run_daily(store, date(2026, 12, 1))
    assert result["errors"] == [] and result["jobs"]["quotes"] == {"checked": 1, "expired": 1}
    status = {q["id"]: q["status"] for q in act(ctx, "quote.list", limit=100)["items"]}
    assert status == {
        past["id"]: "expired",
        last_day["id"]: "open",  # valid through its last day
        accepted["id"]: "accepted",
        draft["id"]: "draft",
    }
    expired = act(ctx, "quote.get", quote_id=past["id"])
    assert expired["expired_at"] == "2026-12-01T07:00:00Z"
    before = expired["version"]

    again = run_daily(store, date(2026, 12, 1))  # a rerun the same day
    assert again["jobs"]["quotes"] == {"checked": 0, "expired": 0}
    assert act(ctx, "quote.get", quote_id=past["id"])["version"] == before
    events = act(ctx, "quote.timeline", quote_id=past["id"])["events"]
    assert [e["type"] for e in events].count("expired") == 1

    later = run_daily(store, date(2026, 12, 12))  # after days of downtime
    assert later["jobs"]["quotes"]["expired"] == 1
    assert act(ctx, "quote.get", quote_id=last_day["id"])["status"] == "expired"
