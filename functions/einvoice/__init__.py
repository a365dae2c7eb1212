"""EN 16931 e-invoices from finalized documents: pure, no I/O (frozen document → XML bytes).

- :func:`render` — ``cii`` (UN/CEFACT CII D16B, Factur-X / ZUGFeRD EN 16931 profile), ``ubl``
  (UBL 2.1, Peppol BIS Billing 3.0) or ``xrechnung`` (UBL 2.1, XRechnung 3.0).
- :func:`requirements` — what a format needs that a document lacks, each problem naming the
  field and its BT id; finalize reports them with the art. 226 checks.

Business terms map through the domain's table (``functions.domain.models.EN16931``), amounts
are the document's computed ones (``functions.domain.calc``). See :mod:`.document`.

Why lxml and not drafthorse: drafthorse models CII only, while Billow writes CII and UBL from
one decided document (:class:`.document.Document`); two small writers over lxml keep both
syntaxes in one style, the BT mapping in one place, and render in well under a millisecond.
lxml is imported only when XML is written (the API's cold start does not pay for it).
"""

from __future__ import annotations

from .document import FORMATS, Document, build_document, requirements

CONTENT_TYPE = "application/xml"

__all__ = ["CONTENT_TYPE", "FORMATS", "Document", "build_document", "render", "requirements"]


def render(document: Document) -> bytes:
    """The XML bytes of a built :class:`Document` in its format's syntax."""
    if FORMATS[document.format][0] == "cii":
        from . import cii

        return cii.write(document)
    from . import ubl

    return ubl.write(document)
