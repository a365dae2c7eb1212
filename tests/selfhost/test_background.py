"""Background jobs run once across processes: a lease in the store, renewed while held, taken
over when its holder dies, given back on a graceful stop; and ``billow serve`` runs the daily
job once at start whatever its number of workers."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra.background import Holder, Job, Lease, Runner, due_at
from infra.jobs import next_daily_run
from storage_adapter import open_store
from tests.hardening.support import Serve


def _store(tmp_path: Path):
    return open_store(f"sqlite:///{tmp_path / 'billow.db'}")


def test_a_lease_has_one_holder_until_released_expired_or_dead(tmp_path: Path) -> None:
    store = _store(tmp_path)
    a = Lease(store, "job:x", seconds=30, holder=Holder(host="h", pid=os.getpid(), token="a"))
    b = Lease(store, "job:x", seconds=30, holder=Holder(host="h", pid=os.getpid(), token="b"))
    assert a.acquire() and not b.acquire()
    assert a.renew() and not b.renew()
    a.release()
    assert b.acquire() and not a.acquire()
    # run out: anyone may take it
    short = Lease(store, "job:y", seconds=0.2, holder=Holder(host="h", pid=os.getpid(), token="c"))
    other = Lease(store, "job:y", seconds=30, holder=Holder(host="h", pid=os.getpid(), token="d"))
    assert short.acquire() and not other.acquire()
    time.sleep(0.3)
    assert other.acquire()
    # a dead holder on this machine: taken over at once
    dead = subprocessless_dead_pid()
    gone = Lease(store, "job:z", seconds=300, holder=Holder(host="h", pid=dead, token="e"))
    alive = Lease(store, "job:z", seconds=300, holder=Holder(host="h", pid=os.getpid(), token="f"))
    assert gone.acquire() and alive.acquire()
    # ... but not one on another machine (its lease must run out)
    far = Lease(store, "job:w", seconds=300, holder=Holder(host="elsewhere", pid=dead, token="g"))
    here = Lease(store, "job:w", seconds=300, holder=Holder(host="h", pid=os.getpid(), token="i"))
    assert far.acquire() and not here.acquire()


def subprocessless_dead_pid() -> int:
    proc = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    proc.start()
    proc.join()
    return int(proc.pid or 0)


def test_due_times() -> None:
    started = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    job = Job("daily", lambda stop: None, next_after=next_daily_run, at_start=True)
    assert due_at(job, None, started) == started
    assert due_at(job, started - timedelta(hours=1), started) == started  # catch up at start
    assert due_at(job, started + timedelta(minutes=1), started) == datetime(
        2026, 12, 2, 7, 0, tzinfo=UTC
    )
    assert next_daily_run(datetime(2026, 12, 1, 6, 59, tzinfo=UTC)).hour == 7


def _worker(db: str, log: str, lease_seconds: float) -> None:
    """A process running the runner with one job that takes 1 s and logs its start and end."""

    def run(stop: threading.Event) -> None:
        with open(log, "a") as fh:
            fh.write(json.dumps({"pid": os.getpid(), "event": "start", "t": time.time()}) + "\n")
        stop.wait(1.0)
        with open(log, "a") as fh:
            fh.write(json.dumps({"pid": os.getpid(), "event": "end", "t": time.time()}) + "\n")

    job = Job("tick", run, next_after=lambda t: t + timedelta(seconds=0.5), at_start=True)
    runner = Runner([job], lambda: open_store(f"sqlite:///{db}"), lease_seconds=lease_seconds)
    runner.start()
    signal.sigwait({signal.SIGTERM})
    # generous: on a loaded machine the job's last commits (finished, release) can take seconds,
    # and a process that exits before them leaves the lease to run out instead of giving it back
    runner.stop(timeout=30)


def test_one_runner_at_a_time_across_processes_and_takeover(tmp_path: Path) -> None:
    db, log = str(tmp_path / "billow.db"), tmp_path / "runs.log"
    log.touch()
    ctx = multiprocessing.get_context("spawn")
    procs = []
    for _ in range(3):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        p = ctx.Process(target=_worker, args=(db, str(log), 1.5))
        p.start()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        procs.append(p)
    try:

        def runs() -> list[dict]:
            return [json.loads(line) for line in log.read_text().splitlines()]

        deadline = time.monotonic() + 60
        while sum(r["event"] == "end" for r in runs()) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        first = runs()
        holder = first[0]["pid"]
        os.kill(holder, signal.SIGKILL)  # the holder dies (mid-run or between runs)
        next(p for p in procs if p.pid == holder).join()
        deadline = time.monotonic() + 60
        while not any(r["pid"] != holder for r in runs()) and time.monotonic() < deadline:
            time.sleep(0.1)
        later = [r for r in runs() if r["pid"] != holder]
        assert later, "nobody took over from the dead holder"
    finally:
        for p in procs:
            if p.is_alive():
                os.kill(p.pid, signal.SIGTERM)
        for p in procs:
            p.join(60)
    everything = runs()
    # never two runs at once: the starts and ends alternate
    events = sorted(everything, key=lambda r: r["t"])
    open_runs = 0
    for r in events:
        open_runs += 1 if r["event"] == "start" else -1
        assert open_runs in (0, 1), events
    assert all(p.exitcode is not None for p in procs)
    store = open_store(f"sqlite:///{db}")
    assert store.get("leases", "job:tick").data["holder"] is None  # given back on stop


@pytest.mark.slow
def test_serve_runs_the_daily_job_once_at_start(tmp_path: Path) -> None:
    serve = Serve(tmp_path / "data", tmp_path, args=["--workers", "3"])
    try:
        store = open_store(f"sqlite:///{tmp_path / 'data' / 'billow.db'}")
        deadline = time.monotonic() + 60
        lease = None
        while time.monotonic() < deadline:
            lease = store.get("leases", "job:daily")
            if lease and lease.data.get("finished_at"):
                break
            time.sleep(0.2)
        assert lease and lease.data.get("finished_at"), "the daily job did not run at start"
        time.sleep(12)  # more than a polling round (a third of the lease): all had their chance
        later = store.get("leases", "job:daily")
        assert later.data["finished_at"] == lease.data["finished_at"], "it ran a second time"
        assert later.data["holder"] == lease.data["holder"]  # held by one worker all along
        assert lease.data["holder"]["pid"] != serve.process.pid  # a worker, never the supervisor
    finally:
        serve.stop()
    assert store.get("leases", "job:daily").data["holder"] is None


def test_a_job_failing_while_the_server_stops_logs_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A job cut off by a graceful stop (its process tearing down around it) is expected and
    harmless: a warning without traceback, while a failure in normal running keeps its
    traceback (a traceback in a stopping server's log was a CI flake of the shutdown test)."""
    started = threading.Event()

    def cut_off(stop: threading.Event) -> None:
        started.set()
        stop.wait(30)
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    def broken(stop: threading.Event) -> None:
        raise ValueError("a real bug")

    far = lambda t: t + timedelta(days=1)  # noqa: E731
    runner = Runner(
        [Job("cut-off", cut_off, far), Job("broken", broken, far)],
        store_factory=lambda: _store(tmp_path),
    )
    with caplog.at_level("WARNING", logger="billow.background"):
        runner.start()
        assert started.wait(30)
        deadline = time.monotonic() + 30
        while not any("a real bug" in str(r.exc_info) for r in caplog.records):
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
        runner.stop(timeout=30)
    cut = [r for r in caplog.records if "cut-off" in r.getMessage()]
    assert [(r.levelname, r.exc_info) for r in cut] == [("WARNING", None)], caplog.text
    assert "while stopping (RuntimeError" in cut[0].getMessage()
    real = [r for r in caplog.records if "broken" in r.getMessage()]
    assert real and real[0].levelname == "ERROR" and real[0].exc_info is not None
