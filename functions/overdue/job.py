"""The daily overdue run: mark overdue invoices and send each reminder level once.

For every account's ``open``/``sent``/``overdue`` invoice with ``due_date`` before ``today`` and
``amount_due`` > 0 (read from the store's declared due index, ``store.due("invoices")``, paged
by due date and id — see ``storage_adapter.declared``):

- ``open``/``sent`` → ``overdue`` (timeline ``overdue``);
- reminder level *k* is due when the days overdue reach ``reminder_days[k-1]`` of the entity
  (default ``[7, 14, 30]``). The invoice remembers the last level sent (``reminder_level``);
  when several levels are due at once (the job did not run for a while) only the highest is
  sent. Timeline ``reminder_sent`` with the level.

Exactly once per level, also with two runs at the same time (the local server's 07:00 run and
``billow daily`` by hand): before mailing, the run *claims* the reminder on the invoice
(``reminder_claim: {"level", "on"}``) in a versioned transaction; only the run whose claim
committed sends. Each reminder handed to the mail transport is recorded at once (the level
sent, the claim cleared) in its own commit when the transport sends at once (SMTP, SES), so a
run killed half-way leaves at most the one mail in flight unrecorded; the outbox, which makes
a batch durable at its end, has it recorded once the batch is. A failed mail keeps the claim
for that day (nothing is retried the same day; the next day's run tries again), and so does a
run that died between claim and record: the next day sends what it had claimed but not sent,
rather than never.
Running twice on one day therefore changes and sends nothing the second time.

Batches. A commit is the expensive part (SQLite fsyncs every one; DynamoDB pays a round trip),
so the run handles the candidates a batch at a time (:func:`batch_size` invoices, fewer on a
store whose transactions hold a limited number of items): one transaction claims the whole
batch, its reminders are mailed (inside the mailer's ``batch()`` when it has one, so the outbox
waits for the disk once per batch, not once per mail), each recorded as it is sent. Each
invoice is re-read inside the transaction and written with its version checked, so a user's
concurrent edit either lands first (and is seen) or makes the batch's commit fail with a
:class:`VersionConflict` naming that invoice: the run then handles that invoice alone (re-read,
retried) and commits the rest of the batch without it. Any other failure of a batch commit falls
back to one transaction per invoice, so one bad invoice never costs the others their reminders.
Timeline events are staged in the same transaction as the change they describe.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from functions.domain.lifecycle import allowed, transition
from functions.services.timeline import append_timeline
from storage_adapter import Record, Store, Transaction, VersionConflict

logger = logging.getLogger("billow.overdue")
_C = TypeVar("_C")
_R = TypeVar("_R")

INVOICES = "invoices"
ENTITIES = "entities"
CLIENTS = "clients"
OUTSTANDING = ("open", "sent", "overdue")
DEFAULT_REMINDER_DAYS = (7, 14, 30)
PAGE_SIZE = 2000
ACTOR = "system:overdue"
RETRIES = 5
#: Invoices per transaction when the store sets no limit on a transaction's size.
BATCH_SIZE = 100
#: Most store items one invoice adds to a commit: its record (written, or only read, which
#: DynamoDB checks as a ConditionCheck), its timeline event, its webhook (outbox) event, plus
#: one spare.
ITEMS_PER_INVOICE = 4


def batch_size(store: Store) -> int:
    """Invoices per transaction: :data:`BATCH_SIZE`, or fewer when the store says how many
    items one of its transactions may hold (``max_transaction_items``, e.g. DynamoDB's 100)."""
    limit = getattr(store, "max_transaction_items", None)
    if not limit:
        return BATCH_SIZE
    return max(1, min(BATCH_SIZE, int(limit) // ITEMS_PER_INVOICE))


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


@dataclass(frozen=True)
class _Candidate:
    """An invoice the listing says may need work, with what was looked up for it."""

    rec: Record
    reminder_days: list[int]
    to: str | None

    @property
    def key(self) -> str:
        return self.rec.key


@dataclass(frozen=True)
class _Claimed:
    """An invoice whose change (and reminder claim, if any) committed."""

    rec: Record
    plan: Plan
    to: str | None


@dataclass(frozen=True)
class _Outcome:
    """A reminder after the attempt to mail it: ``message_id`` when handed over, else
    ``reason``."""

    claimed: _Claimed
    message_id: str | None = None
    reason: str | None = None

    @property
    def key(self) -> str:
        return self.claimed.rec.key


class _Run:
    def __init__(self, store: Store, today: date, services: Mapping[str, Any], now: datetime):
        self.store = store
        self.today = today
        self.services = services
        self.at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.batch_size = batch_size(store)
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
        self._emails: dict[str, tuple[str | None, str | None]] = {}  # client -> (account, email)
        self._mailer: Any = None

    # --- helpers -----------------------------------------------------------------------------
    def event(self, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"type": type_, "at": self.at, "actor": ACTOR, "data": data}

    def error(self, key: str, what: str) -> None:
        logger.exception("overdue run: invoice %s failed (%s)", key, what)
        self.counts.setdefault("errors", 0)
        self.counts["errors"] += 1

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
            if client_id not in self._emails:  # one read per client and run, not per invoice
                client = self.store.get(CLIENTS, client_id)
                self._emails[client_id] = (
                    (client.account_id, client.data.get("email")) if client else (None, None)
                )
            account_id, email = self._emails[client_id]
            if account_id == rec.account_id and email:
                return str(email)
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

    def commit_in_batches(
        self,
        items: Sequence[_C],
        key: Callable[[_C], str],
        stage: Callable[[Transaction, _C], _R],
        what: str,
    ) -> list[tuple[_C, _R]]:
        """Stage every item in one transaction and commit; returns ``(item, stage result)``.

        A :class:`VersionConflict` naming one item's invoice (a user edit won the race) takes
        that item out: it is committed alone, retried on a fresh read, and the rest is
        committed again without it. Any other failure of the shared commit falls back to one
        transaction per item. An item whose own transaction fails is logged and counted in
        ``errors``; the others are not affected.
        """
        done: list[tuple[_C, _R]] = []
        pending = list(items)
        alone: list[_C] = []
        while pending:
            batch = pending

            def stage_all(tx: Transaction, batch: list[_C] = batch) -> list[_R]:
                return [stage(tx, item) for item in batch]

            try:
                results = self.store.transaction(stage_all)
            except VersionConflict as conflict:
                lost = next((i for i in pending if key(i) == conflict.key), None)
                if lost is None:  # not one of ours: cannot tell whom to set apart
                    logger.warning(
                        "overdue run: %s batch conflict (%s); one by one", what, conflict
                    )
                    alone.extend(pending)
                    break
                self.counts["retried"] += 1
                pending = [i for i in pending if i is not lost]
                alone.append(lost)
                continue
            except Exception:
                logger.exception("overdue run: %s batch failed; one invoice at a time", what)
                alone.extend(pending)
                break
            done.extend(zip(pending, results, strict=True))
            break
        for item in alone:
            try:
                done.append((item, self.transact(lambda tx, item=item: stage(tx, item))))
            except Exception:
                self.error(key(item), what)
        return done

    # --- stage 1: mark overdue and claim reminders ---------------------------------------------
    def candidate(self, rec: Record) -> _Candidate | None:
        self.counts["checked"] += 1
        days = self.reminder_days(rec.data)
        first = plan_for(rec.data, self.today, days)
        if not first:
            return None
        to = self.recipient(rec)
        if first.reminder_level is not None and not to:
            self.counts["skipped_no_email"] += 1
        return _Candidate(rec, days, to)

    def stage_claim(self, tx: Transaction, c: _Candidate) -> tuple[Record, Plan] | None:
        """Stage one invoice's change (overdue, reminder claim) from its current version."""
        current = tx.get(INVOICES, c.key)
        if current is None:
            return None
        plan = plan_for(current.data, self.today, c.reminder_days)
        if plan.reminder_level is not None and not c.to:
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
            data["reminder_claim"] = {"level": plan.reminder_level, "on": self.today.isoformat()}
        data["updated_at"] = self.at
        new = tx.put(
            INVOICES,
            current.key,
            data,
            account_id=current.account_id,
            expected_version=current.version,
        )
        for e in events:
            append_timeline(tx, new, e)
        return new, plan

    # --- stage 2: mail the claimed reminders --------------------------------------------------
    def record_sent(self, outcome: _Outcome) -> bool:
        """Record one reminder the transport took, in its own commit (see the module doc)."""
        try:
            self.transact(lambda tx: self.stage_record(tx, outcome))
        except Exception:
            self.error(outcome.key, "record")  # left for the batch's record step
            return False
        self.counts["reminders_sent"] += 1
        return True

    def mail_reminders(self, claimed: list[_Claimed]) -> list[_Outcome]:
        """Mail each claimed reminder, recording each one sent at once; returns the outcomes
        not recorded yet (failures, for the batch's record step). The mailer's ``batch()``
        (if any) makes the files durable together at the end."""
        from functions.mail.transport import MailConfigurationError, MailDeliveryError

        outcomes: list[_Outcome] = []
        if not claimed:
            return outcomes
        try:
            mailer = self.mailer()
            batch = getattr(mailer, "batch", None)
            group = batch() if batch is not None else contextlib.nullcontext()
        except (MailDeliveryError, MailConfigurationError) as exc:
            reason = getattr(exc, "message", None) or str(exc)
            return [_Outcome(c, reason=reason) for c in claimed]
        # a transport that sends at once (SMTP, SES): record each mail as it goes out; one that
        # makes a batch durable at its end (the outbox): record once the batch is confirmed
        at_once = batch is None
        try:
            with group:
                for c in claimed:
                    outcome = self.mail_one(mailer, c)
                    if not (at_once and not outcome.reason and self.record_sent(outcome)):
                        outcomes.append(outcome)
        except (MailDeliveryError, MailConfigurationError) as exc:
            reason = getattr(exc, "message", None) or str(exc)
            outcomes = [o if o.reason else _Outcome(o.claimed, reason=reason) for o in outcomes]
        for o in outcomes:
            if o.reason:
                level = o.claimed.plan.reminder_level
                logger.warning("reminder %s of %s not sent: %s", level, o.key, o.reason)
        return outcomes

    def hosted_url(self, rec: Record) -> str | None:
        """The invoice's hosted page, for the reminder to link to (``None`` if it has none)."""
        import os

        from functions.hosted.keys import document_url, link_key

        public_url = os.environ.get("BILLOW_PUBLIC_URL") or "http://127.0.0.1:8000"
        try:
            return document_url(link_key(self.store), public_url, rec.key, rec.data)
        except Exception:  # no usable link key: the reminder goes out without the link
            logger.exception("the hosted link of %s could not be made", rec.key)
            return None

    def mail_one(self, mailer: Any, c: _Claimed) -> _Outcome:
        from functions.mail.messages import reminder_message
        from functions.mail.transport import MailConfigurationError, MailDeliveryError

        level = int(c.plan.reminder_level or 0)
        invoice = {**c.rec.data, "version": c.rec.version}
        invoice.pop("reminder_claim", None)
        invoice["hosted_invoice_url"] = self.hosted_url(c.rec)
        try:
            pdf = None
            blob_key = (c.rec.data.get("pdf") or {}).get("blob_key")
            if blob_key:
                blob = self.store.get_blob(blob_key)
                pdf = blob.data if blob else None
            message = reminder_message(invoice, level, c.plan.days_overdue, pdf, c.to)
            return _Outcome(c, message_id=mailer.send(message))
        except (MailDeliveryError, MailConfigurationError, ValueError) as exc:
            return _Outcome(c, reason=getattr(exc, "message", None) or str(exc))
        except Exception as exc:  # a bug for one invoice: the batch's sent mails still count
            logger.exception("reminder %s of %s could not be made", level, c.rec.key)
            return _Outcome(c, reason=f"internal error: {type(exc).__name__}")

    # --- stage 3: record what was sent ---------------------------------------------------------
    def stage_record(self, tx: Transaction, o: _Outcome) -> None:
        """Stage the level sent (claim cleared) and ``reminder_sent``, or ``reminder_failed``
        (the claim stays: nothing more today, the next day's run tries again)."""
        level = int(o.claimed.plan.reminder_level or 0)
        if o.reason is not None:
            failure = {"level": level, "to": o.claimed.to, "reason": o.reason}
            tx.append(f"timeline:{o.key}", self.event("reminder_failed", failure))
            return
        current = tx.get(INVOICES, o.key)
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
        sent = {
            "level": level,
            "days_overdue": o.claimed.plan.days_overdue,
            "to": o.claimed.to,
            "message_id": o.message_id,
        }
        append_timeline(tx, current, self.event("reminder_sent", sent))

    # --- one batch -----------------------------------------------------------------------------
    def process_batch(self, recs: Sequence[Record]) -> None:
        candidates = []
        for rec in recs:
            try:
                c = self.candidate(rec)
            except Exception:  # one bad invoice must not stop everybody's reminders
                self.error(rec.key, "lookup")
                continue
            if c is not None:
                candidates.append(c)
        if not candidates:
            return
        claims = self.commit_in_batches(candidates, lambda c: c.key, self.stage_claim, "claim")
        to_mail = []
        for c, result in claims:
            if result is None:
                continue
            rec, plan = result
            if plan.mark_overdue:
                self.counts["marked_overdue"] += 1
            if plan.reminder_level is not None and c.to:
                to_mail.append(_Claimed(rec, plan, c.to))
        outcomes = self.mail_reminders(to_mail)
        for o, _ in self.commit_in_batches(outcomes, lambda o: o.key, self.stage_record, "record"):
            self.counts["reminders_failed" if o.reason else "reminders_sent"] += 1

    # --- the invoices that fall due ----------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Read the declared due index (open invoices by due date, every account) up to
        yesterday, a page at a time: the cost follows what falls due, not the history."""
        up_to = (self.today - timedelta(days=1)).isoformat()
        after: tuple[str, str] | None = None
        while True:
            items = self.store.due(INVOICES, up_to=up_to, after=after, limit=PAGE_SIZE)
            for i in range(0, len(items), self.batch_size):
                batch = items[i : i + self.batch_size]
                try:
                    self.process_batch(batch)
                except Exception:  # one bad batch must not stop everybody's reminders
                    self.error(",".join(r.key for r in batch[:3]) + ",…", "batch")
            if len(items) < PAGE_SIZE:
                break
            last = items[-1]
            after = (str(last.data.get("due_date")), last.key)
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
