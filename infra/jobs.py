"""The background jobs of ``billow serve``: the one place where they are registered.

Each entry of :func:`registered_jobs` runs once across all worker processes, under a lease in
the store (:mod:`infra.background`). To add one (e.g. the webhook delivery worker), append a
:class:`~infra.background.Job`: a name, ``run(stop)`` that does one pass and returns (checking
``stop`` between units of work that commit atomically), and ``next_after(finished)``, when the
next pass is due — ``lambda t: t + timedelta(seconds=5)`` for a worker that polls an outbox.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from infra.background import Job

DAILY_HOUR_UTC = 7
#: The outbox worker's job name (its lease is ``leases/job:outbox-worker``).
OUTBOX_WORKER = "outbox-worker"


def next_daily_run(finished: datetime) -> datetime:
    """The next 07:00 UTC strictly after ``finished``."""
    candidate = finished.replace(hour=DAILY_HOUR_UTC, minute=0, second=0, microsecond=0)
    if candidate <= finished:
        candidate += timedelta(days=1)
    return candidate


def _daily(stop: threading.Event) -> dict[str, Any]:
    """Today's daily run (``functions.daily``: overdue marking and reminders, catch-up of missed
    days). Its commits are atomic and each reminder is claimed in the store before it is sent,
    so stopping it anywhere (even by a kill) leaves nothing half done; it does not look at
    ``stop``, and a graceful shutdown waits for it a few seconds only. (It also takes the
    daily run's own lease, which keeps it apart from a ``billow daily`` run by hand.)"""
    from infra.server import run_daily_job

    return run_daily_job()


def _outbox(stop: threading.Event) -> dict[str, Any]:
    """The outbox worker (``functions.webhooks.runner``): webhook fan-out and deliveries, and
    the PDF jobs of finalized documents, pass after pass until ``stop``; woken at once by a
    commit of this process, else every second. One process at a time holds its lease."""
    from functions.api import runtime
    from functions.webhooks.runner import run_loop

    return run_loop(runtime.get_store(), runtime.services(), stop)


def next_outbox_pass(finished: datetime) -> datetime:
    return finished + timedelta(seconds=1)


def registered_jobs() -> list[Job]:
    return [
        Job("daily", _daily, next_after=next_daily_run, at_start=True),
        Job(OUTBOX_WORKER, _outbox, next_after=next_outbox_pass, at_start=True),
    ]
