"""The EPC069-12 payment QR code: payload and symbol."""

from __future__ import annotations

from decimal import Decimal

import pytest
from reportlab.graphics.barcode.qrencoder import QR8bitByte, QRCode, QRErrorCorrectLevel

from functions.pdf.epc_qr import _codewords, _masked_symbols, _version_for, epc_payload, qr_matrix


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


@pytest.mark.parametrize(
    "payload",
    [
        "BCD\n002\n1\nSCT\nCOBADEFFXXX\nAcme GmbH\nDE89370400440532013000\nEUR1.00",
        "BCD\n002\n1\nSCT\n\nΑθηναϊκή Εταιρεία\nGR1601101250000000012300695\nEUR99.99\n\n\n"
        + "Rechnung " * 12,
        "x" * 300,  # version 10+: version information blocks, 16-bit length, many RS blocks
        "y" * 400,
    ],
)
def test_every_masked_symbol_equals_reportlabs(payload):
    """The fast mask derivation must give, for each mask, reportlab's own symbol."""
    version, symbols = _masked_symbols(payload)
    n = version * 4 + 17
    reference = QRCode(None, QRErrorCorrectLevel.M)
    reference.addData(QR8bitByte(payload))
    assert version == reference.calculate_version()
    assert _version_for(len(payload.encode())) == version
    assert _codewords(payload.encode(), version) == QRCode.createData(
        version, QRErrorCorrectLevel.M, [QR8bitByte(payload)]
    )
    for mask in range(8):
        q = QRCode(None, QRErrorCorrectLevel.M)
        q.addData(QR8bitByte(payload))
        q.version = q.calculate_version()
        q.makeImpl(False, mask)
        expected = [int("".join("1" if v else "0" for v in row), 2) for row in q.modules]
        assert symbols[mask] == expected, (version, mask)
    matrix = qr_matrix(payload)
    assert len(matrix) == n and all(len(row) == n for row in matrix)
    assert [int("".join("1" if v else "0" for v in row), 2) for row in matrix] in symbols


def _reference_penalty(matrix: list[str]) -> int:
    """ISO/IEC 18004 §7.8.3 written the slow, obvious way (strings and regular expressions)."""
    import re

    n = len(matrix)
    columns = ["".join(row[c] for row in matrix) for c in range(n)]
    lines = matrix + columns
    score = sum(len(run) - 2 for line in lines for run in re.findall(r"0{5,}|1{5,}", line))
    for r in range(n - 1):
        for c in range(n - 1):
            cell = matrix[r][c]
            if (
                matrix[r][c + 1] == cell
                and matrix[r + 1][c] == cell
                and matrix[r + 1][c + 1] == cell
            ):
                score += 3
    for line in lines:
        for pattern in ("10111010000", "00001011101"):
            score += 40 * len(re.findall(f"(?={pattern})", line))
    dark = sum(row.count("1") for row in matrix)
    score += 10 * (abs(dark * 20 // (n * n) - 10))
    return score


@pytest.mark.parametrize(
    "payload",
    ["short", "BCD\n002\n1\nSCT\n\nX\nDE89370400440532013000\nEUR1" + "ref " * 30, "z" * 250],
)
def test_mask_penalty_matches_the_standard_rules(payload):
    from functions.pdf.epc_qr import _masked_candidates, _penalty, _transpose

    version, rows, cols = _masked_candidates(payload)
    n = version * 4 + 17
    for mask in range(8):
        assert cols[mask] == _transpose(rows[mask], n)
        matrix = [format(r, f"0{n}b") for r in rows[mask]]
        assert _penalty(rows[mask], cols[mask], n) == _reference_penalty(matrix), mask
