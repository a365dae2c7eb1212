"""Record helpers the catalogue services (entities, clients, products) share: create/update
through a domain model, the public representation of a stored record, and contract-style lists
(``limit``/``page``/``fields``).

Stored data is the model's JSON dump without ``account_id`` and ``version`` (the store keeps
those on the :class:`~storage_adapter.Record`); the representation adds ``version`` back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from functions.domain.errors import FieldError, ValidationFailed
from functions.domain.models import UNKNOWN_FIELD, parse_model
from functions.domain.models import unknown_fields as unknown_input
from storage_adapter import Filter, Record, Sort, Transaction, VersionConflict

from .common import as_conflict, check_version, load, new_id
from .registry import Context, Params

M = TypeVar("M", bound=BaseModel)

#: Fields a caller never sets: the store and the services own them.
READ_ONLY = frozenset({"id", "object", "account_id", "created_at", "updated_at", "version"})


def present(rec: Record) -> dict[str, Any]:
    """The public representation of a stored record: its data plus the store's version."""
    return {**rec.data, "version": rec.version}


def writable_fields(model: type[BaseModel], read_only: Iterable[str] = ()) -> frozenset[str]:
    return frozenset(model.model_fields) - READ_ONLY - frozenset(read_only)


def unknown_fields(
    model: type[BaseModel], fields: dict[str, Any], allowed: Iterable[str]
) -> list[FieldError]:
    """Fields the action does not take: the model's read-only ones, and keys the model has no
    field for at any depth (``bank.bankgiro``; the domain models would silently ignore them)."""
    allowed = set(allowed)
    read_only = [
        FieldError(k, UNKNOWN_FIELD)
        for k in sorted(fields)
        if k in model.model_fields and k not in allowed
    ]
    return read_only + unknown_input(model, fields)


def validate(model: type[M], data: dict[str, Any], unknown: list[FieldError]) -> M:
    """``parse_model`` that reports unknown fields together with every other problem."""
    try:
        obj = parse_model(model, data)
    except ValidationFailed as exc:
        raise ValidationFailed([*unknown, *exc.details]) from None
    if unknown:
        raise ValidationFailed(unknown)
    return obj


def _stored(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude={"account_id", "version"})


def merge(stored: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply an update: nested objects (``address``, ``bank``) are merged one level deep, so
    ``{"address": {"city": "Bonn"}}`` changes the city only; ``null`` clears a field."""
    merged = dict(stored)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def create_record(
    ctx: Context,
    collection: str,
    prefix: str,
    model: type[M],
    fields: dict[str, Any],
    *,
    read_only: Iterable[str] = (),
    finish: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    represent: Callable[[Record], dict[str, Any]] = present,
) -> dict[str, Any]:
    """Validate ``fields`` with the domain ``model`` and store a new record of the account.

    ``finish(data)`` may rework the validated data just before it is stored (fields the
    model does not keep); ``represent`` gives the answer for the stored record."""
    account_id = ctx.require_account()
    unknown = unknown_fields(model, fields, writable_fields(model, read_only))
    record_id = new_id(prefix)
    now = ctx.timestamp
    fields = {k: v for k, v in fields.items() if k not in {u.field for u in unknown}}
    obj = validate(
        model, {**fields, "id": record_id, "created_at": now, "updated_at": now}, unknown
    )
    data = _stored(obj)
    if finish is not None:
        data = finish(data)
    rec = ctx.store.put(collection, record_id, data, account_id=account_id, expected_version=0)
    return represent(rec)


def update_record(
    ctx: Context,
    collection: str,
    key: str,
    version: int | None,
    model: type[M],
    changes: dict[str, Any],
    *,
    read_only: Iterable[str] = (),
    adjust: Any = None,
    finish: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None,
    represent: Callable[[Record], dict[str, Any]] = present,
) -> dict[str, Any]:
    """Merge ``changes`` into the stored record, re-validate the whole, write it (versioned).

    ``adjust(old_data, new_data)`` may fix up derived fields before the validation;
    ``finish(old_data, validated_data)`` may rework the validated data just before the write
    (fields the model does not keep); ``represent`` gives the answer for the stored record.
    """
    unknown = unknown_fields(model, changes, writable_fields(model, read_only))
    changes = {k: v for k, v in changes.items() if k not in {u.field for u in unknown}}

    def run(tx: Transaction) -> Record:
        rec = load(ctx, collection, key, tx)
        check_version(rec, version)
        data = merge(rec.data, changes)
        data["updated_at"] = ctx.timestamp
        if adjust is not None:
            data = adjust(rec.data, data)
        obj = validate(model, data, unknown)
        new_data = _stored(obj)
        if finish is not None:
            new_data = finish(rec.data, new_data)
        return tx.put(
            collection, key, new_data, account_id=rec.account_id, expected_version=rec.version
        )

    try:
        return represent(ctx.store.transaction(run))
    except VersionConflict as exc:
        raise as_conflict(exc) from None


class ListParams(Params):
    """Paging and projection every ``*.list`` action takes."""

    limit: int = Field(default=20, ge=1, le=100)
    page: int = Field(default=1, ge=1)
    fields: list[str] | None = None


def check_projection(fields: Sequence[str] | None, allowed: Iterable[str]) -> None:
    if fields is None:
        return
    allowed = set(allowed)
    unknown = [f for f in fields if f not in allowed]
    if unknown:
        raise ValidationFailed.one("fields", f"unknown field(s): {', '.join(unknown)}")


def list_page(
    ctx: Context,
    collection: str,
    p: ListParams,
    *,
    allowed_fields: Iterable[str],
    filters: Sequence[Filter] = (),
    sort: Sort | None = None,
    represent: Callable[[Record], dict[str, Any]] = present,
) -> dict[str, Any]:
    """``{"items", "total", "page", "pages", "limit"}`` of the caller's records."""
    allowed = set(allowed_fields)
    check_projection(p.fields, allowed)
    page = ctx.store.query(
        collection,
        account_id=ctx.require_account(),
        filters=filters,
        sort=sort or Sort("created_at", descending=True),
        limit=p.limit,
        offset=(p.page - 1) * p.limit,
    )
    items = [represent(r) for r in page.items]
    if p.fields is not None:
        items = [{f: item.get(f) for f in p.fields} for item in items]
    return {
        "items": items,
        "total": page.total,
        "page": p.page,
        "pages": max(1, math.ceil(page.total / p.limit)),
        "limit": p.limit,
    }


class Fields(Params):
    """Base of create/update params whose fields are validated by a domain model."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    def changes(self) -> dict[str, Any]:
        return dict(self.model_extra or {})
