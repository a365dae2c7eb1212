"""The outbox side of a change: a document's timeline event and, when integrations hear about
it, its webhook event — staged in the caller's transaction, so both commit with the change or
not at all (the transactional outbox; ``docs/wiring-issue-17.md`` §1).

Every invoice service appends its events through :func:`append_event` (a ``Context`` at hand)
or :func:`append_timeline` (a job that builds its own timeline entries, e.g. the overdue run).
The webhook event carries the document *as it is after the change*: the helper reads it from
the transaction (which sees its own staged writes), so a call site passes whichever record it
has, before or after its ``tx.put``; a deleted document is announced with the record given.

After a commit that wrote an outbox event, :data:`WAKE` is set (by the API handler after every
mutating action): the delivery worker of this process then runs at once instead of at its next
poll.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from storage_adapter import Record, Transaction

from .common import event, new_id
from .registry import Context

INVOICES = "invoices"

#: Set after a commit that may have written outbox records; the worker waits on it.
WAKE = threading.Event()


def _at(entry: dict[str, Any]) -> datetime:
    raw = str(entry.get("at") or "")
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return datetime.now(UTC).replace(microsecond=0)


def append_timeline(tx: Transaction, rec: Record, entry: dict[str, Any]) -> str | None:
    """Append ``entry`` (``{"type", "at", "actor", "data"}``) to ``rec``'s timeline and stage
    its webhook event if that type is published. Returns the event id, or ``None``."""
    from functions.webhooks.worker import stage_event

    from .invoices import present, timeline_stream

    tx.append(timeline_stream(rec.key), entry)
    current = tx.get(rec.collection, rec.key) or rec  # the state after the change
    return stage_event(
        tx,
        event_id=new_id("evt"),
        object_name=str(current.data.get("object") or "invoice"),
        timeline_type=str(entry.get("type")),
        record=current,
        representation=present(current),
        at=_at(entry),
    )


def append_event(
    tx: Transaction, ctx: Context, rec: Record, type_: str, data: dict[str, Any] | None = None
) -> str | None:
    """The timeline event ``type_`` of ``rec`` by ``ctx``'s actor, with its webhook event."""
    return append_timeline(tx, rec, event(ctx, type_, data))
