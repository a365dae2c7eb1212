"""The outbox transport: one RFC 5322 file per message under ``<data-dir>/outbox``."""

from __future__ import annotations

import logging
from email import policy
from email.parser import BytesParser

import pytest

from functions.mail import (
    MailDeliveryError,
    OutboxMailer,
    get_mailer,
    invoice_message,
    reminder_message,
    signin_message,
)
from tests.mail import samples


def _read(path):
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


def test_invoice_mail_lands_in_the_outbox_and_parses_back(tmp_path, caplog):
    pdf = samples.pdf_bytes()
    mailer = get_mailer(tmp_path, env={})
    mail = invoice_message(samples.invoice(), pdf, to="ap@globex.example", env={})

    with caplog.at_level(logging.INFO, logger="billow.mail"):
        message_id = mailer.send(mail)

    files = list((tmp_path / "outbox").iterdir())
    assert len(files) == 1 and files[0].suffix == ".eml"
    assert message_id.strip("<>").split("@")[0] in files[0].name
    raw = files[0].read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF throughout
    parsed = _read(files[0])
    assert parsed["Message-ID"] == message_id
    assert parsed["Subject"] == "Invoice INV-2026-0042 from Acme GmbH"
    assert parsed["To"] == "ap@globex.example"
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "INV-2026-0042.pdf"
    assert attachment.get_content() == pdf
    assert any(str(files[0]) in r.getMessage() for r in caplog.records)


def test_one_file_per_message_in_sending_order(tmp_path):
    mailer = OutboxMailer(tmp_path / "outbox")
    sent = [
        mailer.send(signin_message(f"user{i}@example.com", f"https://app.example/?token={i}"))
        for i in range(5)
    ]

    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 5
    assert [_read(f)["Message-ID"] for f in files] == sent
    assert [_read(f)["To"] for f in files] == [f"user{i}@example.com" for i in range(5)]
    assert not [f for f in files if f.name.startswith(".")]  # no temp files left behind


def test_reminder_without_pdf_has_no_attachment(tmp_path):
    mailer = OutboxMailer(tmp_path)
    mailer.send(reminder_message(samples.invoice(), 1, 7, None, to=None, env={}))

    (path,) = tmp_path.glob("*.eml")
    parsed = _read(path)
    assert list(parsed.iter_attachments()) == []
    assert parsed["Subject"] == "Reminder: invoice INV-2026-0042 from Acme GmbH"


def test_unwritable_outbox_is_a_delivery_error(tmp_path):
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the folder should be")
    mailer = OutboxMailer(blocker)

    with pytest.raises(MailDeliveryError, match="outbox"):
        mailer.send(signin_message("a@example.com", "https://app.example/?token=t", env={}))
