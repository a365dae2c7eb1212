"""API keys for integrations: hashed at rest, shown once at creation, revocable."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from storage_adapter import Filter, Record, Sort, Transaction

from .auth import issue_credential
from .common import hash_secret, load, new_id
from .records import ListParams, list_page
from .registry import Context, Params, action

PUBLIC = ("id", "object", "name", "created_at", "last_used_at")


class ApiKeyCreate(Params):
    name: str = Field(min_length=1, max_length=100)


class ApiKeyList(ListParams):
    pass


class ApiKeyRevoke(Params):
    apikey_id: str


def _public(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data.get(k) for k in PUBLIC}


@action("apikey.create", ApiKeyCreate)
def create_api_key(ctx: Context, p: ApiKeyCreate) -> dict[str, Any]:
    account_id = ctx.require_account()
    key_id = new_id("key")

    def run(tx: Transaction) -> dict[str, Any]:
        key, _ = issue_credential(
            tx, account_id=account_id, kind="api_key", apikey_id=key_id, prefix="bk"
        )
        data = {
            "id": key_id,
            "object": "apikey",
            "name": p.name,
            "created_at": ctx.timestamp,
            "last_used_at": None,
            "revoked_at": None,
            "key_hash": hash_secret(key),
        }
        tx.put("apikeys", key_id, data, account_id=account_id, expected_version=0)
        return {**_public(data), "key": key}

    return ctx.store.transaction(run)


@action("apikey.list", ApiKeyList, mutating=False)
def list_api_keys(ctx: Context, p: ApiKeyList) -> dict[str, Any]:
    """The account's live keys, oldest first, paged like every list (never the key itself)."""

    def represent(rec: Record) -> dict[str, Any]:
        return _public(rec.data)

    return list_page(
        ctx,
        "apikeys",
        p,
        allowed_fields=PUBLIC,
        filters=[Filter("revoked_at", "eq", None)],
        sort=Sort("created_at", descending=False),
        represent=represent,
    )


@action("apikey.revoke", ApiKeyRevoke)
def revoke_api_key(ctx: Context, p: ApiKeyRevoke) -> dict[str, Any]:
    """The key stops working at once; revoking a revoked key is a no-op."""

    def run(tx: Transaction) -> None:
        rec = load(ctx, "apikeys", p.apikey_id, tx)
        if rec.data.get("revoked_at"):
            return
        cred = tx.get("credentials", rec.data["key_hash"])
        if cred is not None:
            tx.delete("credentials", cred.key, expected_version=cred.version)
        tx.put(
            "apikeys",
            rec.key,
            {**rec.data, "revoked_at": ctx.timestamp},
            account_id=rec.account_id,
            expected_version=rec.version,
        )

    ctx.store.transaction(run)
    return {"ok": True}
