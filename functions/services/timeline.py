"""The outbox side of a change: a document's timeline event and, when integrations hear about
it, its webhook event — staged in the caller's transaction, so both commit with the change or
not at all (the transactional outbox; ``docs/wiring-issue-17.md`` §1).

Every invoice service appends its events through ``events.append_event`` (a ``Context`` at
hand) or :func:`append_timeline` (a job that builds its own timeline entries, e.g. the overdue
run). The webhook event carries the document *as it is after the change*: the helper reads it
from the transaction (which sees its own staged writes), so a call site passes whichever record
it has, before or after its ``tx.put``; a deleted document is announced with the record given.

This module imports nothing of the service layer's registry, so the overdue run (its own
Lambda function) carries the outbox without every service.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from functions.webhooks.staging import stage_event
from storage_adapter import Record, Transaction

from .ids import new_id

#: Service fields of an invoice that are bookkeeping, not part of its representation.
INTERNAL_FIELDS = frozenset({"reminder_claim", "hosted_link_version"})


def timeline_stream(invoice_id: str) -> str:
    return f"timeline:{invoice_id}"


def represent(rec: Record) -> dict[str, Any]:
    """An invoice as the API shows it (``invoices.present``): the stored data and the record's
    ``version``, without bookkeeping fields and without ``pdf.blob_key``."""
    data = {k: v for k, v in rec.data.items() if k not in INTERNAL_FIELDS}
    pdf = data.get("pdf")
    if isinstance(pdf, dict) and "blob_key" in pdf:
        data["pdf"] = {k: v for k, v in pdf.items() if k != "blob_key"}
    data["version"] = rec.version
    return data


def _at(entry: dict[str, Any]) -> datetime:
    raw = str(entry.get("at") or "")
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return datetime.now(UTC).replace(microsecond=0)


def append_timeline(tx: Transaction, rec: Record, entry: dict[str, Any]) -> str | None:
    """Append ``entry`` (``{"type", "at", "actor", "data"}``) to ``rec``'s timeline and stage
    its webhook event if that type is published. Returns the event id, or ``None``."""
    tx.append(timeline_stream(rec.key), entry)
    current = tx.get(rec.collection, rec.key) or rec  # the state after the change
    return stage_event(
        tx,
        event_id=new_id("evt"),
        object_name=str(current.data.get("object") or "invoice"),
        timeline_type=str(entry.get("type")),
        record=current,
        representation=represent(current),
        at=_at(entry),
    )
