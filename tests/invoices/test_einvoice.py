"""E-invoices through the services, on SQLite and on DynamoDB + S3 (moto server over HTTP):
the new fields, finalize's format checks, ``invoice.einvoice``, the Factur-X PDF and sending
by format. The XML inside the delivered PDF is the XML ``invoice.einvoice`` returns."""

from __future__ import annotations

import io
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from facturx import get_xml_from_pdf
from pypdf import PdfReader

from functions.domain.errors import BillowError, InvalidState, ValidationFailed
from storage_adapter.sqlite import SqliteStore
from tests.einvoice.validation import validate
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401

from .support import CLIENT, SELLER, act, make_ctx, seed

ENDPOINTS = {
    "seller": {"scheme": "9930", "value": "DE136695976"},
    "buyer": {"scheme": "0204", "value": "04011000-1234512345-06"},
}
LINES = [
    {"description": "Wartung", "quantity": "10", "unit": "hour", "unit_price": "95"},
    {"description": "Lizenz", "quantity": "1", "unit_price": "249.99", "discount_percent": "10"},
]


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)])
def backend(request, tmp_path: Path):
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "data" / "billow.db")
        yield store
        store.close()
    else:
        yield request.getfixturevalue("dynamo_store")


def _blob(store, url: str) -> bytes:
    """The bytes behind a signed link (the key is in the link's path)."""
    path = urlparse(url).path
    key = path.split("/blobs/", 1)[1] if "/blobs/" in path else path.split("/", 2)[2]
    from urllib.parse import unquote

    for candidate in (unquote(key), unquote(key).removeprefix("blobs/")):
        blob = store.get_blob(candidate)
        if blob is not None:
            return blob.data
    raise AssertionError(f"no blob behind {url} {parse_qs(urlparse(url).query)}")


def _xrechnung_setup(ctx, **client_overrides):
    seller = {**SELLER, "phone": "+49 30 1234567", "electronic_address": ENDPOINTS["seller"]}
    client = {
        **CLIENT,
        "einvoice_format": "xrechnung",
        "electronic_address": ENDPOINTS["buyer"],
        "buyer_reference": "04011000-1234512345-06",
        **client_overrides,
    }
    return seed(ctx, seller, client)


def test_einvoice_end_to_end(backend, tmp_path: Path):
    outbox = tmp_path / "outbox"
    ctx = make_ctx(backend, outbox=outbox)
    ids = _xrechnung_setup(ctx)
    client = act(ctx, "client.get", client_id=ids["client_id"])
    assert client["einvoice_format"] == "xrechnung"
    assert client["electronic_address"] == ENDPOINTS["buyer"]

    draft = act(
        ctx,
        "invoice.create",
        entity_id=ids["entity_id"],
        client_id=ids["client_id"],
        lines=[{**LINES[0], "metadata": {"ticket": "T-1"}}, LINES[1]],
        period={"start": "2026-11-01", "end": "2026-11-30"},
    )
    assert [line["unit_code"] for line in draft["lines"]] == ["HUR", "C62"]
    with pytest.raises(InvalidState):
        act(ctx, "invoice.einvoice", invoice_id=draft["id"], format="cii")

    final = act(ctx, "invoice.finalize", invoice_id=draft["id"])
    # the frozen buyer carries the e-invoice fields of finalize time
    assert final["buyer"]["buyer_reference"] == "04011000-1234512345-06"

    links = {}
    for fmt in ("cii", "ubl", "xrechnung"):
        link = act(ctx, "invoice.einvoice", invoice_id=final["id"], format=fmt)
        assert link["format"] == fmt and link["content_type"] == "application/xml"
        assert link["filename"].startswith(final["number"]) and link["filename"].endswith(".xml")
        links[fmt] = _blob(backend, link["url"])
        report = validate(links[fmt], fmt)
        assert report.valid, report.describe()
        assert f">{final['total']}</".encode() in links[fmt]  # the API's total, to the cent

    # the PDF is a Factur-X whose factur-x.xml is the cii e-invoice, byte for byte
    pdf = _blob(backend, act(ctx, "invoice.pdf", invoice_id=final["id"])["url"])
    name, embedded = get_xml_from_pdf(pdf, check_xsd=False)
    assert name == "factur-x.xml" and embedded == links["cii"]
    reader = PdfReader(io.BytesIO(pdf))
    assert "/OutputIntents" in reader.trailer["/Root"]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert (
        b"pdfaid:part>3<" in xmp.replace(b'"', b">").replace(b"='", b">") or b"pdfaid:part" in xmp
    )
    assert b"urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#" in xmp

    # a later change of the client changes nothing in the issued e-invoice
    act(ctx, "client.update", client_id=ids["client_id"], name="Renamed AG")
    again = act(ctx, "invoice.einvoice", invoice_id=final["id"], format="cii")
    assert _blob(backend, again["url"]) == links["cii"]

    # sending to an XRechnung client attaches the XML and the PDF
    act(ctx, "invoice.send", invoice_id=final["id"])
    mail = BytesParser(policy=policy.default).parsebytes(next(outbox.glob("*.eml")).read_bytes())
    parts = [(p.get_filename(), p.get_content_type()) for p in mail.iter_attachments()]
    assert parts == [
        (f"{final['number']}-xrechnung.xml", "application/xml"),
        (f"{final['number']}.pdf", "application/pdf"),
    ]
    attached = next(p for p in mail.iter_attachments() if p.get_filename().endswith(".xml"))
    assert (
        attached.get_content() == links["xrechnung"]
        or attached.get_payload(decode=True) == links["xrechnung"]
    )
    events = act(ctx, "invoice.timeline", invoice_id=final["id"])["events"]
    sent = next(e for e in events if e["type"] == "sent")
    assert sent["data"]["transport"] == "mail"


def test_finalize_names_what_the_format_needs(tmp_path: Path):
    store = SqliteStore(tmp_path / "data" / "billow.db")
    ctx = make_ctx(store)
    ids = _xrechnung_setup(ctx, buyer_reference=None, electronic_address=None)
    draft = act(
        ctx, "invoice.create", entity_id=ids["entity_id"], client_id=ids["client_id"], lines=LINES
    )
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "invoice.finalize", invoice_id=draft["id"])
    details = {d.field: d.message for d in err.value.details}
    assert details["buyer_reference"].startswith("BT-10:")
    assert details["buyer.electronic_address"].startswith("BT-49:")
    # nothing was written: still a draft, no number used
    assert act(ctx, "invoice.get", invoice_id=draft["id"])["status"] == "draft"
    act(ctx, "invoice.update", invoice_id=draft["id"], buyer_reference="04011000-1234512345-06")
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "invoice.finalize", invoice_id=draft["id"])
    assert [d.field for d in err.value.details] == ["buyer.electronic_address"]
    act(ctx, "client.update", client_id=ids["client_id"], electronic_address=ENDPOINTS["buyer"])
    assert act(ctx, "invoice.finalize", invoice_id=draft["id"])["number"] == "INV-2026-0001"
    store.close()


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"electronic_address": {"scheme": "0000", "value": "x"}}, "electronic_address.scheme"),
        (
            {"electronic_address": {"scheme": "0088", "value": "4000001000006"}},
            "electronic_address.value",
        ),
        (
            {"electronic_address": {"scheme": "0204", "value": "04011000-1234512345-07"}},
            "electronic_address.value",
        ),
        (
            {"electronic_address": {"scheme": "EM", "value": "x", "extra": 1}},
            "electronic_address.extra",
        ),
        ({"buyer_reference": "04011000-1234512345-07"}, "buyer_reference"),
        ({"einvoice_format": "pdf"}, "einvoice_format"),
    ],
)
def test_bad_e_invoice_fields_are_422_and_write_nothing(tmp_path: Path, fields, where):
    store = SqliteStore(tmp_path / "data" / "billow.db")
    ctx = make_ctx(store)
    ids = seed(ctx)
    before = act(ctx, "client.get", client_id=ids["client_id"])
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "client.update", client_id=ids["client_id"], **fields)
    assert where in [d.field for d in err.value.details]
    assert act(ctx, "client.get", client_id=ids["client_id"]) == before
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "client.create", **{**CLIENT, **fields})
    assert where in [d.field for d in err.value.details]
    store.close()


def test_bad_line_fields_are_422(tmp_path: Path):
    store = SqliteStore(tmp_path / "data" / "billow.db")
    ctx = make_ctx(store)
    ids = seed(ctx)
    bad = [
        {**LINES[0], "unit_code": "HOURS"},
        {**LINES[0], "period": {"start": "2026-11-30", "end": "2026-11-01"}},
        {**LINES[0], "metadata": {f"k{i}": "v" for i in range(21)}},
        {**LINES[0], "period": {"start": "2026-11-01", "end": "2026-11-30", "days": 3}},
    ]
    with pytest.raises(ValidationFailed) as err:
        act(
            ctx, "invoice.create", entity_id=ids["entity_id"], client_id=ids["client_id"], lines=bad
        )
    fields = {d.field for d in err.value.details}
    assert {
        "lines[0].unit_code",
        "lines[1].period.end",
        "lines[2].metadata",
        "lines[3].period.days",
    } <= fields
    store.close()


def test_line_e_invoice_fields_round_trip_and_bad_ones_write_nothing(backend):
    """On both backends: a line's unit code (normalised), period and metadata and the
    invoice's buyer reference and period are stored and come back; an unknown Rec. 20 code, a
    malformed line period, a bad Leitweg-ID and an unknown EAS scheme are 422 naming the field
    at its depth, and nothing is written."""
    ctx = make_ctx(backend)
    ids = seed(ctx)
    line = {
        **LINES[0],
        "unit_code": "day",
        "period": {"start": "2026-11-01", "end": "2026-11-15"},
        "metadata": {"ticket": "T-42", "Projekt": "Ωmega"},
    }
    draft = act(
        ctx,
        "invoice.create",
        entity_id=ids["entity_id"],
        client_id=ids["client_id"],
        lines=[line, LINES[1]],
        buyer_reference="04011000-1234512345-06",
        period={"start": "2026-11-01", "end": "2026-11-30"},
    )
    stored = act(ctx, "invoice.get", invoice_id=draft["id"])
    assert stored["lines"][0]["unit_code"] == "DAY"  # explicit, normalised, not derived (HUR)
    assert stored["lines"][0]["period"] == {"start": "2026-11-01", "end": "2026-11-15"}
    assert stored["lines"][0]["metadata"] == {"ticket": "T-42", "Projekt": "Ωmega"}
    assert stored["lines"][1]["unit_code"] == "C62" and stored["lines"][1]["period"] is None
    assert stored["buyer_reference"] == "04011000-1234512345-06"
    assert stored["period"] == {"start": "2026-11-01", "end": "2026-11-30"}

    bad_lines = [
        {**LINES[0], "unit_code": "QQQ"},
        {**LINES[0], "period": {"start": "2026-13-01", "end": "2026-11-30"}},
        {**LINES[0], "metadata": {"": "empty key"}},
    ]
    with pytest.raises(ValidationFailed) as err:
        act(
            ctx,
            "invoice.update",
            invoice_id=draft["id"],
            version=stored["version"],
            lines=bad_lines,
            buyer_reference="04011000-1234512345-07",  # check digits wrong
        )
    fields = {d.field for d in err.value.details}
    assert {
        "lines[0].unit_code",
        "lines[1].period.start",
        "lines[2].metadata",
        "buyer_reference",
    } <= fields
    assert act(ctx, "invoice.get", invoice_id=draft["id"]) == stored

    entity = act(ctx, "entity.get", entity_id=ids["entity_id"])
    with pytest.raises(ValidationFailed) as err:
        act(
            ctx,
            "entity.update",
            entity_id=ids["entity_id"],
            version=entity["version"],
            electronic_address={"scheme": "9999", "value": "x"},
        )
    assert [d.field for d in err.value.details] == ["electronic_address.scheme"]
    assert act(ctx, "entity.get", entity_id=ids["entity_id"]) == entity


class AccessPointDown(BillowError):
    code = "peppol_delivery_failed"


class RecordingAccessPoint:
    """A Peppol transport as a later issue will plug one in: routes on the buyer's electronic
    address, sends the UBL beside the PDF, says when the network refused the document."""

    name = "peppol"
    failure = AccessPointDown

    def __init__(self) -> None:
        self.delivered: list[tuple[list[str], list[str], bytes]] = []
        self.down = False

    def recipients(self, invoice: dict, requested: list[str]) -> list[str]:
        address = (invoice.get("buyer") or {}).get("electronic_address") or {}
        if not address:
            raise ValidationFailed.one("buyer.electronic_address", "BT-49: needed for Peppol")
        return [f"{address['scheme']}:{address['value']}"]

    def deliver(self, invoice, pdf, attachments, *, to, cc, message) -> str:
        if self.down:
            raise AccessPointDown("the access point answered 503")
        self.delivered.append((to, [a.filename for a in attachments], pdf))
        return f"peppol-{len(self.delivered)}"


def test_send_goes_through_the_transport_registered_for_the_format(tmp_path: Path):
    """``invoice.send`` leaves room for a Peppol access point beside mail: registered for the
    ``peppol`` format, it is chosen for those buyers (who need no e-mail address), it names
    the recipients and attachments, and its failure is recorded like a mail failure; other
    buyers still get mail."""
    store = SqliteStore(tmp_path / "data" / "billow.db")
    outbox = tmp_path / "outbox"
    ctx = make_ctx(store, outbox=outbox)
    access_point = RecordingAccessPoint()
    ctx.services["transports"] = {"peppol": access_point}
    ids = _xrechnung_setup(ctx, einvoice_format="peppol", email=None)

    def finalized() -> dict:
        draft = act(
            ctx,
            "invoice.create",
            entity_id=ids["entity_id"],
            client_id=ids["client_id"],
            lines=LINES,
        )
        return act(ctx, "invoice.finalize", invoice_id=draft["id"])

    first = finalized()
    sent = act(ctx, "invoice.send", invoice_id=first["id"])
    assert sent["status"] == "sent"
    ((to, files, pdf),) = access_point.delivered
    assert to == ["0204:04011000-1234512345-06"]
    assert files == [f"{first['number']}-peppol.xml"] and pdf.startswith(b"%PDF-1.7")
    event = act(ctx, "invoice.timeline", invoice_id=first["id"])["events"][-1]
    assert event["type"] == "sent"
    assert event["data"]["transport"] == "peppol" and event["data"]["message_id"] == "peppol-1"
    assert not outbox.exists() or not list(outbox.glob("*.eml"))  # nothing went by mail

    second = finalized()
    access_point.down = True
    with pytest.raises(AccessPointDown, match="the invoice was not sent"):
        act(ctx, "invoice.send", invoice_id=second["id"])
    assert act(ctx, "invoice.get", invoice_id=second["id"])["status"] == "open"
    failed = act(ctx, "invoice.timeline", invoice_id=second["id"])["events"][-1]
    assert failed["type"] == "send_failed" and failed["data"]["transport"] == "peppol"

    # a Factur-X buyer of the same account still gets an e-mail
    other = act(ctx, "client.create", **CLIENT)
    draft = act(
        ctx, "invoice.create", entity_id=ids["entity_id"], client_id=other["id"], lines=LINES
    )
    final = act(ctx, "invoice.finalize", invoice_id=draft["id"])
    act(ctx, "invoice.send", invoice_id=final["id"])
    assert len(list(outbox.glob("*.eml"))) == 1
    assert (
        act(ctx, "invoice.timeline", invoice_id=final["id"])["events"][-1]["data"]["transport"]
        == "mail"
    )
    store.close()
