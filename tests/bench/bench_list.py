"""``invoice.list`` on an account with 10,000 invoices in the local SQLite store.

    .venv/bin/python tests/bench/bench_list.py [--count N] [--runs R]

Rows (medians of R runs, after one warm-up), each with its ratio to the baseline measured in
the same run — a plain ``store.get`` of one invoice record:

- ``invoice.get`` through the service (read + JSON shape);
- ``invoice.list`` first page, default sort;
- ``invoice.list`` with ``q`` + ``status`` filter + sort by ``total`` (the target: ≤ 50 ms);
- the same with a ``fields`` projection.

The account is seeded with real invoices made by the services (drafts, finalized, paid, with
frozen seller and buyer) and copied with their own ids, numbers, clients and totals into
10,000 records, plus 2,000 invoices of another account that the queries must skip.
Exits non-zero when the target is missed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.bench.common import Row, report  # noqa: E402

TARGET_MS = 50.0
CLIENT_NAMES = [
    "Acme AG",
    "Globex GmbH",
    "Initech KG",
    "Umbrella SE",
    "Hooli GmbH",
    "Stark Industries",
    "Wayne Enterprises",
    "Tyrell Corp",
]
TARGET_ROW = "invoice.list q+status+sort total"
STATUSES = ["draft", "open", "sent", "overdue", "paid", "void", "open", "sent"]


def measure(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median wall-clock and median CPU time of ``fn`` in ms (after one warm-up). The CPU
    time is what this process spent, so it says more than the wall clock on a busy machine."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def templates(store: Any, account_id: str) -> tuple[Any, list[dict], dict[str, dict]]:
    """An entity, the clients and two real invoices (a draft, a finalized one) made by the
    services: ``(ctx, clients, {"draft": data, "final": data})``."""
    from tests.invoices.support import SELLER, act, make_ctx

    ctx = make_ctx(store, account_id=account_id)
    ctx.services["pdf"] = lambda *_a: {
        "blob_key": "pdf/none.pdf",
        "sha256": "0" * 64,
        "filename": "x.pdf",
    }
    entity = act(ctx, "entity.create", **SELLER)
    clients = [
        act(
            ctx,
            "client.create",
            name=name,
            email=f"ap@{name.split()[0].lower()}.example",
            address={"line1": "Weg 1", "postal_code": "53111", "city": "Bonn", "country": "DE"},
        )
        for name in CLIENT_NAMES
    ]
    lines = [
        {"description": "Consulting", "quantity": "3", "unit_price": "95"},
        {"description": "Travel", "unit_price": "120.40"},
    ]
    draft = act(
        ctx, "invoice.create", entity_id=entity["id"], client_id=clients[0]["id"], lines=lines
    )
    final = act(
        ctx, "invoice.create", entity_id=entity["id"], client_id=clients[0]["id"], lines=lines
    )
    act(ctx, "invoice.finalize", invoice_id=final["id"])
    made = {
        "draft": store.get("invoices", draft["id"]).data,
        "final": store.get("invoices", final["id"]).data,
    }
    return ctx, clients, made


def generate(
    clients: list[dict], made: dict[str, dict], count: int, due_dates: list[str] | None = None
):
    """``count`` invoice datas copied from the templates with their own ids, numbers,
    clients, statuses, totals and creation times."""
    from functions.services.common import new_id

    for i in range(count):
        status = STATUSES[i % len(STATUSES)]
        client = clients[(i // len(STATUSES)) % len(clients)]
        base = made["draft" if status == "draft" else "final"]
        total = (Decimal(i % 997) * Decimal("13.37")).quantize(Decimal("0.01"))
        inv_id = new_id("inv")
        data = {
            **base,
            "id": inv_id,
            "status": status,
            "client_id": client["id"],
            "client_name": client["name"],
            "client_email": client["email"],
            "number": None if status == "draft" else f"INV-2026-{i + 1:07d}",
            "total": str(total),
            "amount_due": "0.00" if status in ("paid", "void") else str(total),
            "created_at": f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        }
        if due_dates:
            data["due_date"] = due_dates[i % len(due_dates)]
        if base.get("buyer"):
            data["buyer"] = {**base["buyer"], "name": client["name"], "email": client["email"]}
        yield inv_id, data


def seed_account(store: Any, account_id: str, count: int, *, due_dates: list[str] | None = None):
    """``count`` invoices of one account, copied from real ones made by the services.

    Returns the context used. ``due_dates`` (optional) cycles through the due dates given.
    """
    ctx, clients, made = templates(store, account_id)

    def seed(tx: Any) -> None:
        for inv_id, data in generate(clients, made, count, due_dates):
            tx.put("invoices", inv_id, data, account_id=account_id, expected_version=0)

    store.transaction(seed)
    return ctx


def rows(count: int = 10_000, runs: int = 25) -> list[Row]:
    from storage_adapter.sqlite import SqliteStore
    from tests.invoices.support import ACCOUNT, OTHER_ACCOUNT, act

    tmp = Path(tempfile.mkdtemp(prefix="billow-bench-list-"))
    store = SqliteStore(tmp / "billow.db")
    started = time.perf_counter()
    ctx = seed_account(store, ACCOUNT, count)
    seed_account(store, OTHER_ACCOUNT, count // 5)
    seeded_s = time.perf_counter() - started

    one = act(ctx, "invoice.list", limit=1)["items"][0]["id"]
    query = {"q": "acme", "status": ["open", "overdue"], "sort_by": "total", "limit": 20}
    check = act(ctx, "invoice.list", **query)
    totals = [Decimal(i["total"]) for i in check["items"]]
    assert check["total"] > 0 and totals == sorted(totals, reverse=True)
    assert all(
        i["status"] in ("open", "overdue") and i["client_name"] == "Acme AG" for i in check["items"]
    )

    # measure() also takes the CPU time; the table shows the wall clock
    baseline = measure(lambda: store.get("invoices", one), runs)[0] / 1000
    projected = ["id", "number", "total"]
    measured = [
        ("invoice.get", lambda: act(ctx, "invoice.get", invoice_id=one)),
        ("invoice.list first page", lambda: act(ctx, "invoice.list")),
        (TARGET_ROW, lambda: act(ctx, "invoice.list", **query)),
        (
            "  same, fields=[id,number,total]",
            lambda: act(ctx, "invoice.list", fields=projected, **query),
        ),
    ]
    base_name = "store.get one invoice"
    result = [Row("list", f"{base_name} (baseline)", baseline, ratio=1.0)]
    for name, fn in measured:
        result.append(Row("list", name, measure(fn, runs)[0] / 1000, baseline, base_name))
        if name == TARGET_ROW:
            result[-1].target = f"≤ {TARGET_MS:g} ms"
            result[-1].ok = result[-1].median * 1000 <= TARGET_MS
            result[-1].note = f"{check['total']} matches"
    result.append(
        Row("list", f"(seeded {count} + {count // 5} invoices)", seeded_s, note="setup, one run")
    )
    store.close()
    scale = os.environ.get("BILLOW_BENCH_SCALE", "")
    if scale:  # `python -m tests.bench --scale`
        sizes = SCALES if scale == "1" else tuple(int(x) for x in scale.split(",") if x)
        result += scale_rows(sizes)
        result += dynamo_rows()
    return result


#: ``--scale`` sizes and the targets at the largest (ms): the row should be flat across sizes.
SCALES = (10_000, 100_000, 1_000_000)
SCALE_TARGETS = {
    "list first page": 5.0,
    "q+status+sort total": 50.0,
    "report.summary": 5.0,
    "daily run, nothing due": 50.0,
}


def scale_rows(sizes: tuple[int, ...] = SCALES, runs: int = 15) -> list[Row]:
    """SQLite at each size (one account; a second account of size/10 the queries skip):
    list first page, q + status + sort by total, report.summary, the daily run with nothing
    due. Rows are bulk-loaded (``SqliteStore.bulk_load``) from real invoices."""
    from datetime import date

    from functions.overdue.job import run_overdue
    from storage_adapter.sqlite import SqliteStore
    from tests.invoices.support import ACCOUNT, OTHER_ACCOUNT, act

    result: list[Row] = []
    for size in sizes:
        tmp = Path(tempfile.mkdtemp(prefix=f"billow-bench-scale-{size}-"))
        store = SqliteStore(tmp / "billow.db")
        ctx, clients, made = templates(store, ACCOUNT)
        _, oclients, omade = templates(store, OTHER_ACCOUNT)
        future = ["2027-03-01", "2027-04-15", "2027-06-30"]  # nothing falls due before
        started = time.perf_counter()

        def rows_of(account, cl, md, n):
            for key, data in generate(cl, md, n, future):
                yield key, account, data

        store.bulk_load(
            "invoices",
            itertools.chain(
                rows_of(ACCOUNT, clients, made, size),
                rows_of(OTHER_ACCOUNT, oclients, omade, size // 10),
            ),
        )
        seeded_s = time.perf_counter() - started
        query = {"q": "acme", "status": ["open", "overdue"], "sort_by": "total", "limit": 20}
        check = act(ctx, "invoice.list", **query)
        totals = [Decimal(i["total"]) for i in check["items"]]
        assert check["total"] > 0 and totals == sorted(totals, reverse=True)
        first = act(ctx, "invoice.list")
        assert first["total"] == size + 2, first["total"]  # and the two templates
        daily = run_overdue(store, date(2026, 12, 1), {"mailer": None})
        assert daily["checked"] == 0, daily
        measured = [
            ("list first page", lambda: act(ctx, "invoice.list"), ""),
            (
                "q+status+sort total",
                lambda: act(ctx, "invoice.list", **query),
                f"{check['total']} matches",
            ),
            ("report.summary", lambda: act(ctx, "report.summary"), ""),
            (
                "daily run, nothing due",
                lambda: run_overdue(store, date(2026, 12, 1), {"mailer": None}),
                "",
            ),
        ]
        for name, fn, note in measured:
            wall, cpu = measure(fn, runs)
            note = f"CPU {cpu:.2f} ms" + (f"; {note}" if note else "")
            row = Row("scale", f"{name} @ {size:,}", wall / 1000, note=note)
            target = SCALE_TARGETS[name]
            row.target = f"≤ {target:g} ms"
            row.ok = row.median * 1000 <= target
            result.append(row)
        result.append(
            Row(
                "scale",
                f"(bulk-loaded {size:,} + {size // 10:,})",
                seeded_s,
                unit="s",
                note="setup, one run",
            )
        )
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return result


DYNAMO_SIZES = (100, 10_000, 100_000)


def dynamo_rows(sizes: tuple[int, ...] = DYNAMO_SIZES) -> list[Row]:
    """DynamoDB (moto server on loopback): items read (``ScannedCount`` of the responses) by a
    list's first page, a status filter sorted by total, a ``q`` search and ``report.summary``,
    for one account of each size. Counts, not times (moto's speed says nothing about AWS)."""
    from tests.invoices.support import ACCOUNT, act
    from tests.support.moto_server import new_dynamo_store, start_moto_server

    server, endpoint = start_moto_server()
    result: list[Row] = []
    try:
        for size in sizes:
            store = new_dynamo_store(endpoint)
            ctx, clients, made = templates(store, ACCOUNT)
            started = time.perf_counter()
            store.bulk_load(
                "invoices",
                ((k, ACCOUNT, d) for k, d in generate(clients, made, size, ["2027-03-01"])),
                # the q search's suffix rows; the universal search's: measured in bench_search
                deferred_rows=frozenset({"_qs"}),
            )
            seeded_s = time.perf_counter() - started
            for name, params in (
                ("list first page", {}),
                (
                    "status in (open, overdue) by total",
                    {"status": ["open", "overdue"], "sort_by": "total"},
                ),
                (
                    "q=acme + status, by total",
                    {"q": "acme", "status": ["open", "overdue"], "sort_by": "total"},
                ),
                ("q=initech, newest first", {"q": "initech"}),
                ("q=INV-2026-00001 (numbers)", {"q": "INV-2026-00001"}),
                ("report.summary", None),
            ):
                before = store.items_read
                if params is None:
                    act(ctx, "report.summary")
                    note = ""
                else:
                    got = act(ctx, "invoice.list", limit=20, **params)
                    note = f"{got['total']:,} matches"
                read = store.items_read - before
                result.append(
                    Row(
                        "dynamo",
                        f"items read: {name} @ {size:,}",
                        float(read),
                        unit="items",
                        note=note,
                    )
                )
            result.append(
                Row("dynamo", f"(bulk-loaded {size:,})", seeded_s, unit="s", note="setup")
            )
    finally:
        server.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument(
        "--scale",
        nargs="?",
        const=",".join(map(str, SCALES)),
        default=None,
        help="SQLite at 10k, 100k and 1M invoices (or the sizes given: --scale 10000,100000)",
    )
    parser.add_argument(
        "--dynamo",
        nargs="?",
        const=",".join(map(str, DYNAMO_SIZES)),
        default=None,
        help="items read on DynamoDB (moto) at 100, 10k, 100k invoices (or the sizes given)",
    )
    args = parser.parse_args(argv)
    if args.dynamo:
        return report(dynamo_rows(tuple(int(x) for x in args.dynamo.split(",") if x)))
    if args.scale:
        sizes = tuple(int(x) for x in args.scale.split(",") if x)
        return report(scale_rows(sizes, min(args.runs, 15)))
    return report(rows(args.count, args.runs))


if __name__ == "__main__":
    raise SystemExit(main())
