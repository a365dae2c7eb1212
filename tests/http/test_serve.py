"""``billow serve`` over real HTTP: sign-in from the outbox, the invoice flow, the server's
own duties (static app, security headers, body limit, signed blob links)."""

from __future__ import annotations

import re
from typing import Any

import requests

from tests.http.conftest import Server
from tests.support.api import last_sign_in_token
from tests.support.params import entity_params

ENTITY = entity_params()
CLIENT = {
    "name": "Kunde GmbH",
    "email": "ap@kunde.example",
    "address": {
        "line1": "Marktplatz 5",
        "postal_code": "80331",
        "city": "München",
        "country": "DE",
    },
}


class Api:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = requests.Session()
        self.key: str | None = None

    def __call__(self, action: str, expect: int = 200, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        res = self.http.post(
            f"{self.server.url}/api", json={"action": action, **params}, headers=headers, timeout=60
        )
        assert res.status_code == expect, (action, res.status_code, res.text)
        return res.json()

    def sign_in(self, email: str) -> str:
        assert self("auth.login", email=email, callback_url=f"{self.server.url}/") == {"sent": True}
        token = last_sign_in_token(self.server.data_dir, email)
        session = self("auth.verify", token=token)
        self.key = session["key"]
        return session["account_id"]


def test_sign_in_entity_client_over_http(server: Server) -> None:
    api = Api(server)
    account_id = api.sign_in("owner@example.com")
    assert api("auth.me") == {"account_id": account_id, "email": "owner@example.com"}
    entity = api("entity.create", **ENTITY)
    client = api("client.create", **CLIENT)
    assert api("client.get", client_id=client["id"])["address"]["city"] == "München"
    assert api("entity.list")["items"][0]["id"] == entity["id"]
    api("auth.logout")
    body = api("auth.me", expect=401)
    assert body["error"]["code"] == "unauthenticated"


def test_full_invoice_flow_over_http(server: Server) -> None:
    api = Api(server)
    api.sign_in("owner@example.com")
    entity = api("entity.create", **ENTITY)
    client = api("client.create", **CLIENT)
    draft = api(
        "invoice.create",
        entity_id=entity["id"],
        client_id=client["id"],
        lines=[
            {"description": "Consulting", "quantity": "10", "unit_price": "95.00", "unit": "hour"},
            {"description": "Travel", "quantity": 1, "unit_price": 120.5},
        ],
    )
    assert draft["status"] == "draft" and draft["number"] is None
    assert draft["subtotal"] == "1070.50"
    assert draft["tax_total"] == "203.40"
    assert draft["total"] == "1273.90"

    inv = api("invoice.finalize", invoice_id=draft["id"])
    assert inv["status"] == "open"
    assert re.fullmatch(r"INV-\d{4}-0001", inv["number"])
    assert inv["seller"]["name"] == "Acme GmbH" and inv["buyer"]["name"] == "Kunde GmbH"

    link = api("invoice.pdf", invoice_id=inv["id"])
    pdf = requests.get(link["url"], timeout=60)
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert f"{inv['number']}.pdf" in pdf.headers["Content-Disposition"]
    assert pdf.content.startswith(b"%PDF")
    tampered = requests.get(link["url"].replace("sig=", "sig=0"), timeout=60)
    assert tampered.status_code == 403

    partial = api("invoice.record_payment", invoice_id=inv["id"], amount="273.90")
    assert partial["amount_paid"] == "273.90" and partial["amount_due"] == "1000.00"

    credit = api("invoice.credit", invoice_id=inv["id"], reason="Travel was not due")
    assert credit["kind"] == "credit_note"
    assert credit["original_invoice_id"] == inv["id"]
    assert re.fullmatch(r"CN-\d{4}-0001", credit["number"])
    assert credit["total"].startswith("-")

    events = [e["type"] for e in api("invoice.timeline", invoice_id=inv["id"])["events"]]
    assert events[0] == "created" and "finalized" in events and "payment_recorded" in events


def test_server_serves_app_health_and_headers(server: Server) -> None:
    health = requests.get(f"{server.url}/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    for path in ("/", "/invoices/inv_123"):  # unknown app paths get the app
        page = requests.get(f"{server.url}{path}", timeout=30)
        assert page.status_code == 200
        assert page.headers["Content-Type"].startswith("text/html")
        assert "<html" in page.text.lower()
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"
    escape = requests.get(f"{server.url}/..%2f..%2fpyproject.toml", timeout=30)
    assert "[project]" not in escape.text


def test_server_limits_bodies_and_checks_blob_links(server: Server) -> None:
    big = requests.post(
        f"{server.url}/api",
        data=b'{"action": "auth.login", "pad": "' + b"x" * (1024 * 1024 + 10) + b'"}',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"
    forged = requests.get(
        f"{server.url}/blobs/acct_x/inv_y.pdf?expires=9999999999&filename=a.pdf&sig=00",
        timeout=30,
    )
    assert forged.status_code == 403
