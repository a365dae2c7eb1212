"""Clients (buyers): ``client.*`` including the VIES check of their VAT number."""

from __future__ import annotations

from typing import Any

from functions.domain.errors import ValidationFailed
from functions.domain.models import Client
from storage_adapter import Filter, Record, Sort, Transaction, VersionConflict

from .common import as_conflict, check_version, load
from .entities import first_entity
from .records import Fields, ListParams, create_record, list_page, present, update_record
from .registry import Context, Params, action

CLIENT_FIELDS = frozenset(Client.model_fields) - {"account_id"}
#: Set by the services, never by the caller.
CLIENT_READ_ONLY = ("vat_verification", "archived")


class ClientCreate(Fields):
    pass


class ClientUpdate(Fields):
    client_id: str
    version: int | None = None


class ClientRef(Params):
    client_id: str


class ClientArchive(Params):
    client_id: str
    version: int | None = None


class ClientList(ListParams):
    q: str | None = None
    include_archived: bool = False


class ClientVerifyVat(Params):
    client_id: str
    entity_id: str | None = None


def _reset_stale_verification(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A verification is evidence about one number: a changed VAT number drops it."""
    if (old.get("vat_number") or None) != (new.get("vat_number") or None):
        new["vat_verification"] = None
    return new


@action("client.create", ClientCreate)
def create_client(ctx: Context, p: ClientCreate) -> dict[str, Any]:
    return create_record(ctx, "clients", "cli", Client, p.changes(), read_only=CLIENT_READ_ONLY)


@action("client.update", ClientUpdate)
def update_client(ctx: Context, p: ClientUpdate) -> dict[str, Any]:
    return update_record(
        ctx,
        "clients",
        p.client_id,
        p.version,
        Client,
        p.changes(),
        read_only=CLIENT_READ_ONLY,
        adjust=_reset_stale_verification,
    )


@action("client.get", ClientRef, mutating=False)
def get_client(ctx: Context, p: ClientRef) -> dict[str, Any]:
    return present(load(ctx, "clients", p.client_id))


@action("client.list", ClientList, mutating=False)
def list_clients(ctx: Context, p: ClientList) -> dict[str, Any]:
    filters: list[Filter] = []
    if p.q:
        filters.append(Filter("name", "contains", p.q, also=("email", "contact_name")))
    if not p.include_archived:
        filters.append(Filter("archived", "ne", True))
    return list_page(
        ctx, "clients", p, allowed_fields=CLIENT_FIELDS, filters=filters, sort=Sort("name", False)
    )


@action("client.archive", ClientArchive)
def archive_client(ctx: Context, p: ClientArchive) -> dict[str, Any]:
    return _set_archived(ctx, "clients", p.client_id, p.version)


def _set_archived(ctx: Context, collection: str, key: str, version: int | None) -> dict[str, Any]:
    """Archive (hide from lists, keep for existing invoices); archiving twice is a no-op."""

    def run(tx: Transaction) -> Record:
        rec = load(ctx, collection, key, tx)
        check_version(rec, version)
        if rec.data.get("archived"):
            return rec
        data = {**rec.data, "archived": True, "updated_at": ctx.timestamp}
        return tx.put(
            collection, key, data, account_id=rec.account_id, expected_version=rec.version
        )

    try:
        return present(ctx.store.transaction(run))
    except VersionConflict as exc:
        raise as_conflict(exc) from None


@action("client.verify_vat", ClientVerifyVat)
def verify_client_vat(ctx: Context, p: ClientVerifyVat) -> dict[str, Any]:
    """Check the client's VAT number with VIES and store the evidence.

    The requester (for the consultation number) is ``entity_id``'s VAT number, else the
    account's first entity's. ``ViesUnavailable`` (503) leaves the stored verification as it was.
    """
    from functions.vies.service import verify_client_vat as verify

    rec = load(ctx, "clients", p.client_id)
    if p.entity_id:
        requester = load(ctx, "entities", p.entity_id).data.get("vat_number")
    else:
        entity = first_entity(ctx)
        requester = entity.data.get("vat_number") if entity else None
    if not rec.data.get("vat_number"):
        raise ValidationFailed.one("vat_number", "the client has no VAT number to verify")
    stored = rec.data.get("vat_verification")
    verification = verify(rec.data, requester, now=ctx.now, checker=ctx.services.get("vies"))
    if verification == stored:  # a fresh earlier answer, reused
        return present(rec)
    verification = {**verification, "vat_number": rec.data.get("vat_number")}

    def run(tx: Transaction) -> Record:
        current = load(ctx, "clients", p.client_id, tx)
        if current.data.get("vat_number") != rec.data.get("vat_number"):
            return current  # changed meanwhile: the answer is about another number
        data = {**current.data, "vat_verification": verification, "updated_at": ctx.timestamp}
        return tx.put(
            "clients",
            current.key,
            data,
            account_id=current.account_id,
            expected_version=current.version,
        )

    return present(ctx.store.transaction(run))
