"""The customer's side of an invoice: its hosted link, ``invoice.rotate_link``, the lookup of
a token from a URL (rate limited) and ``viewed`` once.

The link. Every finalized document (invoice or credit note) gets a link in the commit that
finalizes it. Its token is *derived* — ``HMAC-SHA256(link key, invoice id, link version)``
(:func:`functions.hosted.tokens.derive_token`), 256 bits — so the owner's ``invoice.get`` can
show ``hosted_invoice_url`` every time while the store keeps only the token's SHA-256:

- ``hosted_links/<sha256(token)>`` ``{invoice_id, version}`` (the account on the record): what a
  lookup reads, one get by key, no scan; a copy of the database opens no page;
- the invoice's ``hosted_link_version``: which token is current. ``invoice.rotate_link``
  deletes the old hash, bumps the version and writes the new hash in one commit: the old URL
  is then exactly as unknown as a random one.

The link key lives outside the store (:mod:`functions.hosted.keys`: ``BILLOW_LINK_KEY``, an
SSM SecureString on AWS, else ``link.key`` beside the SQLite file).

Lookups (:func:`find_by_token`): the client's miss bucket is read first (429 once a client
network has asked for too many unknown tokens, :mod:`functions.hosted.tokens`); a miss is
recorded with a blind put that expires with the window; a found token costs no write.
"""

from __future__ import annotations

import time
from typing import Any

from functions.domain.errors import InvalidState, NotFound, RateLimited
from functions.hosted import tokens
from functions.hosted.keys import LinkKeyError, document_url, hosted_base_url, link_key
from storage_adapter import Record, Store, Transaction

from .common import event
from .events import append_event
from .invoices import INVOICES, InvoiceRef, load_invoice, mutate, present, timeline_stream
from .registry import Context, action

HOSTED_LINKS = "hosted_links"
HOSTED_RATE = "hosted_rate"

__all__ = ["LinkKeyError", "find_by_token", "hosted_url", "link_key", "record_view"]


# --- links -------------------------------------------------------------------------------------


def _key_of(ctx: Context) -> bytes:
    given = ctx.services.get("link_key")
    return given if isinstance(given, bytes) else link_key(ctx.store)


def hosted_base(ctx: Context) -> str:
    """The origin hosted links start with: ``BILLOW_HOSTED_URL``, else the app's public URL."""
    return hosted_base_url(ctx.public_url)


def link_token(ctx: Context, invoice_id: str, version: int) -> str:
    return tokens.derive_token(_key_of(ctx), invoice_id, version)


def hosted_url(ctx: Context, rec: Record) -> str | None:
    """The current hosted link of a stored document; ``None`` for a draft (or a document
    finalized before hosted links existed, until the owner rotates its link)."""
    return document_url(_key_of(ctx), ctx.public_url, rec.key, rec.data)


def stage_link(
    tx: Transaction, ctx: Context, invoice_id: str, account_id: str | None, version: int = 1
) -> dict[str, Any]:
    """Stage ``hosted_links/<hash>`` of version ``version`` of a document's link (create-only)
    and return the invoice fields that name it (merge them into the invoice's stored data)."""
    token = link_token(ctx, invoice_id, version)
    tx.put(
        HOSTED_LINKS,
        tokens.token_hash(token),
        {"invoice_id": invoice_id, "version": version, "created_at": ctx.timestamp},
        account_id=account_id,
        expected_version=0,
    )
    return {"hosted_link_version": version}


@action("invoice.rotate_link", InvoiceRef)
def rotate_link(ctx: Context, p: InvoiceRef) -> dict[str, Any]:
    """Replace the document's hosted link: the old URL is a 404 from this commit on."""

    def run(tx: Transaction) -> Record:
        rec = load_invoice(ctx, p.invoice_id, tx)
        status = str(rec.data.get("status", "draft"))
        if status == "draft":
            raise InvalidState(status, "rotate_link", "a draft has no link; finalize it first")
        old = int(rec.data.get("hosted_link_version") or 0)
        if old:
            old_hash = tokens.token_hash(link_token(ctx, rec.key, old))
            current = tx.get(HOSTED_LINKS, old_hash)
            if current is not None:
                tx.delete(HOSTED_LINKS, old_hash, expected_version=current.version)
        fields = stage_link(tx, ctx, rec.key, rec.account_id, old + 1)
        new = tx.put(
            INVOICES,
            rec.key,
            {**rec.data, **fields, "updated_at": ctx.timestamp},
            account_id=rec.account_id,
            expected_version=rec.version,
        )
        tx.append(timeline_stream(rec.key), event(ctx, "link_rotated", {"version": old + 1}))
        return new

    return present(mutate(ctx, run))


# --- the customer's lookups --------------------------------------------------------------------


def find_by_token(store: Store, token: str, client_ip: str, now: float | None = None) -> Record:
    """The finalized document a token opens, else ``NotFound``; ``RateLimited`` for a client
    that has asked for too many unknown tokens lately (found or not, for the rest of the
    window). A miss is counted; a hit writes nothing."""
    now = time.time() if now is None else now
    bucket = tokens.client_bucket(client_ip)
    rate = store.get(HOSTED_RATE, bucket)
    previous = list((rate.data.get("misses") if rate else None) or [])
    decision = tokens.check_misses(previous, now)
    if not decision.allowed:
        raise RateLimited(
            "too many unknown links; wait a few minutes", retry_after=decision.retry_after
        )
    rec = _resolve(store, token) if tokens.is_token(token) else None
    if rec is None:
        store.put(
            HOSTED_RATE,
            bucket,
            {"misses": tokens.record_miss(previous, now)},
            account_id=None,
            expected_version=None,
            expires_at=int(now) + tokens.MISS_WINDOW_S,
        )
        raise NotFound("no such page")
    return rec


def _resolve(store: Store, token: str) -> Record | None:
    link = store.get(HOSTED_LINKS, tokens.token_hash(token))
    if link is None:
        return None
    rec = store.get(INVOICES, str(link.data.get("invoice_id") or ""))
    if (
        rec is None
        or rec.account_id != link.account_id
        or rec.data.get("status", "draft") == "draft"
        or int(rec.data.get("hosted_link_version") or 0) != int(link.data.get("version") or -1)
    ):
        return None
    return rec


def record_view(ctx: Context, invoice_id: str) -> Record:
    """``viewed`` once: the first view sets ``viewed_at`` and appends ``viewed`` in one
    versioned commit; a view that finds ``viewed_at`` set writes nothing. Two first views at
    once: the loser's retry sees ``viewed_at`` and records nothing."""

    def run(tx: Transaction) -> Record:
        rec = tx.get(INVOICES, invoice_id)
        if rec is None:
            raise NotFound("no such page")
        if rec.data.get("viewed_at"):
            return rec
        new = tx.put(
            INVOICES,
            rec.key,
            {**rec.data, "viewed_at": ctx.timestamp},
            account_id=rec.account_id,
            expected_version=rec.version,
        )
        append_event(tx, ctx, new, "viewed", {})  # published as invoice.viewed
        return new

    return ctx.store.transaction(run)
