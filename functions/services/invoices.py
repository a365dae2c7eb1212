"""Invoices and credit notes: drafts, reads and lists (``invoice.create/update/get/list/
duplicate/delete/timeline``), plus the record helpers the other invoice modules share.

The lifecycle actions live beside this module: ``invoices_finalize`` (finalize, credit, PDF)
and ``invoices_lifecycle`` (send, payments, void, uncollectible).

Storage: collection ``invoices``, key = invoice id, the record's account set. The data is the
domain :class:`~functions.domain.models.Invoice` dumped to JSON (without ``account_id`` and
``version``, which the store keeps on the record) plus a few fields the services own:

- ``client_name`` / ``client_email``: denormalised from the client (the frozen buyer once
  finalized) so that ``invoice.list`` can search and sort in the store's query;
- ``pdf.blob_key``: where the stored PDF lives (besides the contract's ``sha256``/``filename``;
  internal, left out of every answer by :func:`present`);
- ``credit_note_ids`` (originals), ``original_invoice_number`` (credit notes);
- ``reminder_level`` and the overdue job's claim fields (see ``functions/overdue/job.py``).

All amounts are computed by the domain (``functions.domain.calc``); nothing here adds money.
Every state change appends an event ``{"type", "at", "actor", "data"}`` to the stream
``timeline:<invoice_id>`` in the same transaction as the change.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator

from functions.domain.drafts import add_lines, draft_invoice, duplicate, update_draft
from functions.domain.lifecycle import transition
from functions.domain.models import STATUSES, Client, Entity, Invoice, parse_model
from functions.domain.money import to_decimal
from storage_adapter import Filter, Record, Sort, Transaction, VersionConflict

from . import drafts
from .common import as_conflict, check_version, event, load, new_id
from .drafts import (  # noqa: F401  (re-exported: the other services import them from here)
    CLIENTS,
    ENTITIES,
    PRODUCTS,
    LineInputs,
    load_client,
    load_entity,
    load_products,
    mutate,
    now_utc,
    to_client,
    to_entity,
    today,
)
from .events import INTERNAL_FIELDS, append_event, represent, timeline_stream
from .records import ListParams, check_projection, list_page
from .registry import Context, Params, action

INVOICES = "invoices"

#: Fields the services keep on an invoice besides the domain model's (carried across writes).
SERVICE_FIELDS = (
    "client_name",
    "client_email",
    "credit_note_ids",
    "original_invoice_number",
    "reminder_level",
    "reminder_claim",
    "duplicate_of",
    "hosted_link_version",
    "viewed_at",
    "recurring_id",
)

#: Every field ``invoice.get``/``invoice.list`` may project with ``fields``.
INVOICE_FIELDS = (
    (frozenset(Invoice.model_fields) - {"account_id"})
    | frozenset(SERVICE_FIELDS) - INTERNAL_FIELDS
    | {"version", "hosted_invoice_url"}
)


# --- record helpers ----------------------------------------------------------------------------


def to_invoice(rec: Record) -> Invoice:
    """The domain model of a stored invoice record."""
    return parse_model(Invoice, {**rec.data, "account_id": rec.account_id, "version": rec.version})


def stored_data(invoice: Invoice, previous: dict[str, Any] | None = None, **extra: Any) -> dict:
    """JSON data to store for ``invoice``: the model's dump, the service fields carried over
    from ``previous`` (the stored data it replaces) and ``extra``, and the denormalised
    client name/e-mail."""
    return drafts.document_data(invoice, previous, SERVICE_FIELDS, **extra)


def present(rec: Record, fields: list[str] | None = None) -> dict[str, Any]:
    """The public representation: stored data plus the record's ``version``, without the
    bookkeeping fields and without ``pdf.blob_key`` (where the store keeps the file), with
    ``hosted_invoice_url`` (derived from the link key: ``functions.services.hosted``; ``null``
    for drafts and outside an action) and ``viewed_at``."""
    data = represent(rec)
    data.setdefault("viewed_at", None)
    data["hosted_invoice_url"] = _hosted_url(rec)
    if fields is not None:
        return {f: data.get(f) for f in fields}
    return data


def _hosted_url(rec: Record) -> str | None:
    from .hosted import hosted_url
    from .registry import current_context

    ctx = current_context()
    if ctx is None or not rec.data.get("hosted_link_version"):
        return None
    return hosted_url(ctx, rec)


def load_invoice(ctx: Context, invoice_id: str, tx: Transaction | None = None) -> Record:
    return load(ctx, INVOICES, invoice_id, tx)


def priced_for_kind(draft: Invoice, kind: str, entity: Entity, client: Client, on: date) -> Invoice:
    from .invoices_self_billed import priced_for_kind as for_kind

    return for_kind(draft, kind, entity, client, on)


def _check_update(invoice: Invoice) -> None:
    transition(invoice.status, "update", kind=invoice.kind)


def _draft(data: Any, entity: Entity, client: Client, products: Any, key: str) -> Invoice:
    return draft_invoice(data, entity, client, products, invoice_id=key)


#: How invoices are drafted and stored (``functions.services.drafts``, the path quotes share).
INVOICE_DRAFTS = drafts.DraftPath(
    INVOICES, "inv", to_invoice, stored_data, _check_update, _draft, update_draft, priced_for_kind
)

#: ``write_invoice(tx, ctx, rec, invoice, events, **extra)``: store ``invoice`` over ``rec``
#: (version-checked) and append its timeline events.
write_invoice = INVOICE_DRAFTS.write


# --- parameters --------------------------------------------------------------------------------


class InvoiceCreate(drafts.DraftFields):
    entity_id: str
    client_id: str
    lines: LineInputs = Field(default_factory=list)
    #: finalize in the same commit (all or nothing), then send to the client's e-mail
    auto_advance: bool = False
    #: credit notes come from ``invoice.credit``; a self-billed invoice's client is the supplier
    kind: Literal["invoice", "self_billed_invoice"] = "invoice"


class InvoiceAddLines(Params):
    invoice_id: str
    version: int | None = None
    lines: LineInputs
    aggregate: bool = False


class InvoiceUpdate(drafts.DraftFields):
    invoice_id: str
    version: int | None = None
    entity_id: str | None = None
    client_id: str | None = None
    lines: LineInputs | None = None


class InvoiceRef(Params):
    invoice_id: str


class InvoiceGet(Params):
    invoice_id: str
    fields: list[str] | None = None


class InvoiceList(ListParams):
    q: str | None = None
    status: str | list[str] | None = None
    kind: (
        Literal["invoice", "credit_note", "self_billed_invoice", "self_billed_credit_note"] | None
    ) = None
    client_id: str | None = None
    entity_id: str | None = None
    currency: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    due_from: date | None = None
    due_to: date | None = None
    min_total: Any = None
    max_total: Any = None
    number: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    metadata: dict[str, str] | None = None
    sort_by: Literal["created_at", "issue_date", "due_date", "total", "number", "client_name"] = (
        "created_at"
    )
    sort_order: Literal["asc", "desc"] = "desc"

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: str | list[str] | None) -> str | list[str] | None:
        return known_statuses(value, STATUSES)


def known_statuses(
    value: str | list[str] | None, allowed: tuple[str, ...]
) -> str | list[str] | None:
    """A list's ``status`` filter (one status or several), each one of ``allowed``."""
    values = [value] if isinstance(value, str) else (value or [])
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"unknown status {', '.join(bad)}; one of {', '.join(allowed)}")
    return value


# --- actions -----------------------------------------------------------------------------------


@action("invoice.create", InvoiceCreate)
def create_invoice(ctx: Context, p: InvoiceCreate) -> dict[str, Any]:
    """A new ``draft`` with VAT resolved and totals computed by the domain."""
    new = drafts.new_draft(ctx, INVOICE_DRAFTS, p, kind=p.kind)

    def run(tx: Transaction) -> Record:
        rec = drafts.put_new_draft(tx, ctx, new)
        if p.auto_advance:  # a 422 from the finalize checks commits nothing: no draft either
            from .invoices_finalize import finalize_record

            rec = finalize_record(tx, ctx, rec)
        return rec

    rec = mutate(ctx, run)
    if p.auto_advance:
        from .invoices_finalize import advance_after_commit

        return advance_after_commit(ctx, rec)
    return present(rec)


@action("invoice.update", InvoiceUpdate)
def update_invoice(ctx: Context, p: InvoiceUpdate) -> dict[str, Any]:
    """Change a draft (any create field); finalized documents are refused (409 invalid_state)."""
    return present(drafts.update_draft_record(ctx, INVOICE_DRAFTS, p, p.invoice_id))


@action("invoice.add_lines", InvoiceAddLines)
def add_invoice_lines(ctx: Context, p: InvoiceAddLines) -> dict[str, Any]:
    """Append lines to a draft; with ``aggregate`` a line of the same product and price adds
    its quantity to the existing line (``functions.domain.drafts.add_lines``)."""
    products = load_products(ctx, p.lines)

    def run(tx: Transaction) -> Record:
        rec = load_invoice(ctx, p.invoice_id, tx)
        current = to_invoice(rec)
        transition(current.status, "update", kind=current.kind)
        check_version(rec, p.version)
        entity = load_entity(ctx, current.entity_id, tx)
        client = load_client(ctx, current.client_id, tx)
        updated, added, aggregated = add_lines(
            current, p.lines, entity, client, products, aggregate=p.aggregate
        )
        payload = {"fields": ["lines"], "added": added, "aggregated": aggregated}
        return write_invoice(tx, ctx, rec, updated, [("updated", payload)])

    return present(mutate(ctx, run))


@action("invoice.get", InvoiceGet, mutating=False)
def get_invoice(ctx: Context, p: InvoiceGet) -> dict[str, Any]:
    check_projection(p.fields, INVOICE_FIELDS)
    return present(load_invoice(ctx, p.invoice_id), p.fields)


def search_filters(q: str | None, status: str | list[str] | None) -> list[Filter]:
    """A document list's ``q`` (in the number, the client's name or e-mail) and ``status``."""
    filters: list[Filter] = []
    if q:
        filters.append(Filter("number", "contains", q, also=("client_name", "client_email")))
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        filters.append(Filter("status", "in", statuses))
    return filters


def list_filters(p: InvoiceList) -> list[Filter]:
    """The list parameters as store filters (evaluated by the store's query, not in Python)."""
    filters = search_filters(p.q, p.status)
    for name in ("kind", "client_id", "entity_id"):
        value = getattr(p, name)
        if value is not None:
            filters.append(Filter(name, "eq", value))
    if p.currency is not None:
        filters.append(Filter("currency", "eq", p.currency.strip().upper()))
    for name, field, op in (
        ("issued_from", "issue_date", "gte"),
        ("issued_to", "issue_date", "lte"),
        ("due_from", "due_date", "gte"),
        ("due_to", "due_date", "lte"),
    ):
        value = getattr(p, name)
        if value is not None:
            filters.append(Filter(field, op, value.isoformat()))
    for name, op in (("min_total", "gte"), ("max_total", "lte")):
        value = getattr(p, name)
        if value is not None:
            filters.append(Filter("total", op, to_decimal(value, name)))
    if p.number is not None:
        filters.append(Filter("number", "eq", p.number))
    # created_at is a UTC timestamp ("2026-11-21T10:00:00Z"): whole days from..to inclusive
    if p.created_from is not None:
        filters.append(Filter("created_at", "gte", p.created_from.isoformat()))
    if p.created_to is not None:
        filters.append(Filter("created_at", "lt", (p.created_to + timedelta(days=1)).isoformat()))
    for key, value in sorted((p.metadata or {}).items()):
        filters.append(Filter("metadata", "has", (key, value)))
    return filters


@action("invoice.list", InvoiceList, mutating=False)
def list_invoices(ctx: Context, p: InvoiceList) -> dict[str, Any]:
    """Filter, sort and page the caller's invoices and credit notes in the store's query."""
    return list_page(
        ctx,
        INVOICES,
        p,
        allowed_fields=INVOICE_FIELDS,
        filters=list_filters(p),
        sort=Sort(p.sort_by, descending=p.sort_order == "desc", numeric=p.sort_by == "total"),
        represent=present,
    )


@action("invoice.duplicate", InvoiceRef)
def duplicate_invoice(ctx: Context, p: InvoiceRef) -> dict[str, Any]:
    """A new draft with the same client, lines and notes; no number; today's dates."""
    account_id = ctx.require_account()
    original_rec = load_invoice(ctx, p.invoice_id)
    original = to_invoice(original_rec)
    entity = load_entity(ctx, original.entity_id)
    client = load_client(ctx, original.client_id)
    invoice_id = new_id("inv")
    copy = duplicate(original, entity, client, today=today(ctx), invoice_id=invoice_id)
    data = stored_data(
        drafts.stamped_new(ctx, copy),
        None,
        duplicate_of=original.id,
        **drafts.client_fields(client),
    )
    new = drafts.NewDraft(INVOICES, invoice_id, account_id, data)

    def run(tx: Transaction) -> Record:
        rec = drafts.put_new_draft(tx, ctx, new, duplicate_of=original.id)
        tx.append(
            timeline_stream(original_rec.key), event(ctx, "duplicated", {"invoice_id": invoice_id})
        )
        return rec

    return present(mutate(ctx, run))


@action("invoice.delete", InvoiceRef)
def delete_invoice(ctx: Context, p: InvoiceRef) -> dict[str, Any]:
    """Drafts only; finalized documents are never deleted (409 invalid_state)."""

    def run(tx: Transaction) -> str:
        rec = load_invoice(ctx, p.invoice_id, tx)
        transition(rec.data.get("status", "draft"), "delete", kind=rec.data.get("kind", "invoice"))
        tx.delete(INVOICES, rec.key, expected_version=rec.version)
        append_event(tx, ctx, rec, "deleted", {"number": rec.data.get("number")})
        return rec.key

    try:
        key = ctx.store.transaction(run)
    except VersionConflict as exc:
        raise as_conflict(exc) from None
    return {"id": key, "object": "invoice", "deleted": True}


@action("invoice.timeline", InvoiceRef, mutating=False)
def invoice_timeline(ctx: Context, p: InvoiceRef) -> dict[str, Any]:
    """The invoice's events, oldest first (append-only)."""
    rec = load_invoice(ctx, p.invoice_id)
    return {"events": ctx.store.events(timeline_stream(rec.key))}


def decimal_of(value: Any) -> Decimal:
    """A stored amount string as a Decimal (0 when missing)."""
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)
