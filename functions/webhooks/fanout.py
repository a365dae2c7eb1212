"""Fanning a committed outbox event out to its deliveries: one per matching webhook of the
account, created in one commit with the event marked ``dispatched``. Used by the worker
(``billow serve``) and by the AWS outbox function (the table's stream)."""

from __future__ import annotations

from datetime import datetime

from storage_adapter import Record, Store, Transaction, VersionConflict

from . import outbox
from .staging import DELIVERIES, EVENTS, WEBHOOKS


def fan_out_event(store: Store, rec: Record, *, now: datetime) -> bool:
    """Fan one pending outbox event out to one delivery per matching webhook, in one commit
    with marking it ``dispatched`` (create-only keys: a second fan-out changes nothing).
    False when it was no longer pending (another worker did it)."""
    hooks = [
        {**h.data, "id": h.key, "account_id": h.account_id}
        for h in store.query(WEBHOOKS, account_id=rec.account_id).items
    ]
    planned = outbox.plan_deliveries(rec.data, hooks, now=now)

    def run(tx: Transaction) -> bool:
        current = tx.get(EVENTS, rec.key)
        if current is None or current.data.get("status") != "pending":
            return False
        for delivery in planned:
            tx.put(
                DELIVERIES,
                outbox.delivery_key(delivery["event_id"], delivery["webhook_id"]),
                delivery,
                account_id=current.account_id,
                expected_version=0,
            )
        tx.put(
            EVENTS,
            rec.key,
            {**current.data, "status": "dispatched", "deliveries": len(planned)},
            account_id=current.account_id,
            expected_version=current.version,
        )
        return True

    try:
        return bool(store.transaction(run, retries=0))
    except VersionConflict:  # another worker dispatched it
        return False
