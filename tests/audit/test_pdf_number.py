"""A long document number stays on one line in the PDF's details box (item 10): a reader, and
software reading the text, sees ``ORD42-2612-myboutique-0001``, not ``...-`` / ``0001``."""

from __future__ import annotations

import pytest

from functions.pdf.render import render_invoice_pdf
from tests.pdf.conftest import pages_text
from tests.pdf.samples import make_credit_note, make_invoice


@pytest.mark.parametrize(
    "number",
    [
        "ORD42-2612-myboutique-0001",
        "ORD42-261205-myboutique-lisbon-shop-0001",  # 40 characters, the longest allowed
    ],
)
@pytest.mark.parametrize("locale", ["en", "de", "fi"])
def test_a_long_number_is_printed_on_one_line(number: str, locale: str) -> None:
    invoice = make_invoice(3)
    invoice["number"] = number
    first = pages_text(render_invoice_pdf(invoice, locale=locale))[0]
    lines = [line.strip() for line in first.splitlines()]
    # the header and the details box, each whole on its line
    assert sum(number in line for line in lines) == 2, first


def test_a_long_original_number_on_a_credit_note_is_on_one_line() -> None:
    note = make_credit_note()
    note["number"] = "CN-261205-myboutique-lisbon-shop-0001"
    note["original_invoice_number"] = "ORD42-261205-myboutique-lisbon-shop-0001"
    first = pages_text(render_invoice_pdf(note, locale="de"))[0]
    lines = [line.strip() for line in first.splitlines()]
    assert any(note["original_invoice_number"] in line for line in lines), first
    assert sum(note["number"] in line for line in lines) == 2, first
