"""The daily run with N recurring schedules due, on the local SQLite store.

    .venv/bin/python tests/bench/bench_recurring.py [--count N] [--runs R] [--quick]

Five accounts share ``count`` monthly schedules whose period starts on the run's day. Each
timed run starts from a fresh copy of the seeded database.

Rows (medians):

- baseline: ``invoice.create`` called ``count`` times through the service (the drafts the run
  issues, without the schedule and the idempotency marker);
- the daily run issuing ``count`` draft invoices (one commit per period: invoice, marker
  ``<schedule>:<period start>``, schedule advanced, timeline and webhook events);
- the same run again the same day (finds nothing due: what exactly-once costs on a rerun);
- the daily run issuing ``count / 5`` auto-advance invoices: finalized in the issuing commit,
  PDF rendered in-process, mailed to an outbox folder.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.bench.common import Row, report  # noqa: E402

TODAY = date(2027, 3, 1)
ACCOUNTS = 5
LINES = [
    {"description": "Hosting", "quantity": "1", "unit": "month", "unit_price": "49.00"},
    {"description": "Support hours", "quantity": "3", "unit": "hour", "unit_price": "85.00"},
]


def _copy_db(src: Path, dst_dir: Path) -> Path:
    dst_dir.mkdir(parents=True)
    dst = dst_dir / "billow.db"
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def _seed(path: Path, count: int, *, auto_advance: bool) -> list[dict[str, Any]]:
    """``count`` schedules due on TODAY over ACCOUNTS accounts; returns each account's ids."""
    from storage_adapter.sqlite import SqliteStore
    from tests.invoices.support import act, make_ctx, seed

    store = SqliteStore(path)
    parties = []
    for a in range(ACCOUNTS):
        ctx = make_ctx(
            store, account_id=f"acct_benchrec{a:02d}", now=datetime(2027, 2, 1, tzinfo=UTC)
        )
        ids = seed(ctx)
        parties.append({"ctx_account": ctx.account_id, **ids})
        for _ in range(count // ACCOUNTS):
            act(
                ctx,
                "recurring.create",
                **ids,
                lines=LINES,
                interval="month",
                start_date=TODAY.isoformat(),
                auto_advance=auto_advance,
            )
    store.close()
    return parties


def _daily(path: Path, outbox: Path) -> tuple[dict[str, Any], float, float]:
    from functions.daily.run import run_daily
    from functions.mail.transport import OutboxMailer
    from functions.pdf.store import render_and_store
    from storage_adapter.sqlite import SqliteStore

    store = SqliteStore(path)
    try:
        services = {"mailer": OutboxMailer(outbox), "pdf": render_and_store}
        started, cpu = time.perf_counter(), time.process_time()
        result = run_daily(store, TODAY, services)
        return result["jobs"]["recurring"], time.perf_counter() - started, time.process_time() - cpu
    finally:
        store.close()


def rows(count: int = 1000, runs: int = 3, quick: bool = False) -> list[Row]:
    from storage_adapter.sqlite import SqliteStore
    from tests.invoices.support import act, make_ctx

    if quick:
        count, runs = min(count, 200), 1
    count -= count % ACCOUNTS
    tmp = Path(tempfile.mkdtemp(prefix="billow-bench-recurring-"))
    drafts_db = tmp / "seed-drafts" / "billow.db"
    auto_db = tmp / "seed-auto" / "billow.db"
    parties = _seed(drafts_db, count, auto_advance=False)
    auto_count = max(ACCOUNTS, count // 5 - (count // 5) % ACCOUNTS)
    _seed(auto_db, auto_count, auto_advance=True)

    base_times, first_times, first_cpu, again_times, auto_times = [], [], [], [], []
    for i in range(runs):
        store = SqliteStore(_copy_db(drafts_db, tmp / f"base{i}"))
        started = time.perf_counter()
        for p in parties:
            ctx = make_ctx(store, account_id=p["ctx_account"])
            ids = {"entity_id": p["entity_id"], "client_id": p["client_id"]}
            for _ in range(count // ACCOUNTS):
                act(
                    ctx,
                    "invoice.create",
                    **ids,
                    lines=LINES,
                    period={"start": "2027-03-01", "end": "2027-03-31"},
                )
        base_times.append(time.perf_counter() - started)
        store.close()

        path = _copy_db(drafts_db, tmp / f"run{i}")
        counts, wall, cpu = _daily(path, tmp / f"run{i}" / "outbox")
        assert counts["issued"] == count, counts
        first_times.append(wall)
        first_cpu.append(cpu)
        again, wall, _ = _daily(path, tmp / f"run{i}" / "outbox")
        assert again["issued"] == 0, again
        again_times.append(wall)

        path = _copy_db(auto_db, tmp / f"auto{i}")
        counts, wall, _ = _daily(path, tmp / f"auto{i}" / "outbox")
        assert counts["issued"] == counts["finalized"] == counts["sent"] == auto_count, counts
        assert len(list((tmp / f"auto{i}" / "outbox").glob("*.eml"))) == auto_count
        auto_times.append(wall)

    base = statistics.median(base_times)
    first = statistics.median(first_times)
    auto = statistics.median(auto_times)
    baseline = f"invoice.create ×{count} (service)"
    return [
        Row("recurring", baseline, base, ratio=1.0, note="baseline"),
        Row(
            "recurring",
            f"daily run, {count} schedules due (drafts)",
            first,
            base,
            baseline,
            note=(
                f"{first / count * 1e6:.0f} µs per invoice, "
                f"CPU {statistics.median(first_cpu):.1f} s; one commit per period"
            ),
        ),
        Row(
            "recurring",
            "daily run again the same day",
            statistics.median(again_times),
            base,
            baseline,
            note="nothing due: nothing issued",
        ),
        Row(
            "recurring",
            f"daily run, {auto_count} auto-advance schedules due",
            auto,
            base,
            baseline,
            note=f"finalize + PDF + mail: {auto / auto_count * 1e3:.1f} ms per invoice",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    return report(rows(args.count, args.runs, args.quick))


if __name__ == "__main__":
    raise SystemExit(main())
