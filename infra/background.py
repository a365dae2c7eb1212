"""Background jobs that run once across all of ``billow serve``'s worker processes.

Every worker runs a :class:`Runner`; for each registered :class:`Job` it competes for a lease,
a record in the store (collection ``leases``, key ``job:<name>``) naming the holder (host, pid,
a random token) and the time it runs out. Only the holder runs the job; it renews the lease
while it works (every third of the lease's life), so a job longer than the lease keeps it.
The others retry every third of the lease's life, so they take over within seconds when the
holder dies: at once if the holder was a process of this machine that no longer exists, else
when its lease runs out.

Why a lease in the store rather than the supervisor process: it keeps the supervisor free of
any store connection (so nothing of SQLite crosses process boundaries), it holds across
machines on DynamoDB, and it also keeps apart two servers started on the same data by mistake.

The lease record also remembers when the job last finished, so a job is due at
``job.next_after(last finished)`` — and, with ``at_start``, once after each server start
(``BILLOW_SERVE_STARTED``), so a server that was down at 07:00 catches up when it starts.

Stopping: :meth:`Runner.stop` (graceful shutdown) sets the event every job is given; a job
checks it between units of work that commit atomically (its safe points) and returns. The
runner waits a few seconds for that, then gives the lease back.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storage_adapter import Record, Store, StoreError, Transaction, VersionConflict

log = logging.getLogger("billow.background")

LEASES = "leases"
#: Seconds a lease holds without renewal.
LEASE_SECONDS = 30.0


@dataclass(frozen=True)
class Job:
    """``run(stop)`` does the work once and returns; it should look at ``stop`` between units
    of work and return early when it is set. ``next_after(finished)`` is when it is due again."""

    name: str
    run: Callable[[threading.Event], Any]
    next_after: Callable[[datetime], datetime]
    at_start: bool = True


@dataclass(frozen=True)
class Holder:
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    token: str = field(default_factory=lambda: secrets.token_hex(8))

    def as_dict(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "token": self.token}


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class Lease:
    """One named lease in the store, held by ``holder``."""

    def __init__(
        self,
        store: Store,
        name: str,
        *,
        seconds: float = LEASE_SECONDS,
        holder: Holder | None = None,
    ) -> None:
        self.store = store
        self.key = name
        self.seconds = seconds
        self.holder = holder or Holder()

    def _free_for_me(self, data: dict[str, Any], now: float) -> bool:
        holder = data.get("holder") or {}
        if not holder or holder.get("token") == self.holder.token:
            return True
        if float(data.get("until") or 0) <= now:
            return True
        same_host = holder.get("host") == self.holder.host
        return same_host and not _process_alive(int(holder.get("pid") or 0))

    def _write(self, decide: Callable[[dict[str, Any], float], dict[str, Any] | None]) -> bool:
        def run(tx: Transaction) -> bool:
            rec: Record | None = tx.get(LEASES, self.key)
            data = dict(rec.data) if rec else {}
            new = decide(data, time.time())
            if new is None:
                return False
            tx.put(
                LEASES, self.key, new, account_id=None, expected_version=rec.version if rec else 0
            )
            return True

        try:
            return bool(self.store.transaction(run, retries=3))
        except (VersionConflict, StoreError):  # another process wrote it first: not ours now
            return False

    def acquire(self) -> bool:
        """Take the lease, or renew it if ours; False while another live process holds it."""

        def decide(data: dict[str, Any], now: float) -> dict[str, Any] | None:
            if not self._free_for_me(data, now):
                return None
            return {**data, "holder": self.holder.as_dict(), "until": now + self.seconds}

        return self._write(decide)

    def renew(self) -> bool:
        """Extend the lease if this holder still has it."""

        def decide(data: dict[str, Any], now: float) -> dict[str, Any] | None:
            if (data.get("holder") or {}).get("token") != self.holder.token:
                return None
            return {**data, "until": now + self.seconds}

        return self._write(decide)

    def finished(self, at: datetime) -> bool:
        """Record that the job finished at ``at`` (only while holding the lease)."""

        def decide(data: dict[str, Any], now: float) -> dict[str, Any] | None:
            if (data.get("holder") or {}).get("token") != self.holder.token:
                return None
            return {
                **data,
                "finished_at": at.astimezone(UTC).isoformat(),
                "until": now + self.seconds,
            }

        return self._write(decide)

    def release(self) -> None:
        def decide(data: dict[str, Any], now: float) -> dict[str, Any] | None:
            if (data.get("holder") or {}).get("token") != self.holder.token:
                return None
            return {**data, "holder": None, "until": 0}

        try:
            self._write(decide)
        except Exception:  # it runs out by itself
            log.exception("releasing lease %s failed", self.key)

    def last_finished(self) -> datetime | None:
        rec = self.store.get(LEASES, self.key)
        value = rec.data.get("finished_at") if rec else None
        return datetime.fromisoformat(value) if value else None


def server_started() -> datetime:
    """When this ``billow serve`` started (set by the supervisor for its workers)."""
    raw = os.environ.get("BILLOW_SERVE_STARTED")
    return datetime.fromtimestamp(float(raw), UTC) if raw else datetime.now(UTC)


def due_at(job: Job, last_finished: datetime | None, started: datetime) -> datetime:
    """When ``job`` should run next."""
    if last_finished is None or (job.at_start and last_finished < started):
        return started
    return job.next_after(last_finished)


class Runner:
    """Runs each job in its own thread, under its lease (see the module docstring)."""

    def __init__(
        self,
        jobs: list[Job],
        store_factory: Callable[[], Store] | None = None,
        *,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.jobs = jobs
        self.lease_seconds = lease_seconds
        self._store_factory = store_factory
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.holder = Holder()

    def _store(self) -> Store:
        if self._store_factory is not None:
            return self._store_factory()
        from functions.api import runtime

        return runtime.get_store()

    def start(self) -> None:
        for job in self.jobs:
            thread = threading.Thread(
                target=self._loop, args=(job,), name=f"job-{job.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 4.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _loop(self, job: Job) -> None:
        poll = self.lease_seconds / 3
        lease: Lease | None = None
        started = server_started()
        try:
            while not self._stop.is_set():
                try:
                    if lease is None:
                        lease = Lease(
                            self._store(),
                            f"job:{job.name}",
                            seconds=self.lease_seconds,
                            holder=self.holder,
                        )
                    wait = poll
                    if lease.acquire():
                        due = due_at(job, lease.last_finished(), started)
                        now = datetime.now(UTC)
                        if due <= now:
                            self._run(job, lease)
                            continue
                        wait = min(poll, (due - now).total_seconds())
                except Exception as exc:
                    self._failed(job, "lease or schedule failed", exc)
                    wait = poll
                self._stop.wait(max(wait, 0.05))
        finally:
            if lease is not None:
                try:
                    lease.release()
                except Exception as exc:  # it runs out by itself (LEASE_SECONDS)
                    self._failed(job, "its lease could not be released", exc)

    def _failed(self, job: Job, what: str, exc: Exception) -> None:
        """Log a job's failure. While the server stops, a failure is expected (the process
        may be tearing down around the job's thread) and harmless (each unit of work commits
        atomically; the next holder redoes what did not): one line, no traceback."""
        if self._stop.is_set():
            log.warning(
                "background job %s: %s while stopping (%s: %s)",
                job.name,
                what,
                type(exc).__name__,
                exc,
            )
        else:
            log.error("background job %s: %s", job.name, what, exc_info=exc)

    def _run(self, job: Job, lease: Lease) -> None:
        """Run the job once while a heartbeat renews the lease; a lost lease stops the job."""
        halt = threading.Event()
        done = threading.Event()

        def heartbeat() -> None:
            while not done.wait(self.lease_seconds / 3):
                if self._stop.is_set() or not lease.renew():
                    halt.set()
            if self._stop.is_set():
                halt.set()

        def relay_stop() -> None:
            while not done.is_set():
                if self._stop.wait(0.1):
                    halt.set()
                    return

        beat = threading.Thread(target=heartbeat, name=f"lease-{job.name}", daemon=True)
        relay = threading.Thread(target=relay_stop, name=f"stop-{job.name}", daemon=True)
        beat.start()
        relay.start()
        log.info("background job %s: starting (holder pid %s)", job.name, os.getpid())
        try:
            result = job.run(halt)
            log.info("background job %s: %s", job.name, result)
        except Exception as exc:
            self._failed(job, "failed", exc)
        finally:
            done.set()
        # a failed run counts as finished too: it is retried when next due, not in a tight loop
        lease.finished(datetime.now(UTC))
