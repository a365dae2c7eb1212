"""The EPC payment QR code as inline SVG (crisp at any zoom, no image request, no ``img-src``).

The symbol comes from zxing-cpp through :func:`functions.pdf.epc_qr.qr_modules`, as on the
PDF: one path of one-module-high runs, a 4-module quiet zone, black on white.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

from functions.pdf.epc_qr import qr_modules

QUIET = 4
_DARK_RUN = re.compile(rb"\x00+")


@lru_cache(maxsize=256)
def qr_svg(payload: str, *, title: str) -> str:
    """SVG markup of the QR symbol of ``payload``; ``title`` is its accessible name (escaped
    here: it is the only text in the markup). Raises ValueError when it does not fit."""
    n, cells = qr_modules(payload)
    size = n + 2 * QUIET
    runs = []
    for row in range(n):
        for run in _DARK_RUN.finditer(cells, row * n, (row + 1) * n):
            x = run.start() - row * n + QUIET
            runs.append(
                f"M{x} {row + QUIET}h{run.end() - run.start()}v1h-{run.end() - run.start()}z"
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'role="img" aria-labelledby="qr-title" shape-rendering="crispEdges" class="qr">'
        f'<title id="qr-title">{escape(title)}</title>'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )
