"""``billow pdf render INVOICE.json... --out-dir DIR``: batch rendering on every core.

Each input file holds the JSON of ``invoice.get`` (or a list of them, or an ``invoice.list``
page with ``items``). PDFs are written as ``<number>.pdf`` into ``--out-dir``. Work is spread
over a process pool (one process per core by default): reportlab is pure Python, so threads
would share one core.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any


def _load(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh, parse_float=Decimal)
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(x, dict) for x in items):
        raise ValueError("expected an invoice object, a list of them, or {'items': [...]}")
    return items


def _render_file(job: tuple[str, str, str | None]) -> list[tuple[str, str | None, str | None]]:
    """Render every invoice of one file; returns (input, output or None, error or None)."""
    from .render import filename_for, render_invoice_pdf

    path, out_dir, locale = job
    results: list[tuple[str, str | None, str | None]] = []
    try:
        invoices = _load(path)
    except (OSError, ValueError) as exc:
        return [(path, None, f"cannot read: {exc}")]
    for index, invoice in enumerate(invoices):
        label = path if len(invoices) == 1 else f"{path}[{index}]"
        try:
            pdf = render_invoice_pdf(invoice, locale=locale)
            name = filename_for(invoice)
            if len(invoices) == 1 and not invoice.get("number"):
                name = Path(path).stem + ".pdf"
            target = os.path.join(out_dir, name)
            tmp = target + f".{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(pdf)
            os.replace(tmp, target)
            results.append((label, target, None))
        except Exception as exc:  # one bad invoice must not stop the batch
            results.append((label, None, f"{type(exc).__name__}: {exc}"))
    return results


def render_files(
    paths: list[str], out_dir: str, *, jobs: int | None = None, locale: str | None = None
) -> list[tuple[str, str | None, str | None]]:
    """Render ``paths`` into ``out_dir`` with ``jobs`` processes (default: every core)."""
    os.makedirs(out_dir, exist_ok=True)
    work = [(p, out_dir, locale) for p in paths]
    jobs = max(1, jobs or os.cpu_count() or 1)
    if jobs == 1 or len(work) == 1:
        return [r for job in work for r in _render_file(job)]
    from . import render  # noqa: F401 - load fonts once in the parent; forked workers inherit

    chunk = max(1, len(work) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool:
        return [r for batch in pool.map(_render_file, work, chunksize=chunk) for r in batch]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="billow pdf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    render = sub.add_parser("render", help="render invoice JSON files to PDF")
    render.add_argument("files", nargs="+", metavar="INVOICE.json")
    render.add_argument("--out-dir", required=True, help="folder for the PDFs (created)")
    render.add_argument("--jobs", type=int, default=None, help="processes (default: all cores)")
    render.add_argument("--locale", default=None, help="force a language (default: client's)")
    render.add_argument("--quiet", action="store_true", help="print only failures and a summary")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; ``argv`` may start with ``render`` or with the files (``render`` implied)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in ("render", "-h", "--help"):
        argv.insert(0, "render")
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    results = render_files(args.files, args.out_dir, jobs=args.jobs, locale=args.locale)
    failed = 0
    for source, target, error in results:
        if error:
            failed += 1
            print(f"FAILED {source}: {error}", file=sys.stderr)
        elif not args.quiet:
            print(f"{source} -> {target}")
    elapsed = time.perf_counter() - started
    print(f"{len(results) - failed} rendered, {failed} failed in {elapsed:.2f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
