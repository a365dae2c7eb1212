"""The outbox on AWS: the table's stream → :func:`outbox_handler` (this module) → SQS →
``aws_delivery.delivery_handler`` (and the PDF function for PDF jobs). No scheduler of our own: the
stream, the queues' delays and EventBridge Scheduler's one-time schedules trigger everything;
the store stays the truth (``docs/wiring-issue-17.md`` §3).

- :func:`outbox_handler` (event source: the table's stream, filtered to inserted
  ``webhook_events`` and ``jobs`` items): fans an event out to its deliveries (one commit,
  create-only keys) and sends one message per open delivery to the webhook queue; sends one
  message per PDF job to the PDF queue. It only fans out (a stream shard blocks on a failing
  record), and is idempotent: a retried record sends the same delivery keys again, and a
  delivery already attempted is not due, so a repeated message changes nothing.
- ``delivery_handler`` (event source: the webhook queue, partial batch failures): claims the
  delivery, makes one attempt, records it, and triggers the next attempt: the same queue with
  ``DelaySeconds`` up to 15 minutes, else a one-time schedule ``at(next_attempt_at)`` in the
  retry group that sends the message to the queue, and deletes itself.

Environment: ``BILLOW_STORE_URL``, ``BILLOW_WEBHOOK_QUEUE_URL``, ``BILLOW_PDF_QUEUE_URL``
(see ``aws_delivery`` for the delivery function's).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

from storage_adapter import Record, Store

from . import outbox
from .fanout import fan_out_event
from .queue import send
from .staging import DELIVERIES, EVENTS, WEBHOOKS

log = logging.getLogger("billow.webhooks")

JOBS = "jobs"

_store: Store | None = None


def _open_store() -> Store:
    global _store
    if _store is None:
        from storage_adapter import open_store

        _store = open_store()
    return _store


def record_of(image: dict[str, Any]) -> tuple[str, str]:
    """(collection, key) of a stream record's item image (``storage_adapter.dynamodb``)."""
    return image["coll"]["S"], image["key"]["S"]


def open_deliveries(store: Store, event: Record) -> list[str]:
    """Keys of the event's deliveries that still have an attempt coming."""
    keys = []
    for hook in store.query(WEBHOOKS, account_id=event.account_id).items:
        key = outbox.delivery_key(event.key, hook.key)
        delivery = store.get(DELIVERIES, key)
        if delivery is not None and outbox.due_at(delivery.data):
            keys.append(key)
    return keys


def outbox_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store = _open_store()
    failures = []
    for record in event.get("Records") or []:
        try:
            image = record["dynamodb"]["NewImage"]
            collection, key = record_of(image)
            if collection == EVENTS:
                current = store.get(EVENTS, key)
                if current is None:
                    continue
                if current.data.get("status") == "pending":
                    fan_out_event(store, current, now=datetime.now(UTC))
                for delivery_key in open_deliveries(store, current):
                    send(os.environ["BILLOW_WEBHOOK_QUEUE_URL"], {"delivery": delivery_key})
            elif collection == JOBS:
                job = store.get(JOBS, key)
                if job is not None:
                    body = {"invoice_id": job.data["invoice_id"], "account_id": job.account_id}
                    send(os.environ["BILLOW_PDF_QUEUE_URL"], body)
        except Exception:
            log.exception("outbox record failed; retried by the stream")
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
            break  # records of a shard are handled in order: retry from the first failure
    return {"batchItemFailures": failures}
