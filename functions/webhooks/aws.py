"""The outbox on AWS: the table's stream → :func:`outbox_handler` → SQS →
:func:`delivery_handler` (and the PDF function for PDF jobs). No scheduler of our own: the
stream, the queues' delays and EventBridge Scheduler's one-time schedules trigger everything;
the store stays the truth (``docs/wiring-issue-17.md`` §3).

- :func:`outbox_handler` (event source: the table's stream, filtered to inserted
  ``webhook_events`` and ``jobs`` items): fans an event out to its deliveries (one commit,
  create-only keys) and sends one message per open delivery to the webhook queue; sends one
  message per PDF job to the PDF queue. It only fans out (a stream shard blocks on a failing
  record), and is idempotent: a retried record sends the same delivery keys again, and a
  delivery already attempted is not due, so a repeated message changes nothing.
- :func:`delivery_handler` (event source: the webhook queue, partial batch failures): claims the
  delivery, makes one attempt, records it, and triggers the next attempt: the same queue with
  ``DelaySeconds`` up to 15 minutes, else a one-time schedule ``at(next_attempt_at)`` in the
  retry group that sends the message to the queue, and deletes itself.

Environment: ``BILLOW_STORE_URL``, ``BILLOW_WEBHOOK_QUEUE_URL``, ``BILLOW_PDF_QUEUE_URL``
(outbox), ``BILLOW_WEBHOOK_KMS_KEY_ID``, ``BILLOW_WEBHOOK_QUEUE_ARN``,
``BILLOW_WEBHOOK_SCHEDULE_GROUP``, ``BILLOW_WEBHOOK_SCHEDULER_ROLE_ARN`` (delivery).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from datetime import UTC, datetime
from typing import Any

from storage_adapter import Record, Store

from . import outbox
from .events import timestamp
from .queue import MAX_DELAY_SECONDS, send
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


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)


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
    from .worker import Worker

    store = _open_store()
    worker = Worker(store, sealer=None, new_id=lambda p: p)  # type: ignore[arg-type]
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
                    worker.fan_out_one(current)
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


def schedule(key: str, at: str, *, now: datetime) -> None:
    """Trigger the delivery's next attempt at ``at``: a delayed message when it is at most
    15 minutes away, else a one-time EventBridge Scheduler schedule that sends it."""
    when = outbox.parse_time(at)
    delay = math.ceil((when - now).total_seconds())
    queue = os.environ["BILLOW_WEBHOOK_QUEUE_URL"]
    if delay <= MAX_DELAY_SECONDS:
        send(queue, {"delivery": key}, delay)
        return
    name = "wh-" + hashlib.sha256(f"{key}@{at}".encode()).hexdigest()[:40]
    _client("scheduler").create_schedule(
        Name=name,
        GroupName=os.environ["BILLOW_WEBHOOK_SCHEDULE_GROUP"],
        ScheduleExpression=f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})",
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={
            "Arn": os.environ["BILLOW_WEBHOOK_QUEUE_ARN"],
            "RoleArn": os.environ["BILLOW_WEBHOOK_SCHEDULER_ROLE_ARN"],
            "Input": json.dumps({"delivery": key}),
        },
    )


def delivery_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from functions.mail.transport import get_mailer
    from functions.services.ids import new_id

    from .runner import mail_disabled
    from .sealing import sealer_from_env
    from .worker import PassSummary, Worker

    store = _open_store()
    worker = Worker(store, sealer_from_env(), new_id)
    failures = []
    for message in event.get("Records") or []:
        try:
            key = json.loads(message["body"])["delivery"]
            before = store.get(DELIVERIES, key)
            claimed = worker._claim(key)
            now = datetime.now(UTC)
            if claimed is None:  # not due yet (early), settled, or another attempt is running
                current = store.get(DELIVERIES, key)
                due = outbox.due_at(current.data) if current else None
                busy = current and (current.data.get("claimed_until") or "") > timestamp(now)
                if due and due > timestamp(now) and not busy:
                    schedule(key, due, now=now)
                continue
            summary = PassSummary()
            worker.attempt(claimed, summary)
            if summary.disabled:
                mail_disabled(store, {"mailer": get_mailer()}, summary.disabled)
            after = store.get(DELIVERIES, key)
            scheduled = (
                before is None
                or after is None
                or (after.data.get("scheduled_attempts") != before.data.get("scheduled_attempts"))
            )
            if after is not None and scheduled and after.data.get("status") == outbox.RETRYING:
                schedule(key, after.data["next_attempt_at"], now=datetime.now(UTC))
        except Exception:
            log.exception("delivery message failed; SQS delivers it again")
            failures.append({"itemIdentifier": message["messageId"]})
    return {"batchItemFailures": failures}
