"""The universal search: ``search`` — one list across invoices, credit notes, quotes,
recurring schedules, clients and payments, by amount, date and identifier.

Every record publishes its facets (:mod:`functions.domain.facets`) as rows of the declared
``facets`` aggregate, which the store keeps in the record's commit. A search reads, for each
condition given, only the rows in its range (``a|label|amount``, ``d|label|date``,
``i|type|identifier``), intersects the records they name, and loads only the records of the page
it answers. ``q`` alone (or no condition) reads the one ``t|…`` row per record of the types
asked.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator

from functions.domain.errors import ValidationFailed
from functions.domain.facets import (
    COLLECTION_TYPES,
    FACETS_OF,
    TYPES,
    Facets,
    matches,
    normalize,
    order,
    search_text,
    sortable,
    sortable_ceiling,
)
from functions.domain.money import validate_currency
from storage_adapter.declared import FACETS

from .registry import Context, Params, action

AmountLabel = Literal["total", "amount_due", "paid", "refund_due"]
DateLabel = Literal["issue", "due", "supply", "paid", "created", "valid_until", "next"]
IdentifierType = Literal[
    "number", "po_number", "payment_reference", "vat_number", "iban", "buyer_reference"
]
RecordType = Literal["invoice", "credit_note", "quote", "recurring", "client", "payment"]

#: Above every character the range keys use (digits, ``-``, ``n``/``p``).
_TOP = "~"

Ref = tuple[str, str]  # (type, id)

#: When the first conditions leave at most this many records, the others are checked on the
#: records themselves instead of reading their rows.
VERIFY_AT = 50


class AmountCondition(Params):
    min: Decimal | None = None
    max: Decimal | None = None
    currency: str | None = None
    label: AmountLabel | None = None

    @field_validator("min", "max")
    @classmethod
    def _finite(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and not v.is_finite():
            raise ValueError("must be a finite number")
        return v

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return validate_currency(v)
        except ValidationFailed as exc:
            raise ValueError(exc.details[0].message) from None


class DateCondition(Params):
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


class DateConditionLabel(DateCondition):
    label: DateLabel | None = None


class IdentifierCondition(Params):
    value: str = Field(min_length=1, max_length=200)
    type: IdentifierType | None = None


class SearchParams(Params):
    amounts: AmountCondition | None = None
    dates: DateConditionLabel | None = None
    identifiers: IdentifierCondition | None = None
    q: str | None = Field(default=None, max_length=200)
    types: list[RecordType] | None = Field(default=None, min_length=1)
    limit: int = Field(default=20, ge=1, le=100)
    page: int = Field(default=1, ge=1)


def criteria(p: SearchParams) -> dict[str, Any]:
    """The search as :func:`functions.domain.facets.matches` takes it."""
    out: dict[str, Any] = {"q": p.q or None, "types": p.types}
    if p.amounts is not None:
        out["amounts"] = p.amounts.model_dump()
    if p.dates is not None:
        d = p.dates
        out["dates"] = {
            "from": d.from_.isoformat() if d.from_ else None,
            "to": d.to.isoformat() if d.to else None,
            "label": d.label,
        }
    if p.identifiers is not None:
        out["identifiers"] = p.identifiers.model_dump()
    return out


def _rows(ctx: Context, lo: str, hi: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The facet rows of the caller's records with ``lo <= key <= hi``, every collection."""
    account = ctx.require_account()
    out = []
    for collection in COLLECTION_TYPES:
        for _key, group, n, _ in ctx.store.aggregate(
            collection, FACETS, account_id=account, range_from=lo, range_to=hi
        ):
            if n > 0:
                out.append((collection, group))
    return out


Hits = dict[Ref, tuple[str, str]]  # (type, id) -> (collection, source key)


def _by_amount(ctx: Context, a: AmountCondition) -> Hits:
    hits: Hits = {}
    for label in [a.label] if a.label else AmountLabel.__args__:
        lo = f"a|{label}|" + (sortable_ceiling(a.min) if a.min is not None else "")
        hi = f"a|{label}|" + (sortable(a.max) if a.max is not None else _TOP)
        for collection, (currency, type_, id_, source) in _rows(ctx, lo, hi):
            if a.currency is None or currency == a.currency:
                hits[(type_, id_)] = (collection, source)
    return hits


def _by_date(ctx: Context, d: DateConditionLabel) -> Hits:
    hits: Hits = {}
    for label in [d.label] if d.label else DateLabel.__args__:
        lo = f"d|{label}|" + (d.from_.isoformat() if d.from_ else "")
        hi = f"d|{label}|" + (d.to.isoformat() if d.to else _TOP)
        for collection, (type_, id_, source) in _rows(ctx, lo, hi):
            hits[(type_, id_)] = (collection, source)
    return hits


def _by_identifier(ctx: Context, i: IdentifierCondition) -> Hits:
    hits: Hits = {}
    value = normalize(i.value)
    for type_name in [i.type] if i.type else IdentifierType.__args__:
        key = f"i|{type_name}|{value}"
        for collection, (type_, id_, source) in _rows(ctx, key, key):
            hits[(type_, id_)] = (collection, source)
    return hits


def _by_type(ctx: Context, types: list[str] | None, q: str | None) -> Hits:
    hits: Hits = {}
    needle = q.casefold() if q else None
    for type_name in types or TYPES:
        for collection, (type_, id_, source, text) in _rows(
            ctx, f"t|{type_name}|", f"t|{type_name}|{_TOP}"
        ):
            if needle is None or needle in text:
                hits[(type_, id_)] = (collection, source)
    return hits


def _facets(ctx: Context, hits: Hits) -> dict[Ref, Facets]:
    """The current facets of the records ``hits`` name (each source record read once)."""
    out: dict[Ref, Facets] = {}
    account = ctx.require_account()
    for collection, source in sorted(set(hits.values())):
        rec = ctx.store.get(collection, source)
        if rec is None or rec.account_id != account:
            continue
        for f in FACETS_OF[collection](rec.data):
            if (f.type, f.id) in hits:
                out[(f.type, f.id)] = f
    return out


@action("search", SearchParams, mutating=False)
def search(ctx: Context, p: SearchParams) -> dict[str, Any]:
    with ctx.store.aggregate_reads(ctx.require_account()):
        return _search(ctx, p)


def _search(ctx: Context, p: SearchParams) -> dict[str, Any]:
    # identifiers first: they usually name a handful of records
    conditions = [
        (name, read)
        for name, given, read in (
            ("identifiers", p.identifiers, lambda: _by_identifier(ctx, p.identifiers)),
            ("amounts", p.amounts, lambda: _by_amount(ctx, p.amounts)),
            ("dates", p.dates, lambda: _by_date(ctx, p.dates)),
        )
        if given is not None
    ]
    needs_q = bool(p.q) and bool(conditions)
    if not conditions:
        hits = _by_type(ctx, p.types, p.q)
    else:
        hits = conditions[0][1]()
        for i, (_, read) in enumerate(conditions[1:], start=1):
            if len(hits) <= VERIFY_AT:  # few left: check the other conditions on the records
                crit = criteria(p)
                rest = {name: crit[name] for name, _ in conditions[i:]}
                found = _facets(ctx, hits)
                hits = {r: hits[r] for r, f in found.items() if matches(f, rest)}
                break
            other = read()
            hits = {ref: src for ref, src in hits.items() if ref in other}
        if p.types:
            hits = {ref: src for ref, src in hits.items() if ref[0] in p.types}
    if needs_q:  # q on top of other conditions: checked on the (few) records they found
        needle = (p.q or "").casefold()
        found = _facets(ctx, hits)
        hits = {r: hits[r] for r, f in found.items() if needle in search_text(f)}
    refs = sorted(hits, key=lambda r: (TYPES.index(r[0]), r[1]))
    total = len(refs)
    start = (p.page - 1) * p.limit
    page_refs = refs[start : start + p.limit]
    found = _facets(ctx, {r: hits[r] for r in page_refs})
    items = [found[r].item() for r in page_refs if r in found]
    return {
        "items": items,
        "total": total,
        "page": p.page,
        "pages": max(1, math.ceil(total / p.limit)),
        "limit": p.limit,
    }


__all__ = ["criteria", "order", "search"]
