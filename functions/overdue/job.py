"""The daily overdue run: mark overdue invoices and send each reminder level once.

For every account's ``open``/``sent``/``overdue`` invoice with ``due_date`` before ``today`` and
``amount_due`` > 0 (found with the store's query, paged by id):

- ``open``/``sent`` → ``overdue`` (timeline ``overdue``);
- reminder level *k* is due when the days overdue reach ``reminder_days[k-1]`` of the entity
  (default ``[7, 14, 30]``). The invoice remembers the last level sent (``reminder_level``);
  when several levels are due at once (the job did not run for a while) only the highest is
  sent. Timeline ``reminder_sent`` with the level.

Exactly once per level, also with two runs at the same time (the local server's 07:00 run and
``billow overdue`` by hand): before mailing, the run *claims* the reminder on the invoice
(``reminder_claim: {"level", "on"}``) in a versioned transaction; only the run whose claim
committed sends. After the mail the level is recorded and the claim cleared. A failed mail
keeps the claim for that day (nothing is retried the same day; the next day's run tries again),
and so does a run that died between claim and record — the next day resends rather than never.
Running twice on one day therefore changes and sends nothing the second time.

Each invoice is changed in its own transaction that re-reads it, so a user's concurrent edit
either lands first (and is seen) or fails its own version check; a lost optimistic race is
retried for that invoice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from functions.domain.lifecycle import allowed, transition
from storage_adapter import Filter, Record, Sort, Store, Transaction, VersionConflict

logger = logging.getLogger("billow.overdue")

INVOICES = "invoices"
ENTITIES = "entities"
CLIENTS = "clients"
OUTSTANDING = ("open", "sent", "overdue")
DEFAULT_REMINDER_DAYS = (7, 14, 30)
PAGE_SIZE = 2000
ACTOR = "system:overdue"
RETRIES = 5


@dataclass(frozen=True)
class Plan:
    """What today's run should do to one invoice."""

    mark_overdue: bool
    reminder_level: int | None
    days_overdue: int

    def __bool__(self) -> bool:
        return self.mark_overdue or self.reminder_level is not None


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def plan_for(data: Mapping[str, Any], today: date, reminder_days: list[int]) -> Plan:
    """Pure decision for one invoice's stored data (no I/O)."""
    nothing = Plan(False, None, 0)
    status = data.get("status")
    if data.get("kind", "invoice") != "invoice" or status not in OUTSTANDING:
        return nothing
    if _amount(data.get("amount_due")) <= 0 or not data.get("due_date"):
        return nothing
    try:
        days = (today - date.fromisoformat(str(data["due_date"]))).days
    except ValueError:
        return nothing
    if days <= 0:
        return nothing
    mark = allowed(str(status), "mark_overdue")
    due_level = sum(1 for d in sorted(reminder_days) if d <= days)
    sent_level = int(data.get("reminder_level") or 0)
    claim = data.get("reminder_claim") or {}
    claimed_today = claim.get("on") == today.isoformat()
    level = due_level if due_level > sent_level and not claimed_today else None
    return Plan(mark, level, days)


class _Run:
    def __init__(self, store: Store, today: date, services: Mapping[str, Any], now: datetime):
        self.store = store
        self.today = today
        self.services = services
        self.at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.counts = {
            "date": today.isoformat(),
            "checked": 0,
            "marked_overdue": 0,
            "reminders_sent": 0,
            "reminders_failed": 0,
            "skipped_no_email": 0,
            "retried": 0,
        }
        self._reminder_days: dict[str, list[int]] = {}
        self._mailer: Any = None

    # --- helpers -----------------------------------------------------------------------------
    def event(self, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"type": type_, "at": self.at, "actor": ACTOR, "data": data}

    def reminder_days(self, data: Mapping[str, Any]) -> list[int]:
        """The entity's current ``reminder_days`` (else the frozen seller's, else default)."""
        entity_id = str(data.get("entity_id") or "")
        if entity_id not in self._reminder_days:
            days: Any = None
            if entity_id:
                entity = self.store.get(ENTITIES, entity_id)
                if entity is not None and entity.account_id is not None:
                    days = entity.data.get("reminder_days")
            if days is None:
                days = (data.get("seller") or {}).get("reminder_days")
            self._reminder_days[entity_id] = [
                int(d) for d in (days if days is not None else DEFAULT_REMINDER_DAYS)
            ]
        return self._reminder_days[entity_id]

    def recipient(self, rec: Record) -> str | None:
        client_id = str(rec.data.get("client_id") or "")
        if client_id:
            client = self.store.get(CLIENTS, client_id)
            same_account = client is not None and client.account_id == rec.account_id
            if same_account and client.data.get("email"):
                return str(client.data["email"])
        return (rec.data.get("buyer") or {}).get("email") or rec.data.get("client_email")

    def mailer(self) -> Any:
        if self._mailer is None:
            self._mailer = self.services.get("mailer")
            if self._mailer is None:
                from functions.mail.transport import get_mailer

                self._mailer = get_mailer()
        return self._mailer

    def transact(self, fn: Any) -> Any:
        for attempt in range(RETRIES):
            try:
                return self.store.transaction(fn)
            except VersionConflict:
                self.counts["retried"] += 1
                if attempt == RETRIES - 1:
                    raise
        return None  # pragma: no cover

    # --- per invoice -------------------------------------------------------------------------
    def process(self, rec: Record) -> None:
        self.counts["checked"] += 1
        days = self.reminder_days(rec.data)
        first = plan_for(rec.data, self.today, days)
        if not first:
            return
        to = self.recipient(rec)
        if first.reminder_level is not None and not to:
            self.counts["skipped_no_email"] += 1

        def claim(tx: Transaction) -> tuple[Record, Plan] | None:
            current = tx.get(INVOICES, rec.key)
            if current is None:
                return None
            plan = plan_for(current.data, self.today, days)
            if plan.reminder_level is not None and not to:
                plan = Plan(plan.mark_overdue, None, plan.days_overdue)
            if not plan:
                return None
            data = dict(current.data)
            events = []
            if plan.mark_overdue:
                data["status"] = transition(str(data["status"]), "mark_overdue")
                events.append(
                    self.event(
                        "overdue",
                        {"due_date": data.get("due_date"), "days_overdue": plan.days_overdue},
                    )
                )
            if plan.reminder_level is not None:
                data["reminder_claim"] = {
                    "level": plan.reminder_level,
                    "on": self.today.isoformat(),
                }
            data["updated_at"] = self.at
            new = tx.put(
                INVOICES,
                current.key,
                data,
                account_id=current.account_id,
                expected_version=current.version,
            )
            for e in events:
                tx.append(f"timeline:{current.key}", e)
            return new, plan

        result = self.transact(claim)
        if result is None:
            return
        claimed, plan = result
        if plan.mark_overdue:
            self.counts["marked_overdue"] += 1
        if plan.reminder_level is not None and to:
            self.send_reminder(claimed, plan, to)

    def send_reminder(self, rec: Record, plan: Plan, to: str) -> None:
        from functions.mail.messages import reminder_message
        from functions.mail.transport import MailConfigurationError, MailDeliveryError

        level = int(plan.reminder_level or 0)
        pdf = None
        blob_key = (rec.data.get("pdf") or {}).get("blob_key")
        if blob_key:
            blob = self.store.get_blob(blob_key)
            pdf = blob.data if blob else None
        invoice = {**rec.data, "version": rec.version}
        invoice.pop("reminder_claim", None)
        try:
            message = reminder_message(invoice, level, plan.days_overdue, pdf, to)
            message_id = self.mailer().send(message)
        except (MailDeliveryError, MailConfigurationError, ValueError) as exc:
            reason = getattr(exc, "message", None) or str(exc)
            logger.warning("reminder %s of %s not sent: %s", level, rec.key, reason)
            self.counts["reminders_failed"] += 1
            failure = self.event("reminder_failed", {"level": level, "to": to, "reason": reason})
            self.transact(lambda tx: tx.append(f"timeline:{rec.key}", failure))
            return

        def record(tx: Transaction) -> None:
            current = tx.get(INVOICES, rec.key)
            if current is None:
                return
            data = dict(current.data)
            data["reminder_level"] = max(level, int(data.get("reminder_level") or 0))
            data.pop("reminder_claim", None)
            data["updated_at"] = self.at
            tx.put(
                INVOICES,
                current.key,
                data,
                account_id=current.account_id,
                expected_version=current.version,
            )
            tx.append(
                f"timeline:{current.key}",
                self.event(
                    "reminder_sent",
                    {
                        "level": level,
                        "days_overdue": plan.days_overdue,
                        "to": to,
                        "message_id": message_id,
                    },
                ),
            )

        self.transact(record)
        self.counts["reminders_sent"] += 1

    # --- all invoices ------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        last_id: str | None = None
        while True:
            filters = [
                Filter("status", "in", list(OUTSTANDING)),
                Filter("kind", "eq", "invoice"),
                Filter("due_date", "lt", self.today.isoformat()),
            ]
            if last_id is not None:
                filters.append(Filter("id", "gt", last_id))
            page = self.store.query(
                INVOICES,
                account_id=None,
                filters=filters,
                sort=Sort("id", descending=False),
                limit=PAGE_SIZE,
            )
            for rec in page.items:
                try:
                    self.process(rec)
                except Exception:  # one bad invoice must not stop everybody's reminders
                    logger.exception("overdue run: invoice %s failed", rec.key)
                    self.counts.setdefault("errors", 0)
                    self.counts["errors"] += 1
            if len(page.items) < PAGE_SIZE:
                break
            last_id = page.items[-1].key
        return self.counts


def run_overdue(
    store: Store,
    today: date,
    services: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Run the daily job for ``today``; returns counts (``checked``, ``marked_overdue``,
    ``reminders_sent``, ``reminders_failed``, ``skipped_no_email``, ``retried``).

    ``services["mailer"]`` delivers the reminders (default: the environment's transport).
    Timeline events are stamped ``now`` (default: the current time, or 07:00 UTC of ``today``
    when running for another day).
    """
    if now is None:
        now = datetime.now(UTC)
        if now.date() != today:
            now = datetime.combine(today, time(7, 0), UTC)
    result = _Run(store, today, services or {}, now).run()
    logger.info("overdue run %s: %s", today.isoformat(), result)
    return result
