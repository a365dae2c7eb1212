"""EPC069-12 ("GiroCode", SEPA credit transfer) QR codes, drawn from reportlab's QR tables.

reportlab's :class:`~reportlab.graphics.barcode.qrencoder.QRCode` takes ~12 ms a symbol: it
builds the Reed-Solomon codewords with polynomial objects and rebuilds the whole symbol from
Python lists for each of the eight masks to score them cell by cell. That alone would blow the
PDF's time budget. Here the per-version constants (function patterns, module placement order,
mask and format-information bits — all taken from reportlab) are computed once per version,
the codewords come from a table-driven RS encoder, and the eight masked symbols are derived
with integer XORs on whole rows and scored with bit operations and C-level string scans.
For every mask the symbol is identical to ``QRCode.makeImpl(False, mask)`` (tested), so the
result is a standard level-M QR code in byte mode (UTF-8, as EPC069-12 version 002 allows).
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from functools import lru_cache

from reportlab.graphics.barcode.qrencoder import (
    QRCode,
    QRErrorCorrectLevel,
    QRRSBlock,
    QRUtil,
)

#: EPC069-12 requires error correction level M.
_ECL = QRErrorCorrectLevel.M

_MAX_AMOUNT = Decimal("999999999.99")


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


# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1, for Reed-Solomon codewords.
_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


@lru_cache(maxsize=32)
def _generator_logs(n: int) -> tuple[int, ...]:
    """Logs of the coefficients 1..n of the RS generator polynomial of degree ``n``."""
    g = [1]
    for i in range(n):
        nxt = [0] * (len(g) + 1)
        for j, c in enumerate(g):
            nxt[j] ^= c
            if c:
                nxt[j + 1] ^= _EXP[_LOG[c] + i]
        g = nxt
    return tuple(_LOG[c] for c in g[1:])


def _ec_codewords(data: list[int], n: int) -> list[int]:
    """The ``n`` error-correction codewords of one block (polynomial division remainder)."""
    glog = _generator_logs(n)
    ec = [0] * n
    for byte in data:
        factor = byte ^ ec.pop(0)
        ec.append(0)
        if factor:
            lf = _LOG[factor]
            for i in range(n):
                ec[i] ^= _EXP[lf + glog[i]]
    return ec


@lru_cache(maxsize=48)
def _blocks(version: int) -> tuple[tuple[int, int], ...]:
    """(total codewords, data codewords) of each RS block of ``version`` at level M."""
    return tuple((b.totalCount, b.dataCount) for b in QRRSBlock.getRSBlocks(version, _ECL))


def _version_for(length: int) -> int:
    """The smallest version whose level-M capacity holds ``length`` bytes in byte mode."""
    for version in range(1, 41):
        capacity = 8 * sum(d for _t, d in _blocks(version))
        if 4 + (8 if version < 10 else 16) + 8 * length <= capacity:
            return version
    raise ValueError("payload too long for a QR code")


def _codewords(data: bytes, version: int) -> list[int]:
    """Data and EC codewords, interleaved as placed in the symbol (ISO/IEC 18004 §7.6)."""
    blocks = _blocks(version)
    capacity = 8 * sum(d for _t, d in blocks)
    length_bits = 8 if version < 10 else 16
    bits = 0b0100
    nbits = 4
    bits = (bits << length_bits) | len(data)
    nbits += length_bits
    bits = (bits << (8 * len(data))) | int.from_bytes(data, "big")
    nbits += 8 * len(data)
    if nbits + 4 <= capacity:  # terminator
        bits <<= 4
        nbits += 4
    pad = -nbits % 8
    bits <<= pad
    nbits += pad
    stream = list(bits.to_bytes(nbits // 8, "big"))
    filler = (0xEC, 0x11)
    i = 0
    while len(stream) < capacity // 8:
        stream.append(filler[i % 2])
        i += 1
    data_blocks: list[list[int]] = []
    ec_blocks: list[list[int]] = []
    offset = 0
    for total, count in blocks:
        chunk = stream[offset : offset + count]
        offset += count
        data_blocks.append(chunk)
        ec_blocks.append(_ec_codewords(chunk, total - count))
    out: list[int] = []
    for group in (data_blocks, ec_blocks):
        for i in range(max(len(b) for b in group)):
            out.extend(b[i] for b in group if i < len(b))
    return out


@lru_cache(maxsize=16)
def _symbol_layout(
    version: int,
) -> tuple[list[list[int]], list[int], list[list[int]], list[tuple[int, int]], list[int]]:
    """Per-version constants, rows as ints (leftmost module = highest bit):

    data-area mask rows for each of the 8 masks, format-info position rows, format-info bit
    rows for each mask, the data module positions (col, row) in placement order, and the
    function patterns (finders, timing, alignment, version info) with their dark modules."""
    n = version * 4 + 17
    q = QRCode(version, _ECL)
    q.moduleCount = n
    positions = list(q._dataPosIterator())
    top = n - 1
    data_area = [0] * n
    for col, row in positions:
        data_area[row] |= 1 << (top - col)
    mask_rows: list[list[int]] = []
    for m in range(8):
        f = QRUtil.getMask(m)
        rows = [0] * n
        for col, row in positions:
            if f(row, col):
                rows[row] |= 1 << (top - col)
        mask_rows.append(rows)

    def _rows_where(pred) -> list[int]:
        rows = [0] * n
        for r, row in enumerate(q.modules):
            bits = 0
            for c, v in enumerate(row):
                if pred(v):
                    bits |= 1 << (top - c)
            rows[r] = bits
        return rows

    q.modules = [[None] * n for _ in range(n)]
    q.setupTypeInfo(False, 0)
    fmt_positions = _rows_where(lambda v: v is not None)
    fmt_rows: list[list[int]] = []
    for m in range(8):
        q.modules = [[False] * n for _ in range(n)]
        q.setupTypeInfo(False, m)
        fmt_rows.append(_rows_where(lambda v: v is True))
    # function patterns: reportlab's own symbol for all-zero data, data and format cleared
    q.dataCache = [0] * sum(t for t, _d in _blocks(version))
    q._dataPosList = positions
    q.makeImpl(False, 0)
    drawn = _rows_where(lambda v: bool(v))
    function_rows = [d & ~a & ~f for d, a, f in zip(drawn, data_area, fmt_positions, strict=True)]
    return mask_rows, fmt_positions, fmt_rows, positions, function_rows


def _transpose(rows: list[int], n: int) -> list[int]:
    """Columns of a symbol given as rows (both as ints, leftmost/topmost = highest bit)."""
    top = n - 1
    cols = [0] * n
    for r, bits in enumerate(rows):
        for c in range(n):
            if bits >> (top - c) & 1:
                cols[c] |= 1 << (top - r)
    return cols


@lru_cache(maxsize=16)
def _column_layout(version: int) -> tuple[list[list[int]], list[list[int]], list[int]]:
    """The per-version constants of :func:`_symbol_layout`, transposed: mask columns, format
    columns per mask, function-pattern columns. Scoring a mask needs rows and columns; XOR on
    pre-transposed constants is far cheaper than transposing each candidate symbol."""
    n = version * 4 + 17
    mask_rows, _fmt_positions, fmt_rows, _positions, function_rows = _symbol_layout(version)
    return (
        [_transpose(m, n) for m in mask_rows],
        [_transpose(f, n) for f in fmt_rows],
        _transpose(function_rows, n),
    )


def _penalty(rows: list[int], cols: list[int], n: int) -> int:
    """ISO/IEC 18004 mask penalty (rules 1-4) of a symbol given as row and column ints."""
    full = (1 << n) - 1
    score = 0
    # rule 1: runs of five or more modules of one colour, in rows and in columns
    for line in itertools.chain(rows, cols):
        for x in (line, ~line & full):
            w = x & x >> 1 & x >> 2 & x >> 3 & x >> 4
            if w:
                score += w.bit_count() + 2 * (w & ~(w >> 1)).bit_count()
    # rule 2: 2x2 blocks of one colour
    pair = (1 << (n - 1)) - 1
    blocks = 0
    for a, b in itertools.pairwise(rows):
        dark = a & b
        light = ~(a | b)
        blocks += ((dark & (dark >> 1)) & pair).bit_count()
        blocks += ((light & (light >> 1)) & pair).bit_count()
    score += 3 * blocks
    # rule 3: finder-like 1:1:3:1:1 with four light modules on one side, in rows and columns;
    # neither pattern can overlap itself, so str.count is exact
    spec = f"0{n}b"
    text = "|".join([format(line, spec) for line in itertools.chain(rows, cols)])
    score += 40 * (text.count("10111010000") + text.count("00001011101"))
    # rule 4: balance of dark and light
    dark_count = sum(r.bit_count() for r in rows)
    score += 10 * (abs(dark_count * 20 // (n * n) - 10))
    return score


def _masked_candidates(payload: str) -> tuple[int, list[list[int]], list[list[int]]]:
    """(version, rows of the symbol for mask 0..7, columns of the same symbols)."""
    data = payload.encode("utf-8")
    version = _version_for(len(data))
    mask_rows, _fmt_positions, fmt_rows, positions, function_rows = _symbol_layout(version)
    mask_cols, fmt_cols, function_cols = _column_layout(version)
    n = version * 4 + 17
    top = n - 1
    bitstring = "".join(f"{b:08b}" for b in _codewords(data, version))
    rows = [0] * n
    cols = [0] * n
    for (col, row), bit in zip(positions, bitstring, strict=False):
        if bit == "1":
            rows[row] |= 1 << (top - col)
            cols[col] |= 1 << (top - row)
    row_symbols = []
    col_symbols = []
    for m in range(8):
        row_symbols.append(
            [
                f | (d ^ x) | y
                for f, d, x, y in zip(function_rows, rows, mask_rows[m], fmt_rows[m], strict=True)
            ]
        )
        col_symbols.append(
            [
                f | (d ^ x) | y
                for f, d, x, y in zip(function_cols, cols, mask_cols[m], fmt_cols[m], strict=True)
            ]
        )
    return version, row_symbols, col_symbols


def _masked_symbols(payload: str) -> tuple[int, list[list[int]]]:
    """(version, [rows for mask 0..7]) of ``payload`` in byte mode, level M."""
    version, row_symbols, _cols = _masked_candidates(payload)
    return version, row_symbols


@lru_cache(maxsize=256)
def qr_rows(payload: str) -> tuple[int, tuple[int, ...]]:
    """(module count, rows as ints) of the level-M QR symbol of ``payload``, best mask."""
    version, row_symbols, col_symbols = _masked_candidates(payload)
    n = version * 4 + 17
    best = min(range(8), key=lambda m: _penalty(row_symbols[m], col_symbols[m], n))
    return n, tuple(row_symbols[best])


def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The QR symbol as rows of booleans (True = dark)."""
    n, rows = qr_rows(payload)
    return tuple(tuple(ch == "1" for ch in format(r, f"0{n}b")) for r in rows)


_DARK_RUN = re.compile("1+")


@lru_cache(maxsize=256)
def qr_pdf_ops(payload: str) -> tuple[int, str]:
    """(module count, PDF path operators filling the dark modules in module units).

    One rectangle per horizontal run of dark modules, y growing upwards. The caller scales
    the coordinate system to one unit per module; integer coordinates keep the content stream
    short and the modules seamless (one fill of one path).
    """
    n, rows = qr_rows(payload)
    parts = []
    for r, bits in enumerate(rows):
        y = n - 1 - r
        for m in _DARK_RUN.finditer(format(bits, f"0{n}b")):
            parts.append(f"{m.start()} {y} {m.end() - m.start()} 1 re")
    return n, "\n".join(parts) + "\nf"
