"""The daily overdue run over 10,000 invoices on the local SQLite store.

    .venv/bin/python tests/bench/bench_overdue.py [--count N] [--runs R]

Five accounts share ``count`` invoices (copies of real ones made by the services) in every
status, with due dates spread so that on the run's day some are not due yet, some just became
overdue and some are due a first or a third reminder. Reminders go to a real outbox folder
(one ``.eml`` per mail, every file fsynced before the run records it as sent), as on the local
server. The job commits a batch of invoices per transaction and syncs the outbox once per batch.

Rows (medians; each timed run starts from a fresh copy of the seeded database):

- baseline: the run's candidate scan alone (``store.query`` of every account's outstanding,
  past-due invoices, paged as the job pages);
- the first run of the day (marks overdue, claims and sends reminders, records them); its note
  gives the run's CPU time too, which says how much of the wall time was waiting (disk, or a
  busy machine);
- a second run the same day (finds nothing to do — the idempotency check's cost).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.bench.common import Row, report  # noqa: E402

TODAY = date(2027, 1, 10)
#: not due, not due, 3 days late (x4), 8 days late (level 1), 40 days late (level 3)
DUE_DATES = [
    "2027-01-20",
    "2027-01-15",
    "2027-01-07",
    "2027-01-07",
    "2027-01-07",
    "2027-01-07",
    "2027-01-02",
    "2026-12-01",
]


def _copy_db(src: Path, dst_dir: Path) -> Path:
    dst_dir.mkdir(parents=True)
    dst = dst_dir / "billow.db"
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def _scan(store: Any) -> int:
    from functions.overdue.job import PAGE_SIZE
    from storage_adapter import Filter, Sort

    seen, last = 0, None
    while True:
        filters = [
            Filter("status", "in", ["open", "sent", "overdue"]),
            Filter("kind", "eq", "invoice"),
            Filter("due_date", "lt", TODAY.isoformat()),
        ]
        if last is not None:
            filters.append(Filter("id", "gt", last))
        page = store.query(
            "invoices", account_id=None, filters=filters, sort=Sort("id", False), limit=PAGE_SIZE
        )
        seen += len(page.items)
        if len(page.items) < PAGE_SIZE:
            return seen
        last = page.items[-1].key


def rows(count: int = 10_000, runs: int = 3) -> list[Row]:
    from functions.mail.transport import OutboxMailer
    from functions.overdue.job import run_overdue
    from storage_adapter.sqlite import SqliteStore
    from tests.bench.bench_list import seed_account

    tmp = Path(tempfile.mkdtemp(prefix="billow-bench-overdue-"))
    seeded_path = tmp / "seed" / "billow.db"
    store = SqliteStore(seeded_path)
    accounts = 5
    for a in range(accounts):
        seed_account(store, f"acct_bench{a:02d}", count // accounts, due_dates=DUE_DATES)
    store.close()

    scan_store = SqliteStore(_copy_db(seeded_path, tmp / "scan"))
    candidates = _scan(scan_store)
    scan_times = []
    for _ in range(max(5, runs)):
        started = time.perf_counter()
        _scan(scan_store)
        scan_times.append(time.perf_counter() - started)
    scan_store.close()

    first_times, first_cpu, second_times, counts = [], [], [], {}
    for i in range(runs):
        path = _copy_db(seeded_path, tmp / f"run{i}")
        run_store = SqliteStore(path)
        services = {"mailer": OutboxMailer(tmp / f"run{i}" / "outbox")}
        started, cpu = time.perf_counter(), time.process_time()
        counts = run_overdue(run_store, TODAY, services)
        first_times.append(time.perf_counter() - started)
        first_cpu.append(time.process_time() - cpu)
        for _ in range(2):
            started = time.perf_counter()
            again = run_overdue(run_store, TODAY, services)
            second_times.append(time.perf_counter() - started)
            assert again["marked_overdue"] == 0 and again["reminders_sent"] == 0, again
        mails = len(list((tmp / f"run{i}" / "outbox").glob("*.eml")))
        assert mails == counts["reminders_sent"], (mails, counts)
        run_store.close()

    base = statistics.median(scan_times)
    first = statistics.median(first_times)
    scan = f"candidate scan ({candidates} of {count})"
    return [
        Row("overdue", scan, base, ratio=1.0, note="baseline"),
        Row(
            "overdue",
            "overdue run, first of the day",
            first,
            base,
            scan,
            note=(
                f"{counts['marked_overdue']} marked, {counts['reminders_sent']} reminders "
                f"(.eml), {first / count * 1e6:.0f} µs per invoice, "
                f"CPU {statistics.median(first_cpu):.1f} s"
            ),
        ),
        Row(
            "overdue",
            "overdue run, again the same day",
            statistics.median(second_times),
            base,
            scan,
            note="nothing sent, nothing changed",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    return report(rows(args.count, args.runs))


if __name__ == "__main__":
    raise SystemExit(main())
