"""The life of one delivery (one event to one webhook), as pure functions over plain dicts.

The records these functions return are what the store keeps; the worker that reads due
deliveries, calls :func:`functions.webhooks.delivery.deliver` and writes the results back is
wired in with the store. Shapes:

- an *outbox event* (written in the same commit as the change it reports): the envelope of
  :func:`functions.webhooks.events.build_event` and its exact ``body`` text;
- a *delivery* (``webhook_deliveries``; one per event and webhook, created by
  :func:`plan_deliveries` when the worker fans an event out)::

      {"event_id", "webhook_id", "event_type", "status", "attempts", "scheduled_attempts",
       "created_at",
       "first_attempt_at", "last_attempt_at", "next_attempt_at", "status_code", "error"}

  ``status``: ``pending`` (no attempt yet) → ``delivered`` | ``retrying`` → … → ``failed``
  (retries exhausted) or ``cancelled`` (webhook disabled or deleted). :func:`due_at` is the
  value the store's due index keeps: the deliveries to attempt are those due up to now;
- an *attempt* (the ``webhook.deliveries`` log, newest first), exactly the contract's shape::

      {"id", "event_id", "event_type", "attempt", "status_code", "error", "duration_ms", "at",
       "next_attempt_at"}

Timestamps are ISO 8601 UTC strings (``2026-11-21T07:00:00Z``), so they sort as text.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from . import retry
from .delivery import AttemptResult
from .events import subscribed, timestamp

PENDING = "pending"
RETRYING = "retrying"
DELIVERED = "delivered"
FAILED = "failed"
CANCELLED = "cancelled"
#: Statuses whose delivery still has an attempt coming.
OPEN = (PENDING, RETRYING)

ENABLED = "enabled"
DISABLED = "disabled"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def delivery_key(event_id: str, webhook_id: str) -> str:
    """One delivery per event and webhook: a deterministic key makes the fan-out idempotent
    (a second fan-out of the same event is a create-only write that conflicts)."""
    return f"{event_id}.{webhook_id}"


def plan_deliveries(
    event: Mapping[str, Any], webhooks: Iterable[Mapping[str, Any]], *, now: datetime
) -> list[dict[str, Any]]:
    """The deliveries of ``event``: one per enabled webhook of its account that listens to its
    type and existed when the event happened (a webhook created later does not receive older
    events). ``webhooks`` are records' data with their ``id``."""
    planned = []
    for hook in webhooks:
        if hook.get("account_id") not in (None, event["account_id"]):
            continue
        if hook.get("status") != ENABLED:
            continue
        if not subscribed(hook.get("events") or [], event["type"]):
            continue
        if str(hook.get("created_at") or "") > event["created_at"]:
            continue
        planned.append(
            {
                "event_id": event["id"],
                "webhook_id": hook["id"],
                "event_type": event["type"],
                "status": PENDING,
                "attempts": 0,
                "scheduled_attempts": 0,
                "created_at": timestamp(now),
                "first_attempt_at": None,
                "last_attempt_at": None,
                "next_attempt_at": timestamp(now),
                "status_code": None,
                "error": None,
            }
        )
    return planned


def due_at(delivery: Mapping[str, Any]) -> str | None:
    """When the delivery should next be attempted, or ``None`` when it is settled (the value
    of the store's due index: sound, never later than the real next attempt). A redelivery
    asked for makes any delivery due, whatever its status."""
    times = [delivery.get("redeliver_at")]
    if delivery.get("status") in OPEN:
        times.append(delivery.get("next_attempt_at"))
    present = [t for t in times if t]
    return min(present) if present else None


def is_manual(delivery: Mapping[str, Any], now: datetime) -> bool:
    """Whether the attempt due now is a redelivery asked for by hand."""
    asked = delivery.get("redeliver_at")
    return bool(asked) and asked <= timestamp(now)


def record_attempt(
    delivery: Mapping[str, Any],
    result: AttemptResult,
    *,
    at: datetime,
    attempt_id: str,
    manual: bool = False,
    rng: random.Random | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the delivery after an attempt made at ``at``, the attempt's log entry).

    A scheduled attempt moves the delivery along the retry schedule. A ``manual`` one
    (``webhook.redeliver``) is sent once more with the same ``webhook-id``: success settles the
    delivery; failure leaves its schedule (or its ``failed`` status) as it was.
    """
    attempts = int(delivery.get("attempts") or 0) + 1
    scheduled = int(delivery.get("scheduled_attempts") or 0) + (0 if manual else 1)
    first = delivery.get("first_attempt_at") or timestamp(at)
    updated = {
        **delivery,
        "attempts": attempts,
        "scheduled_attempts": scheduled,
        "first_attempt_at": first,
        "last_attempt_at": timestamp(at),
        "status_code": result.status_code,
        "error": result.error,
    }
    if manual:
        updated.pop("redeliver_at", None)
    if result.ok:
        updated.update(status=DELIVERED, next_attempt_at=None)
    elif manual:
        pass  # status and next_attempt_at unchanged
    else:
        following = retry.next_attempt_at(
            first_attempt_at=parse_time(first),
            last_attempt_at=at,
            attempts=scheduled,
            rng=rng,
        )
        if following is None:
            updated.update(status=FAILED, next_attempt_at=None)
        else:
            updated.update(status=RETRYING, next_attempt_at=timestamp(following))
    entry = {
        "id": attempt_id,
        "event_id": delivery["event_id"],
        "event_type": delivery["event_type"],
        "attempt": attempts,
        "status_code": result.status_code,
        "error": result.error,
        "duration_ms": result.duration_ms,
        "at": timestamp(at),
        "next_attempt_at": updated.get("next_attempt_at"),
    }
    return updated, entry


def redeliver(delivery: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """A delivery asked to be sent again now (``webhook.redeliver``): due at once. Its next
    attempt is then recorded with ``manual=True``."""
    return {**delivery, "redeliver_at": timestamp(now)}


def cancel(delivery: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """A delivery that will not be attempted (its webhook was disabled or deleted)."""
    return {**delivery, "status": CANCELLED, "next_attempt_at": None, "error": reason}


def disable_decision(
    webhook: Mapping[str, Any], log: Iterable[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The change to make to an enabled ``webhook`` whose attempt ``log`` shows 3 days of
    failures (``{"status": "disabled", ...}``; the owner is then mailed), else ``None``."""
    if webhook.get("status") != ENABLED:
        return None
    history = [retry.Attempt(parse_time(entry["at"]), entry.get("error") is None) for entry in log]
    if not retry.should_disable(history):
        return None
    since = retry.failing_since(history)
    assert since is not None
    return {
        "status": DISABLED,
        "disabled_reason": "failing",
        "failing_since": timestamp(since),
    }
