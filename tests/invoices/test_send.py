"""``invoice.send`` through real transports: the outbox folder, aiosmtpd on loopback, and an
SMTP server that is down (a closed loopback port)."""

from __future__ import annotations

import hashlib
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from functions.domain.errors import InvalidState, ValidationFailed
from functions.mail.transport import MailDeliveryError, SmtpMailer
from functions.overdue.job import run_overdue

from .support import act, draft, make_ctx, seed


def _outbox(folder: Path) -> list:
    files = sorted(folder.glob("*.eml")) if folder.is_dir() else []
    return [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]


def _pdf_attachments(message) -> list[tuple[str, bytes]]:
    return [
        (part.get_filename(), part.get_content())
        for part in message.iter_attachments()
        if part.get_content_type() == "application/pdf"
    ]


@pytest.fixture
def invoice(ctx, ids) -> dict:
    return act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])


def test_send_to_client_email_through_outbox(ctx, invoice, outbox):
    sent = act(ctx, "invoice.send", invoice_id=invoice["id"])
    assert sent["status"] == "sent" and sent["sent_at"] == "2026-11-21T09:30:00Z"
    mails = _outbox(outbox)
    assert len(mails) == 1
    mail = mails[0]
    assert mail["To"] == "ap@kunde.example"
    assert "INV-2026-0001" in mail["Subject"] and "Acme GmbH" in mail["Subject"]
    [(filename, data)] = _pdf_attachments(mail)
    assert filename == "INV-2026-0001.pdf"
    assert hashlib.sha256(data).hexdigest() == invoice["pdf"]["sha256"]  # the stored PDF
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "1.249,49" in text or "1,249.49" in text

    again = act(
        ctx,
        "invoice.send",
        invoice_id=invoice["id"],
        to="boss@kunde.example",
        cc=["cc@kunde.example"],
        message="Second copy <b>as asked</b>",
    )
    assert again["status"] == "sent"
    mails = _outbox(outbox)
    assert len(mails) == 2
    assert mails[1]["To"] == "boss@kunde.example" and mails[1]["Cc"] == "cc@kunde.example"
    html = mails[1].get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;as asked&lt;/b&gt;" in html
    events = act(ctx, "invoice.timeline", invoice_id=invoice["id"])["events"]
    sent_events = [e for e in events if e["type"] == "sent"]
    assert [e["data"]["to"] for e in sent_events] == [["ap@kunde.example"], ["boss@kunde.example"]]


def test_send_through_real_smtp_server(store, ids, invoice, smtp_server):
    url, recorder = smtp_server
    ctx = make_ctx(store, mailer=SmtpMailer(url))
    sent = act(ctx, "invoice.send", invoice_id=invoice["id"])
    assert sent["status"] == "sent"
    assert len(recorder.messages) == 1
    rcpts, raw = recorder.messages[0]
    assert rcpts == ["ap@kunde.example"]
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    [(filename, data)] = _pdf_attachments(mail)
    assert filename == "INV-2026-0001.pdf" and data.startswith(b"%PDF-")
    assert hashlib.sha256(data).hexdigest() == invoice["pdf"]["sha256"]


def test_smtp_down_records_send_failed_and_keeps_status(store, ids, invoice, closed_port):
    ctx = make_ctx(store, mailer=SmtpMailer(f"smtp://127.0.0.1:{closed_port}?timeout=5"))
    with pytest.raises(MailDeliveryError) as err:
        act(ctx, "invoice.send", invoice_id=invoice["id"])
    assert err.value.code == "mail_delivery_failed"
    assert f"127.0.0.1:{closed_port}" in err.value.message
    got = act(ctx, "invoice.get", invoice_id=invoice["id"])
    assert got["status"] == "open" and got["sent_at"] is None
    assert got["version"] == invoice["version"]
    events = act(ctx, "invoice.timeline", invoice_id=invoice["id"])["events"]
    assert events[-1]["type"] == "send_failed"
    assert f"127.0.0.1:{closed_port}" in events[-1]["data"]["reason"]
    assert events[-1]["data"]["to"] == ["ap@kunde.example"]


def test_overdue_invoice_sent_again_becomes_sent(ctx, invoice, outbox):
    counts = run_overdue(ctx.store, date(2026, 12, 6), {"mailer": ctx.services["mailer"]})
    assert counts["marked_overdue"] == 1
    assert act(ctx, "invoice.get", invoice_id=invoice["id"])["status"] == "overdue"
    assert act(ctx, "invoice.send", invoice_id=invoice["id"])["status"] == "sent"


def test_send_refused_for_draft_and_paid(ctx, ids, invoice, outbox):
    inv = draft(ctx, ids)
    with pytest.raises(InvalidState) as err:
        act(ctx, "invoice.send", invoice_id=inv["id"])
    assert "draft" in err.value.message
    act(ctx, "invoice.record_payment", invoice_id=invoice["id"], amount=invoice["total"])
    with pytest.raises(InvalidState) as err:
        act(ctx, "invoice.send", invoice_id=invoice["id"])
    assert "paid" in err.value.message
    assert _outbox(outbox) == []


def test_client_without_email_needs_to(ctx, outbox):
    ids = seed(
        ctx,
        client={
            "name": "No Mail GmbH",
            "address": {"line1": "Weg 2", "postal_code": "50667", "city": "Köln", "country": "DE"},
        },
    )
    inv = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "invoice.send", invoice_id=inv["id"])
    assert err.value.details[0].field == "to"
    assert act(ctx, "invoice.send", invoice_id=inv["id"], to="x@nomail.example")["status"] == "sent"


def test_credit_note_can_be_sent(ctx, invoice, outbox):
    note = act(ctx, "invoice.credit", invoice_id=invoice["id"], reason="cancelled")
    assert act(ctx, "invoice.send", invoice_id=note["id"])["status"] == "sent"
    [mail] = _outbox(outbox)
    assert "CN-2026-0001" in mail["Subject"]
    assert _pdf_attachments(mail)[0][0] == "CN-2026-0001.pdf"
