"""Sending one message to an SQS queue (the AWS triggers of the outbox: a delivery to attempt,
a PDF job to run). Kept alone so that the API, which only asks for redeliveries, carries
nothing else of the AWS wiring."""

from __future__ import annotations

import json
from typing import Any

#: SQS's longest message delay.
MAX_DELAY_SECONDS = 900


def send(queue_url: str, body: dict[str, Any], delay: int = 0) -> None:
    import boto3

    boto3.client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(body),
        DelaySeconds=max(0, min(delay, MAX_DELAY_SECONDS)),
    )
