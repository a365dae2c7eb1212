"""Webhook event types and the event envelope (contract "Webhooks").

A service appends timeline events (``finalized``, ``paid`` ...) to a document in the same store
commit as the change; :func:`webhook_type` says which of them integrations hear about and under
which name, and :func:`build_event` makes the envelope stored in the outbox in that commit::

    {"id": "evt_…", "type": "invoice.paid", "created_at": "2026-11-21T07:00:00Z",
     "account_id": "acct_…", "data": {"object": <the record as the API returns it>}}

The body is serialised once (:func:`event_body`) and kept as text: every attempt, retry and
redelivery sends the same bytes under the same ``webhook-id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from functions.domain.errors import FieldError, ValidationFailed

#: Timeline event types of an invoice (or credit note) that are published, by their webhook
#: name. ``pdf_rendered``, ``send_failed`` and ``duplicated`` are bookkeeping of the document
#: itself and stay internal (a duplicate is announced as the new draft's ``invoice.created``).
INVOICE_EVENTS: dict[str, str] = {
    "created": "invoice.created",
    "updated": "invoice.updated",
    "deleted": "invoice.deleted",
    "finalized": "invoice.finalized",
    "sent": "invoice.sent",
    "viewed": "invoice.viewed",
    "payment_recorded": "invoice.payment_recorded",
    "paid": "invoice.paid",
    "overdue": "invoice.overdue",
    "reminder_sent": "invoice.reminder_sent",
    "voided": "invoice.voided",
    "marked_uncollectible": "invoice.marked_uncollectible",
    "credited": "invoice.credited",
    "refund_recorded": "invoice.refund_recorded",
}

#: Published timeline events per object (the record's ``object``). ``quote`` and
#: ``recurring`` join when those records exist (contract: "quote.* and recurring.* as those
#: exist"): add their maps here and every other part follows.
PUBLISHED: dict[str, dict[str, str]] = {"invoice": INVOICE_EVENTS}

#: Timeline events of a recurring schedule (``recurring:<id>``) that are published.
RECURRING_EVENTS: dict[str, str] = {
    "created": "recurring.created",
    "updated": "recurring.updated",
    "paused": "recurring.paused",
    "resumed": "recurring.resumed",
    "cancelled": "recurring.cancelled",
    "ended": "recurring.ended",
    "invoice_issued": "recurring.invoice_issued",
}
PUBLISHED["recurring"] = RECURRING_EVENTS
#: Timeline events of a quote (issue 20), by their webhook name.
QUOTE_EVENTS: dict[str, str] = {
    "created": "quote.created",
    "updated": "quote.updated",
    "finalized": "quote.finalized",
    "sent": "quote.sent",
    "accepted": "quote.accepted",
    "declined": "quote.declined",
    "expired": "quote.expired",
    "converted": "quote.converted",
}
PUBLISHED["quote"] = QUOTE_EVENTS

#: Every webhook event type, in contract order.
EVENT_TYPES: tuple[str, ...] = tuple(t for events in PUBLISHED.values() for t in events.values())

#: Subscribing to this receives every event type, including ones added later.
ALL_EVENTS = "*"

#: Most event types one webhook lists (more than there are types is a mistake).
MAX_SUBSCRIBED = 64


def webhook_type(object_name: str, timeline_type: str) -> str | None:
    """The webhook event type of a timeline event of an ``object_name`` record, or ``None``
    when that timeline event is not published (``webhook_type("invoice", "paid")`` →
    ``"invoice.paid"``)."""
    return PUBLISHED.get(object_name, {}).get(timeline_type)


def subscribed(events: Iterable[str], event_type: str) -> bool:
    """Whether a webhook listening to ``events`` (types or ``["*"]``) receives ``event_type``."""
    listed = set(events)
    return ALL_EVENTS in listed or event_type in listed


def check_subscription(events: object, field: str = "events") -> list[str]:
    """The ``events`` of ``webhook.create``/``update``, checked: a non-empty list of known
    types without repeats, or ``["*"]`` alone. Raises 422 naming ``events[i]`` otherwise."""
    if not isinstance(events, list) or not events:
        raise ValidationFailed.one(field, 'must be a non-empty list of event types, or ["*"]')
    if len(events) > MAX_SUBSCRIBED:
        raise ValidationFailed.one(field, f"must list at most {MAX_SUBSCRIBED} event types")
    details: list[FieldError] = []
    seen: set[str] = set()
    for i, item in enumerate(events):
        where = f"{field}[{i}]"
        if not isinstance(item, str):
            details.append(FieldError(where, "must be a string"))
        elif item == ALL_EVENTS:
            if len(events) > 1:
                details.append(FieldError(where, '"*" already means every event; list it alone'))
        elif item not in EVENT_TYPES:
            details.append(FieldError(where, f"unknown event type {item[:60]!r}"))
        elif item in seen:
            details.append(FieldError(where, f"{item} is listed twice"))
        else:
            seen.add(item)
    if details:
        raise ValidationFailed(details)
    return list(events)


def timestamp(moment: datetime) -> str:
    """ISO 8601 UTC to the second, as every other timestamp of the API."""
    if moment.tzinfo is None:
        raise ValueError("a webhook timestamp must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_event(
    *,
    event_id: str,
    event_type: str,
    account_id: str,
    record: Mapping[str, Any],
    created_at: datetime,
) -> dict[str, Any]:
    """The envelope of one event. ``record`` is the object as the API returns it after the
    change (``invoice.get``), so a receiver needs no second call to act on it."""
    if not event_id.startswith("evt_"):
        raise ValueError("event ids start with evt_")
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return {
        "id": event_id,
        "type": event_type,
        "created_at": timestamp(created_at),
        "account_id": account_id,
        "data": {"object": dict(record)},
    }


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return timestamp(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def event_body(event: Mapping[str, Any]) -> str:
    """The exact text sent (and signed): compact JSON, UTF-8 characters kept, amounts as the
    strings the API uses. Stored with the event, never re-serialised for a retry."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=_json_default)
