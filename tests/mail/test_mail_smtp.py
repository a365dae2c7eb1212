"""SMTP delivery against real aiosmtpd servers on loopback."""

from __future__ import annotations

import ssl
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from functions.mail import MailDeliveryError, SmtpMailer, invoice_message, signin_message
from tests.mail import samples
from tests.mail.conftest import SMTP_PASSWORD, SMTP_USER


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href")


def _parts(message):
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def test_invoice_mail_arrives_with_its_pdf(smtp_server):
    pdf = samples.pdf_bytes("INV-2026-0042")
    mail = invoice_message(
        samples.invoice(),
        pdf,
        to="ap@globex.example",
        cc=["controller@globex.example"],
        message="Thanks for the order!",
        env={},
    )
    mailer = SmtpMailer(f"smtp://{smtp_server.host}:{smtp_server.port}")

    message_id = mailer.send(mail)

    assert len(smtp_server.received) == 1
    got = smtp_server.received[0]
    assert got.mail_from == "no-reply@localhost"
    assert sorted(got.rcpt_tos) == ["ap@globex.example", "controller@globex.example"]
    msg = got.message
    assert msg["Message-ID"] == message_id
    assert msg["Subject"] == "Invoice INV-2026-0042 from Acme GmbH"
    assert msg["Reply-To"].addresses[0].addr_spec == "billing@acme.example"
    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["INV-2026-0042.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content() == pdf
    assert "INV-2026-0042" in samples.pdf_text(attachments[0].get_content())
    text, html = _parts(msg)
    for part in (text, html):
        assert "Thanks for the order!" in part
        assert "€1,234.50" in part
        assert "December 21, 2026" in part
        assert "RF18539007547034" in part


def test_signin_mail_carries_the_link(smtp_server):
    link = "http://127.0.0.1:8000/?token=abc123-_XYZ&x=1"
    mailer = SmtpMailer(f"smtp://{smtp_server.host}:{smtp_server.port}")

    mailer.send(signin_message("new.user@example.com", link, locale="en", env={}))

    (got,) = smtp_server.received
    assert got.rcpt_tos == ["new.user@example.com"]
    assert got.message["Subject"] == "Sign in to Billow"
    text, html = _parts(got.message)
    assert link in text.split()
    links = _Links()
    links.feed(html)
    assert links.hrefs == [link]


def test_starttls_and_login(tls_smtp_server, client_tls):
    url = (
        f"smtp+starttls://{SMTP_USER}:{quote(SMTP_PASSWORD, safe='')}"
        f"@127.0.0.1:{tls_smtp_server.port}"
    )
    mailer = SmtpMailer(url, ssl_context=client_tls)

    mailer.send(invoice_message(samples.invoice(), samples.pdf_bytes(), to=None, env={}))

    (got,) = tls_smtp_server.received
    assert got.authenticated_as == SMTP_USER
    assert got.rcpt_tos == ["ap@globex.example"]  # the frozen buyer's address by default
    assert [a.get_filename() for a in got.message.iter_attachments()] == ["INV-2026-0042.pdf"]


def test_wrong_password_is_a_delivery_error(tls_smtp_server, client_tls):
    url = f"smtp+starttls://{SMTP_USER}:wrong@127.0.0.1:{tls_smtp_server.port}"
    mailer = SmtpMailer(url, ssl_context=client_tls)

    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(signin_message("a@example.com", "https://app.example/?token=t", env={}))

    assert caught.value.code == "mail_delivery_failed"
    assert "login" in caught.value.message and "535" in caught.value.message
    assert "wrong" not in caught.value.message  # the password never appears
    assert tls_smtp_server.received == []


def test_starttls_refuses_an_untrusted_certificate(tls_smtp_server):
    url = f"smtp+starttls://{SMTP_USER}:x@127.0.0.1:{tls_smtp_server.port}"
    mailer = SmtpMailer(url, ssl_context=ssl.create_default_context())  # system CAs only

    with pytest.raises(MailDeliveryError, match="TLS"):
        mailer.send(signin_message("a@example.com", "https://app.example/?token=t", env={}))
    assert tls_smtp_server.received == []


def test_plain_smtp_cannot_skip_required_starttls(tls_smtp_server):
    mailer = SmtpMailer(f"smtp://127.0.0.1:{tls_smtp_server.port}")

    with pytest.raises(MailDeliveryError, match=r"530"):
        mailer.send(signin_message("a@example.com", "https://app.example/?token=t", env={}))
    assert tls_smtp_server.received == []


def test_smtps_implicit_tls(smtps_server, client_tls):
    mailer = SmtpMailer(f"smtps://127.0.0.1:{smtps_server.port}", ssl_context=client_tls)

    mailer.send(signin_message("a@example.com", "https://app.example/?token=t", env={}))

    assert [r.rcpt_tos for r in smtps_server.received] == [["a@example.com"]]


def test_smtp_down_raises_mail_delivery_error(closed_port):
    mailer = SmtpMailer(f"smtp://127.0.0.1:{closed_port}?timeout=5")
    mail = invoice_message(samples.invoice(), samples.pdf_bytes(), to="ap@globex.example", env={})

    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(mail)

    assert caught.value.code == "mail_delivery_failed"
    assert f"127.0.0.1:{closed_port}" in caught.value.message
    assert "connect" in caught.value.message


def test_every_recipient_refused_is_a_delivery_error(smtp_server):
    smtp_server.handler.refuse.add("gone@globex.example")
    mailer = SmtpMailer(f"smtp://127.0.0.1:{smtp_server.port}")
    mail = invoice_message(samples.invoice(), samples.pdf_bytes(), to="gone@globex.example", env={})

    with pytest.raises(MailDeliveryError, match=r"gone@globex\.example \(550"):
        mailer.send(mail)
    assert smtp_server.received == []


def test_one_refused_cc_still_delivers_to_the_others(smtp_server):
    smtp_server.handler.refuse.add("gone@globex.example")
    mailer = SmtpMailer(f"smtp://127.0.0.1:{smtp_server.port}")
    mail = invoice_message(
        samples.invoice(), b"%PDF-", to="ap@globex.example", cc="gone@globex.example", env={}
    )

    mailer.send(mail)

    assert [r.rcpt_tos for r in smtp_server.received] == [["ap@globex.example"]]
