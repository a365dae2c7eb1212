"""The invoice services and the overdue run on the DynamoDB + S3 backend (moto in server mode
over HTTP): the same code path as on SQLite, including gapless numbering and blobs in S3."""

from __future__ import annotations

from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from functions.domain.errors import InvalidState
from functions.mail.transport import OutboxMailer
from functions.overdue.job import run_overdue
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401

from .support import act, draft, make_ctx, pdf_key, seed

pytestmark = pytest.mark.aws


def test_lifecycle_and_overdue_on_dynamodb(dynamo_store, tmp_path: Path):  # noqa: F811
    outbox = tmp_path / "outbox"
    ctx = make_ctx(dynamo_store, outbox=outbox)
    ids = seed(ctx)
    first = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    second = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    assert (first["number"], second["number"]) == ("INV-2026-0001", "INV-2026-0002")
    blob = dynamo_store.get_blob(pdf_key(dynamo_store, first))
    assert blob is not None and blob.data.startswith(b"%PDF-")

    act(ctx, "invoice.send", invoice_id=first["id"])
    act(ctx, "invoice.record_payment", invoice_id=second["id"], amount="249.49")
    note = act(ctx, "invoice.credit", invoice_id=second["id"], reason="rest")
    assert note["number"] == "CN-2026-0001" and note["total"] == "-1249.49"
    assert act(ctx, "invoice.get", invoice_id=second["id"])["status"] == "credited"
    with pytest.raises(InvalidState):
        act(ctx, "invoice.void", invoice_id=second["id"])

    listed = act(ctx, "invoice.list", q="kunde", status=["sent", "open"], kind="invoice")
    assert [i["id"] for i in listed["items"]] == [first["id"]]

    services = {"mailer": OutboxMailer(outbox)}
    counts = run_overdue(dynamo_store, date(2026, 12, 12), services)
    assert counts["marked_overdue"] == 1 and counts["reminders_sent"] == 1
    again = run_overdue(dynamo_store, date(2026, 12, 12), services)
    assert again["marked_overdue"] == 0 and again["reminders_sent"] == 0
    mails = [
        BytesParser(policy=policy.default).parsebytes(f.read_bytes())
        for f in sorted(outbox.glob("*.eml"))
    ]
    assert [m["X-Billow-Reminder-Level"] for m in mails] == [None, "1"]
    types = [e["type"] for e in act(ctx, "invoice.timeline", invoice_id=first["id"])["events"]]
    assert types[-2:] == ["overdue", "reminder_sent"]
