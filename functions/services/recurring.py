"""Recurring schedules (contract: "Recurring invoices"): ``recurring.create/update/get/list/
pause/resume/cancel/timeline``, and :func:`issue_period`, the one commit in which the daily run
(``functions/daily/recurring.py``) issues a period's invoice.

Storage: collection ``recurring``, key = ``rec_…`` id, the record's account set. Besides the
contract's fields the record keeps ``next_period`` (the index of the next period to issue, see
:mod:`functions.domain.recurring`), ``issued_count`` and ``last_invoice_id``. ``lines`` are kept
as the caller gave them (checked at create/update by building a draft from them), so each
invoice is built exactly as ``invoice.create`` would build it on its day.

Exactly once per period: :func:`issue_period` re-reads the schedule, and in ONE transaction
creates the marker ``recurring_issues/<schedule id>:<period start>`` (create-only), the invoice
(finalized in the same commit when ``auto_advance``: number, frozen parties), and the schedule
moved to its next period (versioned). A rerun, a second process or a retry after a crash finds
the marker or a newer schedule version and commits nothing; a crash before the commit leaves
nothing behind, so the period is issued by the next run.

Events: each change appends to the stream ``recurring:<id>`` and stages the webhook event
(``recurring.*``, :mod:`functions.webhooks.events`) in the same commit.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field, field_validator

from functions.domain.drafts import draft_invoice
from functions.domain.errors import FieldError, ValidationFailed
from functions.domain.models import Client, Entity
from functions.domain.recurring import Schedule, check_bounds, transition
from storage_adapter import Filter, Record, Sort, Transaction, VersionConflict

from .common import as_conflict, check_version, event, load, new_id
from .invoices import (
    INVOICES,
    LineInputs,
    load_client,
    load_entity,
    load_products,
    now_utc,
    stored_data,
)
from .records import ListParams, check_projection, list_page
from .registry import Context, Params, action

RECURRING = "recurring"
ISSUES = "recurring_issues"
#: Finalized invoices issued but not yet mailed (key = the issue key): written in the issuing
#: commit, deleted once mailed, so the daily run reads what is pending, not every period ever.
UNSENT = "recurring_unsent"

#: Fields of the record that are bookkeeping, not part of the representation.
INTERNAL_FIELDS = frozenset({"next_period"})
#: Fields that decide the periods: fixed once an invoice has been issued.
SCHEDULE_FIELDS = ("interval", "interval_count", "start_date")

RECURRING_FIELDS = frozenset(
    {
        "id",
        "object",
        "status",
        "entity_id",
        "client_id",
        "client_name",
        "lines",
        "currency",
        "interval",
        "interval_count",
        "start_date",
        "end_date",
        "count",
        "auto_advance",
        "notes",
        "terms",
        "metadata",
        "next_date",
        "issued_count",
        "last_invoice_id",
        "last_error",
        "subtotal",
        "tax_total",
        "total",
        "created_at",
        "updated_at",
        "paused_at",
        "cancelled_at",
        "ended_at",
        "version",
    }
)


def stream(recurring_id: str) -> str:
    return f"recurring:{recurring_id}"


def present(rec: Record, fields: list[str] | None = None) -> dict[str, Any]:
    data = {k: v for k, v in rec.data.items() if k not in INTERNAL_FIELDS}
    data["version"] = rec.version
    if fields is not None:
        return {f: data.get(f) for f in fields}
    return data


def schedule_of(data: dict[str, Any]) -> Schedule:
    return Schedule(
        interval=data["interval"],
        start_date=date.fromisoformat(data["start_date"]),
        interval_count=int(data.get("interval_count") or 1),
        end_date=date.fromisoformat(data["end_date"]) if data.get("end_date") else None,
        count=data.get("count"),
    )


#: The webhook outbox (``functions.webhooks.worker.EVENTS``; that module is not imported here,
#: so the API and the daily function load no delivery code).
WEBHOOK_EVENTS = "webhook_events"


def _stage_webhook(tx: Transaction, ctx: Context, rec: Record, type_: str) -> None:
    """The ``recurring.*`` webhook event of this change, in the same commit (the envelope of
    :func:`functions.webhooks.events.build_event`, ``pending`` for the delivery worker)."""
    from functions.webhooks.events import build_event, event_body, webhook_type

    published = webhook_type("recurring", type_)
    if published is None or rec.account_id is None:
        return
    event_id = new_id("evt")
    envelope = build_event(
        event_id=event_id,
        event_type=published,
        account_id=rec.account_id,
        record=present(rec),
        created_at=now_utc(ctx),
    )
    tx.put(
        WEBHOOK_EVENTS,
        event_id,
        {**envelope, "body": event_body(envelope), "status": "pending"},
        account_id=rec.account_id,
        expected_version=0,
    )


def _record_event(
    tx: Transaction, ctx: Context, rec: Record, type_: str, data: dict[str, Any] | None = None
) -> None:
    tx.append(stream(rec.key), event(ctx, type_, data))
    _stage_webhook(tx, ctx, rec, type_)


# --- parameters --------------------------------------------------------------------------------


#: Dates a schedule may name (its periods are computed years ahead).
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def _in_range(value: date | None) -> date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValueError(f"must lie between {EARLIEST} and {LATEST}")
    return value


class _Fields(Params):
    currency: str | None = None
    interval_count: int | None = Field(default=None, ge=1, le=520)
    end_date: date | None = None
    count: int | None = Field(default=None, ge=1, le=10000)
    auto_advance: bool | None = None
    notes: str | None = Field(default=None, max_length=5000)
    terms: str | None = Field(default=None, max_length=5000)
    metadata: dict[str, str] | None = None

    _dates = field_validator("end_date", "start_date", check_fields=False)(_in_range)


class RecurringCreate(_Fields):
    entity_id: str
    client_id: str
    lines: LineInputs
    interval: Literal["week", "month", "quarter", "year"]
    start_date: date


class RecurringUpdate(_Fields):
    recurring_id: str
    version: int | None = None
    entity_id: str | None = None
    client_id: str | None = None
    lines: LineInputs | None = None
    interval: Literal["week", "month", "quarter", "year"] | None = None
    start_date: date | None = None


class RecurringRef(Params):
    recurring_id: str


class RecurringGet(Params):
    recurring_id: str
    fields: list[str] | None = None


class RecurringList(ListParams):
    status: Literal["active", "paused", "ended", "cancelled"] | None = None
    client_id: str | None = None
    entity_id: str | None = None
    sort_by: Literal["created_at", "next_date"] = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"


# --- building ----------------------------------------------------------------------------------


def _priced(ctx: Context, data: dict[str, Any], entity: Entity, client: Client) -> dict[str, Any]:
    """Check the lines by building the invoice they make (422 names ``lines[i].field``) and
    return the schedule's preview amounts and currency."""
    fields = {k: data.get(k) for k in ("lines", "currency", "notes", "terms", "metadata")}
    draft = draft_invoice(
        {k: v for k, v in fields.items() if v is not None},
        entity,
        client,
        load_products(ctx, data["lines"]),
    )
    dumped = draft.model_dump(mode="json", include={"subtotal", "tax_total", "total", "currency"})
    return dumped


def _check(data: dict[str, Any]) -> None:
    problems = check_bounds(
        date.fromisoformat(data["start_date"]),
        date.fromisoformat(data["end_date"]) if data.get("end_date") else None,
        data.get("count"),
    )
    if problems:
        raise ValidationFailed([FieldError(f, m) for f, m in problems])


def _advance(data: dict[str, Any], next_period: int, at: str) -> dict[str, Any]:
    """``data`` with ``next_period`` and its ``next_date``; an active schedule with no period
    left is ``ended``."""
    nxt = schedule_of(data).next_date(next_period)
    data = {**data, "next_period": next_period, "next_date": nxt.isoformat() if nxt else None}
    if nxt is None and data["status"] == "active":
        data["status"] = transition("active", "end")
        data["ended_at"] = at
    return data


def _jsonable(value: Any) -> Any:
    from storage_adapter.base import to_jsonable

    return to_jsonable(value)


# --- actions -----------------------------------------------------------------------------------


@action("recurring.create", RecurringCreate)
def create_recurring(ctx: Context, p: RecurringCreate) -> dict[str, Any]:
    """A new ``active`` schedule; its first period starts on ``start_date``."""
    account_id = ctx.require_account()
    entity = load_entity(ctx, p.entity_id)
    client = load_client(ctx, p.client_id)
    if client.archived:
        raise ValidationFailed.one("client_id", "the client is archived")
    recurring_id = new_id("rec")
    stamp = ctx.timestamp
    data: dict[str, Any] = {
        "id": recurring_id,
        "object": "recurring",
        "status": "active",
        "entity_id": entity.id,
        "client_id": client.id,
        "client_name": client.name,
        "lines": _jsonable(p.lines),
        "currency": p.currency,
        "interval": p.interval,
        "interval_count": p.interval_count or 1,
        "start_date": p.start_date.isoformat(),
        "end_date": p.end_date.isoformat() if p.end_date else None,
        "count": p.count,
        "auto_advance": bool(p.auto_advance),
        "notes": p.notes,
        "terms": p.terms,
        "metadata": dict(p.metadata or {}),
        "issued_count": 0,
        "last_invoice_id": None,
        "last_error": None,
        "created_at": stamp,
        "updated_at": stamp,
        "paused_at": None,
        "cancelled_at": None,
        "ended_at": None,
    }
    _check(data)
    data.update(_priced(ctx, data, entity, client))
    data = _advance(data, 0, stamp)

    def run(tx: Transaction) -> Record:
        rec = tx.put(RECURRING, recurring_id, data, account_id=account_id, expected_version=0)
        _record_event(tx, ctx, rec, "created", {"status": rec.data["status"]})
        return rec

    return present(ctx.store.transaction(run))


def _change(
    ctx: Context,
    recurring_id: str,
    action_name: str,
    changes: Any,
    *,
    version: int | None = None,
) -> dict[str, Any]:
    """One versioned change of a schedule: ``changes(rec) -> (new data, event data)``."""

    def run(tx: Transaction) -> Record:
        rec = load(ctx, RECURRING, recurring_id, tx)
        check_version(rec, version)
        transition(rec.data["status"], action_name)  # 409 invalid_state naming the status
        data, payload = changes(tx, rec)
        data = {**data, "updated_at": ctx.timestamp}
        new = tx.put(
            RECURRING, rec.key, data, account_id=rec.account_id, expected_version=rec.version
        )
        type_ = {
            "update": "updated",
            "pause": "paused",
            "resume": "resumed",
            "cancel": "cancelled",
        }[action_name]
        _record_event(tx, ctx, new, type_, payload)
        if new.data["status"] == "ended" and rec.data["status"] != "ended":
            _record_event(tx, ctx, new, "ended", {"issued_count": new.data.get("issued_count")})
        return new

    try:
        return present(ctx.store.transaction(run))
    except VersionConflict as exc:
        raise as_conflict(exc) from None


@action("recurring.update", RecurringUpdate)
def update_recurring(ctx: Context, p: RecurringUpdate) -> dict[str, Any]:
    """Change an ``active`` or ``paused`` schedule (versioned). ``interval``,
    ``interval_count`` and ``start_date`` are fixed once an invoice has been issued; the next
    invoice is built from the new lines and fields."""
    given = p.model_fields_set - {"recurring_id", "version"}
    entity = load_entity(ctx, p.entity_id) if p.entity_id else None
    client = load_client(ctx, p.client_id) if p.client_id else None
    if client is not None and client.archived:
        raise ValidationFailed.one("client_id", "the client is archived")

    def changes(tx: Transaction, rec: Record) -> tuple[dict[str, Any], dict[str, Any]]:
        data = dict(rec.data)
        issued = int(data.get("issued_count") or 0)
        errors = []
        for name in sorted(given):
            value = getattr(p, name)
            if name in SCHEDULE_FIELDS and issued:
                current = data.get(name)
                new_value = value.isoformat() if isinstance(value, date) else value
                if new_value != current:
                    errors.append(FieldError(name, "cannot change once an invoice has been issued"))
                continue
            if name in ("interval", "start_date") and value is None:
                errors.append(FieldError(name, "must not be null"))
                continue
            if name == "count" and value is not None and value < issued:
                errors.append(FieldError(name, f"{issued} invoices were already issued"))
                continue
            if name == "interval_count":
                value = value or 1
            if name in ("lines",) and value is None:
                errors.append(FieldError(name, "must not be null"))
                continue
            if name == "auto_advance":
                value = bool(value)
            if name == "metadata":
                value = dict(value or {})
            data[name] = _jsonable(value)
        if errors:
            raise ValidationFailed(errors)
        if client is not None:
            data["client_name"] = client.name
        _check(data)
        data.update(
            _priced(
                ctx,
                data,
                entity or load_entity(ctx, data["entity_id"], tx),
                client or load_client(ctx, data["client_id"], tx),
            )
        )
        next_period = int(data.get("next_period") or 0)
        if not issued and data["status"] == "active":
            next_period = 0
        return _advance(data, next_period, ctx.timestamp), {"fields": sorted(given)}

    return _change(ctx, p.recurring_id, "update", changes, version=p.version)


@action("recurring.get", RecurringGet, mutating=False)
def get_recurring(ctx: Context, p: RecurringGet) -> dict[str, Any]:
    check_projection(p.fields, RECURRING_FIELDS)
    return present(load(ctx, RECURRING, p.recurring_id), p.fields)


@action("recurring.list", RecurringList, mutating=False)
def list_recurring(ctx: Context, p: RecurringList) -> dict[str, Any]:
    filters = [
        Filter(name, "eq", getattr(p, name))
        for name in ("status", "client_id", "entity_id")
        if getattr(p, name) is not None
    ]
    return list_page(
        ctx,
        RECURRING,
        p,
        allowed_fields=RECURRING_FIELDS,
        filters=filters,
        sort=Sort(p.sort_by, descending=p.sort_order == "desc"),
        represent=present,
    )


@action("recurring.pause", RecurringRef)
def pause_recurring(ctx: Context, p: RecurringRef) -> dict[str, Any]:
    """``active`` → ``paused``: no invoice is issued while paused."""
    return _change(
        ctx,
        p.recurring_id,
        "pause",
        lambda tx, rec: ({**rec.data, "status": "paused", "paused_at": ctx.timestamp}, {}),
    )


@action("recurring.resume", RecurringRef)
def resume_recurring(ctx: Context, p: RecurringRef) -> dict[str, Any]:
    """``paused`` → ``active``; periods that started while paused are skipped: the next
    invoice is the first period starting on or after today."""
    today = now_utc(ctx).date()

    def changes(tx: Transaction, rec: Record) -> tuple[dict[str, Any], dict[str, Any]]:
        schedule = schedule_of(rec.data)
        current = int(rec.data.get("next_period") or 0)
        nxt = max(current, schedule.first_index_on_or_after(today))
        data = {**rec.data, "status": "active", "paused_at": None}
        data = _advance(data, nxt, ctx.timestamp)
        return data, {"skipped_periods": nxt - current, "next_date": data["next_date"]}

    return _change(ctx, p.recurring_id, "resume", changes)


@action("recurring.cancel", RecurringRef)
def cancel_recurring(ctx: Context, p: RecurringRef) -> dict[str, Any]:
    """``active``/``paused`` → ``cancelled`` (final): no further invoice."""
    return _change(
        ctx,
        p.recurring_id,
        "cancel",
        lambda tx, rec: (
            {**rec.data, "status": "cancelled", "cancelled_at": ctx.timestamp, "next_date": None},
            {},
        ),
    )


@action("recurring.timeline", RecurringRef, mutating=False)
def recurring_timeline(ctx: Context, p: RecurringRef) -> dict[str, Any]:
    """The schedule's events, oldest first: created, updated, paused, resumed, cancelled,
    invoice_issued (with the invoice id and period), ended."""
    rec = load(ctx, RECURRING, p.recurring_id)
    return {"events": ctx.store.events(stream(rec.key))}


# --- issuing (the daily run) -------------------------------------------------------------------


def issue_key(recurring_id: str, period_start: date) -> str:
    return f"{recurring_id}:{period_start.isoformat()}"


def issue_period(ctx: Context, recurring_id: str, today: date) -> dict[str, Any] | None:
    """Issue the next due period of the schedule, once, in one commit; ``None`` when nothing
    is due (not active, next period later than ``today``, or another run issued it).

    Returns ``{"invoice_id", "period", "finalized", "finalize_error"}``. With ``auto_advance``
    the invoice is finalized in the same commit; a document that fails the finalize checks is
    issued as a draft and the problem recorded (the period is never lost for it).
    """
    from functions.webhooks.jobs import stage_pdf_job

    from .events import append_event
    from .invoices_finalize import _finalize_in, _with_seller_logo, stage_link
    from .ledger import post_entry

    invoice_id = new_id("inv")

    def run(tx: Transaction) -> dict[str, Any] | None:
        rec = tx.get(RECURRING, recurring_id)
        if rec is None or rec.data.get("status") != "active" or not rec.data.get("next_date"):
            return None
        if rec.data["next_date"] > today.isoformat():
            return None
        if rec.account_id != ctx.account_id:
            return None
        schedule = schedule_of(rec.data)
        index = int(rec.data.get("next_period") or 0)
        start, end = schedule.period(index)
        key = issue_key(rec.key, start)
        if tx.get(ISSUES, key) is not None:  # issued by another run: only catch the schedule up
            return None
        entity = load_entity(ctx, rec.data["entity_id"], tx)
        client = load_client(ctx, rec.data["client_id"], tx)
        fields = {
            "lines": rec.data["lines"],
            "currency": rec.data.get("currency"),
            "period": {"start": start.isoformat(), "end": end.isoformat()},
            "notes": rec.data.get("notes"),
            "terms": rec.data.get("terms"),
            "metadata": rec.data.get("metadata") or {},
        }
        fields = {k: v for k, v in fields.items() if v is not None}
        draft = draft_invoice(
            fields, entity, client, load_products(ctx, rec.data["lines"]), invoice_id=invoice_id
        )
        stamp = now_utc(ctx)
        draft = draft.model_copy(update={"created_at": stamp, "updated_at": stamp})
        extra = {
            "client_name": client.name,
            "client_email": client.email,
            "recurring_id": rec.key,
        }
        document, logo_blob, finalize_error = draft, None, None
        if rec.data.get("auto_advance"):
            dated = draft.model_copy(update={"issue_date": today})
            try:
                document, logo_blob = _finalize_in(tx, ctx, dated)
            except ValidationFailed as exc:
                finalize_error = [d.as_dict() for d in exc.details]
        finalized = document.status != "draft"
        if finalized:  # as invoice.finalize does: the customer's link, in the same commit
            extra.update(stage_link(tx, ctx, invoice_id, rec.account_id))
        data = stored_data(document, None, **extra)
        if logo_blob:
            data = _with_seller_logo(data, logo_blob)
        invoice = tx.put(INVOICES, invoice_id, data, account_id=rec.account_id, expected_version=0)
        created = {"status": "draft", "recurring_id": rec.key}
        append_event(tx, ctx, invoice, "created", created)  # timeline + webhook outbox
        if finalized:  # and its PDF job and journal entry, as invoice.finalize does
            finalized_data = {"number": document.number, "status": document.status}
            append_event(tx, ctx, invoice, "finalized", finalized_data)
            stage_pdf_job(tx, invoice, stamp)
            post_entry(tx, ctx, "finalize", document)
        period = {"start": start.isoformat(), "end": end.isoformat()}
        tx.put(
            ISSUES,
            key,
            {
                "recurring_id": rec.key,
                "period": period,
                "invoice_id": invoice_id,
                "status": "to_send" if finalized else "issued",
                "issued_at": ctx.timestamp,
            },
            account_id=rec.account_id,
            expected_version=0,
        )
        if finalized:
            tx.put(
                UNSENT,
                key,
                {"invoice_id": invoice_id, "recurring_id": rec.key},
                account_id=rec.account_id,
                expected_version=0,
            )
        data = {
            **rec.data,
            "issued_count": int(rec.data.get("issued_count") or 0) + 1,
            "last_invoice_id": invoice_id,
            "last_error": None,
            "updated_at": ctx.timestamp,
        }
        data = _advance(data, index + 1, ctx.timestamp)
        new = tx.put(
            RECURRING, rec.key, data, account_id=rec.account_id, expected_version=rec.version
        )
        payload = {
            "invoice_id": invoice_id,
            "period": period,
            "number": document.number,
            "finalize_error": finalize_error,
        }
        _record_event(tx, ctx, new, "invoice_issued", payload)
        if new.data["status"] == "ended":
            _record_event(tx, ctx, new, "ended", {"issued_count": new.data["issued_count"]})
        return {
            "invoice": invoice,
            "invoice_id": invoice_id,
            "issue_key": key,
            "period": period,
            "finalized": finalized,
            "finalize_error": finalize_error,
        }

    try:
        return ctx.store.transaction(run)
    except VersionConflict:  # another run issued this period meanwhile
        return None


def record_failure(ctx: Context, recurring_id: str, today: date, message: str) -> bool:
    """Keep why the due period could not be issued on the schedule (``last_error``) and its
    timeline (``issue_failed``), once per day; the period stays due and the next run tries
    again. Returns whether it was recorded now."""

    def run(tx: Transaction) -> bool:
        rec = tx.get(RECURRING, recurring_id)
        if rec is None or rec.account_id != ctx.account_id:
            return False
        previous = rec.data.get("last_error") or {}
        if previous.get("date") == today.isoformat():
            return False
        error = {"date": today.isoformat(), "message": message[:1000]}
        new = tx.put(
            RECURRING,
            rec.key,
            {**rec.data, "last_error": error},
            account_id=rec.account_id,
            expected_version=rec.version,
        )
        tx.append(stream(new.key), event(ctx, "issue_failed", error))
        return True

    try:
        return bool(ctx.store.transaction(run))
    except VersionConflict:
        return False
