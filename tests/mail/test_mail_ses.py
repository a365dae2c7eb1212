"""Amazon SES v2 through moto in server mode, over HTTP on loopback."""

from __future__ import annotations

import uuid
from email import policy
from email.parser import BytesParser

import boto3
import pytest
import requests

from functions.mail import MailDeliveryError, get_mailer, invoice_message
from tests.mail import samples

pytestmark = pytest.mark.aws


def _sent_raw_messages(endpoint_url: str) -> list[dict]:
    """What moto's SES backend recorded, read over HTTP from its model dump."""
    data = requests.get(f"{endpoint_url}/moto-api/data.json", timeout=10).json()
    return data.get("ses", {}).get("RawMessage", [])


def test_invoice_mail_through_ses(moto_server, aws_env):
    sender = f"billing-{uuid.uuid4().hex[:8]}@acme.example"  # unique: the server is shared
    ses = boto3.client("sesv2", endpoint_url=moto_server.endpoint_url)
    ses.create_email_identity(EmailIdentity=sender)
    mailer = get_mailer(
        env={
            "BILLOW_MAIL_TRANSPORT": "ses",
            "BILLOW_MAIL_FROM": sender,
            "AWS_REGION": "eu-central-1",
            "BILLOW_SES_ENDPOINT_URL": moto_server.endpoint_url,
        }
    )
    pdf = samples.pdf_bytes()
    mail = invoice_message(
        samples.invoice(), pdf, to=None, cc="cfo@globex.example", env={"BILLOW_MAIL_FROM": sender}
    )

    ses_id = mailer.send(mail)

    (record,) = [m for m in _sent_raw_messages(moto_server.endpoint_url) if m["id"] == ses_id]
    assert record["source"] == sender
    assert {"ap@globex.example", "cfo@globex.example"} <= set(record["destinations"])
    parsed = BytesParser(policy=policy.default).parsebytes(record["raw_data"].encode())
    assert parsed["Subject"] == "Invoice INV-2026-0042 from Acme GmbH"
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "INV-2026-0042.pdf"
    assert attachment.get_content() == pdf


def test_unverified_sender_is_a_delivery_error(moto_server, aws_env):
    sender = f"nobody-{uuid.uuid4().hex[:8]}@unverified.example"
    mailer = get_mailer(
        env={
            "BILLOW_MAIL_TRANSPORT": "ses",
            "BILLOW_MAIL_FROM": sender,
            "AWS_REGION": "eu-central-1",
            "BILLOW_SES_ENDPOINT_URL": moto_server.endpoint_url,
        }
    )
    mail = invoice_message(samples.invoice(), b"%PDF-", to=None, env={"BILLOW_MAIL_FROM": sender})

    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(mail)
    assert "MessageRejected" in caught.value.message
    assert sender in caught.value.message
