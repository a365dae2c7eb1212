"""Helpers every service uses: ids, account-checked reads, versioned writes, timeline events."""

from __future__ import annotations

import hashlib
from typing import Any

from functions.domain.errors import Conflict, NotFound
from storage_adapter import Record, Transaction, VersionConflict

from .ids import new_id  # noqa: F401  (re-exported: the services import it from here)
from .registry import Context


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
