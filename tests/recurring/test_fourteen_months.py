"""Must show (issue 20): `billow daily` driven over 14 simulated months on a real SQLite data
directory — runs on irregular days, reruns on the same day, a run SIGKILLed half-way (right
after an invoice was committed, before it was mailed) and 10 days of downtime — issues exactly
one invoice per period of every schedule, with gapless numbers, and mails each issued invoice
once.

The kill is deterministic: the run is started through ``pausing_daily.py``, which makes it write
a signal file after its first committed invoice and wait; the test waits for that file, then
kills.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import act, make_ctx, seed

pytestmark = pytest.mark.slow

BILLOW = [sys.executable, "-m", "infra.cli"]
FIRST_DAY = date(2026, 12, 1)
LAST_DAY = date(2028, 1, 31)
KILL_DAY = date(2027, 6, 1)
DOWN_FROM, DOWN_TO = date(2027, 9, 20), date(2027, 10, 1)  # no run on the 10 days between
RERUN_DAYS = {date(2026, 12, 31), date(2027, 3, 1), date(2027, 10, 1), date(2028, 1, 31)}
LINES = [{"description": "Retainer", "quantity": "1", "unit_price": "250"}]


def month_ends() -> list[str]:
    return [
        "2026-12-31",
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
        "2027-05-31",
        "2027-06-30",
        "2027-07-31",
        "2027-08-31",
        "2027-09-30",
        "2027-10-31",
        "2027-11-30",
        "2027-12-31",
        "2028-01-31",
    ]


def run_days() -> list[date]:
    """Irregular days from the first to the last, with the downtime gap."""
    days, day, steps, i = [], FIRST_DAY, [1, 9, 13, 6, 17, 4, 11], 0
    while day < LAST_DAY:
        if not DOWN_FROM < day < DOWN_TO:
            days.append(day)
        day += timedelta(days=steps[i % len(steps)])
        i += 1
    days += [KILL_DAY, DOWN_FROM, DOWN_TO, LAST_DAY, *RERUN_DAYS]
    return sorted(set(days))


def daily(data_dir: Path, day: date, **env: str) -> dict[str, Any]:
    out = subprocess.run(
        [*BILLOW, "daily", "--today", day.isoformat(), "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def killed_run(data_dir: Path, day: date, signal_file: Path) -> None:
    """A run stopped by SIGKILL right after its first invoice was committed."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("pausing_daily.py")),
            "1",
            str(signal_file),
            *["daily", "--today", day.isoformat(), "--data-dir", str(data_dir)],
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not signal_file.exists():  # the run writes it at the pause, then waits
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"the run ended before pausing (exit {proc.returncode})")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def test_fourteen_months_of_daily_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "billow"
    data_dir.mkdir()
    store = SqliteStore(data_dir / "billow.db")
    ctx = make_ctx(store)
    ids = seed(ctx)
    schedules = {
        "month_end": act(
            ctx,
            "recurring.create",
            **ids,
            lines=LINES,
            interval="month",
            start_date="2026-12-31",
            auto_advance=True,
        ),
        "monthly": act(
            ctx,
            "recurring.create",
            **ids,
            lines=LINES,
            interval="month",
            start_date="2026-12-01",
            auto_advance=True,
        ),
        "weekly_drafts": act(
            ctx, "recurring.create", **ids, lines=LINES, interval="week", start_date="2026-12-07"
        ),
        "quarterly_3": act(
            ctx,
            "recurring.create",
            **ids,
            lines=LINES,
            interval="quarter",
            start_date="2027-01-15",
            count=3,
            auto_advance=True,
        ),
    }
    store.close()

    reruns = []
    for day in run_days():
        if day == KILL_DAY:
            before = markers(data_dir)
            killed_run(data_dir, day, tmp_path / "paused")
            after = markers(data_dir)
            assert len(after) == len(before) + 1  # one period committed, then killed
        first = daily(data_dir, day)
        assert not first["errors"], first
        if day == KILL_DAY:  # the rest of that day's periods, and the unsent one is sent
            assert first["jobs"]["recurring"]["issued"] >= 1
            assert all(m["status"] != "to_send" for m in markers(data_dir).values())
            assert markers(data_dir, "recurring_unsent") == {}
        if day in RERUN_DAYS:
            reruns.append(daily(data_dir, day)["jobs"]["recurring"])
    assert reruns and all(r["issued"] == 0 and r["sent"] == 0 for r in reruns)

    store = SqliteStore(data_dir / "billow.db")
    try:
        ctx = make_ctx(store)
        invoices = []
        page = 1
        while True:
            listed = act(ctx, "invoice.list", limit=100, page=page)
            invoices += listed["items"]
            if page >= listed["pages"]:
                break
            page += 1
        by_schedule: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for invoice in invoices:
            by_schedule[invoice["recurring_id"]].append(invoice)

        weekly = []
        day = date(2026, 12, 7)
        while day <= LAST_DAY:
            weekly.append(day.isoformat())
            day += timedelta(days=7)
        expected = {
            "month_end": month_ends(),
            "monthly": [
                f"{y}-{m:02d}-01" for y, m in [(2026, 12)] + [(2027, m) for m in range(1, 13)]
            ]
            + ["2028-01-01"],
            "weekly_drafts": weekly,
            "quarterly_3": ["2027-01-15", "2027-04-15", "2027-07-15"],
        }
        for name, rec in schedules.items():
            starts = [i["period"]["start"] for i in by_schedule[rec["id"]]]
            assert Counter(starts) == Counter(expected[name]), name  # once each, none missing
            for invoice in by_schedule[rec["id"]]:
                start = date.fromisoformat(invoice["period"]["start"])
                assert invoice["period"]["end"] < expected_next(expected[name], start, rec)
        assert len(invoices) == sum(len(v) for v in expected.values())

        # the month-end schedule's periods: Jan 31 → Feb 28 → Mar 31, each ending the day before
        month_end = sorted(by_schedule[schedules["month_end"]["id"]], key=period_start)
        assert [i["period"] for i in month_end[1:3]] == [
            {"start": "2027-01-31", "end": "2027-02-27"},
            {"start": "2027-02-28", "end": "2027-03-30"},
        ]

        drafts = by_schedule[schedules["weekly_drafts"]["id"]]
        assert {i["status"] for i in drafts} == {"draft"} and all(not i["number"] for i in drafts)

        # gapless numbers per year, in the order of issue
        finalized = [i for i in invoices if i["number"]]
        assert len(finalized) == 14 + 14 + 3
        by_year: dict[str, list[int]] = defaultdict(list)
        for invoice in finalized:
            _, year, seq = invoice["number"].split("-")
            by_year[year].append(int(seq))
            assert invoice["issue_date"][:4] == year
        for year, seqs in by_year.items():
            assert sorted(seqs) == list(range(1, len(seqs) + 1)), year
        ordered = sorted(finalized, key=lambda i: i["number"])
        assert [i["issue_date"] for i in ordered] == sorted(i["issue_date"] for i in ordered)

        # each finalized invoice mailed exactly once (reminders aside)
        mails = [
            BytesParser(policy=policy.default).parsebytes(f.read_bytes())
            for f in (data_dir / "outbox").glob("*.eml")
        ]
        invoice_mails = Counter(
            m["X-Billow-Invoice"] for m in mails if m["X-Billow-Reminder-Level"] is None
        )
        assert invoice_mails == Counter(i["id"] for i in finalized)

        # the quarterly schedule ended after its third period; the others go on
        final = {n: act(ctx, "recurring.get", recurring_id=r["id"]) for n, r in schedules.items()}
        assert (
            final["quarterly_3"]["status"] == "ended" and final["quarterly_3"]["next_date"] is None
        )
        assert final["month_end"]["next_date"] == "2028-02-29"
        assert final["monthly"]["next_date"] == "2028-02-01"
        assert final["weekly_drafts"]["issued_count"] == len(weekly)
    finally:
        store.close()


def markers(data_dir: Path, collection: str = "recurring_issues") -> dict[str, dict[str, Any]]:
    """The issue markers (``<schedule>:<period start>``) in the store (or the unsent ones)."""
    store = SqliteStore(data_dir / "billow.db")
    try:
        return {r.key: r.data for r in store.query(collection, account_id=None).items}
    finally:
        store.close()


def period_start(invoice: dict[str, Any]) -> str:
    return invoice["period"]["start"]


def expected_next(starts: list[str], start: date, rec: dict[str, Any]) -> str:
    """The day after the period of ``start`` ends: the next start (or any day far enough)."""
    later = [s for s in starts if s > start.isoformat()]
    return later[0] if later else "9999-12-31"
