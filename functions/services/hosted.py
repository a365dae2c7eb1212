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

The link key lives outside the store (:func:`link_key`): ``BILLOW_LINK_KEY`` (base64 of at
least 32 bytes), else the SSM SecureString named by ``BILLOW_LINK_KEY_PARAMETER`` (AWS, read
once per cold start), else the file ``link.key`` beside the SQLite database (created once, mode
0600, like ``secret.key``; ``billow backup`` copies it). Losing it changes every link: the
stored hashes no longer match any derivable token (the owner rotates to get new ones).

Lookups (:func:`find_by_token`): the client's miss bucket is read first (429 once a client
network has asked for too many unknown tokens, :mod:`functions.hosted.tokens`); a miss is
recorded with a blind put that expires with the window; a found token costs no write.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from functions.domain.errors import InvalidState, NotFound, RateLimited
from functions.hosted import tokens
from storage_adapter import Record, Store, Transaction

from .common import event
from .invoices import INVOICES, InvoiceRef, load_invoice, mutate, present, timeline_stream
from .registry import Context, action

HOSTED_LINKS = "hosted_links"
HOSTED_RATE = "hosted_rate"
LINK_KEY_FILE = "link.key"
LINK_KEY_BYTES = 32

_keys: dict[str, bytes] = {}
_keys_lock = threading.Lock()


class LinkKeyError(RuntimeError):
    """The link key is configured but unusable (the operator's fault)."""


# --- the link key ------------------------------------------------------------------------------


def _decode_key(value: str, source: str) -> bytes:
    text = value.strip()
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise LinkKeyError(f"{source} is not base64") from None
    if len(key) < LINK_KEY_BYTES:
        raise LinkKeyError(f"{source} holds fewer than {LINK_KEY_BYTES} bytes")
    return key


def _key_file(path: Path) -> bytes:
    """The key in ``path``, created once (``O_EXCL``: two processes starting together agree)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # the creator may still be writing it
            data = path.read_bytes()
            if len(data) >= LINK_KEY_BYTES:
                return data
            time.sleep(0.01)
        raise LinkKeyError(f"{path} holds fewer than {LINK_KEY_BYTES} bytes") from None
    data = secrets.token_bytes(LINK_KEY_BYTES)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return data


def _ssm_key(name: str) -> bytes:
    import boto3

    answer = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
    return _decode_key(answer["Parameter"]["Value"], f"the parameter {name}")


def key_path(store: Store) -> Path:
    """Where the local link key lives: beside the SQLite file, else in the data dir."""
    db_path = getattr(store, "db_path", None)
    if db_path is not None:
        return Path(db_path).parent / LINK_KEY_FILE
    return Path(os.environ.get("BILLOW_DATA_DIR") or ".billow") / LINK_KEY_FILE


def link_key(store: Store) -> bytes:
    """The key hosted-link tokens are derived with (see the module doc), cached per source."""
    configured = os.environ.get("BILLOW_LINK_KEY")
    if configured:
        return _decode_key(configured, "BILLOW_LINK_KEY")
    parameter = os.environ.get("BILLOW_LINK_KEY_PARAMETER")
    source = f"ssm:{parameter}" if parameter else f"file:{key_path(store).resolve()}"
    key = _keys.get(source)
    if key is None:
        with _keys_lock:
            key = _keys.get(source)
            if key is None:
                key = _ssm_key(parameter) if parameter else _key_file(key_path(store))
                _keys[source] = key
    return key


def _key_of(ctx: Context) -> bytes:
    given = ctx.services.get("link_key")
    return given if isinstance(given, bytes) else link_key(ctx.store)


# --- links -------------------------------------------------------------------------------------


def hosted_base(ctx: Context) -> str:
    """The origin hosted links start with: ``BILLOW_HOSTED_URL``, else the app's public URL."""
    return (os.environ.get("BILLOW_HOSTED_URL") or ctx.public_url).rstrip("/")


def link_token(ctx: Context, invoice_id: str, version: int) -> str:
    return tokens.derive_token(_key_of(ctx), invoice_id, version)


def hosted_url(ctx: Context, rec: Record) -> str | None:
    """The current hosted link of a stored document; ``None`` for a draft (or a document
    finalized before hosted links existed, until the owner rotates its link)."""
    version = rec.data.get("hosted_link_version")
    if not version or rec.data.get("status", "draft") == "draft":
        return None
    return tokens.hosted_url(hosted_base(ctx), link_token(ctx, rec.key, int(version)))


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
        tx.append(timeline_stream(rec.key), event(ctx, "viewed", {}))
        return new

    return ctx.store.transaction(run)
