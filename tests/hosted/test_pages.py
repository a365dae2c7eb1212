"""The hosted invoice page rendered from real ``invoice.get`` representations: content in the
buyer's language, every status, escaping of hostile text, headers and CSP, the one 404."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from functions.hosted import labels, pages, view
from functions.pdf.labels import SUPPORTED
from tests.hosted.documents import HOSTILE


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text, of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)

    def all_text(self) -> str:
        return re.sub(r"[ \t\r\n]+", " ", " ".join(self.text)).strip()  # keeps NBSPs


def parse(html: str) -> Tags:
    t = Tags()
    t.feed(html)
    return t


def test_open_invoice_in_the_buyers_language(docs):
    inv = docs.finalized("de")
    page = pages.render_invoice_page(inv, pdf_url="/i/tok/pdf", einvoice_url="/i/tok/einvoice")
    assert page.status == 200
    html = page.body
    t = parse(html)
    text = t.all_text()
    assert '<html lang="de">' in html
    assert "Rechnung INV-2026-0001 von Acme GmbH" in text
    assert "Offener Betrag" in text and "1.243,54\xa0€" in text  # babel, German
    assert "Fällig am" in text  # the due date line
    assert "DE89 3704 0044 0532 0130 00" in text and "COBADEFFXXX" in text
    assert "Verwendungszweck INV-2026-0001" in text
    assert "Kunde AG" in text and "München" in text and "Deutschland" in text
    assert "Beratung\nzweite Zeile" in html  # line breaks kept (CSS pre-line)
    assert "44,99" in text and "10\xa0%" in text  # discounted line
    assert "198,55" in text  # VAT as the domain computed it
    hrefs = [a.get("href") for tag, a in t.tags if tag == "a"]
    assert hrefs == ["/i/tok/pdf", "/i/tok/einvoice"]
    svg = [a for tag, a in t.tags if tag == "svg"]
    assert svg and svg[0]["role"] == "img"  # the EPC QR code, with an accessible name
    assert "Zahlungs-QR-Code (EPC): 1.243,54\xa0€ an DE89" in text
    # accessible structure: one h1, table headers with scope, a caption
    assert [tag for tag, _ in t.tags].count("h1") == 1
    assert all(a.get("scope") in ("col", "row") for tag, a in t.tags if tag == "th")
    assert "caption" in [tag for tag, _ in t.tags]


def test_every_language_speaks_its_own_words(docs):
    for lang in SUPPORTED:
        inv = docs.finalized(lang)
        html = pages.render_invoice_page(inv).body
        lab = labels.labels_for(lang)
        assert f'<html lang="{lang}">' in html
        assert lab["status_open"] in html and lab["amount_due"] in html
        for key in labels.HOSTED["en"]:
            assert key in labels.HOSTED[lang], f"{lang} lacks {key}"


@pytest.mark.parametrize("lang", ["de", "en", "fr"])
def test_paid_invoice_has_no_payment_request(docs, lang):
    inv = docs.finalized(lang)
    paid = docs.pay(inv, inv["amount_due"])
    assert paid["status"] == "paid"
    page = pages.render_invoice_page(paid)
    lab = labels.labels_for(lang)
    text = parse(page.body).all_text()
    assert lab["status_paid"] in text and lab["paid_note"] in text
    assert lab["payments"] in text and "bank transfer" in text
    assert "<svg" not in page.body and lab["payment_details"] not in text
    assert 'class="sheet hero tone-ok"' in page.body


def test_part_paid_invoice_asks_for_the_rest(docs):
    inv = docs.finalized("en")
    part = docs.pay(inv, "243.54")
    text = parse(pages.render_invoice_page(part).body).all_text()
    assert "Amount due €1,000.00" in text and "Paid €243.54" in text
    assert "Payment QR code (EPC): €1,000.00" in text


def test_void_invoice(docs):
    voided = docs.void(docs.finalized("en"))
    assert voided["status"] == "void"
    page = pages.render_invoice_page(voided)
    text = parse(page.body).all_text()
    assert "Void" in text and "This invoice has been cancelled. Nothing is to be paid." in text
    assert "<svg" not in page.body and "Payment details" not in text


def test_overdue_invoice_is_marked(docs):
    inv = {**docs.finalized("en"), "status": "overdue"}
    page = pages.render_invoice_page(inv)
    assert "tone-alert" in page.body
    assert "Overdue" in page.body and "Was due on" in page.body


def test_credited_invoice_links_its_credit_notes_and_back(docs):
    original, note = docs.credit(docs.finalized("en"))
    assert original["status"] == "credited"
    page = pages.render_invoice_page(
        original, credit_notes=[(note["number"], "https://app.example/i/CNTOKEN")]
    )
    t = parse(page.body)
    text = t.all_text()
    assert "Credited" in text and "credited in full. Nothing is to be paid." in text
    assert ("a", {"href": "https://app.example/i/CNTOKEN"}) in t.tags
    assert f"Credit notes {note['number']}" in text
    assert "<svg" not in page.body
    back = pages.render_invoice_page(note, original_url="https://app.example/i/INVTOKEN")
    t = parse(back.body)
    text = t.all_text()
    assert f"Credit note {note['number']} from Acme GmbH" in text
    assert f"This credit note corrects invoice {original['number']}" in text
    assert ("a", {"href": "https://app.example/i/INVTOKEN"}) in t.tags
    assert "Total -€1,243.54" in text  # credit notes carry negative amounts


def test_hostile_text_is_escaped_everywhere(docs):
    inv = docs.finalized(
        "en",
        name=HOSTILE,
        lines=[{"description": '<img src=x onerror="alert(1)"></style>', "unit_price": "10"}],
    )
    inv["seller"]["name"] = '"><script>alert(2)</script>'
    inv["seller"]["logo"] = "data:image/png;base64,iVBORw0KGgo="
    inv["seller"]["footer_text"] = "</footer><script>alert(3)</script>"
    page = pages.render_invoice_page(
        inv, pdf_url="javascript:alert(4)", einvoice_url="//evil.example/x"
    )
    html = page.body
    assert "<script" not in html.lower()
    assert "<img src=x" not in html and "</style><" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co &#34;quoted&#34;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&lt;/style&gt;" in html
    t = parse(html)
    img = [a for tag, a in t.tags if tag == "img"]
    assert img == [
        {"src": "data:image/png;base64,iVBORw0KGgo=", "alt": '"><script>alert(2)</script>'}
    ]
    assert not [a for tag, a in t.tags if tag == "a"]  # unsafe download links are dropped
    assert t.style.count("{") == t.style.count("}")  # nothing broke out of the style sheet


def test_headers_and_a_csp_that_allows_exactly_the_pages_style(docs):
    page = pages.render_invoice_page(docs.finalized("en"))
    h = page.headers
    assert h["Content-Type"] == "text/html; charset=utf-8"
    assert h["X-Robots-Tag"] == "noindex, nofollow"
    assert h["Referrer-Policy"] == "no-referrer"
    assert h["Cache-Control"] == "no-store"
    csp = h["Content-Security-Policy"]
    assert csp.startswith("default-src 'none';") and "script" not in csp
    style = parse(page.body).style
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    assert "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp


def test_brand_colour_is_validated_and_made_readable():
    assert view.brand_color("red;}body{display:none") == view.DEFAULT_BRAND
    assert view.brand_color(None) == view.DEFAULT_BRAND
    yellow = view.brand_color("#FFFF00")
    rgb = [int(yellow[i : i + 2], 16) for i in (1, 3, 5)]
    assert view.contrast_with_white(rgb) >= 4.5
    assert view.brand_color("#0F766E") == "#0f766e"  # already readable: kept
    css = pages.stylesheet(view.brand_color("#0F766E"))
    assert "--brand: #0f766e;" in css


def test_one_not_found_page_for_every_missing_document():
    first = pages.render_not_found()
    again = pages.render_not_found()
    assert first.status == 404 and first == again
    assert "Page not found" in first.body and first.headers["X-Robots-Tag"] == "noindex, nofollow"
    german = pages.render_not_found("de-CH,de;q=0.9,en;q=0.5")
    assert '<html lang="de">' in german.body and "Seite nicht gefunden" in german.body
    assert pages.render_not_found("ja-JP") == first
    assert pages.render_not_found("*;q=0.1") == first
    limited = pages.render_rate_limited(120)
    assert limited.status == 429 and limited.headers["Retry-After"] == "120"


def test_safe_links_only():
    assert view.safe_link("https://x.example/a") == "https://x.example/a"
    assert view.safe_link("/i/abc/pdf") == "/i/abc/pdf"
    for bad in (
        "javascript:alert(1)",
        "JAVASCRIPT:x",
        "data:text/html,x",
        "//evil.example",
        "vbscript:x",
        " https://x",
        None,
        7,
    ):
        assert view.safe_link(bad) is None


def test_amounts_are_printed_as_given_never_recomputed(docs):
    inv = docs.finalized("en")
    inv["total"] = "1243.545"  # a value the domain would never give: printed as is
    text = parse(pages.render_invoice_page(inv).body).all_text()
    assert "€1,243.545" in text


def test_non_euro_invoice_has_no_qr_code(docs):
    inv = docs.finalized("en")
    inv["currency"] = "SEK"
    page = pages.render_invoice_page(inv)
    assert "<svg" not in page.body and "Payment details" in page.body
    assert re.search(r"SEK\s?1,243\.54|1,243\.54\s?SEK", parse(page.body).all_text())
