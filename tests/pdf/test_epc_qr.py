"""The EPC069-12 payment QR code: payload, symbol (zxing-cpp) and the PDF path drawing it."""

from __future__ import annotations

from decimal import Decimal

import pytest
import zxingcpp

from functions.pdf.epc_qr import epc_payload, qr_modules, qr_pdf_ops


def test_payload_with_creditor_reference():
    payload = epc_payload(
        name="Nordlicht Studio GmbH",
        iban="DE89 3704 0044 0532 0130 00",
        bic="COBADEFFXXX",
        amount=Decimal("7996.00"),
        reference="RF18 5390 0754 7034",
    )
    assert payload == (
        "BCD\n002\n1\nSCT\nCOBADEFFXXX\nNordlicht Studio GmbH\nDE89370400440532013000\n"
        "EUR7996.00\n\nRF18539007547034"
    )


def test_payload_with_free_text_reference_and_no_bic():
    payload = epc_payload(
        name="Ünïcødé Café",
        iban="fr7630006000011234567890189",
        amount=Decimal("12.5"),
        reference="INV-2026-0042",
    )
    lines = payload.split("\n")
    assert lines[:8] == [
        "BCD",
        "002",
        "1",
        "SCT",
        "",
        "Ünïcødé Café",
        "FR7630006000011234567890189",
        "EUR12.50",
    ]
    assert lines[8:] == ["", "", "INV-2026-0042"]


@pytest.mark.parametrize("amount", ["0", "-10.00", "1000000000.00"])
def test_no_payload_for_amounts_a_bank_cannot_pay(amount):
    assert epc_payload(name="X", iban="DE89370400440532013000", amount=Decimal(amount)) is None


def test_no_payload_without_iban():
    assert epc_payload(name="X", iban="", amount=Decimal("1")) is None


def _decode_modules(n: int, cells: bytes, scale: int = 4, quiet: int = 4) -> list[str]:
    """Decode an n*n module matrix (0 = dark) with zxing-cpp, scaled and with a quiet zone."""
    side = (n + 2 * quiet) * scale
    image = bytearray(b"\xff" * side * side)
    for r in range(n):
        for c in range(n):
            if cells[r * n + c] == 0:
                for dy in range(scale):
                    start = ((r + quiet) * scale + dy) * side + (c + quiet) * scale
                    image[start : start + scale] = b"\x00" * scale
    view = memoryview(bytes(image)).cast("B", (side, side))
    return [b.text for b in zxingcpp.read_barcodes(view, formats=zxingcpp.BarcodeFormat.QRCode)]


@pytest.mark.parametrize(
    "payload",
    [
        "BCD\n002\n1\nSCT\nCOBADEFFXXX\nAcme GmbH\nDE89370400440532013000\nEUR1.00",
        "BCD\n002\n1\nSCT\n\nΑθηναϊκή Εταιρεία\nGR1601101250000000012300695\nEUR99.99\n\n\n"
        + "Rechnung " * 12,
    ],
)
def test_symbol_decodes_to_the_payload(payload):
    n, cells = qr_modules(payload)
    assert len(cells) == n * n and (n - 17) % 4 == 0  # a QR version's size: 21, 25, ...
    assert _decode_modules(n, cells) == [payload]


def test_pdf_ops_fill_exactly_the_dark_modules():
    """Rebuild the matrix from the rectangles the PDF draws: the same dark modules, one
    rectangle per horizontal run (no two rectangles touch on a row)."""
    payload = epc_payload(
        name="Nordlicht Studio GmbH",
        iban="DE89370400440532013000",
        amount=Decimal("7996.00"),
        reference="RF18539007547034",
    )
    n, cells = qr_modules(payload)
    count, ops = qr_pdf_ops(payload)
    assert count == n and ops.endswith("\nf")
    drawn = bytearray(b"\xff" * n * n)
    runs_by_row: dict[int, list[tuple[int, int]]] = {}
    for op in ops.splitlines()[:-1]:
        x, y, w, h, name = op.split()
        assert (name, h) == ("re", "1")
        row = n - 1 - int(y)
        runs_by_row.setdefault(row, []).append((int(x), int(w)))
        for c in range(int(x), int(x) + int(w)):
            assert drawn[row * n + c] == 0xFF, "modules drawn twice"
            drawn[row * n + c] = 0
    assert bytes(drawn) == bytes(0 if v == 0 else 0xFF for v in cells)
    for runs in runs_by_row.values():
        ends = {x + w for x, w in runs}
        assert not ends & {x for x, _w in runs}, "adjacent runs were not merged"


def test_too_long_payload_is_a_value_error():
    with pytest.raises(ValueError):
        qr_modules("x" * 5000)
