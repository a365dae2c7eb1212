"""``invoice.pdf`` of a draft (item 2): a preview with the live entity and client, their logo
and brand colour, marked DRAFT on every page, and not recorded as the document's PDF."""

from __future__ import annotations

import io
import urllib.parse

from pypdf import PdfReader

from tests.invoices.support import CLIENT, SELLER, act, draft
from tests.invoices.test_logos import data_url, image_sizes, png


def _blob(store, answer: dict) -> bytes:
    key = urllib.parse.unquote(urllib.parse.urlsplit(answer["url"]).path.removeprefix("/blobs/"))
    return store.get_blob(key).data


def test_a_draft_preview_shows_the_live_parties_branded_and_marked(ctx, store) -> None:
    entity = act(
        ctx, "entity.create", **SELLER, logo=data_url(png(300, 100)), brand_color="#336699"
    )
    client = act(ctx, "client.create", **CLIENT, contact_name="Erika Muster")
    invoice = draft(ctx, {"entity_id": entity["id"], "client_id": client["id"]})
    before = store.get("invoices", invoice["id"])
    events_before = act(ctx, "invoice.timeline", invoice_id=invoice["id"])["events"]

    answer = act(ctx, "invoice.pdf", invoice_id=invoice["id"])
    pdf = _blob(store, answer)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(p.extract_text() for p in reader.pages)
    for expected in (
        "Acme Software GmbH",  # the entity's legal name, "From"
        "Hauptstr. 1",
        "10115 Berlin",
        "DE136695976",
        "Kunde AG",  # the client, "Bill to"
        "Attn. Erika Muster",
        "Ring 5",
        "80331 München",
        "DE89 3704 0044 0532 0130 00",  # the entity's bank details
    ):
        assert expected in text, expected
    assert "DRAFT" in text
    # the logo replaces the name in the header, the bar is in the brand colour
    assert (300, 100) in image_sizes(pdf)
    content = reader.pages[0].get_contents().get_data()
    assert b".2 .4 .6 rg" in content
    # a watermark on every page says it is not a document
    for page in reader.pages:
        assert "DRAFT" in page.extract_text()
    assert answer["filename"].startswith("DRAFT-") or "draft" in answer["filename"].lower()

    # nothing recorded: no PDF on the draft, no version bump, no timeline event
    after = store.get("invoices", invoice["id"])
    assert after.version == before.version and after.data == before.data
    assert act(ctx, "invoice.timeline", invoice_id=invoice["id"])["events"] == events_before
    assert act(ctx, "invoice.get", invoice_id=invoice["id"])["pdf"] is None


def test_the_preview_follows_later_edits_of_entity_and_client(ctx, store) -> None:
    entity = act(ctx, "entity.create", **SELLER)
    client = act(ctx, "client.create", **CLIENT)
    invoice = draft(ctx, {"entity_id": entity["id"], "client_id": client["id"]})
    act(ctx, "client.update", client_id=client["id"], name="Kunde Neu AG")
    text = PdfReader(io.BytesIO(_blob(store, act(ctx, "invoice.pdf", invoice_id=invoice["id"]))))
    assert "Kunde Neu AG" in text.pages[0].extract_text()


def test_a_finalized_document_has_no_draft_mark(ctx, store) -> None:
    entity = act(ctx, "entity.create", **SELLER)
    client = act(ctx, "client.create", **CLIENT)
    invoice = draft(ctx, {"entity_id": entity["id"], "client_id": client["id"]})
    act(ctx, "invoice.pdf", invoice_id=invoice["id"])
    final = act(ctx, "invoice.finalize", invoice_id=invoice["id"])
    answer = act(ctx, "invoice.pdf", invoice_id=final["id"])
    assert answer["filename"] == f"{final['number']}.pdf"
    text = PdfReader(io.BytesIO(_blob(store, answer))).pages[0].extract_text()
    assert "DRAFT" not in text.upper()


def test_a_draft_has_no_payment_code(ctx, store) -> None:
    """A banking app must not pay a draft: its preview carries no EPC QR code."""
    entity = act(ctx, "entity.create", **SELLER)
    client = act(ctx, "client.create", **CLIENT)
    invoice = draft(ctx, {"entity_id": entity["id"], "client_id": client["id"]})
    pdf = _blob(store, act(ctx, "invoice.pdf", invoice_id=invoice["id"]))
    assert "Scan to pay" not in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    final = act(ctx, "invoice.finalize", invoice_id=invoice["id"])
    pdf = _blob(store, act(ctx, "invoice.pdf", invoice_id=final["id"]))
    assert "Scan to pay" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
