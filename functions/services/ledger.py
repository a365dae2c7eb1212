"""The books: journal entries posted with the change they record, and reading them back
(``ledger.entries``, ``ledger.export``, ``report.aging``).

Posting (:func:`post_entry`): every service that finalizes, pays, credits, refunds, voids or
writes off a document calls it once, inside its own transaction, so the entry commits with the
change or not at all (never a later scan). The journal is append-only:

- ``ledger_entries``: one record per entry, key ``<entity_id>:<date>:<entry id>`` (the
  entity's entries of a period are one range of keys), created with ``expected_version=0`` and
  never rewritten; ``seq`` numbers the entity's entries in posting order (a store counter,
  gapless like invoice numbers), and lists are ordered by date, then ``seq``. The entry id
  is deterministic per event (``functions.ledger.entries.entry_id``), so a retried commit
  writes the same key, and a second posting of one event is a version conflict, never a
  duplicate.
- ``ledger_documents``: per document, the entries posted for it and for its credit notes
  (``{"entries": [...]}``), read by key inside the transaction: a payment after a write-off,
  a credit on a written-off invoice and a void need the document's earlier entries
  (:mod:`functions.ledger.entries`).

The entity's chart (and overrides) are read inside the same transaction: an entry posts to the
accounts the entity has at that moment.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator

from functions.domain.errors import ValidationFailed
from functions.domain.models import Invoice
from functions.ledger.aging import aging
from functions.ledger.charts import Books, books_for
from functions.ledger.entries import (
    JournalEntry,
    post_credit,
    post_finalize,
    post_payment,
    post_refund,
    post_uncollectible,
    post_void,
)
from storage_adapter import Filter, Record, Sort, Transaction

from .common import load
from .invoices import ENTITIES, INVOICES, now_utc, to_entity, today
from .records import ListParams
from .registry import Context, Params, action

LEDGER_ENTRIES = "ledger_entries"
LEDGER_DOCUMENTS = "ledger_documents"
EXPORT_LINK_SECONDS = 15 * 60

PostingEvent = Literal["finalize", "payment", "credit", "refund", "void", "uncollectible"]


# --- posting -----------------------------------------------------------------------------------


def _books(ctx: Context, tx: Transaction, entity_id: str) -> Books:
    return books_for(to_entity(load(ctx, ENTITIES, entity_id, tx)))


def _document_entries(tx: Transaction, document_id: str) -> tuple[Record | None, list[dict]]:
    rec = tx.get(LEDGER_DOCUMENTS, document_id)
    return rec, list((rec.data.get("entries") if rec else None) or [])


def _previous(tx: Transaction, document_id: str) -> list[JournalEntry]:
    return [JournalEntry.model_validate(e) for e in _document_entries(tx, document_id)[1]]


def _remember(tx: Transaction, account_id: str | None, document_id: str, entry: dict) -> None:
    rec, entries = _document_entries(tx, document_id)
    tx.put(
        LEDGER_DOCUMENTS,
        document_id,
        {"document_id": document_id, "entries": [*entries, entry]},
        account_id=account_id,
        expected_version=rec.version if rec else 0,
    )


def entry_key(entity_id: str, on: date, entry_id: str) -> str:
    return f"{entity_id}:{on.isoformat()}:{entry_id}"


def post_entry(
    tx: Transaction,
    ctx: Context,
    event: PostingEvent,
    doc: Invoice,
    ref: str | None = None,
    *,
    before: Invoice | None = None,
    after: Invoice | None = None,
) -> JournalEntry:
    """Post the journal entry of ``event`` on ``doc`` (the document as it is after the event)
    in ``tx``. ``ref``: the payment's or refund's id; for a credit, ``doc`` is the credit note
    and ``before``/``after`` its original invoice before and after the credit."""
    books = _books(ctx, tx, doc.entity_id)
    if event == "finalize":
        entry = post_finalize(doc, books)
    elif event == "payment":
        entry = post_payment(doc, ref, books, previous=_previous(tx, doc.id))
    elif event == "credit":
        assert before is not None and after is not None
        entry = post_credit(
            doc,
            books,
            original_before=before,
            original_after=after,
            original_entries=_previous(tx, before.id),
        )
    elif event == "refund":
        entry = post_refund(doc, ref, books)
    elif event == "void":
        entry = post_void(doc, _previous(tx, doc.id), on=today(ctx))
    else:
        entry = post_uncollectible(doc, books, on=today(ctx))
    data = entry.model_dump(mode="json")
    # the entity's journal sequence: the order entries were posted in (ids are hashes)
    seq = tx.next_number(f"ledger:{doc.entity_id}")
    stored = {
        **data,
        "entity_id": doc.entity_id,
        "date": entry.date.isoformat(),
        "seq": seq,
        "posted": f"{entry.date.isoformat()}|{seq:012d}",
        "posted_at": ctx.timestamp,
    }
    account_id = ctx.account_id
    tx.put(
        LEDGER_ENTRIES,
        entry_key(doc.entity_id, entry.date, entry.id),
        stored,
        account_id=account_id,
        expected_version=0,
    )
    for document_id in dict.fromkeys(filter(None, (entry.document_id, entry.original_document_id))):
        _remember(tx, account_id, document_id, data)
    return entry


# --- reading -----------------------------------------------------------------------------------

#: What ``ledger.entries`` returns of a stored entry (the contract's fields, plus the entry's
#: currency, document kind, description and each line's role).
_PUBLIC = (
    "id",
    "date",
    "document_id",
    "document_number",
    "document_kind",
    "original_document_id",
    "type",
    "currency",
    "description",
    "lines",
)


def present_entry(rec: Record) -> dict[str, Any]:
    return {k: rec.data.get(k) for k in _PUBLIC}


def _period_filters(entity_id: str, start: date | None, end: date | None) -> list[Filter]:
    filters = [Filter("entity_id", "eq", entity_id)]
    if start is not None:
        filters.append(Filter("date", "gte", start.isoformat()))
    if end is not None:
        filters.append(Filter("date", "lte", end.isoformat()))
    return filters


def _check_period(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValidationFailed.one("to", "must not be before from")


class LedgerEntries(ListParams):
    entity_id: str
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


@action("ledger.entries", LedgerEntries, mutating=False)
def ledger_entries(ctx: Context, p: LedgerEntries) -> dict[str, Any]:
    """The entity's journal entries dated ``from``..``to``, oldest first, in posting order."""
    import math

    from .records import check_projection

    entity = load(ctx, ENTITIES, p.entity_id)
    _check_period(p.from_, p.to)
    check_projection(p.fields, _PUBLIC)
    page = ctx.store.query(
        LEDGER_ENTRIES,
        account_id=ctx.require_account(),
        filters=_period_filters(entity.key, p.from_, p.to),
        sort=Sort("posted", descending=False),
        limit=p.limit,
        offset=(p.page - 1) * p.limit,
    )
    items = [present_entry(r) for r in page.items]
    if p.fields is not None:
        items = [{f: item.get(f) for f in p.fields} for item in items]
    return {
        "items": items,
        "total": page.total,
        "page": p.page,
        "pages": max(1, math.ceil(page.total / p.limit)),
        "limit": p.limit,
    }


def entries_of(ctx: Context, entity_id: str, start: date | None, end: date | None) -> list:
    """Every entry of the entity in the period, in posting order, as :class:`JournalEntry`."""
    page = ctx.store.query(
        LEDGER_ENTRIES,
        account_id=ctx.require_account(),
        filters=_period_filters(entity_id, start, end),
        sort=Sort("posted", descending=False),
    )
    return [JournalEntry.model_validate(present_entry(r)) for r in page.items]


class DatevOptions(Params):
    consultant_number: int = Field(default=1001, ge=1001, le=9999999)
    client_number: int = Field(default=1, ge=1, le=99999)
    fiscal_year_start: str = Field(default="01-01", pattern=r"^(0[1-9]|1[0-2])-[0-3]\d$")
    account_length: int = Field(default=4, ge=4, le=8)


class LedgerExport(Params):
    entity_id: str
    from_: date = Field(alias="from")
    to: date
    format: Literal["csv", "datev", "sie"]
    #: units of the books' currency for one unit of another currency (DATEV, SIE)
    rates: dict[str, Decimal] | None = None
    datev: DatevOptions | None = None

    @field_validator("rates")
    @classmethod
    def _positive(cls, value: dict[str, Decimal] | None) -> dict[str, Decimal] | None:
        for code, rate in (value or {}).items():
            if rate <= 0:
                raise ValueError(f"the rate of {code} must be greater than zero")
        return value


def _content(ctx: Context, p: LedgerExport, entity_rec: Record) -> tuple[bytes, str, str]:
    """(file bytes, file name, content type) of the export."""
    from functions.ledger.export_csv import CSV_CONTENT_TYPE, export_csv

    entity = to_entity(entity_rec)
    books = books_for(entity)
    entries = entries_of(ctx, entity_rec.key, p.from_, p.to)
    created = now_utc(ctx).replace(tzinfo=None)
    if p.format == "csv":
        name = f"ledger_{p.from_:%Y%m%d}_{p.to:%Y%m%d}.csv"
        return export_csv(entries, books), name, CSV_CONTENT_TYPE
    if p.format == "datev":
        from functions.ledger.export_datev import (
            DatevSettings,
            datev_filename,
            export_datev,
        )

        options = p.datev or DatevOptions()
        month, day = (int(x) for x in options.fiscal_year_start.split("-"))
        settings = DatevSettings(
            consultant_number=options.consultant_number,
            client_number=options.client_number,
            fiscal_year_start=(month, day),
            account_length=options.account_length,
        )
        data = export_datev(
            entries,
            books,
            period_from=p.from_,
            period_to=p.to,
            created_at=created,
            settings=settings,
            currency="EUR",
            rates=p.rates,
        )
        return data, datev_filename(p.from_, p.to), "text/csv; charset=windows-1252"
    from functions.ledger.export_sie import SIE_CONTENT_TYPE, SieSettings, export_sie, sie_filename

    settings_sie = SieSettings(
        company_name=entity.legal_name or entity.name,
        organisation_number=entity.registration_number,
    )
    data = export_sie(
        entries,
        books,
        period_from=p.from_,
        period_to=p.to,
        created_at=created,
        settings=settings_sie,
        currency=entity.currency,
        rates=p.rates,
    )
    return data, sie_filename(p.from_, p.to), SIE_CONTENT_TYPE


@action("ledger.export", LedgerExport, mutating=False)
def ledger_export(ctx: Context, p: LedgerExport) -> dict[str, Any]:
    """A signed link, valid 15 minutes, to the entity's entries of the period as CSV, DATEV
    EXTF Buchungsstapel or SIE 4I (the file is kept as a content-addressed blob)."""
    entity_rec = load(ctx, ENTITIES, p.entity_id)
    _check_period(p.from_, p.to)
    data, filename, content_type = _content(ctx, p, entity_rec)
    sha = hashlib.sha256(data).hexdigest()
    key = f"ledger/{ctx.require_account()}/{entity_rec.key}/{p.format}-{sha}"
    ctx.store.put_blob(key, data, content_type)
    url, expires = ctx.store.blob_url(key, filename=filename, expires_in=EXPORT_LINK_SECONDS)
    return {
        "url": url,
        "expires_at": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "filename": filename,
        "format": p.format,
        "content_type": content_type,
    }


# --- aging -------------------------------------------------------------------------------------


class ReportAging(Params):
    entity_id: str | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    as_of: date | None = None


@action("report.aging", ReportAging, mutating=False)
def report_aging(ctx: Context, p: ReportAging) -> dict[str, Any]:
    """Open receivables by days past due (``current``, ``1-30``, ``31-60``, ``61-90``,
    ``90+``), per client and in total, one block per currency."""
    filters = [
        Filter("kind", "eq", "invoice"),
        Filter("status", "in", ["open", "sent", "overdue"]),
    ]
    if p.entity_id is not None:
        filters.append(Filter("entity_id", "eq", load(ctx, ENTITIES, p.entity_id).key))
    if p.currency is not None:
        filters.append(Filter("currency", "eq", p.currency.upper()))
    page = ctx.store.query(INVOICES, account_id=ctx.require_account(), filters=filters)
    result = aging([r.data for r in page.items], p.as_of or today(ctx), currency=p.currency)
    return {"object": "report.aging", "entity_id": p.entity_id, **result}
