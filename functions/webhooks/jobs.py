"""Work that follows a commit, kept in the same durable outbox: rendering a document's PDF.

``invoice.finalize`` and ``invoice.credit`` stage ``jobs/pdf:<invoice_id>`` in the commit that
issues the document (:func:`stage_pdf_job`); the commit that records the PDF deletes it
(:func:`complete_pdf_job`). The request still renders at once after its commit (the fast path);
a server killed in between leaves the job behind, and the worker (``billow serve``,
``billow daily``; on AWS the stream → ``PdfJobQueue`` → PDF function) renders it, so every
finalized document gets its PDF and its ``pdf_rendered`` event without anyone asking.

A job is due when its ``due_at`` has passed (a grace period for the request's own rendering)
or, sooner, when the process that committed it is a process of this machine that no longer
exists (killed before it could render): :func:`due_jobs`, the one place that looks jobs up
(a scan today; a due index once the store has one).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from storage_adapter import Record, Store, Transaction

from .events import timestamp

log = logging.getLogger("billow.jobs")

JOBS = "jobs"
RENDER_PDF = "render_pdf"
#: How long the request that committed a job has to complete it itself.
GRACE = timedelta(seconds=60)

_HOST = socket.gethostname()


def pdf_job_key(invoice_id: str) -> str:
    return f"pdf:{invoice_id}"


def stage_pdf_job(tx: Transaction, rec: Record, at: datetime) -> None:
    """Stage the PDF job of the document ``rec`` in the caller's (issuing) transaction."""
    tx.put(
        JOBS,
        pdf_job_key(rec.key),
        {
            "kind": RENDER_PDF,
            "status": "pending",
            "invoice_id": rec.key,
            "created_at": timestamp(at),
            "due_at": timestamp(at + GRACE),
            "host": _HOST,
            "pid": os.getpid(),
        },
        account_id=rec.account_id,
        expected_version=0,
    )


def complete_pdf_job(tx: Transaction, invoice_id: str) -> None:
    """Delete the document's PDF job (if any) in the commit that records its PDF."""
    job = tx.get(JOBS, pdf_job_key(invoice_id))
    if job is not None:
        tx.delete(JOBS, job.key, expected_version=job.version)


def _process_gone(data: dict[str, Any]) -> bool:
    if data.get("host") != _HOST or not data.get("pid"):
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
        for rec in store.query(JOBS, account_id=None).items
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
                store.transaction(lambda tx, key=invoice_id: complete_pdf_job(tx, key))
                continue
            if (rec.data.get("pdf") or {}).get("sha256"):
                store.transaction(lambda tx, key=invoice_id: complete_pdf_job(tx, key))
            else:
                record_pdf(ctx, invoice_id, render(ctx, rec))
            done += 1
        except Exception:
            log.exception("the PDF job of %s failed; tried again at the next pass", invoice_id)
    return done
