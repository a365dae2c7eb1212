"""The delivery worker: outbox events → deliveries → attempts, through the store port only.

One pass (:meth:`Worker.run_once`):

1. **fan-out** — every ``pending`` outbox event (written by a service in the commit of the
   change it reports) becomes one delivery per matching webhook (:func:`.outbox.plan_deliveries`)
   in one commit that also marks the event ``dispatched``. Delivery keys are deterministic
   (event × webhook) and created with ``expected_version=0``: two workers fanning out the same
   event cannot both succeed.
2. **deliveries** — every delivery due now is *claimed* (a versioned write of
   ``claimed_until``), so two workers never make the same attempt; then one attempt
   (:func:`.delivery.deliver`), then one commit: the delivery's next state, the attempt's log
   entry, and, when the webhook has failed for 3 days, the webhook disabled
   (:func:`.outbox.disable_decision`; the caller mails the owner). A worker killed between
   sending and recording sends again once the claim lapses: at least once, and receivers
   dedupe by ``webhook-id``.

Which records are due comes from ``due`` (collection, up to) → records. Until the store
indexes due dates (branch ``indexes``: ``Store.due``), ``scan.scan_due`` reads the collection;
wiring passes ``lambda c, t: [r for _, r in store.due(c, up_to=t)]``.

Collections: ``webhooks`` (``url``, ``events``, ``status``, ``secret_sealed``, ``created_at``),
``webhook_events`` (envelope + ``body`` + ``status``), ``webhook_deliveries``,
``webhook_attempts`` (kept 90 days).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from storage_adapter import Filter, Record, Store, Transaction, VersionConflict

from . import outbox
from .delivery import AttemptResult, deliver
from .events import timestamp
from .fanout import fan_out_event
from .sealing import Sealer, SealError, webhook_context
from .staging import (
    ATTEMPTS,
    DELIVERIES,
    EVENTS,
    WEBHOOKS,
    redeliver,
    stage_event,
)

__all__ = ["ATTEMPTS", "DELIVERIES", "EVENTS", "WEBHOOKS", "redeliver", "stage_event"]
ATTEMPTS_KEPT = timedelta(days=90)
CLAIM = timedelta(seconds=60)

log = logging.getLogger("billow.webhooks")

Due = Callable[[str, str], list[Record]]
Send = Callable[..., AttemptResult]


@dataclass
class PassSummary:
    dispatched: int = 0
    attempted: int = 0
    delivered: int = 0
    disabled: list[str] = field(default_factory=list)


@dataclass
class Worker:
    store: Store
    sealer: Sealer
    new_id: Callable[[str], str]
    send: Send = deliver
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    rng: random.Random = field(default_factory=random.Random)
    due: Due | None = None
    claim: timedelta = CLAIM

    # --- fan-out ------------------------------------------------------------------------------
    def fan_out(self) -> int:
        assert self.due is not None
        return sum(self.fan_out_one(rec) for rec in self.due(EVENTS, timestamp(self.now())))

    def fan_out_one(self, rec: Record) -> bool:
        """Fan one pending outbox event out (:func:`.staging.fan_out_event`)."""
        return fan_out_event(self.store, rec, now=self.now())

    # --- deliveries ---------------------------------------------------------------------------
    def _claim(self, key: str) -> Record | None:
        now = self.now()
        stamp = timestamp(now)

        def run(tx: Transaction) -> Record | None:
            current = tx.get(DELIVERIES, key)
            if current is None:
                return None
            due = outbox.due_at(current.data)
            if due is None or due > stamp or (current.data.get("claimed_until") or "") > stamp:
                return None
            data = {**current.data, "claimed_until": timestamp(now + self.claim)}
            return tx.put(
                DELIVERIES,
                key,
                data,
                account_id=current.account_id,
                expected_version=current.version,
            )

        try:
            return self.store.transaction(run, retries=0)
        except VersionConflict:
            return None

    def _history(self, account_id: str | None, webhook_id: str) -> list[dict[str, Any]]:
        page = self.store.query(
            ATTEMPTS, account_id=account_id, filters=[Filter("webhook_id", "eq", webhook_id)]
        )
        return [r.data for r in page.items]

    def attempt(self, claimed: Record, summary: PassSummary) -> None:
        delivery = claimed.data
        hook = self.store.get(WEBHOOKS, delivery["webhook_id"])
        event = self.store.get(EVENTS, delivery["event_id"])
        if hook is None or event is None or hook.data.get("status") != outbox.ENABLED:
            reason = "webhook deleted" if hook is None else "webhook disabled"
            if event is None:
                reason = "event no longer stored"
            self._write(claimed, outbox.cancel(delivery, reason), None, None)
            return
        try:
            secret = self.sealer.open(
                hook.data["secret_sealed"], context=webhook_context(hook.account_id, hook.key)
            )
        except (SealError, KeyError):
            log.error("the signing secret of %s does not open; delivery skipped", hook.key)
            self._write(claimed, outbox.cancel(delivery, "signing secret unavailable"), None, None)
            return
        manual = outbox.is_manual(delivery, self.now())
        result = self.send(
            hook.data["url"], event_id=event.key, body=event.data["body"], secret=secret
        )
        at = self.now()
        updated, entry = outbox.record_attempt(
            {k: v for k, v in delivery.items() if k != "claimed_until"},
            result,
            at=at,
            attempt_id=self.new_id("att"),
            manual=manual,
            rng=self.rng,
        )
        entry["webhook_id"] = hook.key
        summary.attempted += 1
        summary.delivered += result.ok
        decision = None
        if not result.ok:
            decision = outbox.disable_decision(
                hook.data, [*self._history(hook.account_id, hook.key), entry]
            )
        self._write(claimed, updated, entry, (hook, decision) if decision else None)
        if decision:
            summary.disabled.append(hook.key)

    def _write(
        self,
        claimed: Record,
        updated: dict[str, Any],
        entry: dict[str, Any] | None,
        disable: tuple[Record, dict[str, Any]] | None,
    ) -> None:
        expires = int((self.now() + ATTEMPTS_KEPT).timestamp())

        def run(tx: Transaction) -> None:
            tx.put(
                DELIVERIES,
                claimed.key,
                updated,
                account_id=claimed.account_id,
                expected_version=claimed.version,
            )
            if entry is not None:
                tx.put(
                    ATTEMPTS,
                    entry["id"],
                    entry,
                    account_id=claimed.account_id,
                    expected_version=0,
                    expires_at=expires,
                )
            if disable is not None:
                hook, change = disable
                current = tx.get(WEBHOOKS, hook.key)
                if current is not None and current.data.get("status") == outbox.ENABLED:
                    tx.put(
                        WEBHOOKS,
                        hook.key,
                        {**current.data, **change, "updated_at": timestamp(self.now())},
                        account_id=current.account_id,
                        expected_version=current.version,
                    )

        self.store.transaction(run)

    def deliver_due(self, summary: PassSummary) -> None:
        assert self.due is not None
        for rec in self.due(DELIVERIES, timestamp(self.now())):
            claimed = self._claim(rec.key)
            if claimed is not None:
                self.attempt(claimed, summary)

    def run_once(self) -> PassSummary:
        """Fan out what was committed, then make every attempt that is due."""
        summary = PassSummary()
        summary.dispatched = self.fan_out()
        self.deliver_due(summary)
        return summary
