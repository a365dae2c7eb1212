"""Which outbox records are due, found by reading whole collections: the one place to swap for
the store's due index (``Store.due``) once it has one. Only the workers that pass over the
outbox (``billow serve``/``billow daily``) use it; the AWS functions are handed their records
by the stream and the queues."""

from __future__ import annotations

from typing import Any

from storage_adapter import Record, Store

from . import outbox
from .staging import DELIVERIES, EVENTS


def _event_due(data: dict[str, Any]) -> str | None:
    return data.get("created_at") if data.get("status") == "pending" else None


def scan_due(store: Store):
    """Due records found by reading the whole collection (what ``Store.due`` answers from an
    index once declared collections exist): fine for tests and small stores."""
    due_of = {EVENTS: _event_due, DELIVERIES: outbox.due_at}

    def due(collection: str, up_to: str) -> list[Record]:
        found = []
        for rec in store.query(collection, account_id=None).items:
            when = due_of[collection](rec.data)
            if when is not None and when <= up_to:
                found.append((when, rec.key, rec))
        return [rec for _, _, rec in sorted(found, key=lambda t: (t[0], t[1]))]

    return due
