"""Appending an invoice's events from a service (a ``Context`` at hand): the timeline event and
its webhook event in the caller's transaction (:mod:`.timeline`).

After a commit that wrote an outbox event, :data:`WAKE` is set (by the API handler after every
mutating action): the delivery worker of this process then runs at once instead of at its next
poll.
"""

from __future__ import annotations

import threading
from typing import Any

from storage_adapter import Record, Transaction

from .common import event
from .registry import Context
from .timeline import INTERNAL_FIELDS, append_timeline, represent, timeline_stream

# re-exported for the invoice services
__all__ = [
    "INTERNAL_FIELDS",
    "WAKE",
    "append_event",
    "append_timeline",
    "represent",
    "timeline_stream",
]

#: Set after a commit that may have written outbox records; the worker waits on it.
WAKE = threading.Event()


def append_event(
    tx: Transaction, ctx: Context, rec: Record, type_: str, data: dict[str, Any] | None = None
) -> str | None:
    """The timeline event ``type_`` of ``rec`` by ``ctx``'s actor, with its webhook event."""
    return append_timeline(tx, rec, event(ctx, type_, data))
