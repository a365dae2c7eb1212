"""Webhook endpoints: ``webhook.create/list/get/update/delete/deliveries/redeliver``.

Storage: collection ``webhooks`` (key = ``wh_…``, the record's account set)::

    {"id", "object": "webhook", "url", "events", "description", "status", "secret_sealed",
     "created_at", "updated_at", "disabled_reason"?, "failing_since"?}

The signing secret (``whsec_…``) is made here, returned once by ``webhook.create`` and kept
only *sealed* (``functions.webhooks.sealing``: encrypted with a key outside the store, bound to
the account and webhook ids); no answer ever carries ``secret_sealed``. The URL is checked
(``functions.webhooks.ssrf``) when saved — https, resolving to public addresses only — and
the delivery worker checks it again at every attempt. The events themselves are written by the
invoice services in the commit of each change (``functions.services.events``); delivering
them is the worker's (``functions.webhooks.worker``).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

from pydantic import Field

from functions.domain.errors import InvalidState, NotFound, ValidationFailed
from functions.webhooks import outbox, ssrf
from functions.webhooks import staging as delivery_worker
from functions.webhooks.events import check_subscription
from functions.webhooks.sealing import Sealer, sealer_from_env, webhook_context
from functions.webhooks.signing import new_secret
from storage_adapter import Filter, Record, Sort, Transaction, VersionConflict

from .common import as_conflict, check_version, load, new_id
from .records import ListParams, list_page
from .registry import Context, Params, action

WEBHOOKS = delivery_worker.WEBHOOKS
ATTEMPTS = delivery_worker.ATTEMPTS

PUBLIC = (
    "id",
    "object",
    "url",
    "events",
    "description",
    "status",
    "disabled_reason",
    "failing_since",
    "version",
    "created_at",
    "updated_at",
)
ATTEMPT_FIELDS = (
    "id",
    "event_id",
    "event_type",
    "attempt",
    "status_code",
    "error",
    "duration_ms",
    "at",
    "next_attempt_at",
)

_sealers: dict[tuple[str, ...], Sealer] = {}
_sealers_lock = threading.Lock()


def sealer(ctx: Context | None = None) -> Sealer:
    """The sealer of this deployment (``ctx.services["sealer"]`` in tests), made once per
    configuration: a local key file is read once, a KMS client made once."""
    if ctx is not None and ctx.services.get("sealer") is not None:
        return ctx.services["sealer"]
    names = ("BILLOW_WEBHOOK_KMS_KEY_ID", "BILLOW_WEBHOOK_SEAL_KEY", "BILLOW_DATA_DIR")
    config = tuple(os.environ.get(n, "") for n in names)
    with _sealers_lock:
        if config not in _sealers:
            _sealers[config] = sealer_from_env()
        return _sealers[config]


def _resolver(ctx: Context) -> ssrf.Resolver:
    return ctx.services.get("resolver") or ssrf.system_resolver


def _checked_url(ctx: Context, url: str) -> str:
    try:
        ssrf.check_webhook_url(url, resolver=_resolver(ctx))
    except ssrf.UnsafeURL as exc:
        raise ValidationFailed.one("url", exc.reason) from None
    return url


def present(rec: Record) -> dict[str, Any]:
    """The webhook as the API shows it: never its secret, sealed or not."""
    data = {**rec.data, "id": rec.key, "version": rec.version}
    return {k: data[k] for k in PUBLIC if k in data}


# --- parameters --------------------------------------------------------------------------------


class WebhookCreate(Params):
    url: str = Field(min_length=1, max_length=ssrf.MAX_URL_LENGTH)
    events: list[str]
    description: str | None = Field(default=None, max_length=500)


class WebhookRef(Params):
    webhook_id: str


class WebhookUpdate(Params):
    webhook_id: str
    version: int | None = None
    url: str | None = Field(default=None, min_length=1, max_length=ssrf.MAX_URL_LENGTH)
    events: list[str] | None = None
    description: str | None = Field(default=None, max_length=500)
    status: Literal["enabled", "disabled"] | None = None


class WebhookList(ListParams):
    pass


class WebhookDeliveries(ListParams):
    webhook_id: str


class WebhookRedeliver(Params):
    event_id: str
    webhook_id: str


# --- actions -----------------------------------------------------------------------------------


@action("webhook.create", WebhookCreate)
def create_webhook(ctx: Context, p: WebhookCreate) -> dict[str, Any]:
    """A new endpoint; the answer carries its signing secret, this once."""
    account_id = ctx.require_account()
    events = check_subscription(p.events)
    url = _checked_url(ctx, p.url)
    webhook_id = new_id("wh")
    secret = new_secret()
    sealed = sealer(ctx).seal(secret, context=webhook_context(account_id, webhook_id))
    data = {
        "id": webhook_id,
        "object": "webhook",
        "url": url,
        "events": events,
        "description": p.description,
        "status": outbox.ENABLED,
        "secret_sealed": sealed,
        "created_at": ctx.timestamp,
        "updated_at": ctx.timestamp,
    }
    rec = ctx.store.put(WEBHOOKS, webhook_id, data, account_id=account_id, expected_version=0)
    return {**present(rec), "secret": secret}


@action("webhook.list", WebhookList, mutating=False)
def list_webhooks(ctx: Context, p: WebhookList) -> dict[str, Any]:
    return list_page(
        ctx,
        WEBHOOKS,
        p,
        allowed_fields=PUBLIC,
        sort=Sort("created_at", descending=True),
        represent=present,
    )


@action("webhook.get", WebhookRef, mutating=False)
def get_webhook(ctx: Context, p: WebhookRef) -> dict[str, Any]:
    return present(load(ctx, WEBHOOKS, p.webhook_id))


@action("webhook.update", WebhookUpdate)
def update_webhook(ctx: Context, p: WebhookUpdate) -> dict[str, Any]:
    """Change the URL (checked again), the events, the description, or enable/disable it.
    Enabling clears the reason it was disabled; a disabled endpoint's pending deliveries are
    cancelled by the worker when they fall due."""
    given = p.model_fields_set
    events = check_subscription(p.events) if p.events is not None else None
    url = _checked_url(ctx, p.url) if p.url is not None else None
    if "url" in given and p.url is None:
        raise ValidationFailed.one("url", "cannot be null")

    def run(tx: Transaction) -> Record:
        rec = load(ctx, WEBHOOKS, p.webhook_id, tx)
        check_version(rec, p.version)
        data = dict(rec.data)
        if url is not None:
            data["url"] = url
        if events is not None:
            data["events"] = events
        if "description" in given:
            data["description"] = p.description
        if p.status is not None and p.status != data.get("status"):
            data["status"] = p.status
            if p.status == outbox.ENABLED:
                data.pop("disabled_reason", None)
                data.pop("failing_since", None)
            else:
                data["disabled_reason"] = "by_user"
        data["updated_at"] = ctx.timestamp
        return tx.put(
            WEBHOOKS, rec.key, data, account_id=rec.account_id, expected_version=rec.version
        )

    try:
        return present(ctx.store.transaction(run))
    except VersionConflict as exc:
        raise as_conflict(exc) from None


@action("webhook.delete", WebhookRef)
def delete_webhook(ctx: Context, p: WebhookRef) -> dict[str, Any]:
    """Gone at once; its pending deliveries are cancelled when they fall due."""

    def run(tx: Transaction) -> None:
        rec = load(ctx, WEBHOOKS, p.webhook_id, tx)
        tx.delete(WEBHOOKS, rec.key, expected_version=rec.version)

    try:
        ctx.store.transaction(run)
    except VersionConflict as exc:
        raise as_conflict(exc) from None
    return {"ok": True}


@action("webhook.deliveries", WebhookDeliveries, mutating=False)
def webhook_deliveries(ctx: Context, p: WebhookDeliveries) -> dict[str, Any]:
    """The endpoint's delivery attempts, newest first (kept 90 days)."""
    hook = load(ctx, WEBHOOKS, p.webhook_id)

    def represent(rec: Record) -> dict[str, Any]:
        return {k: rec.data.get(k) for k in ATTEMPT_FIELDS}

    return list_page(
        ctx,
        ATTEMPTS,
        p,
        allowed_fields=ATTEMPT_FIELDS,
        filters=[Filter("webhook_id", "eq", hook.key)],
        sort=Sort("id", descending=True),
        represent=represent,
    )


@action("webhook.redeliver", WebhookRedeliver)
def redeliver(ctx: Context, p: WebhookRedeliver) -> dict[str, Any]:
    """Send the event to the endpoint once more, under the same ``webhook-id``."""
    account_id = ctx.require_account()
    hook = load(ctx, WEBHOOKS, p.webhook_id)
    if hook.data.get("status") != outbox.ENABLED:
        raise InvalidState(
            str(hook.data.get("status")), "redeliver", "the webhook is disabled: enable it first"
        )
    try:
        delivery_worker.redeliver(ctx.store, account_id, p.event_id, hook.key, ctx.now)
    except ValueError:  # a malformed id is simply not found
        raise NotFound("no such delivery") from None
    except VersionConflict as exc:
        raise as_conflict(exc) from None
    queue = os.environ.get("BILLOW_WEBHOOK_QUEUE_URL")
    if queue:  # AWS: the delivery function takes it from the queue (billow serve: the worker)
        from functions.webhooks.queue import send

        send(queue, {"delivery": outbox.delivery_key(p.event_id, hook.key)})
    return {"ok": True}
