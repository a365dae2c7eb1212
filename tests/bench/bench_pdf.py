"""PDF rendering benchmark: medians after warm-up, each beside a floor measured in the same run.

    .venv/bin/python tests/bench/bench_pdf.py [--quick]

The floor is the least reportlab can do for the same document: a raw canvas with the same
embedded Roboto fonts drawing the same text (the lines our PDF contains, read back with pypdf)
with plain ``drawString`` calls, same page count and compression — no layout, no wrapping, no
colours, no QR code. The ratio says what the real layout costs on top of that.

Every timed render is of a *distinct* invoice (its own number, amount and so QR payload), so
no cache hides the per-invoice work.
"""

from __future__ import annotations

import argparse
import copy
import io
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas

from functions.pdf.render import BOLD, FONT, render_invoice_pdf
from tests.bench.common import Row, report
from tests.pdf.samples import make_invoice


def variant(base: dict, i: int) -> dict:
    """``base`` as a different invoice: own number, reference and amount due."""
    inv = copy.deepcopy(base)
    inv["number"] = f"INV-2026-{i:05d}"
    inv["payment_reference"] = f"INV-2026-{i:05d}"
    due = Decimal(inv["total"]) - Decimal(i % 997) / 100
    inv["amount_paid"] = str(Decimal(inv["total"]) - due)
    inv["amount_due"] = str(due)
    return inv


def text_of(pdf: bytes) -> list[list[str]]:
    """The text lines of each page of ``pdf``."""
    return [(p.extract_text() or "").splitlines() for p in PdfReader(io.BytesIO(pdf)).pages]


def floor_render(pages: list[list[str]]) -> bytes:
    """Raw canvas: same fonts, same text, same number of pages, nothing else."""
    buf = io.BytesIO()
    c = Canvas(buf, invariant=1, pageCompression=1, initialFontName=FONT)
    for lines in pages:
        y = 800.0
        for i, line in enumerate(lines):
            c.setFont(BOLD if i % 7 == 0 else FONT, 8.5)
            c.drawString(50, y, line)
            y -= 12
        c.showPage()
    c.save()
    return buf.getvalue()


def median_ms(fn, items: list, warmup: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms) of ``fn`` over ``items`` after ``warmup`` calls."""
    for item in items[:warmup]:
        fn(item)
    wall, cpu = [], []
    for item in items[warmup:]:
        c = time.thread_time()
        t = time.perf_counter()
        fn(item)
        wall.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


# --- batch on a process pool --------------------------------------------------------------------


def _render_batch(invoices: list[dict]) -> float:
    c = time.process_time()
    for inv in invoices:
        render_invoice_pdf(inv)
    return time.process_time() - c


def _floor_batch(texts: list[list[list[str]]]) -> float:
    c = time.process_time()
    for t in texts:
        floor_render(t)
    return time.process_time() - c


def _warm(_: int) -> int:
    render_invoice_pdf(variant(make_invoice(5), 99999))
    floor_render([["warm"]])
    return os.getpid()


def batch_seconds(pool: ProcessPoolExecutor, fn, work: list, workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds per worker) to run ``fn`` over ``work`` on the pool."""
    chunk = max(1, len(work) // (workers * 4))
    chunks = [work[i : i + chunk] for i in range(0, len(work), chunk)]
    t = time.perf_counter()
    cpu = sum(pool.map(fn, chunks))
    return time.perf_counter() - t, cpu / workers


def rows(quick: bool = False, workers: int = 2) -> list[Row]:
    """One row per case: our median beside the floor's, with the case's target. (CPU times
    are measured too, but the table shows the wall clock.)"""
    n_one, n_big, n_batch, reps = (60, 12, 300, 1) if quick else (300, 40, 1000, 3)

    one = make_invoice(5)
    big = make_invoice(150, reverse_charge=False)
    out = []

    def row(name: str, ours: float, floor: float, unit: str, target: float) -> Row:
        scale = 1000 if unit == "ms" else 1
        return Row(
            "pdf",
            name,
            ours / scale,
            floor / scale,
            "floor: raw canvas, same text",
            target=f"≤ {target:g} {unit}",
            ok=ours <= target,
            unit=unit,
        )

    # one-page invoice
    invoices = [variant(one, i) for i in range(n_one + 20)]
    ours = median_ms(render_invoice_pdf, invoices, 20)
    texts = [text_of(render_invoice_pdf(inv)) for inv in invoices]
    floor = median_ms(floor_render, texts, 20)
    out.append(row(f"one-page invoice ({len(texts[0])} p.)", ours[0], floor[0], "ms", 8.0))

    # 150 lines
    invoices = [variant(big, i) for i in range(n_big + 5)]
    ours = median_ms(render_invoice_pdf, invoices, 5)
    texts = [text_of(render_invoice_pdf(inv)) for inv in invoices[:6]]
    texts = texts + [texts[-1]] * (len(invoices) - len(texts))
    floor = median_ms(floor_render, texts, 5)
    out.append(row(f"150-line invoice ({len(texts[0])} p.)", ours[0], floor[0], "ms", 40.0))

    # 1,000 one-page invoices on N processes
    sample_text = text_of(render_invoice_pdf(variant(one, 1)))
    floor_work = [sample_text] * n_batch
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_warm, range(workers * 2)))
        ours_runs, floor_runs = [], []
        for rep in range(reps):
            batch = [variant(one, 200000 + rep * n_batch + i) for i in range(n_batch)]
            ours_runs.append(batch_seconds(pool, _render_batch, batch, workers))
            floor_runs.append(batch_seconds(pool, _floor_batch, floor_work, workers))
    label = f"{n_batch:,} one-page invoices, {workers} processes"
    ours_s = statistics.median(r[0] for r in ours_runs)
    floor_s = statistics.median(r[0] for r in floor_runs)
    out.append(row(label, ours_s, floor_s, "s", 5.0))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    return report(rows(args.quick, args.workers))


if __name__ == "__main__":
    raise SystemExit(main())
