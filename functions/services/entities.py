"""Entities: the companies an account invoices from (``entity.*``).

Logos do not live inside records (a 512 KiB image is ~700 KB of base64; DynamoDB items stop at
400 KB, and every finalized invoice copies its seller). ``entity.create/update`` take ``logo``
as a data URL, store the image as the blob ``logos/<account>/<sha256>.<png|jpg>`` and keep only
``logo_blob`` ``{key, sha256, content_type}`` on the record. The key is content-addressed, so a
finalized invoice's frozen seller keeps pointing at the logo it was issued with. The
representation gives ``logo`` back as a data URL, read from the blob.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from typing import Any

from functions.domain.errors import ValidationFailed
from functions.domain.models import Entity
from functions.domain.numbering import patterns_collide
from storage_adapter import Filter, Record, Sort, Store

from .common import load
from .records import Fields, ListParams, create_record, list_page, present, update_record
from .registry import Context, Params, action

# --- logos --------------------------------------------------------------------------------------

#: Where logos live: ``logos/<account_id>/<sha256>.<ext>``.
LOGOS = "logos"
MAX_LOGO_BYTES = 512 * 1024
_DATA_URL = re.compile(r"data:image/(png|jpeg|jpg);base64,([A-Za-z0-9+/=\s]+)")
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


def decode_logo(value: object) -> tuple[bytes, str]:
    """(image bytes, content type) of a logo data URL; 422 on ``logo`` unless it is a PNG or
    JPEG (by its magic bytes, not only by what the URL claims) of at most 512 KiB."""
    match = _DATA_URL.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationFailed.one(
            "logo", "must be a data:image/png;base64 or data:image/jpeg;base64 URL"
        )
    try:
        raw = base64.b64decode("".join(match.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed.one("logo", "is not valid base64") from None
    if len(raw) > MAX_LOGO_BYTES:
        raise ValidationFailed.one("logo", "must be at most 512 KiB")
    if raw.startswith(_PNG):
        return raw, "image/png"
    if raw.startswith(_JPEG):
        return raw, "image/jpeg"
    raise ValidationFailed.one("logo", "is not a PNG or JPEG image")


def store_logo(store: Store, account_id: str, data: bytes, content_type: str) -> dict[str, str]:
    """Keep a logo as a content-addressed blob; returns the ``logo_blob`` reference."""
    sha256 = hashlib.sha256(data).hexdigest()
    ext = "png" if content_type == "image/png" else "jpg"
    key = f"{LOGOS}/{account_id}/{sha256}.{ext}"
    store.put_blob(key, data, content_type)  # same key, same bytes: a rewrite changes nothing
    return {"key": key, "sha256": sha256, "content_type": content_type}


# Data URLs of recently read logos. Blobs are content-addressed (a key never names other
# bytes), so a cached answer never goes stale; only found logos are kept.
_data_urls: dict[tuple[int, str], str] = {}
_DATA_URL_CACHE = 32


def logo_data_url(store: Store, logo_blob: object) -> str | None:
    """The data URL of the logo a ``logo_blob`` reference names (None if none or missing)."""
    if not isinstance(logo_blob, dict) or not isinstance(logo_blob.get("key"), str):
        return None
    cache_key = (id(store), logo_blob["key"])
    url = _data_urls.get(cache_key)
    if url is None:
        blob = store.get_blob(logo_blob["key"])
        if blob is None:
            return None
        url = f"data:{blob.content_type};base64,{base64.b64encode(blob.data).decode('ascii')}"
        if len(_data_urls) >= _DATA_URL_CACHE:
            _data_urls.clear()
        _data_urls[cache_key] = url
    return url


# --- entity actions ----------------------------------------------------------------------------

ENTITY_FIELDS = frozenset(Entity.model_fields) - {"account_id", "logo_blob"}
#: Set by the service from ``logo``, never by a caller.
_ENTITY_READ_ONLY = frozenset({"logo_blob"})


def _entity_logo_finisher(
    ctx: Context, changes: dict[str, Any]
) -> Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]:
    """The ``finish`` step of entity writes: the logo goes to a blob, ``logo_blob`` stays.

    ``logo`` given: a data URL is decoded and checked *before* the write (422 otherwise) and
    stored as a blob; ``null`` removes the logo. Not given: the record keeps its
    ``logo_blob``. A record still holding a data URL (stored before logos were blobs) is
    moved to a blob on its next update.
    """
    account_id = ctx.require_account()
    new_logo: tuple[bytes, str] | None = None
    invalid: ValidationFailed | None = None
    if changes.get("logo") is not None:
        try:
            new_logo = decode_logo(changes["logo"])
        except ValidationFailed as exc:
            # reported with every other problem: the domain model rejects the same value
            invalid = exc

    def finish(old: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        if invalid is not None:
            raise invalid
        data = dict(data)
        legacy = data.pop("logo", None)
        data.pop("logo_blob", None)
        blob: object = None
        if "logo" in changes:
            # written only once the whole record is valid: a refused request writes nothing
            blob = store_logo(ctx.store, account_id, *new_logo) if new_logo else None
        elif old.get("logo_blob"):
            blob = old["logo_blob"]
        elif legacy:
            blob = store_logo(ctx.store, account_id, *decode_logo(legacy))
        if blob:
            data["logo_blob"] = blob
        return data

    return finish


def _check_numbering(
    ctx: Context, entity_id: str | None, old: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any]:
    """Refuse numbering settings that would print a number twice (422 naming the field).

    - the credit-note pattern may not render the invoice pattern's numbers (separate
      counters would both start at 1);
    - ``number_reset`` may not change once the entity has numbered a document: the other
      mode counts in another counter (per year / for ever), which starts again at 1.
    """
    invoice_pattern = data.get("invoice_number_pattern")
    credit_pattern = data.get("credit_note_number_pattern")
    if (
        isinstance(invoice_pattern, str)
        and isinstance(credit_pattern, str)
        and patterns_collide(invoice_pattern, credit_pattern)
    ):
        raise ValidationFailed.one(
            "credit_note_number_pattern",
            "must differ from invoice_number_pattern (beyond the {SEQ} width), "
            "or credit notes would repeat invoice numbers",
        )
    if entity_id and old and old.get("number_reset", "yearly") != data.get("number_reset"):
        numbered = ctx.store.query(
            "invoices",
            account_id=ctx.require_account(),
            filters=[Filter("entity_id", "eq", entity_id), Filter("status", "ne", "draft")],
            limit=1,
        )
        if numbered.total:
            raise ValidationFailed.one(
                "number_reset",
                "cannot change once the entity has issued numbered documents: "
                "the series would start again and repeat numbers",
            )
    return data


def present_entity(ctx: Context, rec: Record) -> dict[str, Any]:
    """An entity as the contract shows it: ``logo`` as a data URL, no ``logo_blob``."""
    data = present(rec)
    blob = data.pop("logo_blob", None)
    if blob:
        data["logo"] = logo_data_url(ctx.store, blob)
    else:
        data.setdefault("logo", None)
    return data


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
    changes = p.changes()
    finish = _entity_logo_finisher(ctx, changes)
    return create_record(
        ctx,
        "entities",
        "ent",
        Entity,
        changes,
        read_only=_ENTITY_READ_ONLY,
        finish=lambda data: finish({}, _check_numbering(ctx, None, {}, data)),
        represent=lambda rec: present_entity(ctx, rec),
    )


@action("entity.update", EntityUpdate)
def update_entity(ctx: Context, p: EntityUpdate) -> dict[str, Any]:
    changes = p.changes()
    logo_finish = _entity_logo_finisher(ctx, changes)
    return update_record(
        ctx,
        "entities",
        p.entity_id,
        p.version,
        Entity,
        changes,
        read_only=_ENTITY_READ_ONLY,
        finish=lambda old, data: logo_finish(old, _check_numbering(ctx, p.entity_id, old, data)),
        represent=lambda rec: present_entity(ctx, rec),
    )


@action("entity.get", EntityGet, mutating=False)
def get_entity(ctx: Context, p: EntityGet) -> dict[str, Any]:
    return present_entity(ctx, load(ctx, "entities", p.entity_id))


@action("entity.list", EntityList, mutating=False)
def list_entities(ctx: Context, p: EntityList) -> dict[str, Any]:
    return list_page(
        ctx,
        "entities",
        p,
        allowed_fields=ENTITY_FIELDS,
        sort=Sort("created_at", descending=False),
        represent=lambda rec: present_entity(ctx, rec),
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
