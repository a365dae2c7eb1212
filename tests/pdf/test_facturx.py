"""The Factur-X PDF/A-3 as reportlab writes it at render time: what factur-x's own reader
finds in it (the XML, flavor, level, XSD), and the PDF/A plumbing read back with pypdf — the
embedded file and its file specification, the name tree, ``AF``, the output intent, and an XMP
packet that says the same as the document info dictionary."""

from __future__ import annotations

import hashlib
import io

import pytest
from facturx import get_facturx_xml_from_pdf, get_flavor, get_level
from lxml import etree
from pypdf import PdfReader

from functions.pdf.facturx import facturx_xml
from functions.pdf.render import render_invoice_pdf
from tests.einvoice import factory

LINES = [
    {"description": "Wartung", "quantity": "10", "unit": "hour", "unit_price": "95"},
    {"description": "Lizenz", "quantity": "1", "unit_price": "249.99", "discount_percent": "10"},
]
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
}


def _document(**seller: str) -> dict:
    entity = factory.entity(**seller) if seller else None
    return factory.finalized(LINES, seller=entity).model_dump(mode="json")


def _facturx(data: dict) -> tuple[bytes, bytes]:
    xml = facturx_xml(data)
    assert xml is not None
    return render_invoice_pdf(data, einvoice=xml), xml


def test_factur_x_reader_finds_the_cii_and_its_profile():
    data = _document()
    pdf, xml = _facturx(data)
    assert pdf.startswith(b"%PDF-1.7")
    name, embedded = get_facturx_xml_from_pdf(pdf, check_xsd=True)  # the Factur-X XSD too
    assert name == "factur-x.xml" and embedded == xml
    tree = etree.fromstring(embedded)
    assert get_flavor(tree) == "factur-x"
    assert get_level(tree) == "en16931"
    assert f">{data['total']}</".encode() in embedded


def test_embedded_file_name_tree_af_and_output_intent():
    pdf, xml = _facturx(_document())
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    (filespec,) = [ref.get_object() for ref in root["/AF"]]
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert names[0] == "factur-x.xml" and names[1].get_object() == filespec
    assert filespec["/Type"] == "/Filespec" and filespec["/AFRelationship"] == "/Data"
    assert filespec["/F"] == filespec["/UF"] == "factur-x.xml"
    stream = filespec["/EF"]["/F"].get_object()
    assert filespec["/EF"]["/UF"].get_object() == stream
    assert stream["/Type"] == "/EmbeddedFile" and stream["/Subtype"] == "/text/xml"
    assert stream.get_data() == xml
    params = stream["/Params"]
    assert params["/Size"] == len(xml)
    assert params["/CheckSum"].get_original_bytes() == hashlib.md5(xml).digest()
    assert params["/ModDate"].startswith("D:20261201")  # the document's date, not the clock
    assert root["/PageMode"] == "/UseAttachments"
    (intent,) = [ref.get_object() for ref in root["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1"
    assert intent["/DestOutputProfile"].get_object()["/N"] == 3


def test_xmp_says_what_the_info_dictionary_says():
    # escaped in the XMP, not broken; a placeholder-like name stays as written
    seller = {"legal_name": 'Müller & Söhne <"Nord"> GmbH @@when@@'}
    pdf, _ = _facturx(_document(**seller))
    reader = PdfReader(io.BytesIO(pdf))
    metadata = reader.trailer["/Root"]["/Metadata"].get_object()
    assert "/Filter" not in metadata  # PDF/A: the XMP stream is not compressed
    packet = metadata.get_data()
    assert packet.startswith(b"<?xpacket begin=") and packet.rstrip().endswith(b'end="w"?>')
    xmp = etree.fromstring(packet)

    def one(path: str) -> str:
        (value,) = xmp.xpath(path, namespaces=NS)
        return str(value)

    info = reader.metadata
    assert one("//pdfaid:part/text()") == "3" and one("//pdfaid:conformance/text()") == "B"
    assert one("//fx:ConformanceLevel/text()") == "EN 16931"
    assert one("//fx:DocumentFileName/text()") == "factur-x.xml"
    assert one("//fx:DocumentType/text()") == "INVOICE"
    assert one("//dc:title//rdf:li/text()") == info["/Title"]
    assert one("//dc:creator//rdf:li/text()") == info["/Author"] == seller["legal_name"]
    assert one("//dc:description//rdf:li/text()") == info["/Subject"]
    assert one("//pdf:Producer/text()") == info["/Producer"]
    assert one("//pdf:Keywords/text()") == info["/Keywords"]
    assert one("//xmp:CreatorTool/text()") == info["/Creator"] == "Billow"
    # D:20261201090000+00'00' and 2026-12-01T09:00:00+00:00: the same instant
    assert info["/CreationDate"] == info["/ModDate"] == "D:20261201090000+00'00'"
    assert one("//xmp:CreateDate/text()") == one("//xmp:ModifyDate/text()")
    assert one("//xmp:CreateDate/text()") == "2026-12-01T09:00:00+00:00"


def test_the_same_document_gives_the_same_bytes():
    data = _document()
    assert _facturx(data)[0] == _facturx(data)[0]


@pytest.mark.parametrize("status", ["draft"])
def test_a_draft_stays_a_plain_pdf(status):
    data = {**_document(), "status": status, "number": None}
    assert facturx_xml(data) is None
    root = PdfReader(io.BytesIO(render_invoice_pdf(data))).trailer["/Root"]
    assert "/AF" not in root and "/Names" not in root
    assert "/OutputIntents" in root  # every PDF keeps the PDF/A output intent


def test_the_embedded_xml_is_the_cii_of_the_document_whoever_issued_it():
    """The XML the PDF embeds is ``invoice.einvoice``'s ``cii`` of the same document, for an
    invoice and its credit note, and for documents of two sellers read one after the other
    (the frozen parties are validated once per snapshot, never mixed up)."""
    from functions.domain.models import Invoice
    from functions.services.invoices_einvoice import einvoice_xml

    invoice = factory.finalized(LINES)
    note = factory.credit_note(invoice)
    other = factory.finalized(LINES, seller=factory.entity(legal_name="Südwind Handel GmbH"))
    for document in (invoice, note, other, invoice):
        data = document.model_dump(mode="json")
        assert facturx_xml(data) == einvoice_xml(Invoice.model_validate(data), "cii")
    assert b"S\xc3\xbcdwind Handel GmbH" in facturx_xml(other.model_dump(mode="json"))
    assert b"S\xc3\xbcdwind" not in facturx_xml(invoice.model_dump(mode="json"))
