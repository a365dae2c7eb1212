"""The mark across every page of a draft preview: a draft is not a document (no number, parties
and totals may still change), and a printed or forwarded preview must say so at a glance."""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

Color = tuple[float, float, float]


def draw_draft_mark(
    c: Canvas, page_w: float, page_h: float, text: str, font: str, color: Color
) -> None:
    """``text`` (e.g. "DRAFT") diagonally across the page centre, in a pale shade of ``color``.

    Drawn first, under the content, in an opaque pale colour rather than with transparency
    (which PDF/A-1 forbids), so it never hides a figure.
    """
    pale = tuple(1 - 0.16 * (1 - v) for v in color)
    size = min(page_w, page_h) * 0.22
    c.saveState()
    c.setFillColorRGB(*pale)
    c.setFont(font, size)
    c.translate(page_w / 2, page_h / 2)
    c.rotate(35)
    c.drawCentredString(0, -size / 3, text)
    c.restoreState()
