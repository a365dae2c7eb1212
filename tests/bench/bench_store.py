"""Store benchmark: record put/get and counter commits per second on each backend.

Run: ``.venv/bin/python tests/bench/bench_store.py [--runs 5] [--ops 200]``. Each figure is the
median of ``--runs`` runs; the DynamoDB column is moto in server mode on loopback (so it measures
the adapter plus HTTP and moto, not AWS). Ratios are against SQLite, measured in the same run.
Also times the SQLite list query of the invoice list (10,000 invoices with 5 lines each; text
search + status filter + numeric sort, first page of 20).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from storage_adapter import Filter, Sort, Store, Transaction, open_store
from tests.bench.common import Row, report

ACC = "acc-bench"


def _rate(ops: int, fn: Callable[[int], Any], runs: int) -> float:
    """Median operations per second over ``runs`` runs of ``ops`` operations."""
    rates = []
    for run in range(runs):
        start = time.perf_counter()
        for i in range(ops):
            fn(run * ops + i)
        rates.append(ops / (time.perf_counter() - start))
    return statistics.median(rates)


def measure(store: Store, *, ops: int, runs: int) -> dict[str, float]:
    """Operations per second of one store."""
    data = {"status": "open", "total": Decimal("119.00"), "client_name": "Müller GmbH"}

    def put(i: int) -> None:
        store.put("invoices", f"p{i}", data, account_id=ACC, expected_version=0)

    def get(i: int) -> None:
        assert store.get("invoices", f"p{i % (ops * runs)}") is not None

    def commit(tx: Transaction) -> None:
        n = tx.next_number("bench-series")
        tx.put("numbers", f"n{n}", {"number": n}, account_id=ACC, expected_version=0)

    return {
        "record put /s": _rate(ops, put, runs),
        "record get /s": _rate(ops, get, runs),
        "counter commit /s": _rate(ops, lambda i: store.transaction(commit), runs),
    }


def invoice_list_ms(store: Store, *, count: int = 10_000, runs: int = 15) -> float:
    """Median milliseconds of the invoice list's heaviest query on ``count`` invoices."""
    rnd = random.Random(1)
    names = ["Müller GmbH", "Acme Corp", "Große Straße AG", "Ærø Shipping", "Dupont SARL"]
    statuses = ["draft", "open", "sent", "paid", "overdue", "void"]

    def load(tx: Transaction, start: int) -> None:
        for i in range(start, min(start + 500, count)):
            lines = [
                {
                    "description": f"Consulting, block {j}",
                    "quantity": str(rnd.randint(1, 9)),
                    "unit_price": f"{rnd.randint(1, 500)}.{rnd.randint(0, 99):02d}",
                    "vat_rate": "19",
                }
                for j in range(5)
            ]
            tx.put(
                "invoices",
                f"inv_{i:06d}",
                {
                    "number": f"RE-2026-{i:05d}",
                    "client_name": f"{rnd.choice(names)} {i % 97}",
                    "client_email": f"billing{i % 300}@example.com",
                    "status": rnd.choice(statuses),
                    "total": f"{rnd.randint(1, 99999)}.{rnd.randint(0, 99):02d}",
                    "currency": "EUR",
                    "issue_date": f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                    "created_at": f"2026-11-{rnd.randint(1, 20):02d}T10:{i % 60:02d}:00Z",
                    "lines": lines,
                },
                account_id="acc-list",
                expected_version=0,
            )

    for start in range(0, count, 500):
        store.transaction(lambda tx, start=start: load(tx, start))
    filters = [
        Filter("number", "contains", "MÜLLER", also=("client_name", "client_email")),
        Filter("status", "in", ["open", "sent", "overdue"]),
    ]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        page = store.query(
            "invoices",
            account_id="acc-list",
            filters=filters,
            sort=Sort("total", descending=True, numeric=True),
            limit=20,
        )
        times.append((time.perf_counter() - start) * 1000)
        assert len(page.items) == 20
    return statistics.median(times)


def rows(*, ops: int = 200, runs: int = 5, aws: bool = True) -> list[Row]:
    """Per metric a SQLite row and, when ``aws``, a DynamoDB (moto) row with SQLite as its
    baseline; then the SQLite invoice list query."""
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = open_store(f"sqlite:///{tmp}/bench/billow.db")
        local = measure(sqlite, ops=ops, runs=runs)
        list_ms = invoice_list_ms(open_store(f"sqlite:///{tmp}/list/billow.db"))
        sqlite.close()
    remote: dict[str, float] = {}
    if aws:
        from tests.support.moto_server import new_dynamo_store, start_moto_server

        server, endpoint = start_moto_server()
        try:
            remote = measure(new_dynamo_store(endpoint), ops=max(ops // 4, 20), runs=runs)
        finally:
            server.stop()
    out = []
    for metric, value in local.items():
        name = metric.removesuffix(" /s")
        paired = metric in remote
        out.append(
            Row(
                "store",
                f"{name}, SQLite",
                value,
                ratio=1.0 if paired else None,
                note="baseline" if paired else "",
                unit="/s",
            )
        )
        if paired:
            out.append(
                Row(
                    "store",
                    f"{name}, DynamoDB (moto server)",
                    remote[metric],
                    value,
                    "SQLite",
                    note="moto over loopback HTTP, not AWS",
                    unit="/s",
                )
            )
    out.append(Row("store", "invoice list query (10k), SQLite", list_ms / 1000))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=200, help="operations per run (SQLite)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--no-aws", action="store_true", help="skip the moto/DynamoDB column")
    args = parser.parse_args(argv)
    return report(rows(ops=args.ops, runs=args.runs, aws=not args.no_aws))


if __name__ == "__main__":
    raise SystemExit(main())
