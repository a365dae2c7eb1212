"""PDFs rendered on many threads at once are the PDFs rendered one at a time (issue 13).

``billow serve`` renders on its request threads, so the renderer's module-level caches (fonts,
text widths, logos, QR codes) must never let one document's content into another's. Rendering
is deterministic (reportlab's invariant mode), so byte equality with a serial render is exact.
"""

from __future__ import annotations

import io
import sys
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from functions.pdf.render import render_invoice_pdf
from tests.pdf.samples import make_invoice


def _logo(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 40), color).save(out, format="PNG")
    return out.getvalue()


def _documents() -> list[tuple[dict, bytes | None, str]]:
    docs = []
    for i in range(12):
        invoice = make_invoice(1 + i % 6, reverse_charge=i % 2 == 0, number=f"INV-2026-{i:04d}")
        invoice["seller"]["name"] = f"Seller number {i}"
        invoice["buyer"]["name"] = f"Buyer number {i} Łódź Αθήνα"
        invoice["seller"]["brand_color"] = f"#{(i * 20) % 256:02X}4E79"
        logo = _logo((i * 20 % 256, 80, 160)) if i % 3 else None
        docs.append((invoice, logo, ("en", "de", "sv", "fr", "pl", "el")[i % 6]))
    return docs


def test_concurrent_renders_equal_serial_renders() -> None:
    docs = _documents()
    serial = [render_invoice_pdf(inv, logo=logo, locale=loc) for inv, logo, loc in docs]
    assert len(set(serial)) == len(docs)  # every document differs from the others

    jobs = [i for _ in range(6) for i in range(len(docs))]  # each document 6 times, interleaved

    def render(i: int) -> tuple[int, bytes]:
        invoice, logo, locale = docs[i]
        return i, render_invoice_pdf(invoice, logo=logo, locale=locale)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so that a shared cursor shows up
    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(render, jobs))
    finally:
        sys.setswitchinterval(interval)
    wrong = [i for i, pdf in results if pdf != serial[i]]
    assert not wrong, f"{len(wrong)} of {len(results)} concurrent renders differ: {wrong[:10]}"
