"""E-invoices: XML generation per document (CII, UBL), the Factur-X PDF against the plain PDF of
the same document, and the official validation per document (for the test suite's budget).

    .venv/bin/python -m tests.bench.bench_einvoice [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

from functions.einvoice import build_document, render
from functions.pdf.facturx import facturx_xml
from functions.pdf.render import render_invoice_pdf
from tests.bench.common import Row, report
from tests.einvoice.factory import finalized
from tests.einvoice.validation import compile_all, validate

LINES = [
    {"description": f"Line {i}: consulting", "quantity": "3", "unit": "hour", "unit_price": "95.50"}
    for i in range(5)
]


def median_s(fn, n: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def interleaved(fns: dict, n: int, warmup: int = 5) -> dict[str, tuple[float, float]]:
    """``{name: (median wall s, median CPU s)}``, the functions called in turn each round, so
    that a change of the machine's load during the run weighs on all of them alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(n):
        for name, fn in fns.items():
            c = time.thread_time()
            t = time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.thread_time() - c)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in fns}


def rows(quick: bool = False) -> list[Row]:
    n = 30 if quick else 200
    invoice = finalized(LINES)
    data = invoice.model_dump(mode="json")
    out: list[Row] = []

    gen = {
        fmt: median_s(lambda f=fmt: render(build_document(invoice, f)), n) for fmt in ("cii", "ubl")
    }
    pdfs = interleaved(
        {
            "plain": lambda: render_invoice_pdf(data),
            "facturx": lambda: render_invoice_pdf(data, einvoice=facturx_xml(data)),
        },
        n,
    )
    plain, plain_cpu = pdfs["plain"]
    facturx, facturx_cpu = pdfs["facturx"]
    out.append(
        Row("einvoice", "CII XML per document (5 lines)", gen["cii"], plain, "plain PDF", unit="µs")
    )
    out.append(
        Row("einvoice", "UBL XML per document (5 lines)", gen["ubl"], plain, "plain PDF", unit="µs")
    )

    out.append(
        Row(
            "einvoice",
            "Factur-X PDF/A-3, one page",
            facturx,
            plain,
            "plain PDF, same document",
            target="≤ 1.5x, ≤ 8 ms",
            ok=facturx <= 1.5 * plain and facturx <= 0.008,
            note=(
                "CII written + embedded by reportlab at render time; measured in turn with the "
                f"plain one; CPU {facturx_cpu * 1000:.2f} ms vs {plain_cpu * 1000:.2f} ms "
                f"= {facturx_cpu / plain_cpu:.2f}x"
            ),
        )
    )

    for fmt in ("cii", "ubl", "xrechnung"):
        xml = render(build_document(invoice, fmt))
        t = time.perf_counter()
        compile_all(fmt)
        compiled = time.perf_counter() - t
        took = median_s(lambda x=xml, f=fmt: validate(x, f), max(10, n // 5), warmup=2)
        out.append(
            Row(
                "einvoice",
                f"validation per document, {fmt}",
                took,
                note=f"XSD + schematron (Saxon-HE); compiling the XSLTs once: {compiled:.2f} s",
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    return report(rows(args.quick))


if __name__ == "__main__":
    raise SystemExit(main())
