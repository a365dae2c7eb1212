"""Sign-in by magic link, sessions, and resolving a Bearer key to an account.

Secrets (sign-in tokens, session keys, API keys) are random 256-bit strings that are only ever
stored as SHA-256 hashes. Every key, session or API, has one ``credentials`` record keyed by its
hash, so authenticating a request is a single read.

Collections: ``accounts`` (``acct_…``), ``account_emails`` (hash of the address → account),
``login_tokens`` (hash → email, 15-minute expiry), ``login_rate`` (per-address send times),
``credentials`` (key hash → account, kind, expiry).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
import unicodedata
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator

from functions.domain.errors import (
    InvalidToken,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from storage_adapter import Record, Store, Transaction, VersionConflict

from .common import hash_secret, new_id
from .registry import Context, Params, action

TOKEN_TTL = 15 * 60
SESSION_TTL = 30 * 24 * 3600
LOGIN_WINDOW = 15 * 60
LOGIN_MAILS_PER_WINDOW = 5
LAST_USED_GRANULARITY = 60  # seconds: last_used_at is refreshed at most once a minute

# a bare address: no display name, brackets, list separators, quotes or control characters
# (``x<ann@example.com>`` would mail ann but key another account and another rate bucket)
_ATOM = r"[^@\s<>()\[\],;:\"\\\x00-\x1f\x7f]+"
_EMAIL = re.compile(rf"{_ATOM}@{_ATOM}\.{_ATOM}")


# --- resolving a key --------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account, how (session or API key) and the key's hash."""

    account_id: str
    actor: str
    kind: str
    key_hash: str
    apikey_id: str | None = None


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def authenticate(store: Store, authorization: str | None) -> Principal:
    """The principal of an ``Authorization: Bearer <key>`` header, or ``Unauthenticated``."""
    if not authorization:
        raise Unauthenticated("an Authorization: Bearer <key> header is required")
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > 200:
        raise Unauthenticated("an Authorization: Bearer <key> header is required")
    key_hash = hash_secret(key)
    rec = store.get("credentials", key_hash)  # expired records read as missing
    if rec is None or not rec.account_id:
        raise Unauthenticated("the key is unknown, expired or revoked")
    data = rec.data
    if data.get("kind") == "api_key":
        _touch_api_key(store, rec.account_id, data.get("apikey_id"))
        actor = f"apikey:{data.get('apikey_id')}"
    else:
        actor = f"user:{data.get('email') or rec.account_id}"
    return Principal(
        rec.account_id, actor, data.get("kind", "session"), key_hash, data.get("apikey_id")
    )


def _touch_api_key(store: Store, account_id: str, apikey_id: str | None) -> None:
    """Record ``last_used_at`` (at most once a minute; a lost race is fine)."""
    if not apikey_id:
        return
    rec = store.get("apikeys", apikey_id)
    if rec is None:
        return
    now = time.time()
    last = rec.data.get("last_used_epoch") or 0
    if now - last < LAST_USED_GRANULARITY:
        return
    data = {**rec.data, "last_used_at": _timestamp(now), "last_used_epoch": int(now)}
    with contextlib.suppress(VersionConflict):
        store.put("apikeys", apikey_id, data, account_id=account_id, expected_version=rec.version)


def issue_credential(
    tx: Transaction,
    *,
    account_id: str,
    kind: str,
    email: str | None = None,
    apikey_id: str | None = None,
    ttl: int | None = None,
    prefix: str,
) -> tuple[str, int | None]:
    """Stage a new key's credential record; return ``(key, expires_at epoch or None)``."""
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    expires_at = int(time.time()) + ttl if ttl else None
    tx.put(
        "credentials",
        hash_secret(key),
        {"kind": kind, "email": email, "apikey_id": apikey_id},
        account_id=account_id,
        expected_version=0,
        expires_at=expires_at,
    )
    return key, expires_at


# --- actions ----------------------------------------------------------------------------------


def _normalize_email(value: str) -> str:
    value = unicodedata.normalize("NFC", value.strip())
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError("is not a valid email address")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def _account_email_key(email: str) -> str:
    """The key of the account of an address. ``lower()``, never ``casefold()``: casefolding
    merges addresses that are different mailboxes — ``ceo@straße.de`` (its own IDN domain,
    ``xn--strae-oqa.de``) folds to ``ceo@strasse.de``, so whoever owns the first domain got
    the second one's account. For ASCII both are the same, so existing keys do not move."""
    return hash_secret("email:" + unicodedata.normalize("NFC", email).lower())


class Login(Params):
    email: str
    callback_url: str | None = None
    locale: str = Field(default="en", max_length=35)

    _email = field_validator("email")(_normalize_email)


class Verify(Params):
    token: str = Field(min_length=1, max_length=200)


class NoParams(Params):
    pass


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _sign_in_link(ctx: Context, callback_url: str | None, token: str) -> str:
    base = callback_url or ctx.public_url.rstrip("/") + "/"
    if callback_url is not None:
        parts = urllib.parse.urlsplit(callback_url)
        if (
            parts.scheme not in ("http", "https")
            or _origin(callback_url) != _origin(ctx.public_url)
            or parts.fragment
        ):
            raise ValidationFailed.one(
                "callback_url", f"must be a URL on this app's origin ({ctx.public_url})"
            )
    separator = "&" if urllib.parse.urlsplit(base).query else "?"
    return f"{base}{separator}token={token}"


def _rate_key(email: str) -> str:
    """The rate-limit bucket of an address: one per mailbox, not per spelling. Case, a
    ``+tag`` (sub-addressing delivers ``ann+1@x`` to ``ann@x``) and a trailing dot on the
    domain do not open a fresh bucket, so one inbox cannot be flooded through variants."""
    local, _, domain = email.casefold().rpartition("@")
    local = local.split("+", 1)[0] or local
    return hash_secret(f"login:{local}@{domain.rstrip('.')}")


@action("auth.login", Login, auth=False, mutating=False)
def login(ctx: Context, p: Login) -> dict[str, Any]:
    """Mail a single-use sign-in link. The answer never tells whether the address is known:
    no account is looked up here at all; ``auth.verify`` creates it on first use."""
    token = secrets.token_urlsafe(32)
    link = _sign_in_link(ctx, p.callback_url, token)
    now = time.time()

    def run(tx: Transaction) -> None:
        key = _rate_key(p.email)
        bucket = tx.get("login_rate", key)
        sent = [
            t for t in (bucket.data.get("sent", []) if bucket else []) if t > now - LOGIN_WINDOW
        ]
        if len(sent) >= LOGIN_MAILS_PER_WINDOW:
            retry = int(min(sent) + LOGIN_WINDOW - now) + 1
            raise RateLimited(
                f"at most {LOGIN_MAILS_PER_WINDOW} sign-in mails per address every 15 minutes",
                retry_after=retry,
            )
        sent.append(now)
        tx.put(
            "login_rate",
            key,
            {"sent": sent},
            account_id=None,
            expected_version=bucket.version if bucket else 0,
            expires_at=int(now) + LOGIN_WINDOW,
        )
        tx.put(
            "login_tokens",
            hash_secret(token),
            {"email": p.email, "created_at": ctx.timestamp},
            account_id=None,
            expected_version=0,
            expires_at=int(now) + TOKEN_TTL,
        )

    ctx.store.transaction(run)
    from functions.mail.messages import signin_message

    ctx.services["mailer"].send(signin_message(p.email, link, p.locale))
    return {"sent": True}


@action("auth.verify", Verify, auth=False)
def verify(ctx: Context, p: Verify) -> dict[str, Any]:
    """Exchange a sign-in token (once, within 15 minutes) for a session key."""
    token_hash = hash_secret(p.token)

    def run(tx: Transaction) -> dict[str, Any]:
        rec = tx.get("login_tokens", token_hash)
        if rec is None:
            raise InvalidToken("the sign-in link is unknown, expired or already used")
        tx.delete("login_tokens", token_hash, expected_version=rec.version)
        email = rec.data["email"]
        account_id = _account_for(tx, ctx, email)
        key, expires = issue_credential(
            tx, account_id=account_id, kind="session", email=email, ttl=SESSION_TTL, prefix="bs"
        )
        return {
            "key": key,
            "account_id": account_id,
            "email": email,
            "expires_at": _timestamp(expires or 0),
        }

    return ctx.store.transaction(run)


def _account_for(tx: Transaction, ctx: Context, email: str) -> str:
    """The account of ``email``, created on first sign-in."""
    email_key = _account_email_key(email)
    link: Record | None = tx.get("account_emails", email_key)
    if link is not None:
        return link.data["account_id"]
    account_id = new_id("acct")
    tx.put(
        "accounts",
        account_id,
        {
            "id": account_id,
            "object": "account",
            "email": email,
            "created_at": ctx.timestamp,
            "updated_at": ctx.timestamp,
        },
        account_id=account_id,
        expected_version=0,
    )
    tx.put(
        "account_emails",
        email_key,
        {"account_id": account_id},
        account_id=account_id,
        expected_version=0,
    )
    return account_id


@action("auth.me", NoParams, mutating=False)
def me(ctx: Context, p: NoParams) -> dict[str, Any]:
    account_id = ctx.require_account()
    rec = ctx.store.get("accounts", account_id)
    return {"account_id": account_id, "email": rec.data.get("email") if rec else None}


@action("auth.logout", NoParams)
def logout(ctx: Context, p: NoParams) -> dict[str, Any]:
    """Revoke the key this request was made with (a session, or an API key)."""
    principal: Principal | None = ctx.services.get("principal")
    if principal is None:
        raise Unauthenticated("no key to revoke")

    def run(tx: Transaction) -> None:
        rec = tx.get("credentials", principal.key_hash)
        if rec is not None:
            tx.delete("credentials", principal.key_hash, expected_version=rec.version)
        if principal.apikey_id:
            key = tx.get("apikeys", principal.apikey_id)
            if key is not None and not key.data.get("revoked_at"):
                tx.put(
                    "apikeys",
                    key.key,
                    {**key.data, "revoked_at": ctx.timestamp},
                    account_id=key.account_id,
                    expected_version=key.version,
                )

    ctx.store.transaction(run)
    return {"ok": True}
