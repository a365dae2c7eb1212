"""What the messages say: both parts, escaping, header safety, languages, tone by level."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from functions.domain.errors import ValidationFailed
from functions.mail import (
    MailConfigurationError,
    invoice_message,
    reminder_message,
    sender_address,
    signin_message,
)
from tests.mail import samples

PDF = b"%PDF-1.4 test"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def _text(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def _html(mail) -> str:
    return mail.get_body(("html",)).get_content()


def test_every_message_has_text_and_html_alternatives():
    mails = [
        signin_message("a@example.com", "https://app.example/?token=t", env={}),
        invoice_message(samples.invoice(), PDF, to=None, env={}),
        reminder_message(samples.invoice(), 2, 14, PDF, to=None, env={}),
    ]
    for mail in mails:
        alternative = next(
            p for p in mail.walk() if p.get_content_type() == "multipart/alternative"
        )
        kinds = [p.get_content_type() for p in alternative.iter_parts()]
        assert kinds == ["text/plain", "text/html"]


def test_user_text_is_escaped_in_html():
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    mail = invoice_message(
        samples.invoice(buyer={"name": evil, "contact_name": None}, seller={"name": "A&B <Co>"}),
        PDF,
        to="ap@globex.example",
        message=f"Note: {evil}",
        env={},
    )
    html = _html(mail)
    parser = _Tags()
    parser.feed(html)

    assert "script" not in parser.tags and "img" not in parser.tags
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;" in html
    assert "A&amp;B &lt;Co&gt;" in html
    assert evil in "".join(parser.text)  # the reader sees the name as typed
    assert evil in _text(mail)  # plain text keeps it verbatim


def test_line_breaks_in_user_text_cannot_add_headers():
    mail = invoice_message(
        samples.invoice(seller={"name": "Acme\r\nBcc: victim@example.com"}),
        PDF,
        to="ap@globex.example",
        env={},
    )
    raw = mail.as_bytes()

    assert mail["Bcc"] is None
    assert b"\nBcc:" not in raw
    assert mail["Subject"] == "Invoice INV-2026-0042 from Acme Bcc: victim@example.com"


@pytest.mark.parametrize(
    "to",
    ["ap@globex.example\r\nBcc: victim@example.com", "not-an-address", "a@b, c", ""],
)
def test_bad_recipient_is_rejected(to):
    with pytest.raises(ValidationFailed) as caught:
        invoice_message(samples.invoice(buyer={"email": None}), PDF, to=to, env={})
    assert caught.value.details[0].field.startswith("to")


def test_cc_with_line_break_is_rejected():
    with pytest.raises(ValidationFailed) as caught:
        invoice_message(samples.invoice(), PDF, to=None, cc=["x@example.com\nBcc: y@z.io"], env={})
    assert caught.value.details[0].field == "cc[0]"


def test_signin_link_must_be_http():
    with pytest.raises(ValidationFailed):
        signin_message("a@example.com", "javascript:alert(1)", env={})


# Subject, amount and due date as a reader of each language expects them.
EXPECTED = {
    "en": ("Invoice INV-2026-0042 from Acme GmbH", "€1,234.50", "December 21, 2026"),
    "de": ("Rechnung INV-2026-0042 von Acme GmbH", "1.234,50\xa0€", "21. Dezember 2026"),
    "fr": ("Facture INV-2026-0042 de Acme GmbH", "1\u202f234,50\xa0€", "21 décembre 2026"),
    "es": ("Factura INV-2026-0042 de Acme GmbH", "1.234,50\xa0€", "21 de diciembre de 2026"),
    "it": ("Fattura INV-2026-0042 da Acme GmbH", "1.234,50\xa0€", "21 dicembre 2026"),
    "nl": ("Factuur INV-2026-0042 van Acme GmbH", "€\xa01.234,50", "21 december 2026"),
    "sv": ("Faktura INV-2026-0042 från Acme GmbH", "1\xa0234,50\xa0€", "21 december 2026"),
    "pl": ("Faktura INV-2026-0042 od Acme GmbH", "1\xa0234,50\xa0€", "21 grudnia 2026"),
}


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_invoice_mail_is_localized(locale):
    subject, amount, due = EXPECTED[locale]
    mail = invoice_message(samples.invoice(), PDF, to=None, locale=locale, env={})

    assert mail["Subject"] == subject
    for part in (_text(mail), _html(mail)):
        assert amount in part
        assert due in part


def test_language_falls_back_from_buyer_to_seller_to_english():
    de_at = invoice_message(samples.invoice(buyer={"locale": "de-AT"}), PDF, to=None, env={})
    assert de_at["Subject"].startswith("Rechnung ")
    seller_sv = invoice_message(
        samples.invoice(buyer={"locale": "xx"}, seller={"locale": "sv"}), PDF, to=None, env={}
    )
    assert seller_sv["Subject"].startswith("Faktura ") and "från" in seller_sv["Subject"]
    neither = invoice_message(
        samples.invoice(buyer={"locale": None}, seller={"locale": "ja"}), PDF, to=None, env={}
    )
    assert neither["Subject"].startswith("Invoice ")


def test_credit_note_has_credit_note_wording():
    mail = invoice_message(samples.credit_note(), PDF, to=None, locale="en", env={})

    assert mail["Subject"] == "Credit note CN-2026-0007 from Acme GmbH"
    text = _text(mail)
    assert "Amount credited" in text and "€238.00" in text
    assert "Amount due" not in text and "-" + "€" not in text
    (attachment,) = mail.iter_attachments()
    assert attachment.get_filename() == "CN-2026-0007.pdf"
    assert invoice_message(samples.credit_note(), PDF, to=None, locale="fr", env={})[
        "Subject"
    ].startswith("Avoir CN-2026-0007")


def test_invoice_mail_shows_payment_details_and_replies_to_seller():
    mail = invoice_message(samples.invoice(), PDF, to=None, env={"BILLOW_MAIL_FROM": "x@y.io"})
    text = _text(mail)
    assert "Payment reference: RF18539007547034" in text
    assert "DE89 3704 0044 0532 0130 00" in text
    assert "Hello Hank Scorpio," in text
    assert str(mail["From"]) == "x@y.io"
    assert str(mail["Reply-To"]) == "Acme GmbH <billing@acme.example>"


def test_reminder_tone_escalates_by_level():
    inv = samples.invoice(amount_due="400.00", total="1234.50", amount_paid="834.50")
    subjects = {
        level: reminder_message(inv, level, days, PDF, to=None, locale="en", env={})["Subject"]
        for level, days in [(1, 7), (2, 14), (3, 30), (4, 60)]
    }
    assert subjects[1] == "Reminder: invoice INV-2026-0042 from Acme GmbH"
    assert subjects[2] == "Second reminder: invoice INV-2026-0042 from Acme GmbH is overdue"
    assert subjects[3] == subjects[4] == "Final reminder: invoice INV-2026-0042 from Acme GmbH"

    final = reminder_message(inv, 3, 30, PDF, to=None, locale="en", env={})
    text = _text(final)
    assert "30 days after its due date" in text and "final reminder" in text
    assert "€400.00" in text  # what is still open, not the invoice total
    assert final["X-Billow-Reminder-Level"] == "3"
    assert final["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize(
    ("locale", "days", "phrase"),
    [("en", 1, "1 day "), ("en", 14, "14 days "), ("pl", 14, "o 14 dni"), ("de", 1, "1 Tag ")],
)
def test_reminder_days_are_pluralized(locale, days, phrase):
    mail = reminder_message(samples.invoice(), 2, days, None, to=None, locale=locale, env={})
    assert phrase in _text(mail)


@pytest.mark.parametrize("locale", ["en", "de", "fr", "es", "it", "nl", "sv", "pl"])
def test_reminder_levels_differ_in_every_language(locale):
    subjects = {
        reminder_message(samples.invoice(), level, 7 * level, None, to=None, locale=locale, env={})[
            "Subject"
        ]
        for level in (1, 2, 3)
    }
    assert len(subjects) == 3
    assert all("INV-2026-0042" in s for s in subjects)


def test_draft_cannot_be_mailed():
    with pytest.raises(ValidationFailed):
        invoice_message(samples.invoice(number=None, status="draft"), PDF, to=None, env={})


def test_sender_from_environment():
    assert str(sender_address({})) == "Billow <no-reply@localhost>"
    assert str(sender_address({"BILLOW_MAIL_FROM": "Acme Billing <bill@acme.example>"})) == (
        "Acme Billing <bill@acme.example>"
    )
    with pytest.raises(MailConfigurationError):
        sender_address({"BILLOW_MAIL_FROM": "nobody"})


def test_every_language_has_every_label_with_the_same_fields():
    from string import Formatter

    from functions.mail.labels import DAYS, LABELS, SUPPORTED_LANGUAGES

    def fields(template):
        return {name for _, name, _, _ in Formatter().parse(template) if name}

    assert set(LABELS) == set(DAYS) == set(SUPPORTED_LANGUAGES)
    for language, words in LABELS.items():
        assert words.keys() == LABELS["en"].keys(), language
        for key, template in words.items():
            assert fields(template) == fields(LABELS["en"][key]), (language, key)
            if language != "en" and "{" in template:
                assert template != LABELS["en"][key], (language, key)  # really translated
