"""Entities: the companies an account invoices from (``entity.*``).

Also home of the small record helpers the catalogue services (clients, products) share:
create/update through a domain model, the public representation of a stored record, and
contract-style lists (``limit``/``page``/``fields``).

Stored data is the model's JSON dump without ``account_id`` and ``version`` (the store keeps
those on the :class:`~storage_adapter.Record`); the representation adds ``version`` back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from functions.domain.errors import FieldError, ValidationFailed
from functions.domain.models import Entity, parse_model
from storage_adapter import Filter, Record, Sort, Transaction, VersionConflict

from .common import as_conflict, check_version, load, new_id
from .registry import Context, Params, action

M = TypeVar("M", bound=BaseModel)

#: Fields a caller never sets: the store and the services own them.
READ_ONLY = frozenset({"id", "object", "account_id", "created_at", "updated_at", "version"})


# --- shared record helpers ---------------------------------------------------------------------


def present(rec: Record) -> dict[str, Any]:
    """The public representation of a stored record: its data plus the store's version."""
    return {**rec.data, "version": rec.version}


def writable_fields(model: type[BaseModel], read_only: Iterable[str] = ()) -> frozenset[str]:
    return frozenset(model.model_fields) - READ_ONLY - frozenset(read_only)


def unknown_fields(fields: dict[str, Any], allowed: Iterable[str]) -> list[FieldError]:
    """Fields the action does not take (the domain models would silently ignore them)."""
    allowed = set(allowed)
    return [FieldError(k, "unknown field") for k in sorted(fields) if k not in allowed]


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
) -> dict[str, Any]:
    """Validate ``fields`` with the domain ``model`` and store a new record of the account."""
    account_id = ctx.require_account()
    unknown = unknown_fields(fields, writable_fields(model, read_only))
    record_id = new_id(prefix)
    now = ctx.timestamp
    fields = {k: v for k, v in fields.items() if k not in {u.field for u in unknown}}
    obj = validate(
        model, {**fields, "id": record_id, "created_at": now, "updated_at": now}, unknown
    )
    rec = ctx.store.put(
        collection, record_id, _stored(obj), account_id=account_id, expected_version=0
    )
    return present(rec)


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
) -> dict[str, Any]:
    """Merge ``changes`` into the stored record, re-validate the whole, write it (versioned).

    ``adjust(old_data, new_data)`` may fix up derived fields before the write.
    """
    unknown = unknown_fields(changes, writable_fields(model, read_only))
    changes = {k: v for k, v in changes.items() if k not in {u.field for u in unknown}}

    def run(tx: Transaction) -> Record:
        rec = load(ctx, collection, key, tx)
        check_version(rec, version)
        data = merge(rec.data, changes)
        data["updated_at"] = ctx.timestamp
        if adjust is not None:
            data = adjust(rec.data, data)
        obj = validate(model, data, unknown)
        return tx.put(
            collection, key, _stored(obj), account_id=rec.account_id, expected_version=rec.version
        )

    try:
        return present(ctx.store.transaction(run))
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
    items = [present(r) for r in page.items]
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


# --- entity actions ----------------------------------------------------------------------------

ENTITY_FIELDS = frozenset(Entity.model_fields) - {"account_id"}


class EntityCreate(Fields):
    pass


class EntityUpdate(Fields):
    entity_id: str
    version: int | None = None


class EntityGet(Params):
    entity_id: str


class EntityList(ListParams):
    pass


@action("entity.create", EntityCreate)
def create_entity(ctx: Context, p: EntityCreate) -> dict[str, Any]:
    return create_record(ctx, "entities", "ent", Entity, p.changes())


@action("entity.update", EntityUpdate)
def update_entity(ctx: Context, p: EntityUpdate) -> dict[str, Any]:
    return update_record(ctx, "entities", p.entity_id, p.version, Entity, p.changes())


@action("entity.get", EntityGet, mutating=False)
def get_entity(ctx: Context, p: EntityGet) -> dict[str, Any]:
    return present(load(ctx, "entities", p.entity_id))


@action("entity.list", EntityList, mutating=False)
def list_entities(ctx: Context, p: EntityList) -> dict[str, Any]:
    return list_page(
        ctx, "entities", p, allowed_fields=ENTITY_FIELDS, sort=Sort("created_at", descending=False)
    )


def first_entity(ctx: Context) -> Record | None:
    """The account's oldest entity (the default seller and VIES requester)."""
    page = ctx.store.query(
        "entities",
        account_id=ctx.require_account(),
        sort=Sort("created_at", descending=False),
        limit=1,
    )
    return page.items[0] if page.items else None
