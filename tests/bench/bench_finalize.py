"""Finalize throughput, and the store transaction it is made of, on the local SQLite store.

    .venv/bin/python -m tests.bench.bench_finalize [--count N] [--clients C]

Rows (medians; ratios against the baseline measured in the same run — one raw ``sqlite3``
commit of a counter update plus one row insert, in WAL mode with ``synchronous=FULL``, the
least a durable gapless number can cost):

- the store transaction finalize commits: the next number of a series + the record + a
  timeline event (``bench_store`` has the plain record and counter figures);
- ``invoice.finalize`` through the service with the PDF left out (the art. 226 checks,
  numbering, freezing seller and buyer, one commit), and with the PDF rendered and stored;
- ``invoice.finalize`` over HTTP: ``C`` clients at once against a ``billow serve`` process,
  finalizing ``N`` drafts of one entity; the figure is invoices per second (the numbers are
  checked to be 1..N, gapless).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.bench.common import Row, fmt_time, report  # noqa: E402

RUNS = 200


def _commit_rows(tmp: Path, runs: int) -> list[Row]:
    """The raw ``sqlite3`` baseline and the store's finalize transaction, timed alternately in
    one loop so that both see the same disk (fsync times drift during a run)."""
    from storage_adapter.sqlite import SqliteStore

    conn = sqlite3.connect(tmp / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE c (name TEXT PRIMARY KEY, value INTEGER)")
    conn.execute("CREATE TABLE r (k TEXT PRIMARY KEY, data TEXT)")
    conn.execute("INSERT INTO c VALUES ('n', 0)")
    payload = "x" * 1500
    seq = itertools.count()

    def raw_commit() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE c SET value = value + 1 WHERE name = 'n'")
        conn.execute("INSERT INTO r VALUES (?, ?)", (f"k{next(seq)}", payload))
        conn.execute("COMMIT")

    store = SqliteStore(tmp / "store" / "billow.db")
    data = {"status": "open", "total": "119.00", "lines": [{"d": "x" * 100}] * 10}

    def finalize_commit() -> None:
        def run(tx: Any) -> None:
            n = tx.next_number("acct_b:ent_b:invoice:2026")
            key = f"inv_f{n}"
            tx.put("invoices", key, {**data, "number": n}, account_id="acct_b", expected_version=0)
            tx.append(f"timeline:{key}", {"type": "finalized", "data": {"number": n}})

        store.transaction(run)

    samples: dict[str, list[float]] = {"raw": [], "store": []}
    for i in range(runs + 5):
        for name, fn in (("raw", raw_commit), ("store", finalize_commit)):
            started = time.perf_counter()
            fn()
            if i >= 5:  # warm-up
                samples[name].append(time.perf_counter() - started)
    conn.close()
    store.close()
    raw, tx = statistics.median(samples["raw"]), statistics.median(samples["store"])
    return [
        Row("finalize", "raw sqlite3 commit (baseline)", raw, ratio=1.0, note="WAL, FULL"),
        Row("finalize", "store tx: next_number + put + append", tx, raw, "raw sqlite3 commit"),
    ]


def _service_rows(tmp: Path, runs: int, baseline: float) -> list[Row]:
    from functions.pdf.store import render_and_store
    from storage_adapter.sqlite import SqliteStore
    from tests.invoices.support import act, make_ctx, seed

    store = SqliteStore(tmp / "svc" / "billow.db")
    ctx = make_ctx(store, now=datetime.now(UTC))
    ids = seed(ctx)
    lines = [
        {"description": "Consulting", "quantity": "10", "unit": "hour", "unit_price": "100"},
        {"description": "Licence", "quantity": "1", "unit_price": "49.99"},
    ]

    def finalize_one() -> None:
        draft = act(ctx, "invoice.create", **ids, lines=lines)
        started = time.perf_counter()
        act(ctx, "invoice.finalize", invoice_id=draft["id"])
        timings.append(time.perf_counter() - started)

    def no_pdf(_store: Any, invoice: dict[str, Any], _logo: Any = None) -> dict[str, str]:
        return {"blob_key": "none", "sha256": "0" * 64, "filename": f"{invoice['number']}.pdf"}

    out = []
    for label, renderer, n in (
        ("invoice.finalize, PDF left out (service)", no_pdf, runs),
        ("invoice.finalize with PDF (service)", render_and_store, max(20, runs // 4)),
    ):
        ctx.services["pdf"] = renderer
        timings: list[float] = []
        for _ in range(n + 3):
            finalize_one()
        median = statistics.median(timings[3:])
        out.append(Row("finalize", label, median, baseline, "raw sqlite3 commit"))
        out[-1].note = f"{1 / median:,.0f} invoices/s on one thread"
    store.close()
    return out


def _http_row(tmp: Path, count: int, clients: int) -> Row:
    import requests

    from tests.hardening.support import Serve

    server = Serve(tmp / "http", tmp)
    try:
        key = server.sign_in("bench@example.com")
        entity = server.ok(
            "entity.create",
            key,
            name="Bench GmbH",
            address={"line1": "A 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
            vat_number="DE136695976",
            default_vat_rate="19",
            bank={"iban": "DE89370400440532013000"},
        )
        client = server.ok(
            "client.create",
            key,
            name="Kunde AG",
            address={"line1": "Ring 5", "postal_code": "80331", "city": "München", "country": "DE"},
        )
        lines = [{"description": "Work", "quantity": "3", "unit_price": "99.00"}]
        drafts = [
            server.ok(
                "invoice.create", key, entity_id=entity["id"], client_id=client["id"], lines=lines
            )["id"]
            for _ in range(count)
        ]
        local = threading.local()
        latencies: list[float] = []

        def finalize(draft: str) -> str:
            http = getattr(local, "http", None) or requests.Session()
            local.http = http
            started = time.perf_counter()
            res = http.post(
                f"{server.url}/api",
                json={"action": "invoice.finalize", "invoice_id": draft},
                headers={"Authorization": f"Bearer {key}"},
                timeout=300,
            )
            latencies.append(time.perf_counter() - started)
            assert res.status_code == 200, res.text
            return res.json()["number"]

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            numbers = list(pool.map(finalize, drafts))
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    assert sorted(int(n[-4:]) for n in numbers) == list(range(1, count + 1)), "numbering gap"
    rate = count / elapsed
    return Row(
        "finalize",
        f"invoice.finalize over HTTP, {clients} clients, {count} drafts",
        rate,
        unit="/s",
        note=(
            f"with PDF; median latency {fmt_time(statistics.median(latencies))}; "
            f"numbers 1..{count} gapless"
        ),
    )


def rows(count: int = 160, clients: int = 16, runs: int = RUNS) -> list[Row]:
    tmp = Path(tempfile.mkdtemp(prefix="billow-bench-finalize-"))
    os.environ.setdefault("BILLOW_MAIL_TRANSPORT", "outbox")
    out = _commit_rows(tmp, runs)
    out += _service_rows(tmp, runs, out[0].median or 0.0)
    out.append(_http_row(tmp, count, clients))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=160)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args(argv)
    return report(rows(args.count, args.clients, args.runs))


if __name__ == "__main__":
    raise SystemExit(main())
