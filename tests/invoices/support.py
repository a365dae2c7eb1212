"""Helpers shared by the invoice and overdue tests: call actions through the registry with a
:class:`Context` on a real SQLite store, and seed an entity and clients.

``act`` does what the API handler does around a service: validate the parameters with the
action's pydantic model, call it, and round-trip the result through JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from functions.mail.transport import OutboxMailer
from functions.pdf.store import render_and_store
from functions.services.registry import ACTIONS, Context, load_all
from storage_adapter import Store
from storage_adapter.base import dumps

ACCOUNT = "acct_01testaccount0000000000000"
OTHER_ACCOUNT = "acct_01otheraccount000000000000"

SELLER = {
    "name": "Acme GmbH",
    "legal_name": "Acme Software GmbH",
    "address": {
        "line1": "Hauptstr. 1",
        "postal_code": "10115",
        "city": "Berlin",
        "country": "DE",
    },
    "vat_number": "DE136695976",
    "email": "billing@acme.example",
    "bank": {"account_holder": "Acme GmbH", "iban": "DE89370400440532013000"},
    "default_vat_rate": "19",
    "payment_terms_days": 14,
}

CLIENT = {
    "name": "Kunde AG",
    "email": "ap@kunde.example",
    "address": {"line1": "Ring 5", "postal_code": "80331", "city": "München", "country": "DE"},
}


def make_ctx(
    store: Store,
    *,
    account_id: str | None = ACCOUNT,
    now: datetime | None = None,
    outbox: Path | None = None,
    mailer: Any = None,
) -> Context:
    load_all()
    services: dict[str, Any] = {"pdf": render_and_store}
    if mailer is not None:
        services["mailer"] = mailer
    elif outbox is not None:
        services["mailer"] = OutboxMailer(outbox)
    return Context(
        store=store,
        account_id=account_id,
        actor="user:test",
        now=now or datetime(2026, 11, 21, 9, 30, tzinfo=UTC),
        services=services,
    )


def act(ctx: Context, action_name: str, /, **params: Any) -> dict[str, Any]:
    """Run ``action_name`` like the API handler does; the result as the client would see it."""
    spec = ACTIONS[action_name]
    result = spec.func(ctx, spec.params.model_validate(params))
    return json.loads(dumps(result))


def seed(ctx: Context, seller: dict | None = None, client: dict | None = None) -> dict[str, str]:
    """An entity and a client of ``ctx``'s account; returns their ids."""
    entity = act(ctx, "entity.create", **(seller or SELLER))
    buyer = act(ctx, "client.create", **(client or CLIENT))
    return {"entity_id": entity["id"], "client_id": buyer["id"]}


def draft(ctx: Context, ids: dict[str, str], **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "lines": [
            {"description": "Consulting", "quantity": "10", "unit": "hour", "unit_price": "100"},
            {"description": "Licence", "quantity": "1", "unit_price": "49.99"},
        ],
        **ids,
        **extra,
    }
    return act(ctx, "invoice.create", **params)


def pdf_key(store: Store, invoice: dict[str, Any]) -> str:
    """Where the store keeps the invoice's PDF (internal: answers never name it)."""
    return store.get("invoices", invoice["id"]).data["pdf"]["blob_key"]
