"""The quote PDF: titled "Quote" in the buyer's language (all eight), its number and
``valid_until`` printed, and nothing that asks for payment (no amount due, no bank details,
no EPC QR code)."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from functions.pdf.labels import QUOTE_LABELS
from functions.services.quotes import render_quote
from tests.invoices.support import CLIENT, act

TITLES = {
    "en": "Quote",
    "de": "Angebot",
    "fr": "Devis",
    "es": "Presupuesto",
    "it": "Preventivo",
    "nl": "Offerte",
    "sv": "Offert",
    "pl": "Oferta",
}


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_quote_pdf_in_every_language_without_payment_details(ctx, store):
    entity = act(
        ctx,
        "entity.create",
        **{
            "name": "Acme GmbH",
            "address": {
                "line1": "Hauptstr. 1",
                "postal_code": "10115",
                "city": "Berlin",
                "country": "DE",
            },
            "vat_number": "DE136695976",
            "bank": {"account_holder": "Acme GmbH", "iban": "DE89370400440532013000"},
            "default_vat_rate": "19",
        },
    )
    assert set(QUOTE_LABELS) == set(TITLES)
    for language, title in TITLES.items():
        client = act(ctx, "client.create", **{**CLIENT, "locale": language})
        quote = act(
            ctx,
            "quote.create",
            entity_id=entity["id"],
            client_id=client["id"],
            valid_until="2026-12-24",
            lines=[{"description": "Workshop", "quantity": "2", "unit_price": "800"}],
        )
        quote = act(ctx, "quote.finalize", quote_id=quote["id"])
        pdf, filename = render_quote(ctx, quote)
        text = _text(pdf)
        assert filename == f"{quote['number']}.pdf"
        head = text.split(quote["number"])[0]
        assert title.upper() in head.upper(), (language, text[:200])
        assert QUOTE_LABELS[language]["valid_until"] in text, language
        assert quote["number"] in text
        assert "190400" in re.sub(r"\D", "", text)  # the total, however it is grouped
        assert "DE89" not in text.replace(" ", ""), language  # no IBAN: nothing to pay yet
        assert language != "de" or "Rechnung" not in text  # "Angebot für", not "Rechnung an"
        # the stored PDF is the same document
        assert act(ctx, "quote.get", quote_id=quote["id"])["pdf"]["filename"] == filename
