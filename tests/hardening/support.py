"""Shared helpers of the hardening tests: a seeded two-account world, store snapshots, the
error-shape check, and a small HTTP client for ``billow serve`` subprocesses."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import requests

from functions.api.schema import ERROR_SCHEMA, ERROR_STATUS
from functions.services.registry import load_all
from tests.support.api import call, last_sign_in_token, sign_in
from tests.support.params import client_params, entity_params

REPO = Path(__file__).resolve().parents[2]
LINES = [{"description": "Consulting", "quantity": "2", "unit_price": "100.00"}]


def check_error_shape(status: int, body: Any, headers: dict[str, str] | None = None) -> str:
    """Assert ``body`` is the contract's error object and its code fits ``status``."""
    jsonschema.validate(body, ERROR_SCHEMA)
    code = body["error"]["code"]
    assert ERROR_STATUS[code] == status, (status, body)
    if status == 429:
        assert headers is not None and int(headers["retry-after"]) > 0
    text = json.dumps(body)
    assert "Traceback" not in text and 'File "' not in text
    return code


@dataclass
class Account:
    email: str
    session: str
    api_key: str
    apikey_id: str
    ids: dict[str, str] = field(default_factory=dict)


def ok(action: str, key: str, **params: Any) -> dict[str, Any]:
    status, body, _ = call(action, key=key, **params)
    assert status == 200, (action, status, body)
    return body


def seed_account(email: str, data_dir: Path) -> Account:
    """Sign in, mint an API key and create one record of every kind, including invoices in
    several states (draft, open with a payment, void, a credit note, revoked API key)."""
    session = sign_in(email, data_dir)
    key = ok("apikey.create", session, name="fuzz")
    spare = ok("apikey.create", session, name="spare")
    acct = Account(email, session, key["key"], key["id"])
    ids = acct.ids
    ids["apikey"] = spare["id"]
    ids["entity"] = ok("entity.create", session, **entity_params())["id"]
    ids["client"] = ok("client.create", session, **client_params(vat_number=None))["id"]
    ids["product"] = ok("product.create", session, name="Hour", unit_price="90.00", currency="EUR")[
        "id"
    ]
    common = {"entity_id": ids["entity"], "client_id": ids["client"], "lines": LINES}
    ids["draft"] = ok("invoice.create", session, **common)["id"]
    opened = ok("invoice.create", session, **common)["id"]
    ok("invoice.finalize", session, invoice_id=opened)
    ok("invoice.record_payment", session, invoice_id=opened, amount="10.00")
    ids["open"] = opened
    voided = ok("invoice.create", session, **common)["id"]
    ok("invoice.finalize", session, invoice_id=voided)
    ok("invoice.void", session, invoice_id=voided)
    ids["void"] = voided
    credited = ok("invoice.create", session, **common)["id"]
    ok("invoice.finalize", session, invoice_id=credited)
    ids["credit_note"] = ok("invoice.credit", session, invoice_id=credited, reason="x")["id"]
    ids["credited"] = credited
    ids["recurring"] = ok(
        "recurring.create", session, **common, interval="month", start_date="2027-01-01"
    )["id"]
    ids["webhook"] = ok(
        "webhook.create", session, url="http://127.0.0.1:9/hook", events=["invoice.paid"]
    )["id"]
    if "quote.create" in load_all():  # quotes (issue 20): a draft and an open one
        ids["quote"] = ok("quote.create", session, **common)["id"]
        opened_quote = ok("quote.create", session, **common)["id"]
        ids["open_quote"] = ok("quote.finalize", session, quote_id=opened_quote)["id"]
    return acct


# --- valid requests, to be mutated ---------------------------------------------------------------

#: action → a valid request for ann; "{name}" is replaced by ann's ids (see ``_fill``), and
#: "{fresh_draft}" by a draft created just before the request.
TEMPLATES: dict[str, dict[str, Any]] = {
    "auth.login": {"email": "ann@example.com"},
    "auth.verify": {"token": "not-a-token"},
    "auth.me": {},
    "auth.logout": {},
    "apikey.create": {"name": "fuzz"},
    "apikey.list": {},
    "apikey.revoke": {"apikey_id": "{apikey}"},
    "entity.create": entity_params(),
    "entity.update": {
        "entity_id": "{entity}",
        "name": "Renamed",
        "address": {"line2": "Hinterhaus"},
        "bank": {"account_holder": "Acme GmbH"},
    },
    "entity.get": {"entity_id": "{entity}"},
    "entity.list": {"limit": 5, "page": 1, "fields": ["id", "name"]},
    "client.create": client_params(vat_number=None),
    "client.update": {"client_id": "{client}", "notes": "n", "address": {"city": "Utrecht"}},
    "client.get": {"client_id": "{client}"},
    "client.list": {"q": "glob", "limit": 10},
    "client.archive": {"client_id": "{client}"},
    "client.verify_vat": {"client_id": "{client}"},
    "product.create": {"name": "P", "unit_price": "1.50", "currency": "EUR"},
    "product.update": {"product_id": "{product}", "unit_price": "2"},
    "product.get": {"product_id": "{product}"},
    "product.list": {"q": "h"},
    "product.archive": {"product_id": "{product}"},
    "invoice.create": {
        "entity_id": "{entity}",
        "client_id": "{client}",
        "lines": [*LINES, {"product_id": "{product}", "quantity": "3"}],
        "metadata": {"k": "v"},
        "due_date": "2027-01-31",
    },
    "invoice.update": {"invoice_id": "{fresh_draft}", "version": 1, "lines": LINES},
    "invoice.get": {"invoice_id": "{open}", "fields": ["id", "total"]},
    "invoice.list": {
        "q": "INV",
        "status": ["open", "paid"],
        "sort_by": "total",
        "min_total": "1",
        "issued_from": "2020-01-01",
    },
    "invoice.finalize": {"invoice_id": "{fresh_draft}"},
    "invoice.send": {"invoice_id": "{open}", "to": "x@example.com"},
    "invoice.record_payment": {"invoice_id": "{open}", "amount": "0.01", "paid_on": "2026-11-01"},
    "invoice.void": {"invoice_id": "{open}", "reason": "typo"},
    "invoice.mark_uncollectible": {"invoice_id": "{open}"},
    "invoice.credit": {"invoice_id": "{open}", "reason": "r", "lines": [{"line_index": 0}]},
    "invoice.duplicate": {"invoice_id": "{credited}"},
    "invoice.delete": {"invoice_id": "{fresh_draft}"},
    "invoice.pdf": {"invoice_id": "{void}"},
    "invoice.einvoice": {"invoice_id": "{open}", "format": "cii"},
    "invoice.timeline": {"invoice_id": "{credit_note}"},
    "invoice.rotate_link": {"invoice_id": "{open}"},
    "invoice.add_lines": {
        "invoice_id": "{fresh_draft}",
        "aggregate": True,
        "lines": [{"product_id": "{product}", "quantity": "2", "metadata": {"meter": "m1"}}],
    },
    "report.summary": {"currency": "EUR"},
    "vat.rates": {"country": "DE"},
    "invoice.record_refund": {"invoice_id": "{credit_note}", "amount": "1.00"},
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
        "lines": LINES,
        "interval": "month",
        "interval_count": 2,
        "start_date": "2027-01-31",
        "count": 6,
        "metadata": {"k": "v"},
    },
    "recurring.update": {"recurring_id": "{recurring}", "version": 1, "notes": "n", "count": 3},
    "recurring.get": {"recurring_id": "{recurring}", "fields": ["id", "next_date"]},
    "recurring.list": {"status": "active", "sort_by": "next_date"},
    "recurring.pause": {"recurring_id": "{recurring}"},
    "recurring.resume": {"recurring_id": "{recurring}"},
    "recurring.cancel": {"recurring_id": "{recurring}"},
    "recurring.timeline": {"recurring_id": "{recurring}"},
}

# webhooks (issue 17)
TEMPLATES.update(
    {
        "webhook.create": {
            "url": "http://127.0.0.1:9/other",
            "events": ["invoice.finalized", "invoice.paid"],
            "description": "ERP",
        },
        "webhook.list": {"limit": 10},
        "webhook.get": {"webhook_id": "{webhook}"},
        "webhook.update": {"webhook_id": "{webhook}", "version": 1, "events": ["*"]},
        "webhook.delete": {"webhook_id": "{webhook}"},
        "webhook.deliveries": {"webhook_id": "{webhook}", "limit": 10},
        "webhook.redeliver": {
            "webhook_id": "{webhook}",
            "event_id": "evt_01zzzzzzzzzzzzzzzzzzzzzzzz",
        },
    }
)

# quotes (issue 20)
TEMPLATES.update(
    {
        "quote.create": {
            "entity_id": "{entity}",
            "client_id": "{client}",
            "lines": [*LINES, {"product_id": "{product}", "quantity": "3"}],
            "valid_until": "2027-01-31",
        },
        "quote.update": {"quote_id": "{quote}", "lines": LINES, "notes": "n"},
        "quote.get": {"quote_id": "{open_quote}", "fields": ["id", "total"]},
        "quote.list": {"q": "QUO", "status": ["open"], "sort_by": "total"},
        "quote.finalize": {"quote_id": "{quote}"},
        "quote.send": {"quote_id": "{open_quote}", "to": "x@example.com"},
        "quote.accept": {"quote_id": "{open_quote}", "name": "Ann Buyer"},
        "quote.decline": {"quote_id": "{open_quote}", "reason": "r"},
        "quote.convert": {"quote_id": "{open_quote}"},
        "quote.pdf": {"quote_id": "{open_quote}"},
        "quote.delete": {"quote_id": "{quote}"},
        "quote.timeline": {"quote_id": "{open_quote}"},
    }
)

# universal search (issue 20)
TEMPLATES.update(
    {
        "search": {
            "amounts": {"min": "1", "max": "100000", "currency": "EUR", "label": "total"},
            "dates": {"from": "2026-01-01", "to": "2027-12-31", "label": "issue"},
            "identifiers": {"value": "PO-1", "type": "po_number"},
            "q": "a",
            "types": ["invoice", "quote"],
            "limit": 10,
            "page": 1,
        },
    }
)

#: Left out of the valid-request mutations: success would end the session every later example
#: relies on (logout is covered by the authorization tests).
NO_VALID_MUTATION = {"auth.logout"}


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


# --- store snapshots ---------------------------------------------------------------------------


def snapshot(data_dir: Path, ignore: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every record, event, counter and blob of the SQLite store under ``data_dir``
    (collections in ``ignore`` left out)."""
    conn = sqlite3.connect(f"file:{data_dir / 'billow.db'}?mode=ro", uri=True)
    try:
        records = {
            (c, k): _normalise(c, a, v, d, e)
            for c, k, a, v, d, e in conn.execute(
                "SELECT collection, key, account_id, version, data, expires_at FROM records"
            )
            if c not in ignore
        }
        events = sorted(conn.execute("SELECT stream, seq, data FROM events"))
        counters = dict(conn.execute("SELECT name, value FROM counters"))
    finally:
        conn.close()
    blobs = sorted(
        str(p.relative_to(data_dir)) for p in (data_dir / "blobs").rglob("*") if p.is_file()
    )
    return {"records": records, "events": events, "counters": counters, "blobs": blobs}


#: Written by authentication itself on any request made with an API key (at most once a
#: minute), whatever the action's outcome: not part of the action's write.
_TOUCH_FIELDS = {"apikeys": ("last_used_at", "last_used_epoch")}


def _normalise(collection: str, account: str | None, version: int, data: str, expires: Any):
    touched = _TOUCH_FIELDS.get(collection)
    if not touched:
        return (account, version, data, expires)
    doc = json.loads(data)
    for name in touched:
        doc.pop(name, None)
    return (account, None, doc, expires)  # a touch also bumps the version


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Human-readable differences between two snapshots."""
    out = []
    for part in ("events", "counters", "blobs"):
        if before[part] != after[part]:
            out.append(f"{part} changed")
    b, a = before["records"], after["records"]
    for k in sorted(set(b) | set(a)):
        if b.get(k) != a.get(k):
            out.append(f"record {k} changed")
    return out


# --- billow serve as a subprocess ----------------------------------------------------------------


def billow_command() -> list[str]:
    script = Path(sys.executable).parent / "billow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "infra.cli"]


class Serve:
    """``billow serve --port 0 --data-dir D`` in its own process group; :meth:`kill` is SIGKILL."""

    def __init__(
        self,
        data_dir: Path,
        cwd: Path,
        store_url: str | None = None,
        *,
        extra_env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ):
        """``store_url``: serve that store (e.g. DynamoDB on moto) instead of the SQLite file
        in ``data_dir``; the outbox stays in ``data_dir``. ``extra_env``, ``args``: more
        environment, more ``serve`` options."""
        self.data_dir = data_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith("BILLOW_")}
        env.update(
            {"BILLOW_MAIL_TRANSPORT": "outbox", "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        )
        command = [*billow_command(), "serve", "--port", "0", "--quiet", *(args or [])]
        if store_url:
            env.update({"BILLOW_STORE_URL": store_url, "BILLOW_DATA_DIR": str(data_dir)})
        else:
            command += ["--data-dir", str(data_dir)]
        env.update(extra_env or {})
        self.log_path = cwd / f"serve-{os.getpid()}-{id(self)}.log"
        self.log = open(self.log_path, "w")  # closed in stop()
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.url = self._wait_for_url()
        self.http = requests.Session()

    def _wait_for_url(self) -> str:
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log_path.read_text()
            if "running at " in text:
                return text.split("running at ", 1)[1].split()[0].rstrip("/")
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError("billow serve did not start:\n" + text)

    def call(self, action: str, key: str | None = None, **params: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        res = self.http.post(
            f"{self.url}/api", json={"action": action, **params}, headers=headers, timeout=120
        )
        return res.status_code, res.json()

    def ok(self, action: str, key: str | None = None, **params: Any) -> Any:
        status, body = self.call(action, key, **params)
        assert status == 200, (action, status, body)
        return body

    def sign_in(self, email: str) -> str:
        self.ok("auth.login", email=email)
        token = last_sign_in_token(self.data_dir, email)
        return self.ok("auth.verify", token=token)["key"]

    def kill(self) -> None:
        """SIGKILL to the supervisor and its workers at once, no chance to clean up (what a
        power cut or the OOM killer does)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
