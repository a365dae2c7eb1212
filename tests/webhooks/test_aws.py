"""The outbox on AWS, in moto (server mode over HTTP): a commit on DynamoDB → its stream record
→ the outbox function → SQS → the delivery function → a receiver on loopback verifying the
signature (secrets sealed with KMS); a 500 is retried through the queue's delay with the same
``webhook-id``; a PDF job goes through the PDF queue to the PDF function.

moto has no DynamoDB stream *delivery* to Lambda, so the stream records are built from the real
items the commit wrote (read back from the table), in the shape Lambda hands them over."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest

from functions.pdf import handler as pdf_handler
from functions.webhooks import aws_delivery, aws_outbox
from tests.invoices.support import act, draft, make_ctx, seed
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401
from tests.webhooks.conftest import make_receiver

pytestmark = pytest.mark.aws
REGION = "eu-central-1"


def stream_records(endpoint: str, table: str) -> list[dict[str, Any]]:
    """INSERT records of the outbox items (``webhook_events``, ``jobs``) as Lambda gets them
    from the stream with the template's filter, oldest first."""
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    items = ddb.scan(
        TableName=table,
        FilterExpression="coll IN (:e, :j)",
        ExpressionAttributeValues={":e": {"S": "webhook_events"}, ":j": {"S": "jobs"}},
    )["Items"]
    items.sort(key=lambda i: i["key"]["S"])
    return [
        {
            "eventName": "INSERT",
            "dynamodb": {"NewImage": item, "SequenceNumber": str(n), "StreamViewType": "NEW_IMAGE"},
        }
        for n, item in enumerate(items, 1)
    ]


def sqs_event(sqs, queue_url: str, wait: int = 1) -> dict[str, Any]:
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait)
    messages = got.get("Messages", [])
    for m in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return {"Records": [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]}


def test_commit_stream_queue_delivery_function_receiver(
    dynamo_store,  # noqa: F811
    moto_endpoint,  # noqa: F811
    monkeypatch,
    tmp_path,
):
    for service in ("SQS", "KMS"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", moto_endpoint)
    kms = boto3.client("kms", region_name=REGION)
    monkeypatch.setenv(
        "BILLOW_WEBHOOK_KMS_KEY_ID", kms.create_key(Description="hooks")["KeyMetadata"]["Arn"]
    )
    sqs = boto3.client("sqs", region_name=REGION)
    suffix = uuid.uuid4().hex[:8]
    hooks_queue = sqs.create_queue(QueueName=f"hooks-{suffix}")["QueueUrl"]
    pdf_queue = sqs.create_queue(QueueName=f"pdf-{suffix}")["QueueUrl"]
    monkeypatch.setenv("BILLOW_WEBHOOK_QUEUE_URL", hooks_queue)
    monkeypatch.setenv("BILLOW_PDF_QUEUE_URL", pdf_queue)
    monkeypatch.setenv("BILLOW_WEBHOOKS_ALLOW_LOCAL", "1")
    monkeypatch.setattr(aws_outbox, "_store", dynamo_store)
    monkeypatch.setattr(aws_delivery, "_store", dynamo_store)
    monkeypatch.setattr(pdf_handler, "_store", dynamo_store)
    receiver = make_receiver("whsec_placeholder")
    receiver.script = ["500", "ok"]  # the first attempt fails
    try:
        ctx = make_ctx(dynamo_store, outbox=tmp_path / "outbox")
        ctx.services["pdf"] = lambda store, invoice: {"error": "renderer down"}
        hook = act(ctx, "webhook.create", url=receiver.url(), events=["invoice.finalized"])
        receiver.secret = hook["secret"]
        stored = dynamo_store.get("webhooks", hook["id"]).data
        assert stored["secret_sealed"].startswith("v1.kms.")
        inv = act(ctx, "invoice.finalize", invoice_id=draft(ctx, seed(ctx))["id"])
        assert inv["pdf"] is None  # the request could not render it: its job is left

        records = stream_records(moto_endpoint, dynamo_store.table)
        assert aws_outbox.outbox_handler({"Records": records}, None) == {"batchItemFailures": []}
        # the replayed stream (a retried batch) sends again but changes nothing
        assert aws_outbox.outbox_handler({"Records": records}, None) == {"batchItemFailures": []}

        deliveries = sqs_event(sqs, hooks_queue)
        assert {json.loads(r["body"])["delivery"] for r in deliveries["Records"]} == {
            next(k for k in _keys(dynamo_store, "webhook_deliveries"))
        }
        assert aws_delivery.delivery_handler(deliveries, None) == {"batchItemFailures": []}
        assert len(receiver.requests) >= 1 and receiver.requests[0].headers  # the 500
        # the retry comes back through the queue (DelaySeconds); hand it over when it does
        deadline = time.monotonic() + 60
        while not any(r.verified for r in receiver.requests[1:]):
            assert time.monotonic() < deadline, "the retry never came back"
            batch = sqs_event(sqs, hooks_queue, wait=5)
            if batch["Records"]:
                assert aws_delivery.delivery_handler(batch, None) == {"batchItemFailures": []}
        assert all(r.verified for r in receiver.requests)
        assert len(set(receiver.ids())) == 1  # both tries under the same webhook-id
        body = json.loads(receiver.requests[-1].body)
        assert body["type"] == "invoice.finalized" and body["data"]["object"]["id"] == inv["id"]
        log = act(ctx, "webhook.deliveries", webhook_id=hook["id"])["items"]
        assert [(a["attempt"], a["status_code"]) for a in log] == [(2, 200), (1, 500)]

        jobs = sqs_event(sqs, pdf_queue)
        # one message per stream record: the replay above sent the job twice (harmless)
        assert {json.loads(r["body"])["invoice_id"] for r in jobs["Records"]} == {inv["id"]}
        assert pdf_handler.lambda_handler(jobs, None) == {"batchItemFailures": []}
        assert act(ctx, "invoice.get", invoice_id=inv["id"])["pdf"]["sha256"]
        events = act(ctx, "invoice.timeline", invoice_id=inv["id"])["events"]
        assert [e["type"] for e in events].count("pdf_rendered") == 1
        assert _keys(dynamo_store, "jobs") == []
    finally:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()


def _keys(store, collection: str) -> list[str]:
    return [r.key for r in store.query(collection, account_id=None).items]
