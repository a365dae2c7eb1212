"""Factur-X: the invoice PDF as PDF/A-3 with its EN 16931 CII XML embedded as ``factur-x.xml``.

Everything is written by reportlab while the PDF is drawn, in one pass — no second parser:

1. :func:`add_output_intent` — the PDF/A output intent (``GTS_PDFA1``) with an sRGB ICC profile
   (``sRGB.icc``, from Debian's icc-profiles-free, zlib licence: Marti Maria / littleCMS),
   compressed once per process. Fonts are embedded already (Roboto subsets) and nothing is
   transparent.
2. :func:`add_facturx` — the CII XML as an embedded file (``/AFRelationship /Data``, listed in
   the ``EmbeddedFiles`` name tree and the document's ``AF`` array), and the XMP metadata with
   the PDF/A identification (part 3, conformance B) and the Factur-X extension schema (EN 16931
   profile). The XMP is the one the ``factur-x`` package generates (``generate_xmp_object``),
   built once per process with placeholders; each PDF fills in its title, author and dates,
   which are the document info dictionary's own (PDF/A wants the two to agree).

Why not factur-x's ``generate_from_binary`` (or its attachment routine on a pypdf writer, as
before): both parse the finished PDF again and write it out again with pypdf, which took three
quarters of the time of a Factur-X PDF (1.8–2.9x the plain PDF; the objects written here are
the same objects, see ``tests/pdf/test_facturx.py``).

The XML is :func:`functions.einvoice` ``cii`` of the same stored document (:func:`facturx_xml`),
so the XML extracted from the PDF equals what ``invoice.einvoice`` (``cii``) returns, byte for
byte. The PDF's dates are the document's (``finalized_at``), so the same document always gives
the same bytes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

ICC_PROFILE = Path(__file__).with_name("sRGB.icc")
OUTPUT_CONDITION = "sRGB IEC61966-2.1"
XML_FILENAME = "factur-x.xml"  # what the Factur-X specification calls the embedded file
XML_DESCRIPTION = "Factur-X XML file"
KEYWORDS = "Factur-X, invoice"

# placeholders of the cached XMP (no XML escaping touches them)
_TITLE, _AUTHOR, _SUBJECT, _PRODUCER, _CREATOR, _WHEN = (
    f"@@{name}@@" for name in ("title", "author", "subject", "producer", "creator", "when")
)
_PLACEHOLDER = re.compile("@@(?:title|author|subject|producer|creator|when)@@")


@lru_cache(maxsize=1)
def _icc_deflated() -> bytes:
    """The profile Flate-compressed once per process (not once per PDF)."""
    import zlib

    return zlib.compress(ICC_PROFILE.read_bytes(), 9)


def add_output_intent(canvas: Any) -> None:
    """Give the reportlab document a PDF/A output intent with the sRGB profile."""
    from reportlab.pdfbase.pdfdoc import (
        PDFArray,
        PDFDictionary,
        PDFName,
        PDFStream,
        PDFString,
    )

    doc = canvas._doc
    profile = PDFStream(
        PDFDictionary({"N": 3, "Filter": PDFName("FlateDecode")}), _icc_deflated(), filters=[]
    )
    intent = PDFDictionary(
        {
            "Type": PDFName("OutputIntent"),
            "S": PDFName("GTS_PDFA1"),
            "OutputConditionIdentifier": PDFString(OUTPUT_CONDITION),
            "Info": PDFString(OUTPUT_CONDITION),
            "RegistryName": PDFString("http://www.color.org"),
            "DestOutputProfile": doc.Reference(profile),
        }
    )
    _catalog_keys(doc.Catalog, "OutputIntents")
    doc.Catalog.OutputIntents = PDFArray([doc.Reference(intent)])


def _catalog_keys(catalog: Any, *keys: str) -> None:
    """Let the reportlab catalog write ``keys`` (it writes only the names it knows)."""
    from reportlab.pdfbase.pdfdoc import PDFCatalog

    known = list(getattr(catalog, "__NoDefault__", PDFCatalog.__NoDefault__))
    catalog.__NoDefault__ = known + [k for k in keys if k not in known]


@lru_cache(maxsize=1)
def _xmp_template() -> str:
    """factur-x's XMP for a Factur-X EN 16931 invoice, with placeholders for what varies.

    Built once per process (lxml objectify is a third of a millisecond); ``pdf:Keywords`` is
    added beside ``pdf:Producer`` because the info dictionary has keywords too."""
    from facturx.facturx import FACTURX_LEVEL2xmp, generate_xmp_object
    from lxml import etree, objectify

    root = generate_xmp_object(
        {
            "pdfa3_flavor": "B",
            "title": _TITLE,
            "author": _AUTHOR,
            "subject": _SUBJECT,
            "producer": _PRODUCER,
            "creator_tool": _CREATOR,
            "timestamp": _WHEN,
            "version": "1.0",
            "documenttype": "INVOICE",
            "xml_filename": XML_FILENAME,
            "xmp_level": FACTURX_LEVEL2xmp["en16931"],
            "urn": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
        }
    )
    pdf_ns = "http://ns.adobe.com/pdf/1.3/"
    pdf = objectify.ElementMaker(namespace=pdf_ns, nsmap={"pdf": pdf_ns}, annotate=False)
    root.find(f".//{{{pdf_ns}}}Producer").addnext(pdf.Keywords(KEYWORDS))
    body = etree.tostring(root, pretty_print=True, encoding="unicode").strip()
    return f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n{body}\n<?xpacket end="w"?>'


def xmp_metadata(
    *, title: str, author: str, subject: str, producer: str, creator: str, when: str
) -> bytes:
    """The XMP packet of one Factur-X PDF (``when``: ``YYYY-MM-DDThh:mm:ss+hh:mm``).

    One pass over the template: a value that happens to contain ``@@subject@@`` stays as
    written."""
    from xml.sax.saxutils import escape

    values = {
        _TITLE: title,
        _AUTHOR: author,
        _SUBJECT: subject,
        _PRODUCER: producer,
        _CREATOR: creator,
        _WHEN: when,
    }
    xmp = _PLACEHOLDER.sub(lambda m: escape(values[m.group(0)]), _xmp_template())
    return xmp.encode("utf-8")


def add_facturx(canvas: Any, xml: bytes, *, lang: str | None = None) -> None:
    """Make the reportlab document a Factur-X PDF/A-3 (EN 16931) carrying ``xml``.

    Call after the canvas's title, author, subject and creator are set (the XMP repeats them)
    and after :func:`add_output_intent`."""
    import hashlib
    import zlib

    from reportlab.pdfbase.pdfdoc import (
        PDFArray,
        PDFDate,
        PDFDictionary,
        PDFName,
        PDFStream,
        PDFString,
        PDFText,
    )

    doc = canvas._doc
    info = doc.info
    info.keywords = KEYWORDS
    stamp = doc._timeStamp
    embedded = PDFStream(
        PDFDictionary(
            {
                "Type": PDFName("EmbeddedFile"),
                "Subtype": "/text#2Fxml",  # the MIME type as a name: "/" written as #2F
                "Filter": PDFName("FlateDecode"),
                "Params": PDFDictionary(
                    {
                        "Size": len(xml),
                        "ModDate": PDFDate(ts=stamp),
                        "CheckSum": PDFText(hashlib.md5(xml, usedforsecurity=False).digest()),
                    }
                ),
            }
        ),
        zlib.compress(xml, 6),
        filters=[],
    )
    embedded_ref = doc.Reference(embedded)
    filespec = doc.Reference(
        PDFDictionary(
            {
                "Type": PDFName("Filespec"),
                "F": PDFString(XML_FILENAME),
                "UF": PDFString(XML_FILENAME),
                "EF": PDFDictionary({"F": embedded_ref, "UF": embedded_ref}),
                "Desc": PDFString(XML_DESCRIPTION),
                "AFRelationship": PDFName("Data"),
            }
        )
    )
    (year, month, day, hour, minute, second), dhh, dmm = stamp.YMDhms, stamp.dhh, stamp.dmm
    offset = f"{'-' if dhh < 0 or dmm < 0 else '+'}{abs(dhh):02d}:{abs(dmm):02d}"
    xmp = xmp_metadata(
        title=info.title,
        author=info.author,
        subject=info.subject,
        producer=info.producer,
        creator=info.creator,
        when=f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{offset}",
    )
    catalog = doc.Catalog
    _catalog_keys(catalog, "AF")
    catalog.AF = PDFArray([filespec])
    catalog.Names = PDFDictionary(
        {"EmbeddedFiles": PDFDictionary({"Names": PDFArray([PDFString(XML_FILENAME), filespec])})}
    )
    catalog.PageMode = PDFName("UseAttachments")  # viewers show the XML beside the pages
    # PDF/A: the metadata stream is not compressed (no filters, and no empty /Filter either:
    # reportlab writes ``/Filter []`` for ``filters=[]``, nothing for None)
    catalog.Metadata = PDFStream(
        PDFDictionary({"Type": PDFName("Metadata"), "Subtype": PDFName("XML")}), xmp, filters=None
    )
    if lang:
        catalog.Lang = PDFString(lang)


@lru_cache(maxsize=64)
def _frozen_party(role: str, frozen: str) -> Any:
    """The seller (``Entity``) or buyer (``Client``) frozen on a document, validated once per
    process for each distinct snapshot: a batch of one company's invoices shares them, and
    their checks (IBAN, VAT numbers, numbering patterns ...) were half of reading a document."""
    from functions.domain.models import Client, Entity

    return (Entity if role == "seller" else Client).model_validate_json(frozen)


def facturx_xml(invoice: dict[str, Any]) -> bytes | None:
    """The CII XML a finalized document's PDF embeds (``invoice``: the JSON of ``invoice.get``).

    ``None`` for a draft, and for the rare finalized document EN 16931 cannot state (amounts
    with three decimals, for a client who asked for no e-invoice): those stay a plain PDF.
    """
    if invoice.get("status", "draft") == "draft" or not invoice.get("number"):
        return None
    import json

    from pydantic import ValidationError

    from functions.domain.errors import ValidationFailed
    from functions.domain.models import Invoice, parse_model
    from functions.einvoice import build_document, render

    try:  # a JSON that is not a whole document (a hand-made sample) stays a plain PDF
        parties = {
            role: _frozen_party(role, json.dumps(invoice[role], sort_keys=True, default=str))
            for role in ("seller", "buyer")
            if isinstance(invoice.get(role), dict)
        }
        return render(build_document(parse_model(Invoice, {**invoice, **parties}), "cii"))
    except (ValidationFailed, ValidationError):
        return None
