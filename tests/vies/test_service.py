"""The evidence rule (verify_client_vat) over the real checker and the VIES look-alike."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from functions.domain.errors import ValidationFailed
from functions.vies.checker import utc_timestamp
from functions.vies.client import DirectVatVerifier
from functions.vies.errors import ViesUnavailable
from functions.vies.service import verify_client_vat
from tests.vies.conftest import HANG, error_wrapper, invalid_answer, valid_answer

ENTITY_VAT = "ATU13585627"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def verifier(vies, pauses):
    # answers on a loaded machine can take over a second; the one hang here costs the 5 s
    return DirectVatVerifier(url=vies.url, timeout=5.0, sleep=pauses.append)


def a_client(verification=None, vat_number="DE136695976", country="DE"):
    return {
        "id": "cli_01",
        "name": "Acme GmbH",
        "address": {
            "line1": "Hauptstr. 1",
            "postal_code": "10115",
            "city": "Berlin",
            "country": country,
        },
        "vat_number": vat_number,
        "vat_verification": verification,
    }


def earlier_valid(age: timedelta) -> dict:
    return {
        "status": "valid",
        "checked_at": utc_timestamp(NOW - age),
        "name": "ACME GMBH",
        "address": "HAUPTSTR. 1\n10115 BERLIN",
        "request_identifier": "WAPIAAAAOLD00001",
    }


def test_first_check_returns_the_evidence(vies, verifier):
    vies.answer_with((200, valid_answer("DE", "136695976", requestIdentifier="WAPIAAAANEW00001")))

    evidence = verify_client_vat(a_client(), ENTITY_VAT, now=NOW, checker=verifier)

    assert set(evidence) == {
        "status",
        "checked_at",
        "name",
        "address",
        "request_identifier",
        "vat_number",
    }
    assert evidence["vat_number"] == "DE136695976"
    assert evidence["status"] == "valid"
    assert evidence["name"] == "ACME GMBH"
    assert evidence["request_identifier"] == "WAPIAAAANEW00001"
    assert evidence["checked_at"].endswith("Z")
    assert vies.requests[0]["body"]["requesterNumber"] == "U13585627"


def test_invalid_answer_is_evidence_too(vies, verifier):
    vies.answer_with((200, invalid_answer("DE", "136695976")))

    evidence = verify_client_vat(a_client(), ENTITY_VAT, now=NOW, checker=verifier)

    assert evidence["status"] == "invalid"


@pytest.mark.parametrize("status", ["valid", "invalid"])
def test_verification_younger_than_24_hours_is_reused(vies, verifier, status):
    stored = earlier_valid(timedelta(hours=23, minutes=59)) | {"status": status}
    vies.answer_with((200, valid_answer("DE", "136695976")))

    evidence = verify_client_vat(a_client(stored), ENTITY_VAT, now=NOW, checker=verifier)

    assert evidence == stored
    assert vies.requests == []


def test_verification_24_hours_old_is_checked_again(vies, verifier):
    stored = earlier_valid(timedelta(hours=24))
    vies.answer_with((200, invalid_answer("DE", "136695976")))

    evidence = verify_client_vat(a_client(stored), ENTITY_VAT, now=NOW, checker=verifier)

    assert evidence["status"] == "invalid"
    assert len(vies.requests) == 1


def test_fresh_verification_of_a_previous_number_is_not_reused(vies, verifier):
    stored = earlier_valid(timedelta(hours=1)) | {"vat_number": "NL004495445B01"}
    vies.answer_with((200, invalid_answer("DE", "136695976")))

    evidence = verify_client_vat(a_client(stored), ENTITY_VAT, now=NOW, checker=verifier)

    assert evidence["status"] == "invalid"
    assert evidence["vat_number"] == "DE136695976"
    assert len(vies.requests) == 1


def test_stored_unavailable_is_not_reused(vies, verifier):
    stored = {"status": "unavailable", "checked_at": utc_timestamp(NOW - timedelta(minutes=5))}
    vies.answer_with((200, valid_answer("DE", "136695976")))

    evidence = verify_client_vat(a_client(stored), ENTITY_VAT, now=NOW, checker=verifier)

    assert evidence["status"] == "valid"
    assert len(vies.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        (200, error_wrapper("MS_MAX_CONCURRENT_REQ")),
        (500, "<html>Internal Server Error</html>"),
        (200, HANG),
    ],
    ids=["busy", "http500", "hang"],
)
def test_unavailable_keeps_the_earlier_valid_verification(vies, verifier, answer):
    stored = earlier_valid(timedelta(days=3))
    client = a_client(stored)
    before = copy.deepcopy(client)
    vies.answer_with(answer)

    with pytest.raises(ViesUnavailable) as unavailable:
        verify_client_vat(client, ENTITY_VAT, now=NOW, checker=verifier)

    assert unavailable.value.code == "vies_unavailable"
    assert client == before  # the earlier valid evidence is untouched
    assert client["vat_verification"]["status"] == "valid"
    assert len(vies.requests) >= 1


def test_malformed_client_number_is_422_and_never_sent(vies, verifier):
    vies.answer_with((200, valid_answer("DE", "136695976")))

    with pytest.raises(ValidationFailed) as refused:
        verify_client_vat(a_client(vat_number="DE136695977"), ENTITY_VAT, now=NOW, checker=verifier)

    assert refused.value.details[0].field == "vat_number"
    assert vies.requests == []


def test_client_without_a_number_is_422(vies, verifier):
    with pytest.raises(ValidationFailed):
        verify_client_vat(a_client(vat_number=None), ENTITY_VAT, now=NOW, checker=verifier)
    assert vies.requests == []


def test_number_without_prefix_takes_the_address_country(vies, verifier):
    vies.answer_with((200, valid_answer("EL", "094259216")))

    evidence = verify_client_vat(
        a_client(vat_number="094259216", country="GR"), ENTITY_VAT, now=NOW, checker=verifier
    )

    assert evidence["status"] == "valid"
    assert vies.requests[0]["body"]["countryCode"] == "EL"


@pytest.mark.parametrize("requester", [None, "CHE-116.281.710 MWST", "U13585627"])
def test_requester_vies_cannot_use_is_left_out_not_refused(vies, verifier, requester):
    vies.answer_with((200, valid_answer("DE", "136695976")))

    evidence = verify_client_vat(a_client(), requester, now=NOW, checker=verifier)

    assert evidence["status"] == "valid"
    assert vies.requests[0]["body"] == {"countryCode": "DE", "vatNumber": "136695976"}
