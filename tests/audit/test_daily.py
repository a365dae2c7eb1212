"""The daily run (item 4): ``billow daily`` (alias ``billow overdue``), run by ``billow serve``
at start and at 07:00 UTC; idempotent across reruns, concurrent runs and a crash half-way; a
missed day is caught up with one reminder of the highest level due."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from functions.daily.run import last_completed, run_daily
from functions.mail.transport import OutboxMailer
from storage_adapter.sqlite import SqliteStore
from tests.hardening.support import REPO, Serve, billow_command
from tests.invoices.support import CLIENT, SELLER, act, make_ctx


def _billow(*args: str, env_extra: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLOW_")}
    env.update({"PYTHONPATH": str(REPO), "BILLOW_MAIL_TRANSPORT": "outbox"})
    env.update(env_extra or {})
    return subprocess.Popen(
        [*billow_command(), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _overdue_invoices(data_dir: Path, count: int, due: date) -> list[dict]:
    """``count`` finalized invoices of distinct clients, due on ``due``."""
    store = SqliteStore(data_dir / "billow.db", data_dir / "blobs")
    ctx = make_ctx(store, now=datetime.combine(due - timedelta(days=14), datetime.min.time(), UTC))
    entity = act(ctx, "entity.create", **SELLER)
    made = []
    for i in range(count):
        client = act(ctx, "client.create", **{**CLIENT, "email": f"ap{i}@kunde.example"})
        draft = act(
            ctx,
            "invoice.create",
            entity_id=entity["id"],
            client_id=client["id"],
            due_date=due.isoformat(),
            lines=[{"description": "Work", "quantity": "1", "unit_price": "100"}],
        )
        made.append(act(ctx, "invoice.finalize", invoice_id=draft["id"]))
    store.close()
    return made


def _outbox_subjects(data_dir: Path) -> Counter[str]:
    subjects: Counter[str] = Counter()
    for path in (data_dir / "outbox").glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        subjects[str(msg["Subject"])] += 1
    return subjects


def _reminded(subjects: Counter[str], invoices: list[dict]) -> dict[str, int]:
    return {
        inv["number"]: sum(n for s, n in subjects.items() if inv["number"] in s) for inv in invoices
    }


# --- a mail server that takes two mails and then hangs ----------------------------------------


class _Stalling:
    """Accepts ``accept`` messages, then holds the next ones until released (then refuses
    them: a mail in flight when its sender died never arrives)."""

    def __init__(self, accept: int) -> None:
        self.accept = accept
        self.received: list[bytes] = []
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if len(self.received) >= self.accept and not self.release.is_set():
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 try again later"
        self.received.append(envelope.original_content or envelope.content)
        return "250 Message accepted"


@pytest.fixture
def stalling_smtp():
    from aiosmtpd.controller import Controller

    class Loopback(Controller):
        def __init__(self, handler) -> None:
            self._sock = socket.socket()
            self._sock.bind(("127.0.0.1", 0))
            super().__init__(handler, hostname="127.0.0.1", port=self._sock.getsockname()[1])

        def _create_server(self):
            return self.loop.create_server(self._factory_invoker, sock=self._sock)

    handler = _Stalling(accept=2)
    controller = Loopback(handler)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", handler
    finally:
        handler.release.set()
        controller.stop()


def test_a_run_killed_half_way_then_rerun_sends_nothing_twice(tmp_path: Path, stalling_smtp):
    url, smtp = stalling_smtp
    data_dir = tmp_path / "data"
    invoices = _overdue_invoices(data_dir, 5, date(2026, 11, 1))
    run = _billow(
        "daily",
        "--today",
        "2026-11-10",
        "--data-dir",
        str(data_dir),
        env_extra={"BILLOW_SMTP_URL": url, "BILLOW_MAIL_TRANSPORT": "smtp"},
    )
    assert smtp.stalled.wait(60), run.communicate(timeout=5)
    os.kill(run.pid, signal.SIGKILL)  # half-way: two reminders out, the third in flight
    run.wait(timeout=30)
    smtp.release.set()
    assert len(smtp.received) == 2

    # the same day, again: the dead run's lease is taken over; the two sent are recorded, the
    # three it had claimed are not sent again today
    again = _billow(
        "daily",
        "--today",
        "2026-11-10",
        "--data-dir",
        str(data_dir),
        env_extra={"BILLOW_SMTP_URL": url, "BILLOW_MAIL_TRANSPORT": "smtp"},
    )
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert len(smtp.received) == 2
    # the next day sends the three that never went out, and nothing else
    later = _billow(
        "daily",
        "--today",
        "2026-11-11",
        "--data-dir",
        str(data_dir),
        env_extra={"BILLOW_SMTP_URL": url, "BILLOW_MAIL_TRANSPORT": "smtp"},
    )
    _out, err = later.communicate(timeout=120)
    assert later.returncode == 0, err
    numbers = Counter(
        inv["number"] for raw in smtp.received for inv in invoices if inv["number"].encode() in raw
    )
    assert numbers == Counter({inv["number"]: 1 for inv in invoices})


def test_two_runs_at_once_send_each_reminder_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    invoices = _overdue_invoices(data_dir, 12, date(2026, 11, 1))
    runs = [
        _billow(name, "--today", "2026-11-10", "--data-dir", str(data_dir))
        for name in ("daily", "overdue")  # the old name is the same run
    ]
    for run in runs:
        _out, err = run.communicate(timeout=180)
        assert run.returncode == 0, err
    assert set(_reminded(_outbox_subjects(data_dir), invoices).values()) == {1}


def test_days_of_downtime_give_one_reminder_of_the_highest_level(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (invoice,) = _overdue_invoices(data_dir, 1, date(2026, 10, 1))
    store = SqliteStore(data_dir / "billow.db", data_dir / "blobs")
    mailer = {"mailer": OutboxMailer(data_dir / "outbox")}
    first = run_daily(store, date(2026, 10, 3), mailer)  # overdue, no reminder due yet
    assert first["jobs"]["overdue"]["marked_overdue"] == 1
    assert last_completed(store) == date(2026, 10, 3)
    # down from 4 October to 5 November: 35 days overdue, levels 1 (7), 2 (14), 3 (30) all due
    result = run_daily(store, date(2026, 11, 5), mailer)
    assert result["since"] == "2026-10-03"
    assert result["jobs"]["overdue"]["reminders_sent"] == 1
    ctx = make_ctx(store)
    timeline = act(ctx, "invoice.timeline", invoice_id=invoice["id"])["events"]
    sent = [e["data"]["level"] for e in timeline if e["type"] == "reminder_sent"]
    assert sent == [3]
    for day in (date(2026, 11, 5), date(2026, 11, 6), date(2026, 12, 20)):
        assert run_daily(store, day, mailer)["jobs"]["overdue"]["reminders_sent"] == 0
    assert len(_reminded(_outbox_subjects(data_dir), [invoice])) == 1
    assert sum(_outbox_subjects(data_dir).values()) == 1
    store.close()


def test_a_server_started_late_runs_the_day_at_once(tmp_path: Path) -> None:
    """``billow serve`` started after 07:00 (or after days down) does the day's work when it
    starts, not at the next 07:00."""
    data_dir = tmp_path / "data"
    due = datetime.now(UTC).date() - timedelta(days=8)
    invoices = _overdue_invoices(data_dir, 2, due)
    server = Serve(data_dir, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if set(_reminded(_outbox_subjects(data_dir), invoices).values()) == {1}:
                break
            time.sleep(0.2)
        assert set(_reminded(_outbox_subjects(data_dir), invoices).values()) == {1}
        key = server.sign_in("owner@example.com")
        assert key  # the server answers while and after it runs
    finally:
        server.stop()
    store = SqliteStore(data_dir / "billow.db", data_dir / "blobs")
    assert last_completed(store) == datetime.now(UTC).date()
    store.close()
