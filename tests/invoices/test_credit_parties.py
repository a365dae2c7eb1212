"""A credit note corrects the supply between the credited invoice's parties: it carries that
invoice's frozen seller and buyer, not the entity's and client's details of today."""

from __future__ import annotations

import io

from pypdf import PdfReader

from .support import act, draft, pdf_key, seed
from .test_logos import data_url, pdf_image_sizes, png


def test_credit_note_keeps_the_original_parties(ctx, store):
    ids = seed(ctx)
    entity = act(ctx, "entity.update", entity_id=ids["entity_id"], logo=data_url(png(90, 30)))
    invoice = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    assert invoice["buyer"]["address"]["city"] == "München"

    # afterwards the client moves, the seller renames and moves, changes logo and series
    act(
        ctx,
        "client.update",
        client_id=ids["client_id"],
        name="Kunde Holding AG",
        address={"line1": "Neuer Weg 9", "postal_code": "20095", "city": "Hamburg"},
    )
    act(
        ctx,
        "entity.update",
        entity_id=entity["id"],
        legal_name="Acme Renamed GmbH",
        address={"line1": "Am Markt 2", "postal_code": "50667", "city": "Köln"},
        logo=data_url(png(40, 40)),
        credit_note_number_pattern="GS-{YYYY}-{SEQ:3}",
    )

    note = act(ctx, "invoice.credit", invoice_id=invoice["id"], reason="wrong delivery")
    assert note["kind"] == "credit_note"
    assert note["buyer"]["name"] == "Kunde AG"
    assert note["buyer"]["address"] == invoice["buyer"]["address"]
    assert note["client_name"] == "Kunde AG"
    assert note["seller"]["legal_name"] == invoice["seller"]["legal_name"] == "Acme Software GmbH"
    assert note["seller"]["address"] == invoice["seller"]["address"]
    assert note["seller"]["logo_blob"] == invoice["seller"]["logo_blob"]
    # numbered in the entity's current credit-note series all the same
    assert note["number"] == "GS-2026-001"

    text = "".join(
        p.extract_text()
        for p in PdfReader(io.BytesIO(store.get_blob(pdf_key(store, note)).data)).pages
    )
    assert "Ring 5" in text and "München" in text and "Hamburg" not in text
    assert "Hauptstr. 1" in text and "Köln" not in text
    assert (90, 30) in pdf_image_sizes(store, note)

    # a new invoice, by contrast, freezes today's details
    fresh = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    assert fresh["buyer"]["address"]["city"] == "Hamburg"
    assert fresh["seller"]["legal_name"] == "Acme Renamed GmbH"
