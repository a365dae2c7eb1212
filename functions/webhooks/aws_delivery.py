"""The delivery function of the AWS outbox (see :mod:`.aws_outbox` for the whole flow): one
message of the webhook queue = one delivery to attempt now. It claims the delivery, makes one
attempt, records it, and triggers the next attempt: the same queue with ``DelaySeconds`` up to
15 minutes, else a one-time EventBridge Scheduler schedule ``at(next_attempt_at)`` in the retry
group that sends the message to the queue and deletes itself. A message that arrives before
its delivery is due (a duplicate, or an early trigger) re-arms the trigger and does nothing.

Environment: ``BILLOW_STORE_URL``, ``BILLOW_WEBHOOK_KMS_KEY_ID``, ``BILLOW_WEBHOOK_QUEUE_URL``,
``BILLOW_WEBHOOK_QUEUE_ARN``, ``BILLOW_WEBHOOK_SCHEDULE_GROUP``,
``BILLOW_WEBHOOK_SCHEDULER_ROLE_ARN``, and the mail settings (the disabled-endpoint mail).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from datetime import UTC, datetime
from typing import Any

from storage_adapter import Store

from . import outbox
from .events import timestamp
from .queue import MAX_DELAY_SECONDS, send
from .staging import DELIVERIES

log = logging.getLogger("billow.webhooks")

_store: Store | None = None


def _open_store() -> Store:
    global _store
    if _store is None:
        from storage_adapter import open_store

        _store = open_store()
    return _store


def _scheduler() -> Any:
    import boto3

    return boto3.client("scheduler")


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
    _scheduler().create_schedule(
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

    from .notify import mail_disabled
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
