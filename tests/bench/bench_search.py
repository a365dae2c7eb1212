"""The universal search at 10,000 and 100,000 records of one account (SQLite), and its cost
in DynamoDB items read at 300 and 1,000 records (moto server).

    .venv/bin/python tests/bench/bench_search.py [--sizes 10000,100000]
        [--dynamo-sizes 300,1000] [--runs R] [--quick]

One account holds ``size`` records (nine in ten invoices, a third of them paid, plus quotes and
clients), bulk-loaded, so the store builds the facet rows once; a second account holds a tenth
as many. Rows (medians, per size):

- baseline: ``invoice.list``'s first page (the declared ``created_at`` index);
- ``search`` by one PO number (one record), by a 0.2 % amount range, by one due day, and the
  amount range and due month combined, with the facet rows each read (what it costs: what it
  finds, not what the account holds); and by text alone (``q`` without a condition reads the
  one ``t|…`` row of every record: the cost of the account, shown for comparison).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.bench.common import Row, report  # noqa: E402

ACCOUNT, OTHER = "acct_bench", "acct_other"
CLIENTS = ["Acme GmbH", "Birch AB", "Cedar SARL", "Dune BV", "Elm Oy"]
START = date(2026, 1, 1)


def _invoice(rnd: random.Random, i: int) -> dict[str, Any]:
    issued = START + timedelta(days=rnd.randrange(365))
    total = Decimal(rnd.randrange(1, 1_000_000)) / 100
    paid = rnd.random() < 0.33
    return {
        "id": f"inv_{i:07d}",
        "kind": "invoice",
        "status": "paid" if paid else "open",
        "number": f"F-{i:07d}",
        "currency": "EUR",
        "total": str(total),
        "amount_due": "0.00" if paid else str(total),
        "amount_paid": str(total) if paid else "0.00",
        "issue_date": issued.isoformat(),
        "due_date": (issued + timedelta(days=30)).isoformat(),
        "created_at": f"{issued.isoformat()}T09:00:00Z",
        "po_number": f"PO-{i:07d}",
        "client_name": rnd.choice(CLIENTS),
        "payments": [
            {
                "id": f"pay_{i:07d}",
                "amount": str(total),
                "paid_on": issued.isoformat(),
                "reference": f"BANK-{i:07d}",
            }
        ]
        if paid
        else [],
    }


def _quote(rnd: random.Random, i: int) -> dict[str, Any]:
    issued = START + timedelta(days=rnd.randrange(365))
    return {
        "id": f"quo_{i:07d}",
        "number": f"Q-{i:07d}",
        "currency": "EUR",
        "total": str(Decimal(rnd.randrange(1, 1_000_000)) / 100),
        "issue_date": issued.isoformat(),
        "valid_until": (issued + timedelta(days=30)).isoformat(),
        "created_at": f"{issued.isoformat()}T08:00:00Z",
        "client_name": rnd.choice(CLIENTS),
    }


def _client(rnd: random.Random, i: int) -> dict[str, Any]:
    return {
        "id": f"cli_{i:07d}",
        "name": f"{rnd.choice(CLIENTS)} {i}",
        "vat_number": f"DE{i:09d}",
        "created_at": "2026-01-01T06:00:00Z",
    }


def _seed(path: Path, size: int) -> None:
    from storage_adapter.sqlite import SqliteStore

    rnd = random.Random(size)
    store = SqliteStore(path)
    for account, n in ((ACCOUNT, size), (OTHER, size // 10)):
        base = 0 if account == ACCOUNT else 10_000_000
        invoices = n * 9 // 10
        quotes = n // 20
        store.bulk_load(
            "invoices",
            ((f"inv_{base + i:07d}", account, _invoice(rnd, base + i)) for i in range(invoices)),
        )
        store.bulk_load(
            "quotes",
            ((f"quo_{base + i:07d}", account, _quote(rnd, base + i)) for i in range(quotes)),
        )
        store.bulk_load(
            "clients",
            (
                (f"cli_{base + i:07d}", account, _client(rnd, base + i))
                for i in range(n - invoices - quotes)
            ),
        )
    store.close()


class _Counting:
    """The store, counting the facet rows ``aggregate`` returns."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.rows = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def aggregate(self, *args: Any, **kwargs: Any) -> Any:
        out = self._store.aggregate(*args, **kwargs)
        self.rows += len(out)
        return out


def _time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def rows(
    quick: bool = False,
    sizes: list[int] | None = None,
    runs: int = 7,
    dynamo_sizes: list[int] | None = None,
) -> list[Row]:
    from storage_adapter.sqlite import SqliteStore
    from tests.invoices.support import act, make_ctx

    sizes = sizes or ([10_000] if quick else [10_000, 100_000])
    out: list[Row] = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "billow.db"
            t = time.perf_counter()
            _seed(path, size)
            seeded = time.perf_counter() - t
            counting = _Counting(SqliteStore(path))
            ctx = make_ctx(counting, account_id=ACCOUNT)
            group = f"search {size:,}"
            base = _time(lambda: act(ctx, "invoice.list", limit=20), runs)
            out.append(
                Row(
                    group,
                    "invoice.list first page (baseline)",
                    base,
                    ratio=1.0,
                    note=f"baseline; bulk load + facet rows {seeded:.0f} s",
                )
            )
            target = size // 3
            searches = [
                *_searches(target),
                ("by text alone (q: no index, reads a row per record)", {"q": f"F-{target:07d}"}),
            ]
            for name, params in searches:
                counting.rows = 0
                res = act(ctx, "search", **params)
                read = counting.rows
                med = _time(lambda p=params: act(ctx, "search", **p), runs)
                out.append(
                    Row(
                        group,
                        f"search {name}",
                        med,
                        base,
                        "invoice.list",
                        note=f"{res['total']} found, {read} facet rows read",
                    )
                )
            counting.close()
    if dynamo_sizes is None:
        dynamo_sizes = [300] if quick else [300, 1_000]
    return out + (dynamo_rows(dynamo_sizes) if dynamo_sizes else [])


#: The searches whose DynamoDB cost is counted (the first four of :func:`rows`).
def _searches(target: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("by one PO number", {"identifiers": {"value": f"PO-{target:07d}"}}),
        (
            "by amount 5000.00–5020.00 (total)",
            {"amounts": {"min": "5000", "max": "5020", "label": "total"}},
        ),
        ("by one due day", {"dates": {"from": "2026-06-15", "to": "2026-06-15", "label": "due"}}),
        (
            "amount range and due month",
            {
                "amounts": {"min": "5000", "max": "5200", "label": "total"},
                "dates": {"from": "2026-06-01", "to": "2026-06-30", "label": "due"},
            },
        ),
    ]


def dynamo_rows(sizes: list[int]) -> list[Row]:
    """DynamoDB (moto server on loopback): items read (``ScannedCount`` of every Query) by each
    search, for one account of each size; counts, not times. The facet rows are items of their
    own beside each commit (``storage_adapter.dynamodb_deferred``), read by key range."""
    from storage_adapter.sqlite import SqliteStore
    from tests.invoices.support import act, make_ctx
    from tests.support.moto_server import new_dynamo_store, start_moto_server

    server, endpoint = start_moto_server()
    out: list[Row] = []
    try:
        for size in sizes:
            store = new_dynamo_store(endpoint)
            with tempfile.TemporaryDirectory() as tmp:  # the same records as on SQLite
                path = Path(tmp) / "billow.db"
                _seed(path, size)
                source = SqliteStore(path)
                t = time.perf_counter()
                for collection in ("invoices", "quotes", "clients"):
                    store.bulk_load(
                        collection,
                        (
                            (r.key, r.account_id, r.data)
                            for account in (ACCOUNT, OTHER)
                            for r in source.query(collection, account_id=account).items
                        ),
                    )
                seeded = time.perf_counter() - t
                source.close()
            ctx = make_ctx(store, account_id=ACCOUNT)
            group = f"search, DynamoDB {size:,}"
            for name, params in _searches(size // 3):
                before = store.items_read
                res = act(ctx, "search", **params)
                out.append(
                    Row(
                        group,
                        f"items read: search {name}",
                        float(store.items_read - before),
                        unit="items",
                        note=f"{res['total']} found",
                    )
                )
            out.append(Row(group, "(bulk-loaded)", seeded, unit="s", note="setup"))
    finally:
        server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dynamo-sizes", default="300,1000")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    dynamo = [int(s) for s in args.dynamo_sizes.split(",") if s]
    return report(
        rows(args.quick, sizes if not args.quick else None, args.runs, dynamo_sizes=dynamo)
    )


if __name__ == "__main__":
    raise SystemExit(main())
