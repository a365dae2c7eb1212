"""Factur-X: the invoice PDF as PDF/A-3 with its EN 16931 CII XML embedded as ``factur-x.xml``.

Two steps around the reportlab rendering:

1. :func:`add_output_intent` — while drawing: the PDF/A output intent (``GTS_PDFA1``) with an
   sRGB ICC profile (``sRGB.icc``, from Debian's icc-profiles-free, zlib licence: Marti Maria /
   littleCMS). Fonts are embedded already (Roboto subsets) and nothing is transparent.
2. :func:`embed_facturx` — after: the ``factur-x`` package attaches the XML (AFRelationship
   ``Data``), writes the XMP with the PDF/A identification (part 3) and the Factur-X extension
   schema (EN 16931 profile), and the document-level ``AF`` array. No hand-written PDF
   plumbing beyond the output intent, which ``factur-x`` expects from the PDF it is given.

The XML is :func:`functions.einvoice` ``cii`` of the same stored document, so the XML extracted
from the PDF equals what ``invoice.einvoice`` (format ``cii``) returns, byte for byte.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

ICC_PROFILE = Path(__file__).with_name("sRGB.icc")
OUTPUT_CONDITION = "sRGB IEC61966-2.1"


@lru_cache(maxsize=1)
def _icc_deflated() -> bytes:
    """The profile Flate-compressed once per process (not once per PDF)."""
    import zlib

    return zlib.compress(ICC_PROFILE.read_bytes(), 9)


def add_output_intent(canvas: Any) -> None:
    """Give the reportlab document a PDF/A output intent with the sRGB profile."""
    from reportlab.pdfbase.pdfdoc import (
        PDFArray,
        PDFCatalog,
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
    catalog = doc.Catalog
    catalog.__NoDefault__ = [*PDFCatalog.__NoDefault__, "OutputIntents"]
    catalog.OutputIntents = PDFArray([doc.Reference(intent)])


def embed_facturx(pdf: bytes, cii: bytes, *, title: str, author: str, lang: str) -> bytes:
    """``pdf`` with ``cii`` embedded as ``factur-x.xml``: a Factur-X PDF/A-3, EN 16931 profile.

    factur-x's own ``generate_from_binary`` goes through a temporary file and re-writes the
    whole PDF with pypdf (about 20 ms for one page). The same factur-x routine that adds the
    attachment, the ``AF`` array and the XMP is applied here to a pypdf writer in incremental
    mode over the bytes in memory: the original objects stay as reportlab wrote them and only
    the new ones are appended (PDF/A allows incremental updates) — about 8 ms.
    """
    import io

    from facturx import facturx as fx
    from pypdf import PdfWriter

    metadata = {"author": author, "keywords": "Factur-X, invoice", "title": title, "subject": title}
    add = getattr(fx, "_facturx_update_metadata_add_attachment", None)
    if add is None:  # a factur-x release without it: the public, slower path
        return fx.generate_from_binary(
            pdf,
            cii,
            flavor="factur-x",
            level="en16931",
            check_xsd=False,
            pdf_metadata=metadata,
            lang=lang,
            afrelationship="data",
        )
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    add(writer, cii, metadata, "factur-x", "en16931", lang=lang, afrelationship="data")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def facturx_pdf(pdf: bytes, invoice: dict[str, Any], *, lang: str = "en") -> bytes:
    """The Factur-X PDF of a finalized document (``invoice``: the JSON of ``invoice.get``).

    Drafts, and the rare finalized document EN 16931 cannot state (amounts with three
    decimals, for a client who asked for no e-invoice), stay a plain PDF.
    """
    if invoice.get("status", "draft") == "draft" or not invoice.get("number"):
        return pdf
    from functions.domain.errors import ValidationFailed
    from functions.domain.models import Invoice, parse_model
    from functions.einvoice import build_document, render

    try:  # a JSON that is not a whole document (a hand-made sample) stays a plain PDF
        document = build_document(parse_model(Invoice, invoice), "cii")
    except ValidationFailed:
        return pdf
    seller = invoice.get("seller") or {}
    return embed_facturx(
        pdf,
        render(document),
        title=f"{document.number}",
        author=str(seller.get("legal_name") or seller.get("name") or ""),
        lang=lang,
    )
