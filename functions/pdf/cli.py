"""``billow pdf render``: PDFs of invoices and credit notes, in batch, on every core.

Two ways to name the documents:

- ``billow pdf render INVOICE.json... --out-dir DIR``: each file holds the JSON of
  ``invoice.get`` (or a list of them, or an ``invoice.list`` page with ``items``);
- ``billow pdf render --entity ENT [--issued-from D] [--issued-to D] --out-dir DIR``: every
  finalized document of that entity stored in ``--data-dir`` (the store ``billow serve``
  serves, or ``BILLOW_STORE_URL``) whose issue date is in the range — the end-of-month run.

Either way the seller's logo is read from the store (the blob the frozen seller's
``logo_blob`` names), so a PDF rendered here looks like the one the app offers. PDFs are
written as ``<number>.pdf``. Work is spread over a process pool (one process per core by
default: reportlab is pure Python, so threads would share one core), with a progress bar on
stderr; every failure is listed and the exit code is 1 when any document failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

#: One unit of work: ("file", path) or ("stored", invoice id).
Job = tuple[str, str]
#: (source, written file or None, error or None)
Result = tuple[str, str | None, str | None]

INVOICES = "invoices"
_store: Any = None


def _load(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh, parse_float=Decimal)
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(x, dict) for x in items):
        raise ValueError("expected an invoice object, a list of them, or {'items': [...]}")
    return items


def store_url(data_dir: str | None) -> str | None:
    """The store to read logos and documents from: ``--data-dir``'s SQLite file, else
    ``BILLOW_STORE_URL``, else ``.billow`` — None when that file does not exist (a folder is
    never created just to look into it)."""
    if data_dir is None and os.environ.get("BILLOW_STORE_URL"):
        return os.environ["BILLOW_STORE_URL"]
    db = Path(data_dir or os.environ.get("BILLOW_DATA_DIR") or ".billow") / "billow.db"
    return f"sqlite:///{db.resolve()}" if db.is_file() else None


def _worker_store(url: str | None) -> Any:
    """The store of this process (opened once per worker; None without one)."""
    global _store
    if url is None:
        return None
    if _store is None:
        from storage_adapter import open_store

        _store = open_store(url)
    return _store


def document_pdf(store: Any, invoice: dict[str, Any], locale: str | None) -> bytes:
    """The PDF of one document, its seller's logo read from ``store`` (if any); a finalized
    document's is a Factur-X with its CII inside, like the one the app stores."""
    from .facturx import facturx_xml
    from .render import render_invoice_pdf
    from .store import seller_logo

    logo = seller_logo(store, invoice) if store is not None else None
    return render_invoice_pdf(invoice, logo=logo, locale=locale, einvoice=facturx_xml(invoice))


def _write(out_dir: str, name: str, pdf: bytes) -> str:
    target = os.path.join(out_dir, name)
    tmp = target + f".{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(pdf)
    os.replace(tmp, target)
    return target


def _render_job(job: Job, out_dir: str, locale: str | None, url: str | None) -> list[Result]:
    """Render the documents of one job; one bad document never stops the others."""
    from .render import filename_for

    kind, ref = job
    store = _worker_store(url)
    if kind == "stored":
        rec = store.get(INVOICES, ref)
        if rec is None:
            return [(ref, None, "no such document in the store")]
        invoices = [{**rec.data, "version": rec.version}]
    else:
        try:
            invoices = _load(ref)
        except (OSError, ValueError) as exc:
            return [(ref, None, f"cannot read: {exc}")]
    results: list[Result] = []
    for index, invoice in enumerate(invoices):
        label = ref if len(invoices) == 1 else f"{ref}[{index}]"
        if kind == "stored":
            label = f"{invoice.get('number') or ref} ({ref})"
        try:
            pdf = document_pdf(store, invoice, locale)
            name = filename_for(invoice)
            if kind == "file" and len(invoices) == 1 and not invoice.get("number"):
                name = Path(ref).stem + ".pdf"
            results.append((label, _write(out_dir, name, pdf), None))
        except Exception as exc:  # reported, and the batch goes on
            results.append((label, None, f"{type(exc).__name__}: {exc}"))
    return results


def stored_documents(
    store: Any, entity_id: str, issued_from: date | None, issued_to: date | None
) -> list[str]:
    """Ids of the entity's finalized documents issued in the range, oldest number first."""
    from storage_adapter import Filter, Sort

    filters = [Filter("entity_id", "eq", entity_id), Filter("status", "ne", "draft")]
    if issued_from is not None:
        filters.append(Filter("issue_date", "gte", issued_from.isoformat()))
    if issued_to is not None:
        filters.append(Filter("issue_date", "lte", issued_to.isoformat()))
    ids: list[str] = []
    while True:
        page = store.query(
            INVOICES,
            account_id=None,
            filters=filters,
            sort=Sort("id", descending=False),
            limit=1000,
            offset=len(ids),
        )
        ids += [r.key for r in page.items]
        if len(page.items) < 1000:
            return ids


def render_jobs(
    jobs: list[Job],
    out_dir: str,
    *,
    workers: int | None = None,
    locale: str | None = None,
    url: str | None = None,
    progress: bool = False,
) -> Iterator[Result]:
    """Render ``jobs`` into ``out_dir`` with ``workers`` processes (default: every core),
    yielding results as they finish (a progress bar on stderr when ``progress``)."""
    from tqdm import tqdm

    os.makedirs(out_dir, exist_ok=True)
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    bar = tqdm(total=len(jobs), unit="doc", file=sys.stderr, disable=not progress, leave=True)
    try:
        if workers == 1:
            for job in jobs:
                yield from _render_job(job, out_dir, locale, url)
                bar.update()
            return
        from . import render  # noqa: F401 - load fonts once in the parent; forked workers inherit

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_render_job, job, out_dir, locale, url) for job in jobs]
            for future in as_completed(futures):
                try:
                    yield from future.result()
                except Exception as exc:  # a worker died (killed, out of memory)
                    yield ("?", None, f"worker failed: {type(exc).__name__}: {exc}")
                bar.update()
    finally:
        bar.close()


def render_files(
    paths: list[str], out_dir: str, *, jobs: int | None = None, locale: str | None = None
) -> list[Result]:
    """Render invoice JSON ``paths`` into ``out_dir`` (logos from the default store)."""
    work = [("file", p) for p in paths]
    return list(render_jobs(work, out_dir, workers=jobs, locale=locale, url=store_url(None)))


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="billow pdf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    render = sub.add_parser(
        "render", help="render invoice JSON files, or an entity's stored documents, to PDF"
    )
    render.add_argument("files", nargs="*", metavar="INVOICE.json")
    render.add_argument("--entity", help="render this entity's finalized documents from the store")
    render.add_argument("--issued-from", type=_parse_date, help="with --entity: YYYY-MM-DD")
    render.add_argument("--issued-to", type=_parse_date, help="with --entity: YYYY-MM-DD")
    render.add_argument("--data-dir", default=None, help="the store (default: .billow)")
    render.add_argument("--out-dir", default=".", help="folder for the PDFs (created)")
    render.add_argument("--jobs", type=int, default=None, help="processes (default: all cores)")
    render.add_argument("--locale", default=None, help="force a language (default: client's)")
    render.add_argument("--quiet", action="store_true", help="print only failures and a summary")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; ``argv`` may start with ``render`` or with the files (``render`` implied)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in ("render", "-h", "--help"):
        argv.insert(0, "render")
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.files) == bool(args.entity):
        parser.error("give INVOICE.json files or --entity (one of the two)")
    if not args.entity and (args.issued_from or args.issued_to):
        parser.error("--issued-from/--issued-to select stored documents: give --entity")
    url = store_url(args.data_dir)
    started = time.perf_counter()
    if args.entity:
        if url is None:
            print(
                "no store found: give --data-dir (where billow serve keeps its data)",
                file=sys.stderr,
            )
            return 2
        from storage_adapter import open_store

        store = open_store(url)
        try:
            ids = stored_documents(store, args.entity, args.issued_from, args.issued_to)
        finally:
            store.close()
        jobs: list[Job] = [("stored", i) for i in ids]
    else:
        jobs = [("file", p) for p in args.files]
    results = render_jobs(
        jobs, args.out_dir, workers=args.jobs, locale=args.locale, url=url, progress=not args.quiet
    )
    done = failed = 0
    for source, target, error in results:
        if error:
            failed += 1
            print(f"FAILED {source}: {error}", file=sys.stderr)
        else:
            done += 1
            if not args.quiet:
                print(f"{source} -> {target}")
    elapsed = time.perf_counter() - started
    print(f"{done} rendered, {failed} failed in {elapsed:.2f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
