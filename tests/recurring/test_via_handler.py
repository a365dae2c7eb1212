"""recurring.* through the API function (Function URL event → handler → JSON): status codes
and error shapes as in the contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.invoices.support import CLIENT, SELLER
from tests.support.api import call, sign_in

LINES = [{"description": "Retainer", "quantity": "1", "unit_price": "900"}]


@pytest.fixture
def api_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("BILLOW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BILLOW_STORE_URL", f"sqlite:///{data_dir / 'billow.db'}")
    monkeypatch.setenv("BILLOW_PUBLIC_URL", "http://app.test")
    monkeypatch.setenv("BILLOW_MAIL_TRANSPORT", "outbox")
    monkeypatch.delenv("BILLOW_SMTP_URL", raising=False)
    return data_dir


def ok(action: str, key: str, **params) -> dict:
    status, body, _ = call(action, key=key, **params)
    assert status == 200, (action, status, body)
    return body


def error(action: str, key: str, **params) -> tuple[int, dict]:
    status, body, _ = call(action, key=key, **params)
    assert set(body) == {"error"}, body
    return status, body["error"]


def test_recurring_through_the_api(api_env: Path) -> None:
    key = sign_in("ann@example.com", api_env)
    other = sign_in("bob@example.com", api_env)
    entity = ok("entity.create", key, **SELLER)
    client = ok("client.create", key, **CLIENT)
    parties = {"entity_id": entity["id"], "client_id": client["id"]}

    status, err = error(
        "recurring.create",
        key,
        **parties,
        lines=[{**LINES[0], "period": {"start": "2027-01-01", "end": "2027-01-31", "x": 1}}],
        interval="fortnight",
        start_date="2027-01-01",
        surprise=True,
    )
    assert status == 422 and err["code"] == "validation_error"
    fields = {d["field"] for d in err["details"]}
    assert {"interval", "surprise"} <= fields
    assert ok("recurring.list", key)["total"] == 0

    status, err = error(
        "recurring.create",
        key,
        **parties,
        lines=[{**LINES[0], "period": {"start": "2027-01-01", "end": "2027-01-31", "x": 1}}],
        interval="month",
        start_date="2027-01-01",
    )
    assert status == 422 and {d["field"] for d in err["details"]} == {"lines[0].period.x"}

    rec = ok(
        "recurring.create", key, **parties, lines=LINES, interval="quarter", start_date="2027-01-01"
    )
    assert (rec["status"], rec["next_date"], rec["total"]) == ("active", "2027-01-01", "1071.00")
    assert error("recurring.get", other, recurring_id=rec["id"])[0] == 404
    assert error("recurring.resume", key, recurring_id=rec["id"]) == (
        409,
        {
            "code": "invalid_state",
            "message": "cannot resume a recurring schedule that is active",
            "details": [],
        },
    )
    status, err = error("recurring.update", key, recurring_id=rec["id"], version=7, notes="x")
    assert (status, err["code"]) == (409, "conflict")
    assert ok("recurring.cancel", key, recurring_id=rec["id"])["status"] == "cancelled"
