"""Another account's ids are a 404 identical to a missing record's, for every action.

The table below lists how to call each action that takes an id. A test also checks that every
registered action with an ``*_id`` parameter is in the table, so a new action cannot slip by.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from functions.services.registry import load_all
from tests.support.api import call
from tests.support.params import client_params, entity_params

#: action → params; ``{entity}``/``{client}``/``{product}``/``{invoice}``/``{apikey}`` are
#: replaced by the other account's ids (or by well-formed ids that exist nowhere).
ID_ACTIONS: dict[str, dict[str, Any]] = {
    "apikey.revoke": {"apikey_id": "{apikey}"},
    "entity.get": {"entity_id": "{entity}"},
    "entity.update": {"entity_id": "{entity}", "version": 1, "name": "Mine now"},
    "client.get": {"client_id": "{client}"},
    "client.update": {"client_id": "{client}", "version": 1, "name": "Mine now"},
    "client.archive": {"client_id": "{client}"},
    "client.verify_vat": {"client_id": "{client}"},
    "product.get": {"product_id": "{product}"},
    "product.update": {"product_id": "{product}", "version": 1, "name": "Mine now"},
    "product.archive": {"product_id": "{product}"},
    "invoice.create": {
        "entity_id": "{entity}",
        "client_id": "{client}",
        "lines": [{"description": "Work", "quantity": "1", "unit_price": "10.00"}],
    },
    "invoice.update": {"invoice_id": "{invoice}", "version": 1, "notes": "mine"},
    "invoice.get": {"invoice_id": "{invoice}"},
    "invoice.finalize": {"invoice_id": "{invoice}"},
    "invoice.send": {"invoice_id": "{invoice}"},
    "invoice.record_payment": {"invoice_id": "{invoice}", "amount": "1.00"},
    "invoice.void": {"invoice_id": "{invoice}"},
    "invoice.mark_uncollectible": {"invoice_id": "{invoice}"},
    "invoice.credit": {"invoice_id": "{invoice}", "reason": "mine"},
    "invoice.duplicate": {"invoice_id": "{invoice}"},
    "invoice.delete": {"invoice_id": "{invoice}"},
    "invoice.pdf": {"invoice_id": "{invoice}"},
    "invoice.einvoice": {"invoice_id": "{invoice}", "format": "cii"},
    "invoice.timeline": {"invoice_id": "{invoice}"},
    "webhook.get": {"webhook_id": "{webhook}"},
    "webhook.update": {"webhook_id": "{webhook}", "version": 1, "status": "disabled"},
    "webhook.delete": {"webhook_id": "{webhook}"},
    "webhook.deliveries": {"webhook_id": "{webhook}"},
    "webhook.redeliver": {"webhook_id": "{webhook}", "event_id": "evt_01zzzzzzzzzzzzzzzzzzzzzzzz"},
    "invoice.rotate_link": {"invoice_id": "{invoice}"},
    "invoice.add_lines": {
        "invoice_id": "{invoice}",
        "lines": [{"description": "Work", "quantity": "1", "unit_price": "10.00"}],
    },
    "invoice.record_refund": {"invoice_id": "{invoice}", "amount": "1.00"},
    "ledger.entries": {"entity_id": "{entity}"},
    "ledger.export": {
        "entity_id": "{entity}",
        "from": "2026-01-01",
        "to": "2026-12-31",
        "format": "csv",
    },
    "report.aging": {"entity_id": "{entity}"},
    "recurring.create": {
        "entity_id": "{entity}",
        "client_id": "{client}",
        "lines": [{"description": "Work", "quantity": "1", "unit_price": "10.00"}],
        "interval": "month",
        "start_date": "2027-01-01",
    },
    "recurring.update": {"recurring_id": "{recurring}", "version": 1, "notes": "mine"},
    "recurring.get": {"recurring_id": "{recurring}"},
    "recurring.pause": {"recurring_id": "{recurring}"},
    "recurring.resume": {"recurring_id": "{recurring}"},
    "recurring.cancel": {"recurring_id": "{recurring}"},
    "recurring.timeline": {"recurring_id": "{recurring}"},
}

#: Actions whose ``*_id`` parameters are filters (another account's id matches nothing).
FILTER_ACTIONS = {
    "invoice.list",
    "report.summary",
    "client.list",
    "product.list",
    "entity.list",
    "recurring.list",
}

MISSING = {
    "entity": "ent_01zzzzzzzzzzzzzzzzzzzzzzzz",
    "client": "cli_01zzzzzzzzzzzzzzzzzzzzzzzz",
    "product": "prd_01zzzzzzzzzzzzzzzzzzzzzzzz",
    "invoice": "inv_01zzzzzzzzzzzzzzzzzzzzzzzz",
    "apikey": "key_01zzzzzzzzzzzzzzzzzzzzzzzz",
    "webhook": "wh_01zzzzzzzzzzzzzzzzzzzzzzzz",
    "recurring": "rec_01zzzzzzzzzzzzzzzzzzzzzzzz",
}


# quotes (issue 20)
ID_ACTIONS.update(
    {
        "quote.create": {
            "entity_id": "{entity}",
            "client_id": "{client}",
            "lines": [{"description": "Work", "quantity": "1", "unit_price": "10.00"}],
        },
        "quote.update": {"quote_id": "{quote}", "version": 1, "notes": "mine"},
        "quote.get": {"quote_id": "{quote}"},
        "quote.finalize": {"quote_id": "{quote}"},
        "quote.send": {"quote_id": "{quote}"},
        "quote.accept": {"quote_id": "{quote}", "name": "Mallory"},
        "quote.decline": {"quote_id": "{quote}"},
        "quote.convert": {"quote_id": "{quote}"},
        "quote.pdf": {"quote_id": "{quote}"},
        "quote.delete": {"quote_id": "{quote}"},
        "quote.timeline": {"quote_id": "{quote}"},
    }
)
FILTER_ACTIONS.add("quote.list")
MISSING["quote"] = "quo_01zzzzzzzzzzzzzzzzzzzzzzzz"


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def test_every_action_taking_an_id_is_covered() -> None:
    uncovered = []
    for name, spec in load_all().items():
        takes_id = any(f.endswith("_id") for f in spec.params.model_fields)
        if takes_id and name not in ID_ACTIONS and name not in FILTER_ACTIONS:
            uncovered.append(name)
    assert uncovered == []


@pytest.fixture
def victim(api_env: Path, other_key: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Records of another account (bob): one of each kind."""
    monkeypatch.setenv("BILLOW_WEBHOOKS_ALLOW_LOCAL", "1")
    ids = {
        "entity": call("entity.create", key=other_key, **entity_params())[1]["id"],
        "client": call("client.create", key=other_key, **client_params())[1]["id"],
        "product": call("product.create", key=other_key, name="P", unit_price="1", currency="EUR")[
            1
        ]["id"],
        "apikey": call("apikey.create", key=other_key, name="bob's")[1]["id"],
        "webhook": call(
            "webhook.create", key=other_key, url="http://127.0.0.1:9/bob", events=["*"]
        )[1]["id"],
    }
    if "invoice.create" in load_all():
        status, inv, _ = call(
            "invoice.create",
            key=other_key,
            entity_id=ids["entity"],
            client_id=ids["client"],
            lines=[{"description": "Work", "quantity": "1", "unit_price": "10.00"}],
        )
        assert status == 200, inv
        ids["invoice"] = inv["id"]
    if "recurring.create" in load_all():
        status, rec, _ = call(
            "recurring.create",
            key=other_key,
            entity_id=ids["entity"],
            client_id=ids["client"],
            lines=[{"description": "Work", "quantity": "1", "unit_price": "10.00"}],
            interval="month",
            start_date="2027-01-01",
        )
        assert status == 200, rec
        ids["recurring"] = rec["id"]
    if "quote.create" in load_all():
        status, quote, _ = call(
            "quote.create",
            key=other_key,
            entity_id=ids["entity"],
            client_id=ids["client"],
            lines=[{"description": "Work", "quantity": "1", "unit_price": "10.00"}],
        )
        assert status == 200, quote
        ids["quote"] = quote["id"]
    return ids


def test_other_accounts_ids_are_404_like_missing_ones(
    key: str, other_key: str, victim: dict[str, str]
) -> None:
    # ann has records of her own too, so a "first entity" fallback cannot hide a leak
    call("entity.create", key=key, **entity_params(name="Ann's"))
    registered = load_all()
    tried = []
    for name, template in ID_ACTIONS.items():
        if name not in registered:
            continue
        if "{invoice}" in str(template) and "invoice" not in victim:
            continue
        if "{quote}" in str(template) and "quote" not in victim:
            continue
        status, body, _ = call(name, key=key, **_fill(template, victim))
        missing_status, missing_body, _ = call(name, key=key, **_fill(template, MISSING))
        assert status == 404, (name, body)
        assert body == missing_body, name
        assert missing_status == 404
        tried.append(name)
    assert len(tried) >= 10

    # nothing of bob's changed
    assert call("entity.get", key=other_key, entity_id=victim["entity"])[1]["version"] == 1
    assert call("client.get", key=other_key, client_id=victim["client"])[1]["archived"] is False
    assert call("apikey.list", key=other_key)[1]["total"] == 1
    hook = call("webhook.get", key=other_key, webhook_id=victim["webhook"])[1]
    assert hook["status"] == "enabled" and hook["version"] == 1
    if "invoice" in victim:
        inv = call("invoice.get", key=other_key, invoice_id=victim["invoice"])[1]
        assert inv["status"] == "draft" and inv["version"] == 1


def test_lists_never_show_another_accounts_records(
    key: str, other_key: str, victim: dict[str, str]
) -> None:
    for name in ("entity.list", "client.list", "product.list", "apikey.list"):
        assert call(name, key=key)[1]["total"] == 0, name
    if "invoice.list" in load_all():
        body = call("invoice.list", key=key, client_id=victim["client"])[1]
        assert body["total"] == 0
