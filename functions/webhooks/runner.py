"""Running the outbox: one pass (fan-out, PDF jobs, due deliveries, disable mails) and the
loop ``billow serve`` runs in one process at a time.

- :func:`run_pass` — what ``billow daily`` does once ("webhook retries that are due") and the
  loop repeats;
- :func:`run_loop` — passes until ``stop`` is set, waiting between them on
  :data:`functions.services.events.WAKE` (set by the API after a mutating action of this
  process) or at most :data:`POLL_SECONDS` (commits of other processes);
- the owner of a webhook the worker has disabled (3 days of failures) is mailed after the
  commit that disabled it.

Which records are due is looked up in one place each (``worker.scan_due``, ``jobs.due_jobs``),
to be swapped for the store's due index when it has one.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from storage_adapter import Record, Store

from . import jobs
from .delivery import deliver
from .events import timestamp
from .notify import mail_disabled
from .worker import PassSummary, Worker

log = logging.getLogger("billow.webhooks")

#: Longest wait between passes when nothing wakes the worker.
POLL_SECONDS = 1.0


def _process_gone(data: dict[str, Any]) -> bool:
    if data.get("host") != jobs.HOST or not data.get("pid"):
        return False
    pid = int(data["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def due_jobs(store: Store, now: datetime) -> list[Record]:
    """Pending jobs to run now, oldest first."""
    stamp = timestamp(now)
    found = [
        rec
        for rec in store.query(jobs.JOBS, account_id=None).items
        if rec.data.get("status") == "pending"
        and (str(rec.data.get("due_at") or "") <= stamp or _process_gone(rec.data))
    ]
    return sorted(found, key=lambda r: (str(r.data.get("created_at") or ""), r.key))


def run_pdf_jobs(
    store: Store,
    services: dict[str, Any],
    *,
    now: Callable[[], datetime],
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Render and record the PDF of every due job; returns how many were completed. A job
    whose rendering fails stays (tried again at the next pass); one whose document is gone or
    is a draft is dropped."""
    from functions.services.invoices_finalize import record_pdf, render
    from functions.services.registry import Context, load_all

    load_all()
    done = 0
    for job in due_jobs(store, now()):
        if stop():
            break
        invoice_id = str(job.data.get("invoice_id") or "")
        rec = store.get("invoices", invoice_id) if invoice_id else None
        ctx = Context(
            store=store,
            account_id=job.account_id,
            actor="system:pdf",
            now=now(),
            services=services,
        )
        try:
            if rec is None or rec.data.get("status") == "draft":
                store.transaction(lambda tx, key=invoice_id: jobs.complete_pdf_job(tx, key))
                continue
            if (rec.data.get("pdf") or {}).get("sha256"):
                store.transaction(lambda tx, key=invoice_id: jobs.complete_pdf_job(tx, key))
            else:
                record_pdf(ctx, invoice_id, render(ctx, rec))
            done += 1
        except Exception as exc:
            failed(
                stop(), exc, "the PDF job of %s failed; tried again at the next pass", invoice_id
            )
    return done


def make_worker(store: Store, **kw: Any) -> Worker:
    from functions.services.common import new_id
    from functions.services.webhooks import sealer

    from .scan import scan_due

    kw.setdefault("send", deliver)
    kw.setdefault("due", scan_due(store))
    return Worker(store, sealer(), new_id, **kw)


def run_pass(
    store: Store,
    services: Mapping[str, Any],
    *,
    worker: Worker | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """One pass over the outbox; returns its counts."""
    worker = worker or make_worker(store, now=now)
    summary = PassSummary()
    summary.dispatched = worker.fan_out()
    pdfs = 0 if stop() else run_pdf_jobs(store, dict(services), now=now, stop=stop)
    if not stop():
        worker.deliver_due(summary)
    mailed = mail_disabled(store, services, summary.disabled)
    return {
        "dispatched": summary.dispatched,
        "attempted": summary.attempted,
        "delivered": summary.delivered,
        "pdfs_rendered": pdfs,
        "disabled": len(summary.disabled),
        "owners_mailed": mailed,
    }


def failed(stopping: bool, exc: Exception, message: str, *args: Any) -> None:
    """Log a failure of the worker's work; while the server stops (the process may be tearing
    down around the worker's thread) as one line without traceback: the work commits unit by
    unit and is done again at the next pass."""
    if stopping:
        log.warning(message + " (while stopping: %s: %s)", *args, type(exc).__name__, exc)
    else:
        log.error(message, *args, exc_info=exc)


def run_loop(
    store: Store,
    services: Mapping[str, Any],
    stop: threading.Event,
    *,
    poll: float = POLL_SECONDS,
) -> dict[str, int]:
    """Passes until ``stop`` is set (the background runner sets it on shutdown or when its
    lease is lost). Each pass commits unit by unit, so stopping anywhere loses nothing."""
    from functions.services.events import WAKE

    totals = {"passes": 0, "delivered": 0, "pdfs_rendered": 0}
    worker = make_worker(store, send=functools.partial(deliver))
    while not stop.is_set():
        WAKE.clear()
        try:
            counts = run_pass(store, services, worker=worker, stop=stop.is_set)
            totals["passes"] += 1
            totals["delivered"] += counts["delivered"]
            totals["pdfs_rendered"] += counts["pdfs_rendered"]
        except Exception as exc:
            failed(stop.is_set(), exc, "outbox pass failed")
        waited = 0.0
        while waited < poll and not stop.is_set() and not WAKE.is_set():
            WAKE.wait(0.05)
            waited += 0.05
    return totals
