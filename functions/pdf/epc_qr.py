"""EPC069-12 ("GiroCode", SEPA credit transfer) payment QR codes for the invoice PDF.

:func:`epc_payload` builds the text the banks' apps read; :func:`qr_pdf_ops` turns it into PDF
path operators. The symbol itself comes from zxing-cpp (a maintained C++ encoder, ~0.5 ms a
symbol; reportlab's pure-Python encoder takes ~12 ms): a standard level-M QR code in byte mode
(UTF-8, as EPC069-12 version 002 allows). zxing-cpp is imported on first use, so only the PDF
path pays for it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

_MAX_AMOUNT = Decimal("999999999.99")

#: A horizontal run of dark modules (zxing-cpp images: 0 = dark, 255 = light).
_DARK_RUN = re.compile(rb"\x00+")


def epc_payload(
    *,
    name: str,
    iban: str,
    amount: Decimal,
    bic: str | None = None,
    reference: str | None = None,
    text: str | None = None,
) -> str | None:
    """The EPC069-12 version 002 payload for a SEPA credit transfer, or None if none is possible.

    ``reference`` is put in the structured field when it is an ISO 11649 creditor reference
    (``RF..``), otherwise in the unstructured remittance text (the two are mutually exclusive).
    Returns None when the amount is not payable by QR (zero, negative, too large) or no IBAN.
    """
    iban = "".join((iban or "").split()).upper()
    if not iban or not name:
        return None
    if amount <= 0 or amount > _MAX_AMOUNT:
        return None
    structured = ""
    unstructured = ""
    ref = " ".join((reference or "").split())
    if ref:
        compact = ref.replace(" ", "").upper()
        if compact.startswith("RF") and len(compact) <= 25:
            structured = compact
        else:
            unstructured = ref[:140]
    elif text:
        unstructured = " ".join(text.split())[:140]
    lines = [
        "BCD",
        "002",
        "1",  # UTF-8
        "SCT",
        "".join((bic or "").split()).upper(),
        " ".join(name.split())[:70],
        iban,
        f"EUR{amount.quantize(Decimal('0.01'))}",
        "",  # purpose code
        structured,
        unstructured,
    ]
    # Trailing empty elements may be omitted; keep the payload minimal (smaller symbol).
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines)


def qr_modules(payload: str) -> tuple[int, bytes]:
    """(module count n, n*n bytes row by row, 0 = dark) of the level-M QR symbol of ``payload``.

    Raises ValueError when the payload does not fit in a QR code.
    """
    import zxingcpp  # C++ extension: paid by the PDF path only

    try:
        barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    except Exception as exc:  # zxing-cpp raises its own error types for oversize input
        raise ValueError(f"cannot encode the payload as a QR code: {exc}") from None
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    n, width = image.shape[0], image.shape[1]
    if n != width:
        raise ValueError(f"unexpected QR image shape {image.shape}")
    return n, memoryview(image).tobytes()


@lru_cache(maxsize=256)
def qr_pdf_ops(payload: str) -> tuple[int, str]:
    """(module count, PDF path operators filling the dark modules in module units).

    One rectangle per horizontal run of dark modules, y growing upwards. The caller scales
    the coordinate system to one unit per module; integer coordinates keep the content stream
    short and the modules seamless (one fill of one path).
    """
    n, cells = qr_modules(payload)
    parts = []
    for r in range(n):
        y = n - 1 - r
        for run in _DARK_RUN.finditer(cells, r * n, (r + 1) * n):
            parts.append(f"{run.start() - r * n} {y} {run.end() - run.start()} 1 re")
    return n, "\n".join(parts) + "\nf"
