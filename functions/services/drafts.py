"""One draft path for invoices and quotes: ``invoice.create/update`` and ``quote.create/update``,
and the new drafts of ``invoice.duplicate`` and ``quote.convert``.

A quote is drafted exactly as an invoice is: the caller's entity and client (an archived client
is refused for a new draft, or when an update names another client), the products its lines
name, the domain's priced draft (:mod:`functions.domain.drafts`), then one commit that writes the
record (version-checked, with the client's name and e-mail denormalised for the list's search)
and appends its timeline event (``created``/``updated``). What differs is a :class:`DraftPath`:
the collection, the id prefix, the domain steps and the stored form of the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Protocol, TypeVar

from pydantic import WithJsonSchema

from functions.domain.drafts import product_ids
from functions.domain.errors import NotFound, ValidationFailed
from functions.domain.kinds import is_self_billed
from functions.domain.models import Client, Entity, Invoice, Period, Product, parse_model
from storage_adapter import Record, Transaction, VersionConflict

from .common import as_conflict, check_version, load, new_id
from .events import append_event
from .registry import Context, Params

ENTITIES = "entities"
CLIENTS = "clients"
PRODUCTS = "products"

T = TypeVar("T")
D = TypeVar("D", bound=Invoice)


# --- record helpers ----------------------------------------------------------------------------


def now_utc(ctx: Context) -> datetime:
    """The request time to the second (what ``ctx.timestamp`` prints)."""
    return ctx.now.astimezone(UTC).replace(microsecond=0)


def today(ctx: Context) -> date:
    return ctx.now.astimezone(UTC).date()


def to_entity(rec: Record) -> Entity:
    return parse_model(Entity, {**rec.data, "account_id": rec.account_id, "version": rec.version})


def to_client(rec: Record) -> Client:
    return parse_model(Client, {**rec.data, "account_id": rec.account_id, "version": rec.version})


def load_entity(ctx: Context, entity_id: str | None, tx: Transaction | None = None) -> Entity:
    return to_entity(load(ctx, ENTITIES, entity_id or "", tx))


def load_client(ctx: Context, client_id: str | None, tx: Transaction | None = None) -> Client:
    return to_client(load(ctx, CLIENTS, client_id or "", tx))


def load_products(ctx: Context, lines: Any) -> dict[str, Product]:
    """The caller's products the lines name; others' or missing ones are left out (the domain
    then reports ``lines[i].product_id: no such product``)."""
    products: dict[str, Product] = {}
    for pid in product_ids(lines):
        try:
            rec = load(ctx, PRODUCTS, pid)
        except NotFound:
            continue
        products[pid] = parse_model(
            Product, {**rec.data, "account_id": rec.account_id, "version": rec.version}
        )
    return products


def mutate(ctx: Context, fn: Callable[[Transaction], T]) -> T:
    """Run one document change in a transaction; a lost optimistic race is a ``conflict``."""
    try:
        return ctx.store.transaction(fn)
    except VersionConflict as exc:
        raise as_conflict(exc) from None


def client_fields(client: Client) -> dict[str, Any]:
    return {"client_name": client.name, "client_email": client.email}


def require_active_client(client: Client) -> None:
    if client.archived:
        raise ValidationFailed.one("client_id", "the client is archived")


def document_data(
    document: Invoice,
    previous: dict[str, Any] | None,
    service_fields: tuple[str, ...],
    **extra: Any,
) -> dict:
    """JSON data to store for ``document`` (an invoice or a quote): the model's dump, the
    ``service_fields`` carried over from ``previous`` (the stored data it replaces) and
    ``extra``, and the denormalised client name/e-mail."""
    data = document.model_dump(mode="json", exclude={"account_id", "version"})
    previous = previous or {}
    for key in service_fields:
        if key in previous:
            data[key] = previous[key]
    old_pdf = previous.get("pdf")
    if isinstance(old_pdf, dict) and isinstance(data.get("pdf"), dict):
        data["pdf"] = {**old_pdf, **data["pdf"]}  # keep blob_key (PdfRef drops it)
    data.update(extra)
    # the client's frozen copy: the buyer, or the seller of a self-billed document (the supplier)
    buyer = data.get("seller" if is_self_billed(document.kind) else "buyer")
    if isinstance(buyer, dict):
        data["client_name"] = buyer.get("name")
        data["client_email"] = buyer.get("email")
    return data


# --- parameters --------------------------------------------------------------------------------


class DraftFields(Params):
    """The fields a draft's create/update may set besides its parties and lines."""

    #: fields of a subclass's own that are draft fields too (a quote's ``valid_until``)
    more_draft_fields: ClassVar[tuple[str, ...]] = ()

    currency: str | None = None
    issue_date: date | None = None
    supply_date: date | None = None
    due_date: date | None = None
    po_number: str | None = None
    buyer_reference: str | None = None
    period: Period | None = None
    notes: str | None = None
    terms: str | None = None
    metadata: dict[str, str] | None = None

    def draft_changes(self) -> dict[str, Any]:
        """The draft fields the caller gave (``null`` included: it clears the field)."""
        names = ("lines", *DraftFields.model_fields, *self.more_draft_fields)
        return {k: getattr(self, k) for k in names if k in self.model_fields_set}


#: Lines arrive as plain objects (``functions.domain.drafts.build_lines`` fills in product
#: defaults, then validates each as a ``Line``, unknown keys refused); documented as ``Line``.
LineInputs = Annotated[
    list[dict[str, Any]],
    WithJsonSchema({"type": "array", "items": {"$ref": "#/components/schemas/Line"}}),
]


class DraftCreate(Protocol):
    entity_id: str
    client_id: str
    lines: list[dict[str, Any]]

    def draft_changes(self) -> dict[str, Any]: ...


class DraftUpdate(Protocol):
    version: int | None
    entity_id: str | None
    client_id: str | None

    def draft_changes(self) -> dict[str, Any]: ...


# --- the draft path ----------------------------------------------------------------------------

#: ``(changes, entity, client, products, document id)`` → a new priced draft
Draft = Callable[[Mapping[str, Any], Entity, Client, Mapping[str, Product], str], Invoice]
#: ``(current, changes, entity, client, products)`` → the updated priced draft
Change = Callable[[Any, Mapping[str, Any], Entity, Client, Mapping[str, Product]], Invoice]
#: ``(draft, kind, entity, client, today)`` → the draft priced as a document of ``kind``
ForKind = Callable[[Invoice, str, Entity, Client, date], Invoice]


@dataclass(frozen=True)
class DraftPath:
    """What differs between the drafts (and writes) of invoices and quotes."""

    collection: str
    id_prefix: str
    to_document: Callable[[Record], Invoice]
    #: ``(document, previous data, **extra)`` → the data to store
    stored: Callable[..., dict]
    #: the lifecycle's ``update`` check: 409 ``invalid_state`` unless a draft
    allow_update: Callable[[Any], object]
    draft: Draft
    change: Change
    #: self-billing (invoices only): the draft priced with the roles of its kind
    for_kind: ForKind | None = None

    def write(
        self,
        tx: Transaction,
        ctx: Context,
        rec: Record,
        document: Invoice,
        events: list[tuple[str, dict[str, Any]]],
        **extra: Any,
    ) -> Record:
        """Store ``document`` over ``rec`` (version-checked) and append its timeline events
        (each with its webhook event, in the same commit)."""
        document = document.model_copy(update={"updated_at": now_utc(ctx)})
        data = self.stored(document, rec.data, **extra)
        new = tx.put(
            self.collection, rec.key, data, account_id=rec.account_id, expected_version=rec.version
        )
        for type_, payload in events:
            append_event(tx, ctx, new, type_, payload)
        return new


@dataclass(frozen=True)
class NewDraft:
    """A new draft's record, ready to put: computed before the transaction."""

    collection: str
    key: str
    account_id: str | None
    data: dict[str, Any]


def stamped_new(ctx: Context, document: D) -> D:
    """``document`` created (and updated) now."""
    stamp = now_utc(ctx)
    return document.model_copy(update={"created_at": stamp, "updated_at": stamp})


def new_draft(ctx: Context, path: DraftPath, p: DraftCreate, *, kind: str = "invoice") -> NewDraft:
    """The priced draft of a create action (VAT resolved, totals computed by the domain)."""
    account_id = ctx.require_account()
    entity = load_entity(ctx, p.entity_id)
    client = load_client(ctx, p.client_id)
    require_active_client(client)
    changes = p.draft_changes()
    changes.setdefault("lines", p.lines)
    key = new_id(path.id_prefix)
    document = path.draft(changes, entity, client, load_products(ctx, p.lines), key)
    if path.for_kind is not None:
        document = path.for_kind(document, kind, entity, client, today(ctx))
    data = path.stored(stamped_new(ctx, document), None, **client_fields(client))
    return NewDraft(path.collection, key, account_id, data)


def put_new_draft(tx: Transaction, ctx: Context, new: NewDraft, **about: Any) -> Record:
    """Write ``new`` (it must not exist yet) and its ``created`` event (``about`` added)."""
    rec = tx.put(new.collection, new.key, new.data, account_id=new.account_id, expected_version=0)
    append_event(tx, ctx, rec, "created", {"status": "draft", **about})
    return rec


def update_draft_record(ctx: Context, path: DraftPath, p: DraftUpdate, key: str) -> Record:
    """Change the draft ``key`` with an update action's parameters; anything but a draft is
    409 ``invalid_state``, a stale ``version`` 409 ``conflict``."""
    changes = p.draft_changes()
    if changes.get("lines", []) is None:
        del changes["lines"]
    products = load_products(ctx, changes.get("lines"))

    def run(tx: Transaction) -> Record:
        rec = load(ctx, path.collection, key, tx)
        current = path.to_document(rec)
        path.allow_update(current)
        check_version(rec, p.version)
        entity = load_entity(ctx, p.entity_id or current.entity_id, tx)
        client = load_client(ctx, p.client_id or current.client_id, tx)
        if p.client_id and p.client_id != current.client_id:
            require_active_client(client)
        updated = path.change(current, changes, entity, client, products)
        if path.for_kind is not None:
            updated = path.for_kind(updated, current.kind, entity, client, today(ctx))
        changed = sorted(
            {*changes, *(k for k in ("entity_id", "client_id") if getattr(p, k) is not None)}
        )
        events = [("updated", {"fields": changed})]
        return path.write(tx, ctx, rec, updated, events, **client_fields(client))

    return mutate(ctx, run)
