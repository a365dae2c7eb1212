"""Lambda entry point of the daily run (EventBridge Scheduler, 07:00 UTC): every job of
``functions.daily`` (overdue marking and reminders today), under the store's daily lease.

``today`` is the date of the event's ``time`` (EventBridge / Scheduler's
``<aws.scheduler.scheduled-time>``), or an explicit ``"today": "YYYY-MM-DD"`` (manual runs),
else the current UTC date. The store comes from ``BILLOW_STORE_URL`` and the mail transport
from the environment (``functions.mail.transport.get_mailer``, which refuses to start in AWS
without one rather than drop reminders).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger

from functions.daily.run import run_daily

logger = Logger(service="billow-overdue")


def today_from_event(event: Any, now: datetime | None = None) -> date:
    """The run's date from the scheduled event (see the module docstring)."""
    if isinstance(event, dict):
        explicit = event.get("today")
        if isinstance(explicit, str) and explicit:
            return date.fromisoformat(explicit)
        stamp = event.get("time")
        if isinstance(stamp, str) and stamp:
            parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC).date()
    return (now or datetime.now(UTC)).astimezone(UTC).date()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from functions.api.runtime import render_pdf
    from functions.mail.transport import get_mailer
    from storage_adapter import open_store

    today = today_from_event(event)
    store = open_store()
    try:
        result = run_daily(store, today, {"mailer": get_mailer(), "pdf": render_pdf})
    finally:
        store.close()
    logger.info("daily run finished", extra=result)
    return result
