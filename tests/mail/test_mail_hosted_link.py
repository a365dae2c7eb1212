"""Invoice and reminder mails link to the document's hosted page (``hosted_invoice_url``),
in the reader's language, in both the text and the HTML part; anything but a plain http(s)
URL is left out rather than linked."""

from __future__ import annotations

import pytest

from functions.mail import invoice_message, reminder_message
from tests.mail import samples

URL = "https://billow.example/i/" + "A" * 43
PDF = b"%PDF-1.4 test"


def parts(mail) -> tuple[str, str]:
    return (
        mail.get_body(("plain",)).get_content(),
        mail.get_body(("html",)).get_content(),
    )


@pytest.mark.parametrize(
    ("build", "label"),
    [
        (lambda inv: invoice_message(inv, PDF, None, env={}), "View invoice online"),
        (lambda inv: reminder_message(inv, 2, 10, PDF, None, env={}), "View invoice online"),
        (
            lambda inv: invoice_message(inv, PDF, None, locale="de", env={}),
            "Rechnung online ansehen",
        ),
    ],
)
def test_the_mail_links_to_the_page(build, label):
    text, html = parts(build(samples.invoice(hosted_invoice_url=URL)))
    assert f"{label}:\n{URL}" in text
    assert f'href="{URL}"' in html and label in html


def test_a_credit_note_mail_says_credit_note():
    text, _ = parts(invoice_message(samples.credit_note(hosted_invoice_url=URL), PDF, None, env={}))
    assert f"View credit note online:\n{URL}" in text


@pytest.mark.parametrize("bad", [None, "javascript:alert(1)", "https://x.example/i/a\nBcc: y"])
def test_no_link_without_a_plain_url(bad):
    text, html = parts(invoice_message(samples.invoice(hosted_invoice_url=bad), PDF, None, env={}))
    assert "online" not in text and "javascript" not in html
