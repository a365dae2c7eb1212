"""Work that follows a commit, kept in the same durable outbox: rendering a document's PDF.

``invoice.finalize`` and ``invoice.credit`` stage ``jobs/pdf:<invoice_id>`` in the commit that
issues the document (:func:`stage_pdf_job`); the commit that records the PDF deletes it
(:func:`complete_pdf_job`). The request still renders at once after its commit (the fast path);
a server killed in between leaves the job behind, and the worker (``billow serve``,
``billow daily``; on AWS the stream → ``PdfJobQueue`` → PDF function) renders it, so every
finalized document gets its PDF and its ``pdf_rendered`` event without anyone asking.

A job is due when its ``due_at`` has passed (a grace period for the request's own rendering)
or, sooner, when the process that committed it is a process of this machine that no longer
exists (killed before it could render): ``runner.due_jobs``, the one place that looks jobs up
(a scan today; a due index once the store has one). This module is what the issuing and
recording commits need, and nothing more (the PDF function carries it).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from storage_adapter import Record, Transaction

from .events import timestamp

JOBS = "jobs"
RENDER_PDF = "render_pdf"
#: How long the request that committed a job has to complete it itself.
GRACE = timedelta(seconds=60)

HOST = socket.gethostname()


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
            "host": HOST,
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
