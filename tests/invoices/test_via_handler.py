"""Every invoice action through the API function (Function URL event → handler → JSON), on a
fresh SQLite store and outbox: status codes and error shapes as in the contract."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.api import call, outbox_messages, sign_in

from .support import CLIENT, SELLER


@pytest.fixture
def api_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("BILLOW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BILLOW_STORE_URL", f"sqlite:///{data_dir / 'billow.db'}")
    monkeypatch.setenv("BILLOW_PUBLIC_URL", "http://app.test")
    monkeypatch.setenv("BILLOW_MAIL_TRANSPORT", "outbox")
    monkeypatch.delenv("BILLOW_SMTP_URL", raising=False)
    monkeypatch.delenv("BILLOW_PDF_FUNCTION", raising=False)
    monkeypatch.delenv("BILLOW_VIES_FUNCTION", raising=False)
    return data_dir


@pytest.fixture
def key(api_env: Path) -> str:
    return sign_in("ann@example.com", api_env)


def ok(action: str, key: str, **params) -> dict:
    status, body, _ = call(action, key=key, **params)
    assert status == 200, (action, status, body)
    return body


def err(action: str, key: str, **params) -> tuple[int, dict]:
    status, body, _ = call(action, key=key, **params)
    assert status >= 400, (action, body)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return status, body["error"]


@pytest.fixture
def parties(key: str) -> dict[str, str]:
    entity = ok("entity.create", key, **SELLER)
    client = ok("client.create", key, **CLIENT)
    return {"entity_id": entity["id"], "client_id": client["id"]}


def new_invoice(key: str, parties: dict[str, str], idem: str | None = None) -> tuple[int, dict]:
    status, body, _ = call(
        "invoice.create",
        key=key,
        idem=idem,
        lines=[
            {"description": "Consulting", "quantity": 10, "unit_price": 100},
            {"description": "Licence", "unit_price": 49.99},  # a JSON number, parsed as decimal
        ],
        **parties,
    )
    return status, body


def test_lifecycle_through_the_handler(key, parties, api_env):
    status, inv = new_invoice(key, parties)
    assert status == 200 and inv["total"] == "1249.49" and inv["status"] == "draft"
    updated = ok("invoice.update", key, invoice_id=inv["id"], version=1, po_number="PO-1")
    assert updated["version"] == 2
    status, e = err("invoice.update", key, invoice_id=inv["id"], version=1, notes="stale")
    assert (status, e["code"]) == (409, "conflict")

    fin = ok("invoice.finalize", key, invoice_id=inv["id"])
    assert fin["number"] == f"INV-{datetime.now(UTC).year}-0001"
    assert fin["status"] == "open" and fin["pdf"]["sha256"]
    status, e = err("invoice.update", key, invoice_id=inv["id"], notes="late")
    assert (status, e["code"]) == (409, "invalid_state") and "open" in e["message"]
    status, e = err("invoice.delete", key, invoice_id=inv["id"])
    assert (status, e["code"]) == (409, "invalid_state")

    link = ok("invoice.pdf", key, invoice_id=inv["id"])
    assert link["filename"] == f"{fin['number']}.pdf"
    assert link["url"].startswith("http://app.test/blobs/") and link["expires_at"].endswith("Z")

    sent = ok("invoice.send", key, invoice_id=inv["id"])
    assert sent["status"] == "sent"
    invoice_mails = [m for m in outbox_messages(api_env) if fin["number"] in str(m["Subject"])]
    assert len(invoice_mails) == 1

    status, e = err("invoice.record_payment", key, invoice_id=inv["id"], amount="5000")
    assert (status, e["code"]) == (422, "validation_error")
    assert e["details"][0]["field"] == "amount"
    part = ok("invoice.record_payment", key, invoice_id=inv["id"], amount=249.49)
    assert part["amount_due"] == "1000.00" and part["status"] == "sent"
    status, e = err("invoice.void", key, invoice_id=inv["id"])
    assert (status, e["code"]) == (409, "invalid_state")

    note = ok(
        "invoice.credit",
        key,
        invoice_id=inv["id"],
        reason="discount",
        lines=[{"line_id": "ln_1", "quantity": "1"}],
    )
    assert note["total"] == "-119.00" and note["kind"] == "credit_note"
    status, e = err(
        "invoice.credit",
        key,
        invoice_id=inv["id"],
        reason="x",
        lines=[{"line_id": "ln_1", "quantity": "10"}],
    )
    assert (status, e["code"]) == (422, "validation_error")
    assert e["details"][0]["field"] == "lines[0].quantity"

    paid = ok("invoice.record_payment", key, invoice_id=inv["id"], amount="881.00")
    assert paid["status"] == "paid" and paid["amount_due"] == "0.00"

    copy = ok("invoice.duplicate", key, invoice_id=inv["id"])
    assert copy["status"] == "draft" and copy["number"] is None
    assert ok("invoice.delete", key, invoice_id=copy["id"])["deleted"] is True

    second = ok("invoice.finalize", key, invoice_id=new_invoice(key, parties)[1]["id"])
    assert ok("invoice.mark_uncollectible", key, invoice_id=second["id"])["status"] == (
        "uncollectible"
    )
    third = ok("invoice.finalize", key, invoice_id=new_invoice(key, parties)[1]["id"])
    assert ok("invoice.void", key, invoice_id=third["id"], reason="typo")["status"] == "void"

    types = [e["type"] for e in ok("invoice.timeline", key, invoice_id=inv["id"])["events"]]
    assert types == [
        "created",
        "updated",
        "finalized",
        "pdf_rendered",
        "sent",
        "payment_recorded",
        "credited",
        "payment_recorded",
        "paid",
        "duplicated",
    ]

    listed = ok(
        "invoice.list",
        key,
        q="kunde",
        status=["paid", "void"],
        sort_by="total",
        fields=["id", "status"],
    )
    assert {i["status"] for i in listed["items"]} == {"paid", "void"}
    assert listed["total"] == 2
    status, e = err("invoice.list", key, fields=["nope"])
    assert (status, e["code"]) == (422, "validation_error")

    report = ok("report.summary", key)
    assert report["counts"]["paid"] == 1 and report["counts"]["uncollectible"] == 1


def test_another_accounts_invoice_is_404_for_every_action(key, parties, api_env):
    inv = ok("invoice.finalize", key, invoice_id=new_invoice(key, parties)[1]["id"])
    other = sign_in("eve@example.org", api_env)
    for action, params in [
        ("invoice.get", {}),
        ("invoice.update", {"notes": "x"}),
        ("invoice.finalize", {}),
        ("invoice.send", {}),
        ("invoice.record_payment", {"amount": "1"}),
        ("invoice.void", {}),
        ("invoice.mark_uncollectible", {}),
        ("invoice.credit", {"reason": "x"}),
        ("invoice.duplicate", {}),
        ("invoice.delete", {}),
        ("invoice.pdf", {}),
        ("invoice.timeline", {}),
    ]:
        status, e = err(action, other, invoice_id=inv["id"], **params)
        assert (status, e["code"]) == (404, "not_found"), action
    status, e = err("invoice.create", other, lines=[], **parties)
    assert (status, e["code"]) == (404, "not_found")
    assert ok("invoice.list", other)["total"] == 0
    assert ok("invoice.get", key, invoice_id=inv["id"])["version"] == inv["version"]


def test_send_with_smtp_down_is_502_and_keeps_status(key, parties, monkeypatch):
    inv = ok("invoice.finalize", key, invoice_id=new_invoice(key, parties)[1]["id"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("BILLOW_SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=5")
    monkeypatch.setenv("BILLOW_MAIL_TRANSPORT", "smtp")
    status, e = err("invoice.send", key, invoice_id=inv["id"])
    assert (status, e["code"]) == (502, "mail_delivery_failed")
    assert f"127.0.0.1:{port}" in e["message"]
    got = ok("invoice.get", key, invoice_id=inv["id"])
    assert got["status"] == "open" and got["version"] == inv["version"]
    events = ok("invoice.timeline", key, invoice_id=inv["id"])["events"]
    assert events[-1]["type"] == "send_failed"


def test_create_with_idempotency_key_makes_one_invoice(key, parties):
    first = new_invoice(key, parties, idem="create-1")
    again = new_invoice(key, parties, idem="create-1")
    assert first[0] == again[0] == 200 and first[1]["id"] == again[1]["id"]
    assert ok("invoice.list", key)["total"] == 1


def test_validation_errors_name_fields(key, parties):
    status, body, _ = call(
        "invoice.create",
        key=key,
        lines=[{"description": "x", "quantity": "abc", "unit_price": "1"}],
        issue_date="2026-13-40",
        **parties,
    )
    assert status == 422 and body["error"]["code"] == "validation_error"
    fields = {d["field"] for d in body["error"]["details"]}
    assert "issue_date" in fields
    status, body, _ = call(
        "invoice.create",
        key=key,
        lines=[{"description": "x", "quantity": "abc", "unit_price": "1"}],
        **parties,
    )
    assert status == 422
    assert [d["field"] for d in body["error"]["details"]] == ["lines[0].quantity"]


def test_e_invoice_fields_at_depth_are_422_through_the_handler(key, parties):
    """A bad Rec. 20 unit code, a line period with an unknown key, a malformed Leitweg-ID and
    an unknown EAS scheme: one 422 naming each field at its depth, and nothing created."""
    status, body, _ = call(
        "invoice.create",
        key=key,
        lines=[
            {"description": "x", "unit_price": "1", "unit_code": "QQQ"},
            {"description": "y", "unit_price": "1", "period": {"start": "2026-11-01", "to": "x"}},
        ],
        buyer_reference="04011000-1234512345-07",
        **parties,
    )
    assert status == 422 and body["error"]["code"] == "validation_error"
    fields = {d["field"] for d in body["error"]["details"]}
    assert {"lines[0].unit_code", "lines[1].period.to", "buyer_reference"} <= fields
    assert ok("invoice.list", key)["total"] == 0
    status, body, _ = call(
        "client.update",
        key=key,
        client_id=parties["client_id"],
        electronic_address={"scheme": "0000", "value": "x"},
    )
    assert status == 422
    assert [d["field"] for d in body["error"]["details"]] == ["electronic_address.scheme"]
