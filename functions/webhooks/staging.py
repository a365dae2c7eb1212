"""What the services write into the outbox, inside their own transactions: the webhook event
of a change (:func:`stage_event`, in the commit of the change) and a redelivery asked for by
hand (:func:`redeliver`). Kept apart from :mod:`.worker` so that the code answering requests
does not carry the delivery machinery (nor its store-wide scans).

Collections: ``webhooks`` (``url``, ``events``, ``status``, ``secret_sealed``, ``created_at``),
``webhook_events`` (envelope + ``body`` + ``status``), ``webhook_deliveries``,
``webhook_attempts`` (kept 90 days).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage_adapter import Record, Store, Transaction

from . import outbox
from .events import build_event, event_body, webhook_type

WEBHOOKS = "webhooks"
EVENTS = "webhook_events"
DELIVERIES = "webhook_deliveries"
ATTEMPTS = "webhook_attempts"


def stage_event(
    tx: Transaction,
    *,
    event_id: str,
    object_name: str,
    timeline_type: str,
    record: Record,
    representation: dict[str, Any],
    at: datetime,
) -> str | None:
    """Stage the outbox event of one timeline event in the caller's transaction (what the
    services call beside ``tx.append(timeline…)``); ``None`` when the type is not published."""
    published = webhook_type(object_name, timeline_type)
    if published is None or record.account_id is None:
        return None
    envelope = build_event(
        event_id=event_id,
        event_type=published,
        account_id=record.account_id,
        record=representation,
        created_at=at,
    )
    tx.put(
        EVENTS,
        event_id,
        {**envelope, "body": event_body(envelope), "status": "pending"},
        account_id=record.account_id,
        expected_version=0,
    )
    return event_id


def redeliver(store: Store, account_id: str, event_id: str, webhook_id: str, now: datetime) -> None:
    """``webhook.redeliver``: the delivery is due at once and sent with the same id."""
    key = outbox.delivery_key(event_id, webhook_id)

    def run(tx: Transaction) -> None:
        current = tx.get(DELIVERIES, key)
        if current is None or current.account_id != account_id:
            from functions.domain.errors import NotFound

            raise NotFound("no such delivery")
        tx.put(
            DELIVERIES,
            key,
            outbox.redeliver(current.data, now=now),
            account_id=current.account_id,
            expected_version=current.version,
        )

    store.transaction(run)
