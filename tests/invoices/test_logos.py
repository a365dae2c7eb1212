"""Entity logos live in blobs, not in records: round trip, frozen seller, PDF, re-render."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import zlib

import pytest
from pypdf import PdfReader

from functions.domain.errors import ValidationFailed
from functions.pdf.store import render_and_store, seller_logo

from .support import ACCOUNT, CLIENT, SELLER, act, draft, pdf_key


def png(width: int, height: int, rgb: bytes = b"\x2f\x5b\xea", filler: bytes = b"") -> bytes:
    """A valid solid-colour PNG; ``filler`` grows the file with an ancillary chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    raw = b"".join(b"\x00" + rgb * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    extra = chunk(b"tEXt", b"pad\x00" + filler) if filler else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + extra
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def data_url(image: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64,{base64.b64encode(image).decode()}"


def pdf_image_sizes(store, invoice: dict) -> list[tuple[int, int]]:
    """(width, height) of the images on the first page of the invoice's stored PDF."""
    blob = store.get_blob(pdf_key(store, invoice))
    return image_sizes(blob.data)


def image_sizes(pdf: bytes) -> list[tuple[int, int]]:
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    xobjects = page["/Resources"].get("/XObject") or {}
    images = [x.get_object() for x in xobjects.values()]
    return [(int(i["/Width"]), int(i["/Height"])) for i in images if i["/Subtype"] == "/Image"]


def finalized(ctx, entity_id: str, client_id: str) -> dict:
    inv = draft(ctx, {"entity_id": entity_id, "client_id": client_id})
    return act(ctx, "invoice.finalize", invoice_id=inv["id"])


def test_logo_round_trip_blob_frozen_seller_and_pdf(ctx, store):
    first, second = png(300, 100), png(120, 40, b"\xc8\x1e\x1e")
    first_sha = hashlib.sha256(first).hexdigest()

    entity = act(ctx, "entity.create", **SELLER, logo=data_url(first))
    client = act(ctx, "client.create", **CLIENT)
    assert entity["logo"] == data_url(first)
    assert "logo_blob" not in entity  # the reference is bookkeeping, not the contract

    # the record keeps a reference only; the image is a content-addressed blob
    rec = store.get("entities", entity["id"])
    assert "logo" not in rec.data
    assert rec.data["logo_blob"] == {
        "key": f"logos/{ACCOUNT}/{first_sha}.png",
        "sha256": first_sha,
        "content_type": "image/png",
    }
    blob = store.get_blob(rec.data["logo_blob"]["key"])
    assert (blob.data, blob.content_type) == (first, "image/png")

    assert act(ctx, "entity.get", entity_id=entity["id"])["logo"] == data_url(first)
    assert act(ctx, "entity.list")["items"][0]["logo"] == data_url(first)

    # finalize: the frozen seller names the logo blob, the PDF shows the image
    old = finalized(ctx, entity["id"], client["id"])
    assert old["seller"]["logo_blob"]["sha256"] == first_sha
    assert not old["seller"].get("logo")
    stored = json.dumps(store.get("invoices", old["id"]).data)
    assert base64.b64encode(first).decode()[:40] not in stored
    assert (300, 100) in pdf_image_sizes(store, old)

    # an update without ``logo`` keeps it; a new logo replaces it (a new blob)
    act(ctx, "entity.update", entity_id=entity["id"], name="Acme Software")
    assert act(ctx, "entity.get", entity_id=entity["id"])["logo"] == data_url(first)
    updated = act(ctx, "entity.update", entity_id=entity["id"], logo=data_url(second))
    assert updated["logo"] == data_url(second)
    assert act(ctx, "entity.get", entity_id=entity["id"])["logo"] == data_url(second)
    new = finalized(ctx, entity["id"], client["id"])
    assert (120, 40) in pdf_image_sizes(store, new)

    # the old invoice still names the logo it was issued with, and a re-render uses it
    old_now = act(ctx, "invoice.get", invoice_id=old["id"])
    assert old_now["seller"]["logo_blob"]["sha256"] == first_sha
    assert seller_logo(store, old_now) == first
    again = render_and_store(store, old_now, account_id=ACCOUNT)
    assert image_sizes(store.get_blob(again["blob_key"]).data) == [(300, 100)]

    # ``logo: null`` removes it
    removed = act(ctx, "entity.update", entity_id=entity["id"], logo=None)
    assert removed["logo"] is None
    assert "logo_blob" not in store.get("entities", entity["id"]).data
    assert act(ctx, "entity.get", entity_id=entity["id"])["logo"] is None
    plain = finalized(ctx, entity["id"], client["id"])
    assert "logo_blob" not in plain["seller"]
    assert pdf_image_sizes(store, plain) == []


def _logo_error(ctx, **params) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "entity.create", **{**SELLER, **params})
    return {d.field: d.message for d in err.value.details}


def test_logo_over_512_kib_is_rejected(ctx, store):
    big = png(8, 8, filler=b"x" * (513 * 1024))
    assert len(big) > 512 * 1024
    assert "512 KiB" in _logo_error(ctx, logo=data_url(big))["logo"]
    # exactly at the limit is fine
    base = png(8, 8, filler=b"")
    fits = png(8, 8, filler=b"x" * (512 * 1024 - len(base) - 16))
    assert len(fits) == 512 * 1024
    assert act(ctx, "entity.create", **SELLER, logo=data_url(fits))["logo"] == data_url(fits)


@pytest.mark.parametrize(
    "logo",
    [
        data_url(b"hello, not an image"),
        data_url(b"GIF89a" + b"\x00" * 32),
        data_url(b"\xff\xd8\xff\xe0 jpeg bytes", "png"),  # a JPEG labelled PNG
        "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "https://example.com/logo.png",
    ],
)
def test_logo_that_is_not_a_png_or_jpeg_is_rejected(ctx, store, logo):
    errors = _logo_error(ctx, logo=logo, vat_number="DE123")
    assert "logo" in errors and "vat_number" in errors  # every problem in one answer
    assert act(ctx, "entity.list")["total"] == 0


def test_update_with_a_bad_logo_keeps_the_old_one(ctx, store):
    entity = act(ctx, "entity.create", **SELLER, logo=data_url(png(10, 10)))
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "entity.update", entity_id=entity["id"], logo=data_url(b"not an image"))
    assert [d.field for d in err.value.details] == ["logo"]
    assert act(ctx, "entity.get", entity_id=entity["id"])["logo"] == data_url(png(10, 10))


def test_entity_stored_with_an_inline_logo_is_moved_to_a_blob(ctx, store):
    """Records written before logos were blobs hold the data URL itself: finalize freezes a
    reference (never the data) and the next update moves the logo out of the record."""
    image = png(200, 50)
    entity = act(ctx, "entity.create", **SELLER)
    client = act(ctx, "client.create", **CLIENT)
    rec = store.get("entities", entity["id"])
    store.put(
        "entities",
        rec.key,
        {**rec.data, "logo": data_url(image)},
        account_id=rec.account_id,
        expected_version=rec.version,
    )
    assert act(ctx, "entity.get", entity_id=entity["id"])["logo"] == data_url(image)

    inv = finalized(ctx, entity["id"], client["id"])
    assert inv["seller"]["logo_blob"]["sha256"] == hashlib.sha256(image).hexdigest()
    assert not inv["seller"].get("logo")
    assert (200, 50) in pdf_image_sizes(store, inv)

    act(ctx, "entity.update", entity_id=entity["id"], name="Acme AG")
    data = store.get("entities", entity["id"]).data
    assert (
        "logo" not in data and data["logo_blob"]["sha256"] == inv["seller"]["logo_blob"]["sha256"]
    )
    assert act(ctx, "entity.get", entity_id=entity["id"])["logo"] == data_url(image)


def test_pdf_reads_only_logo_blobs(store):
    """The renderer follows ``seller.logo_blob`` only into ``logos/``, and checks the hash."""
    image = png(30, 30)
    store.put_blob("pdf/secret.png", image, "image/png")
    store.put_blob("logos/a/x.png", image, "image/png")
    sha = hashlib.sha256(image).hexdigest()
    assert seller_logo(store, {"seller": {"logo_blob": {"key": "pdf/secret.png"}}}) is None
    assert seller_logo(store, {"seller": {"logo_blob": {"key": "logos/a/x.png"}}}) == image
    ok = {"key": "logos/a/x.png", "sha256": sha}
    assert seller_logo(store, {"seller": {"logo_blob": ok}}) == image
    bad = {"key": "logos/a/x.png", "sha256": "0" * 64}
    assert seller_logo(store, {"seller": {"logo_blob": bad}}) is None
    assert seller_logo(store, {"seller": {"logo_blob": {"key": "logos/a/missing.png"}}}) is None


def test_frozen_logo_reference_survives_later_writes(ctx, store):
    ids = {
        "entity_id": act(ctx, "entity.create", **SELLER, logo=data_url(png(60, 20)))["id"],
        "client_id": act(ctx, "client.create", **CLIENT)["id"],
    }
    invoice = finalized(ctx, ids["entity_id"], ids["client_id"])
    act(ctx, "invoice.record_payment", invoice_id=invoice["id"], amount="10.00")
    after = act(ctx, "invoice.get", invoice_id=invoice["id"])
    assert after["seller"].get("logo_blob") == invoice["seller"]["logo_blob"]
    note = act(ctx, "invoice.credit", invoice_id=invoice["id"], reason="refund")
    assert note["seller"].get("logo_blob") == invoice["seller"]["logo_blob"]


def test_a_caller_cannot_set_logo_blob(ctx, store):
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "entity.create", **SELLER, logo_blob={"key": "pdf/x.pdf", "sha256": "0"})
    assert {d.field: d.message for d in err.value.details} == {"logo_blob": "unknown field"}
