"""The daily run: a lease so that one process at a time works on it, then every due job.

Idempotence comes from two layers:

- **per item** — each job claims what it is about to do inside a store transaction before
  doing it (the overdue job claims each reminder on its invoice, see
  ``functions/overdue/job.py``), so two runs at once, or a rerun after a crash half-way, never
  send a reminder twice;
- **per run** — a lease record (``daily/lease``) names the process working on the run and
  until when; a second process waits for it rather than doing the same work alongside. A
  holder that died (same machine, process gone) or whose lease ran out is taken over, so a
  crash never blocks the next run. The lease is renewed between jobs.

Catch-up: a job is given the day of the last completed run (``since``) as well as ``today``.
The overdue job needs only ``today``: it works from each invoice's due date and sends the
highest reminder level that is due, once — days of downtime give one reminder, not one per
missed day. Jobs added later (recurring invoices, quote expiry, webhook retries) read ``since``
to issue every period that fell due meanwhile.

Adding a job is one entry in :data:`JOBS`: a name and a function of a :class:`Day`.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock
from typing import Any

from storage_adapter import Store, VersionConflict

logger = logging.getLogger("billow.daily")

COLLECTION = "daily"
LEASE = "lease"
STATE = "state"
#: How long a lease holds without renewal: longer than any one job takes (a Lambda function
#: runs at most 15 minutes), so only a dead holder loses it.
LEASE_SECONDS = 15 * 60
#: How long a second run waits for the lease before giving up (it is renewed while held).
WAIT_SECONDS = 30 * 60
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Day:
    """What a job is given: the store, the day to run for, the last day completed before
    (``None`` on the first run), the collaborators (``mailer`` ...) and the run's clock."""

    store: Store
    today: date
    since: date | None
    services: Mapping[str, Any]
    now: datetime


def _overdue(day: Day) -> dict[str, Any]:
    from functions.overdue.job import run_overdue

    return run_overdue(day.store, day.today, day.services, now=day.now)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Day], dict[str, Any]]


#: The jobs of the daily run, in order.
JOBS: list[Job] = [Job("overdue", _overdue)]


def _webhooks(day: Day) -> dict[str, Any]:
    """One outbox pass (webhook deliveries and retries that are due, PDF jobs left behind), by
    the ``outbox_pass`` collaborator ``billow daily`` gives (``functions.webhooks.runner``).
    On AWS the table's stream and the queues do this work: no collaborator, nothing to do.
    Under the outbox worker's lease when it can be had: a ``billow serve`` on the same data
    that holds it does this work already (its claims would keep the two apart anyway)."""
    outbox_pass = day.services.get("outbox_pass")
    if outbox_pass is None:
        return {"skipped": "deliveries run beside the app (AWS: the table stream and queues)"}
    try:
        from infra.background import Lease
    except ImportError:
        return outbox_pass(day.store, day.services)
    lease = Lease(day.store, "job:outbox-worker", seconds=120)
    if not lease.acquire():
        return {"skipped": "a running server's outbox worker holds the lease"}
    try:
        return outbox_pass(day.store, day.services)
    finally:
        lease.release()


JOBS.append(Job("webhooks", _webhooks))


class LeaseBusy(RuntimeError):
    """Another live process holds the daily lease (and kept it longer than the wait)."""


@dataclass
class Holder:
    """Who runs: this process (host, pid) and a random token for this run."""

    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    token: str = field(default_factory=lambda: secrets.token_hex(8))

    def as_dict(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "token": self.token}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _free(lease: Mapping[str, Any] | None, me: Holder, now: float) -> bool:
    """Whether ``me`` may take ``lease``: none, ours, run out, or its holder is a process of
    this machine that no longer exists."""
    if not lease:
        return True
    holder = lease.get("holder") or {}
    if holder.get("token") == me.token:
        return True
    if float(lease.get("until") or 0) <= now:
        return True
    return holder.get("host") == me.host and not _alive(int(holder.get("pid") or 0))


def _take(store: Store, me: Holder, seconds: float) -> bool:
    def run(tx: Any) -> bool:
        rec = tx.get(COLLECTION, LEASE)
        now = time.time()
        if rec is not None and not _free(rec.data, me, now):
            return False
        data = {"holder": me.as_dict(), "until": now + seconds}
        tx.put(COLLECTION, LEASE, data, account_id=None, expected_version=rec.version if rec else 0)
        return True

    try:
        return bool(store.transaction(run))
    except VersionConflict:  # another process took it between our read and our write
        return False


def acquire(store: Store, me: Holder, *, wait: float = WAIT_SECONDS) -> None:
    """Take the daily lease, waiting up to ``wait`` seconds for a live holder to finish."""
    deadline = time.monotonic() + wait
    while not _take(store, me, LEASE_SECONDS):
        if time.monotonic() >= deadline:
            raise LeaseBusy("another daily run is still in progress")
        time.sleep(POLL_SECONDS)


def release(store: Store, me: Holder) -> None:
    def run(tx: Any) -> None:
        rec = tx.get(COLLECTION, LEASE)
        if rec is not None and (rec.data.get("holder") or {}).get("token") == me.token:
            tx.put(
                COLLECTION,
                LEASE,
                {"holder": None, "until": 0},
                account_id=None,
                expected_version=rec.version,
            )

    try:
        store.transaction(run)
    except Exception:  # the lease runs out by itself
        logger.exception("releasing the daily lease failed")


def last_completed(store: Store) -> date | None:
    rec = store.get(COLLECTION, STATE)
    value = rec.data.get("last_completed") if rec else None
    return date.fromisoformat(value) if value else None


def _complete(store: Store, today: date, at: str) -> None:
    def run(tx: Any) -> None:
        rec = tx.get(COLLECTION, STATE)
        data = dict(rec.data) if rec else {}
        previous = data.get("last_completed")
        if not previous or previous < today.isoformat():
            data["last_completed"] = today.isoformat()
        data["last_run_at"] = at
        tx.put(COLLECTION, STATE, data, account_id=None, expected_version=rec.version if rec else 0)

    store.transaction(run)


def run_daily(
    store: Store,
    today: date,
    services: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
    wait: float = WAIT_SECONDS,
) -> dict[str, Any]:
    """Run every job of :data:`JOBS` for ``today`` under the daily lease.

    Returns ``{"date", "since", "jobs": {name: counts}, "errors": [...]}``. A job that fails is
    logged and listed in ``errors``; the others still run, and the day is recorded as done only
    when every job succeeded (so ``since`` stays at the last complete day).
    """
    if now is None:
        now = datetime.now(UTC)
        if now.date() != today:  # running for another day: stamp its 07:00 UTC
            now = datetime.combine(today, clock(7, 0), UTC)
    me = Holder()
    acquire(store, me, wait=wait)
    try:
        since = last_completed(store)
        day = Day(store, today, since, services or {}, now)
        result: dict[str, Any] = {
            "date": today.isoformat(),
            "since": since.isoformat() if since else None,
            "jobs": {},
            "errors": [],
        }
        for job in JOBS:
            try:
                result["jobs"][job.name] = job.run(day)
            except Exception as exc:
                logger.exception("daily run %s: job %s failed", today, job.name)
                result["errors"].append(f"{job.name}: {type(exc).__name__}: {exc}")
            _take(store, me, LEASE_SECONDS)  # renew between jobs
        if not result["errors"]:
            _complete(store, today, now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        logger.info("daily run %s: %s", today, result)
        return result
    finally:
        release(store, me)


def _recurring(day: Day) -> dict[str, Any]:
    from functions.daily.recurring import run_recurring

    return run_recurring(day)


JOBS.append(Job("recurring", _recurring))


def _quotes(day: Day) -> dict[str, Any]:
    from functions.daily.quotes import run_quote_expiry

    return run_quote_expiry(day)


JOBS.append(Job("quotes", _quotes))
