"""The evidence feeds the VAT treatment: VIES-verified EU business → reverse charge.

Runs the real checker against the VIES look-alike, stores the evidence on a domain ``Client``
and asks the domain's ``vat_treatment`` what a new draft line gets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from functions.domain.models import Client
from functions.domain.vat import vat_treatment
from functions.vies.client import DirectVatVerifier
from functions.vies.errors import ViesUnavailable
from functions.vies.service import verify_client_vat
from tests.vies.conftest import error_wrapper, invalid_answer, valid_answer

SELLER_COUNTRY = "AT"
SELLER_VAT = "ATU13585627"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def german_client(**extra) -> Client:
    return Client(
        name="Acme GmbH",
        address={"line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
        vat_number="DE 136 695 976",
        **extra,
    )


def treatment_for(client: Client, supply_type: str = "services"):
    return vat_treatment(
        SELLER_COUNTRY, client.address.country, client.vat_verified, supply_type, Decimal("20")
    )


def verified(client: Client, vies, pauses) -> Client:
    verifier = DirectVatVerifier(url=vies.url, timeout=5.0, sleep=pauses.append)
    stored = client.model_dump(mode="json")
    evidence = verify_client_vat(stored, SELLER_VAT, now=NOW, checker=verifier)
    return Client.model_validate(stored | {"vat_verification": evidence})


@pytest.mark.parametrize(("supply", "category"), [("services", "AE"), ("goods", "K")])
def test_verified_eu_business_gets_zero_rated_intra_eu_treatment(vies, pauses, supply, category):
    vies.answer_with((200, valid_answer("DE", "136695976", requestIdentifier="WAPIAAAARC000001")))

    client = verified(german_client(), vies, pauses)
    treatment = treatment_for(client, supply)

    assert client.vat_verification.request_identifier == "WAPIAAAARC000001"
    assert (treatment.category, treatment.rate) == (category, Decimal("0"))


def test_vies_invalid_client_pays_the_sellers_rate(vies, pauses):
    vies.answer_with((200, invalid_answer("DE", "136695976")))

    client = verified(german_client(), vies, pauses)
    treatment = treatment_for(client)

    assert client.vat_verification.status == "invalid"
    assert (treatment.category, treatment.rate) == ("S", Decimal("20"))


def test_never_verified_client_pays_the_sellers_rate():
    treatment = treatment_for(german_client())

    assert (treatment.category, treatment.rate) == ("S", Decimal("20"))


def test_busy_vies_leaves_a_verified_client_on_reverse_charge(vies, pauses):
    vies.answer_with((200, valid_answer("DE", "136695976")))
    client = verified(german_client(), vies, pauses)
    later = NOW.replace(day=25)  # beyond the 24-hour reuse window
    vies.answer_with((200, error_wrapper("MS_MAX_CONCURRENT_REQ")))
    verifier = DirectVatVerifier(url=vies.url, timeout=5.0, sleep=pauses.append)

    with pytest.raises(ViesUnavailable):
        verify_client_vat(client.model_dump(mode="json"), SELLER_VAT, now=later, checker=verifier)

    assert treatment_for(client).category == "AE"  # evidence kept, treatment unchanged


def test_verification_of_a_previous_number_does_not_count(vies, pauses):
    vies.answer_with((200, valid_answer("DE", "136695976")))
    client = verified(german_client(), vies, pauses)

    changed = Client.model_validate(
        client.model_dump(mode="json") | {"vat_number": "DE 129 273 398"}
    )

    assert treatment_for(changed).category == "S"
