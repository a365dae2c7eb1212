"""Invoice and credit-note PDFs, drawn directly on a reportlab canvas.

Why a canvas and not platypus: a one-page invoice has to render in a few milliseconds. The
layout here is planned first (text wrapped with the font's real metrics, rows paginated, the
table header repeated on each page), then drawn in one pass with a single text object per page,
so "page X of Y" is known before the first page is drawn and nothing is laid out twice.

Everything printed comes from the invoice dict (the JSON of ``invoice.get``): amounts are
formatted, never computed. User text is drawn as plain strings — there is no markup language in
the path, so ``<b>`` in a client name prints as ``<b>``.

This module imports reportlab; keep it out of the API's import path (``functions.pdf`` itself
imports nothing).
"""

from __future__ import annotations

import re
from typing import Any

from .primitives import BOLD, FONT, clean
from .sections import _Renderer

__all__ = ["BOLD", "FONT", "filename_for", "render_invoice_pdf"]


def filename_for(invoice: dict[str, Any]) -> str:
    """``<number>.pdf`` (or ``<id>.pdf`` for a draft), safe as a file and header value."""
    base = clean(invoice.get("number")) or clean(invoice.get("id")) or "invoice"
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "invoice"
    return f"{base}.pdf"


def render_invoice_pdf(
    invoice: dict[str, Any],
    *,
    logo: bytes | None = None,
    locale: str | None = None,
    einvoice: bytes | None = None,
) -> bytes:
    """The PDF of ``invoice`` (the JSON of ``invoice.get``) as bytes.

    ``logo`` (PNG/JPEG bytes) overrides the seller's ``logo`` data URL. The language is
    ``locale``, else the buyer's, else the seller's, else English. ``einvoice``, the CII XML of
    the same document (:func:`functions.pdf.facturx.facturx_xml`), makes it a Factur-X PDF/A-3
    with the XML embedded. The same input always gives the same bytes (reportlab's invariant
    mode, dated by the document), so the stored SHA-256 is reproducible.
    """
    return _Renderer(invoice, logo, locale, einvoice).render()
