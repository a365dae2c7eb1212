"""The books' actions through the API function: 422 naming the field (at any depth) for bad
parameters, unknown fields refused, another account's entity a plain 404, and the export's
signed link served by the local server's blob route."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.invoices.support import CLIENT, SELLER
from tests.support.api import call, sign_in


@pytest.fixture
def api_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("BILLOW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BILLOW_STORE_URL", f"sqlite:///{data_dir / 'billow.db'}")
    monkeypatch.setenv("BILLOW_PUBLIC_URL", "http://app.test")
    monkeypatch.setenv("BILLOW_MAIL_TRANSPORT", "outbox")
    monkeypatch.delenv("BILLOW_SMTP_URL", raising=False)
    monkeypatch.delenv("BILLOW_PDF_FUNCTION", raising=False)
    return data_dir


def ok(action: str, key: str, **params) -> dict:
    status, body, _ = call(action, key=key, **params)
    assert status == 200, (action, status, body)
    return body


def fields_422(action: str, key: str, **params) -> list[str]:
    status, body, _ = call(action, key=key, **params)
    assert status == 422 and body["error"]["code"] == "validation_error", (status, body)
    return [d["field"] for d in body["error"]["details"]]


def test_books_actions_validate_their_parameters(api_env: Path):
    key = sign_in("ann@example.com", api_env)
    entity = ok("entity.create", key, **SELLER)
    client = ok("client.create", key, **CLIENT)
    draft = ok(
        "invoice.create",
        key,
        entity_id=entity["id"],
        client_id=client["id"],
        lines=[{"description": "Work", "quantity": "2", "unit_price": "50"}],
    )
    final = ok("invoice.finalize", key, invoice_id=draft["id"])
    period = {"entity_id": entity["id"], "from": "2026-01-01", "to": "2026-12-31"}

    assert fields_422("ledger.entries", key, entity_id=entity["id"], **{"from": "soon"}) == ["from"]
    assert fields_422("ledger.entries", key, entity_id=entity["id"], limit=101) == ["limit"]
    assert fields_422("ledger.entries", key, entity_id=entity["id"], colour="red") == ["colour"]
    assert fields_422("ledger.export", key, **period, format="xlsx") == ["format"]
    assert fields_422("ledger.export", key, **period, format="datev", datev={"x": 1}) == ["datev.x"]
    assert fields_422(
        "ledger.export", key, **period, format="datev", datev={"client_number": 0}
    ) == ["datev.client_number"]
    assert fields_422("ledger.export", key, **period, format="sie", rates={"EUR": "-1"}) == [
        "rates"
    ]
    assert fields_422(
        "ledger.export", key, **{**period, "from": "2026-12-31", "to": "2026-01-01"}, format="csv"
    ) == ["to"]
    assert fields_422("report.aging", key, as_of="today") == ["as_of"]
    # a refund is recorded on the credit note, not on the invoice
    status, body, _ = call("invoice.record_refund", key=key, invoice_id=final["id"], amount="1")
    assert status == 409 and body["error"]["code"] == "invalid_state"

    listed = ok("ledger.entries", key, entity_id=entity["id"])
    assert [(e["type"], e["document_number"]) for e in listed["items"]] == [
        ("finalize", final["number"])
    ]
    link = ok("ledger.export", key, **period, format="csv")
    assert link["url"].startswith("http://app.test/blobs/ledger/")

    other = sign_in("bob@example.com", api_env)
    for action, params in (
        ("ledger.entries", {"entity_id": entity["id"]}),
        ("ledger.export", {**period, "format": "csv"}),
        ("report.aging", {"entity_id": entity["id"]}),
    ):
        status, body, _ = call(action, key=other, **params)
        assert status == 404 and body["error"]["code"] == "not_found"
