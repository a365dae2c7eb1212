"""The daily run's recurring job: issue every period that fell due up to today, once.

1. **send what a crash left unsent** — an ``auto_advance`` invoice is finalized in the commit
   that issues it, which also records it in ``recurring_unsent``; it is mailed afterwards and
   that entry deleted. A run killed in between sends it on the next run (unless the invoice
   already shows ``sent_at``). The run reads only what is pending, not every period ever.
2. **issue** — the due periods of every active schedule, oldest period first across schedules
   (so invoice numbers follow the periods' order), each by
   :func:`functions.services.recurring.issue_period`: one commit per period that creates the
   invoice, the create-only marker ``<schedule id>:<period start>`` and the schedule's next
   period. Days of downtime are caught up in one run; a rerun finds nothing due.

Late periods (downtime) are issued with the run's day as their issue date, and always with
their own period (BG-14).

:func:`after_commit` is called after each committed invoice, before it is mailed: a test
replaces it to stop the run there and kill the process at that exact point (no timing race).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date
from typing import Any

from storage_adapter import Filter, Store

logger = logging.getLogger("billow.daily.recurring")


def _context(day: Any, account_id: str | None) -> Any:
    from functions.services.registry import Context

    return Context(
        store=day.store,
        account_id=account_id,
        actor="recurring",
        now=day.now,
        services=dict(day.services),
    )


def _due_schedules(store: Store, today: date) -> list[Any]:
    from functions.services.recurring import RECURRING

    return store.query(
        RECURRING,
        account_id=None,
        filters=[
            Filter("status", "eq", "active"),
            Filter("next_date", "lte", today.isoformat()),
        ],
    ).items


def after_commit(issued: int) -> None:
    """Called after each invoice this run committed, before it is mailed (``issued``: how many
    so far). Does nothing; tests replace it to stop a run at that exact point."""


def _send(day: Any, issue_key: str) -> str:
    """Mail an issued, finalized invoice (its PDF rendered if need be), then drop its
    ``recurring_unsent`` entry and mark its issue marker ``sent`` in one commit.

    Returns ``sent``; ``skipped`` (nothing pending, no e-mail address, or already sent by a
    run that died before recording it); or ``failed`` (left pending for the next run)."""
    from functions.domain.errors import BillowError
    from functions.services.invoices import INVOICES
    from functions.services.invoices_lifecycle import InvoiceSend, send_invoice
    from functions.services.recurring import ISSUES, UNSENT

    pending = day.store.get(UNSENT, issue_key)
    if pending is None:
        return "skipped"
    invoice = day.store.get(INVOICES, pending.data["invoice_id"])
    outcome, status = "skipped", "sent"
    if invoice is not None and not invoice.data.get("sent_at"):
        if invoice.data.get("client_email") or (invoice.data.get("buyer") or {}).get("email"):
            try:
                send_invoice(_context(day, pending.account_id), InvoiceSend(invoice_id=invoice.key))
                outcome = "sent"
            except BillowError as exc:  # a mail failure: tried again by the next run
                logger.warning("sending recurring invoice %s failed: %s", invoice.key, exc)
                return "failed"
        else:
            status = "no_email"

    def done(tx: Any) -> None:
        current = tx.get(UNSENT, issue_key)
        if current is None:
            return
        tx.delete(UNSENT, issue_key, expected_version=current.version)
        marker = tx.get(ISSUES, issue_key)
        if marker is not None:
            tx.put(
                ISSUES,
                issue_key,
                {**marker.data, "status": status},
                account_id=marker.account_id,
                expected_version=marker.version,
            )

    day.store.transaction(done)
    return outcome


def run_recurring(day: Any) -> dict[str, Any]:
    """Issue every due period of every active schedule; returns counts."""
    from functions.services.invoices_finalize import render_after_commit
    from functions.services.recurring import UNSENT, issue_period, record_failure, schedule_of

    counts = {"issued": 0, "finalized": 0, "sent": 0, "finalize_failed": 0, "errors": 0}
    for marker in day.store.query(UNSENT, account_id=None).items:
        if _send(day, marker.key) == "sent":
            counts["sent"] += 1

    queue: list[tuple[str, str, str | None]] = []  # (period start, schedule id, account)
    for rec in _due_schedules(day.store, day.today):
        schedule = schedule_of(rec.data)
        index = int(rec.data.get("next_period") or 0)
        for i in schedule.due(index, day.today):
            queue.append((schedule.period_start(i).isoformat(), rec.key, rec.account_id))
    queue.sort()
    for _, recurring_id, account_id in queue:
        ctx = _context(day, account_id)
        try:
            issued = issue_period(ctx, recurring_id, day.today)
        except Exception as exc:
            logger.exception("issuing recurring %s failed", recurring_id)
            counts["errors"] += 1
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            try:
                record_failure(ctx, recurring_id, day.today, str(message))
            except Exception:
                logger.exception("recording the failure of recurring %s failed", recurring_id)
            continue
        if issued is None:
            continue
        counts["issued"] += 1
        after_commit(counts["issued"])
        if issued["finalize_error"]:
            counts["finalize_failed"] += 1
        if issued["finalized"]:
            counts["finalized"] += 1
            render_after_commit(replace(ctx), issued["invoice"])
            if _send(day, issued["issue_key"]) == "sent":
                counts["sent"] += 1
    return counts
