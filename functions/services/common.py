"""Helpers every service uses: ids, account-checked reads, versioned writes, timeline events."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from typing import Any

from functions.domain.errors import Conflict, NotFound
from storage_adapter import Record, Transaction, VersionConflict

from .registry import Context

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


_id_lock = threading.Lock()
_last_id = 0


def new_id(prefix: str) -> str:
    """A prefixed, time-sortable, opaque id such as ``inv_01jd3k...`` (ULID-like).

    Monotonic within a process, as in the ULID spec: an id made in the same millisecond as the
    previous one is the previous one plus one, so "newest first" (created_at, then id) is exact
    even for records created in the same second.
    """
    global _last_id
    ms = int(time.time() * 1000)
    with _id_lock:
        value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
        if value >> 80 <= _last_id >> 80:
            value = _last_id + 1
        _last_id = value
    chars = []
    for _ in range(26):
        value, r = divmod(value, 32)
        chars.append(_ALPHABET[r])
    return f"{prefix}_{''.join(reversed(chars))}"


def hash_secret(secret: str) -> str:
    """Tokens and keys are high-entropy random strings, so a plain SHA-256 is the right hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


def owned(record: Record | None, ctx: Context) -> Record:
    """The record if it belongs to the caller's account; otherwise the same 404 as a missing one."""
    if record is None or record.account_id is None or record.account_id != ctx.account_id:
        raise NotFound("no such record")
    return record


def load(ctx: Context, collection: str, key: str, tx: Transaction | None = None) -> Record:
    if not isinstance(key, str) or not key:
        raise NotFound("no such record")
    try:
        rec = tx.get(collection, key) if tx is not None else ctx.store.get(collection, key)
    except ValueError:  # InvalidKey: a malformed id is simply not found
        raise NotFound("no such record") from None
    return owned(rec, ctx)


def check_version(record: Record, version: int | None) -> None:
    """Updates take the version the client last saw; a stale one is a ``conflict``."""
    if version is not None and version != record.version:
        raise Conflict(
            f"version {version} is stale: the record is at version {record.version}; "
            "reload it and apply your change again"
        )


def event(ctx: Context, type_: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": type_, "at": ctx.timestamp, "actor": ctx.actor, "data": data or {}}


def as_conflict(exc: VersionConflict) -> Conflict:
    return Conflict(f"the record was changed by someone else ({exc}); reload and try again")
