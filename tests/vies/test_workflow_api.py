"""The client VAT workflow through the API function (real SQLite store, VIES look-alike).

A verified EU business client gets reverse charge on its next invoice; an unverified one — never
checked, found invalid by VIES, or checked while VIES was busy — does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.api import call, sign_in
from tests.support.params import client_params, entity_params
from tests.vies.conftest import ViesLookalike, error_wrapper, invalid_answer, valid_answer

SELLER = entity_params()
BUYER = client_params()
CONSULTING = {"description": "Consulting", "quantity": "10", "unit_price": "100.00"}


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vies: ViesLookalike) -> str:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("BILLOW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BILLOW_STORE_URL", f"sqlite:///{data_dir / 'billow.db'}")
    monkeypatch.setenv("BILLOW_PUBLIC_URL", "http://app.test")
    monkeypatch.setenv("BILLOW_MAIL_TRANSPORT", "outbox")
    monkeypatch.setenv("BILLOW_VIES_URL", vies.url)
    monkeypatch.delenv("BILLOW_SMTP_URL", raising=False)
    monkeypatch.delenv("BILLOW_VIES_FUNCTION", raising=False)
    monkeypatch.delenv("BILLOW_PDF_FUNCTION", raising=False)
    return sign_in("ann@example.com", data_dir)


def ok(result: tuple[int, dict, dict]) -> dict:
    status, body, _ = result
    assert status == 200, body
    return body


def seller_and_buyer(key: str) -> tuple[dict, dict]:
    entity = ok(call("entity.create", key=key, **SELLER))
    client = ok(call("client.create", key=key, **BUYER))
    return entity, client


def next_invoice(key: str, entity: dict, client: dict) -> dict:
    return ok(
        call(
            "invoice.create",
            key=key,
            entity_id=entity["id"],
            client_id=client["id"],
            lines=[dict(CONSULTING)],
        )
    )


def test_verified_eu_business_client_gets_reverse_charge(key: str, vies: ViesLookalike) -> None:
    entity, client = seller_and_buyer(key)
    vies.answer_with(
        (200, valid_answer("NL", "004495445B01", requestIdentifier="WAPIAAAAWF000001"))
    )

    verified = ok(call("client.verify_vat", key=key, client_id=client["id"]))
    invoice = next_invoice(key, entity, client)

    assert verified["vat_verification"]["status"] == "valid"
    assert verified["vat_verification"]["request_identifier"] == "WAPIAAAAWF000001"
    assert vies.requests[0]["body"]["requesterMemberStateCode"] == "DE"
    line = invoice["lines"][0]
    assert (line["vat_category"], line["vat_rate"]) == ("AE", "0")
    assert line["exemption_reason"] == "Reverse charge"
    assert invoice["tax_total"] == "0.00"
    assert invoice["total"] == "1000.00"


def test_never_verified_client_does_not_get_reverse_charge(key: str, vies: ViesLookalike) -> None:
    entity, client = seller_and_buyer(key)

    invoice = next_invoice(key, entity, client)

    line = invoice["lines"][0]
    assert (line["vat_category"], line["vat_rate"]) == ("S", "19")
    assert invoice["tax_total"] == "190.00"
    assert vies.requests == []  # creating an invoice never calls VIES itself


def test_client_vies_calls_invalid_does_not_get_reverse_charge(
    key: str, vies: ViesLookalike
) -> None:
    entity, client = seller_and_buyer(key)
    vies.answer_with((200, invalid_answer("NL", "004495445B01")))

    checked = ok(call("client.verify_vat", key=key, client_id=client["id"]))
    invoice = next_invoice(key, entity, client)

    assert checked["vat_verification"]["status"] == "invalid"
    assert invoice["lines"][0]["vat_category"] == "S"
    assert invoice["tax_total"] == "190.00"


def test_busy_vies_gives_503_and_no_reverse_charge(key: str, vies: ViesLookalike) -> None:
    entity, client = seller_and_buyer(key)
    vies.answer_with((200, error_wrapper("MS_MAX_CONCURRENT_REQ")))

    status, body, _ = call("client.verify_vat", key=key, client_id=client["id"])
    invoice = next_invoice(key, entity, client)

    assert status == 503 and body["error"]["code"] == "vies_unavailable"
    assert ok(call("client.get", key=key, client_id=client["id"]))["vat_verification"] is None
    assert invoice["lines"][0]["vat_category"] == "S"


def test_changing_the_vat_number_ends_reverse_charge(key: str, vies: ViesLookalike) -> None:
    entity, client = seller_and_buyer(key)
    vies.answer_with((200, valid_answer("NL", "004495445B01")))
    verified = ok(call("client.verify_vat", key=key, client_id=client["id"]))

    changed = ok(
        call(
            "client.update",
            key=key,
            client_id=client["id"],
            version=verified["version"],
            vat_number="NL 8200.98.395.B01",
        )
    )
    invoice = next_invoice(key, entity, changed)

    assert invoice["lines"][0]["vat_category"] == "S"
