"""What a customer or accountant reads in the rendered PDF (text extracted with pypdf)."""

from __future__ import annotations

import base64
import copy
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from functions.pdf import formatting as fmt
from functions.pdf.render import render_invoice_pdf
from tests.pdf.conftest import norm
from tests.pdf.samples import make_credit_note, make_invoice

FIXTURES = Path(__file__).parent / "fixtures"


def test_invoice_shows_every_detail_the_law_and_the_customer_need(extract):
    invoice = make_invoice(5)
    pdf = render_invoice_pdf(invoice)
    assert pdf.startswith(b"%PDF-")
    pages, text = extract(pdf)
    assert len(pages) == 1

    assert "INVOICE" in text
    assert "INV-2026-0042" in text
    # both parties, with addresses and VAT numbers
    for expected in (
        "Nordlicht Studio GmbH",
        "Torstraße 118",
        "10119 Berlin",
        "DE811907980",
        "Atelier Belleville SARL",
        "Attn. Camille Martin",
        "42 rue de Belleville",
        "75020 Paris",
        "France",
        "FR40303265045",
    ):
        assert expected in text, expected
    # dates and PO number
    for expected in ("Nov 21, 2026", "Nov 14, 2026", "Dec 21, 2026", "PO-88231"):
        assert expected in text, expected
    # every line, whole, with its figures
    for line in invoice["lines"]:
        assert norm(line["description"]) in text, line["description"]
        assert fmt.amount(line["net_amount"], "EUR", "en") in text
    assert "2 pc 2,450.00 10% 0% 4,410.00" in text
    # VAT breakdown, totals, the mention
    assert "0% (AE) 7,996.00 0.00" in text
    assert "Subtotal €7,996.00" in text
    assert "VAT €0.00" in text
    assert "Total €7,996.00" in text
    assert "Amount due €7,996.00" in text
    assert "Reverse charge" in text
    # payment details
    assert "DE89 3704 0044 0532 0130 00" in text
    assert "COBADEFFXXX" in text
    assert "RF18539007547034" in text
    assert "Scan to pay" in text
    # notes, terms, footer
    assert "Thank you for choosing Nordlicht Studio." in text
    assert "Payment within 30 days of the issue date without deduction." in text
    assert "Page 1 of 1" in text


def test_totals_are_printed_as_given_not_recomputed(extract):
    """The renderer prints the domain's figures; a (deliberately odd) total is not 'fixed'."""
    invoice = make_invoice(2, reverse_charge=False)
    invoice["total"] = "12345.67"
    invoice["amount_due"] = "0.01"
    invoice["amount_paid"] = "12345.66"
    _pages, text = extract(render_invoice_pdf(invoice))
    assert "Total €12,345.67" in text
    assert "Paid €12,345.66" in text
    assert "Amount due €0.01" in text


def test_150_line_invoice_pages_and_every_line(extract):
    invoice = make_invoice(150, reverse_charge=False)
    pdf = render_invoice_pdf(invoice)
    reader = PdfReader(io.BytesIO(pdf))
    pages, text = extract(pdf)
    count = len(reader.pages)
    assert 5 <= count <= 12
    for number, page in enumerate(pages, start=1):
        page_text = norm(page)
        assert f"Page {number} of {count}" in page_text
        if number < count:  # the table header is repeated on every page the table runs on
            assert "DESCRIPTION QTY UNIT UNIT PRICE DISC. VAT NET" in page_text
    for line in invoice["lines"]:
        # each line printed once ("item 1" is a prefix of "item 10": match the whole text)
        assert text.count(norm(line["description"]) + " ") == 1, line["description"]
    for row in invoice["tax_breakdown"]:
        assert fmt.amount(row["taxable_amount"], "EUR", "en") in text
        assert fmt.amount(row["tax_amount"], "EUR", "en") in text
    assert f"Total {fmt.money(invoice['total'], 'EUR', 'en')}" in text
    # the summary comes after the last line
    assert text.index("item 150") < text.index("Subtotal")


def test_credit_note_names_the_original_invoice(extract):
    note = make_credit_note()
    pages, text = extract(render_invoice_pdf(note))
    assert len(pages) == 1
    assert "CREDIT NOTE" in text
    assert "CN-2026-0007" in text
    assert "Original invoice INV-2026-0042" in text
    assert "Credit note for invoice INV-2026-0042" in text
    assert "Total -€5,610.00" in text
    assert "Reverse charge" in text
    # nothing to pay on a credit note: no payment slip, no QR code, no due date
    assert "Scan to pay" not in text
    assert "Amount due" not in text
    assert "Due date" not in text
    # without the number, the id of the original still identifies it
    del note["original_invoice_number"]
    _pages, text = extract(render_invoice_pdf(note))
    assert "Credit note for invoice inv_01JD3Q4W6X8Y9Z0A1B2C3D4E5F" in text


def test_names_in_greek_cyrillic_polish_and_czech_extract_equal_to_input(extract):
    names = [
        "Αθηναϊκή Εταιρεία Λογισμικού Α.Ε.",
        "Българска търговска компания ЕООД",
        "Zakład Usług Żółć Gęślą Jaźń sp. z o.o.",
        "Příliš žluťoučký kůň úpěl ďábelské ódy s.r.o.",
    ]
    for name in names:
        invoice = make_invoice(2)
        invoice["buyer"]["name"] = name
        invoice["lines"][0]["description"] = f"Usługa — {name}"
        invoice["seller"]["name"] = name
        pages, text = extract(render_invoice_pdf(invoice))
        # a name may wrap inside its column: compare with line breaks read as spaces
        assert text.count(name) >= 3, (name, text[:300])  # header, seller block, buyer block
        assert f"Usługa — {name}" in text
        # and the extracted characters are exactly the input's (no look-alikes, no gaps)
        short = name.split()[0]
        assert short in [w.strip(",") for w in pages[0].split()]


def test_user_text_cannot_inject_markup(extract):
    invoice = make_invoice(2)
    invoice["buyer"]["name"] = "<b>Bold</b> & <font color='red'>Co</font>"
    invoice["lines"][0]["description"] = "<para>Not a paragraph</para> &amp; <br/>x"
    invoice["notes"] = "<i>slanted?</i>"
    _pages, text = extract(render_invoice_pdf(invoice))
    assert "<b>Bold</b> & <font color='red'>Co</font>" in text
    assert "<para>Not a paragraph</para> &amp; <br/>x" in text
    assert "<i>slanted?</i>" in text


@pytest.mark.parametrize(
    ("locale", "words", "total"),
    [
        ("en", ["INVOICE", "Amount due", "Reverse charge"], "€7,996.00"),
        ("de", ["RECHNUNG", "Offener Betrag", "Steuerschuldnerschaft"], "7.996,00 €"),
        ("fr", ["FACTURE", "Net à payer", "Autoliquidation"], "7 996,00 €"),
        ("es", ["FACTURA", "Importe pendiente", "Inversión del sujeto pasivo"], "7.996,00 €"),
        ("it", ["FATTURA", "Da pagare", "Inversione contabile"], "7.996,00 €"),
        ("nl", ["FACTUUR", "Te betalen", "Btw verlegd"], "€ 7.996,00"),
        ("sv", ["FAKTURA", "Att betala", "Omvänd betalningsskyldighet"], "7 996,00 €"),
        ("pl", ["FAKTURA", "Do zapłaty", "Odwrotne obciążenie"], "7 996,00 €"),
    ],
)
def test_languages(extract, locale, words, total):
    invoice = make_invoice(5)
    _pages, text = extract(render_invoice_pdf(invoice, locale=locale))
    for word in words:
        assert word in text, (locale, word)
    assert total in text
    assert fmt.date("2026-12-21", locale) in norm(text)


def test_language_comes_from_client_then_entity():
    from functions.pdf.formatting import choose_locale

    assert choose_locale(None, "de", "fr") == "de"
    assert choose_locale(None, None, "fr") == "fr"
    assert choose_locale(None, "pt", "sv") == "sv"  # no labels for pt: next candidate
    assert choose_locale(None, None, None) == "en"
    assert choose_locale("pl", "de", "fr") == "pl"


def test_buyer_locale_is_used_by_default(extract):
    invoice = make_invoice(2)
    invoice["buyer"]["locale"] = "fr"
    _pages, text = extract(render_invoice_pdf(invoice))
    assert "FACTURE" in text


def test_letter_size_and_deterministic_bytes():
    invoice = make_invoice(3)
    invoice["seller"]["page_size"] = "Letter"
    pdf = render_invoice_pdf(invoice)
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    assert render_invoice_pdf(invoice) == pdf  # same input, same bytes (stable SHA-256)
    meta = PdfReader(io.BytesIO(pdf)).metadata
    assert meta.title == "Invoice INV-2026-0042"
    assert meta.author == "Nordlicht Studio GmbH"
    # dated by the document (finalized_at), neither by the clock nor reportlab's 2000-01-01
    assert meta.creation_date.isoformat().startswith("2026-11-21T09:05:00")
    a4 = PdfReader(io.BytesIO(render_invoice_pdf(make_invoice(3)))).pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)


def test_fonts_are_embedded_subsets():
    reader = PdfReader(io.BytesIO(render_invoice_pdf(make_invoice(2))))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = {str(fonts[k].get_object()["/BaseFont"]) for k in fonts}
    assert names, "no fonts"
    for name in names:
        # a subset tag "ABCDEF+" and an embedded font program, never a reader's fallback
        assert "+" in name and ("Roboto" in name or "AAA" in name[:7]), name
    for k in fonts:
        font = fonts[k].get_object()
        descendant = (
            font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        )
        descriptor = descendant["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor


def _png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", (width, height), (*color, 255)).save(buf, format="PNG")
    return buf.getvalue()


def test_logo_replaces_the_company_name_in_the_header(extract):
    invoice = make_invoice(2)
    plain = render_invoice_pdf(invoice)
    logo = _png(300, 100, (200, 30, 30))
    with_logo = render_invoice_pdf(invoice, logo=logo)
    page = PdfReader(io.BytesIO(with_logo)).pages[0]
    images = [x.get_object() for x in page["/Resources"]["/XObject"].values()]
    assert any(int(img["/Width"]) == 300 and int(img["/Height"]) == 100 for img in images)
    assert "/XObject" not in PdfReader(io.BytesIO(plain)).pages[0]["/Resources"]
    # the seller's logo as a data URL (what the entity stores) works the same way
    invoice["seller"]["logo"] = "data:image/png;base64," + base64.b64encode(logo).decode()
    from_url = render_invoice_pdf(invoice)
    assert "/XObject" in PdfReader(io.BytesIO(from_url)).pages[0]["/Resources"]
    # a broken logo falls back to the name instead of failing the invoice
    invoice["seller"]["logo"] = "data:image/png;base64,bm90IGFuIGltYWdl"
    _pages, text = extract(render_invoice_pdf(invoice))
    assert text.startswith("Nordlicht Studio INVOICE")


def test_qr_code_only_for_euro_amounts_due(extract):
    invoice = make_invoice(2)
    _pages, text = extract(render_invoice_pdf(invoice))
    assert "Scan to pay" in text
    usd = copy.deepcopy(invoice)
    usd["currency"] = "USD"
    _pages, text = extract(render_invoice_pdf(usd))
    assert "Scan to pay" not in text
    assert "$" in text
    paid = copy.deepcopy(invoice)
    paid["amount_paid"], paid["amount_due"] = paid["total"], "0.00"
    _pages, text = extract(render_invoice_pdf(paid))
    assert "Scan to pay" not in text
    assert "Amount due €0.00" in text


def test_a_row_taller_than_a_page_is_split_not_lost(extract):
    invoice = make_invoice(2)
    words = [f"word{i}" for i in range(1200)]
    invoice["lines"][0]["description"] = " ".join(words)
    invoice["seller"]["page_size"] = "Letter"
    pages, text = extract(render_invoice_pdf(invoice))
    assert len(pages) >= 2
    assert all(w in text.split() for w in words)


def test_long_unbroken_text_is_wrapped_inside_its_column(extract):
    invoice = make_invoice(2)
    invoice["lines"][0]["description"] = "X" * 400
    invoice["buyer"]["name"] = "Y" * 200
    _pages, text = extract(render_invoice_pdf(invoice))
    assert text.replace(" ", "").count("X" * 400) == 1
    assert text.replace(" ", "").count("Y" * 200) == 1


def test_minimal_draft_renders_as_a_draft(extract):
    """A draft with almost nothing filled in still renders (preview before finalize)."""
    pdf = render_invoice_pdf({"kind": "invoice", "status": "draft", "lines": [], "currency": "JPY"})
    _pages, text = extract(pdf)
    assert "INVOICEDRAFT" in text.replace(" ", "")
    assert "Total ¥0" in text


def test_fixtures_match_the_sample_builder():
    """tests/pdf/fixtures/*.json are what `billow pdf render` users can try; keep them fresh."""
    with open(FIXTURES / "invoice.json", encoding="utf-8") as fh:
        data = json.load(fh, parse_float=Decimal)
    assert data == json.loads(json.dumps(make_invoice(5)))
