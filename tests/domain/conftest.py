"""Builders for domain tests: a German seller, clients in France / the US / Germany."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from functions.domain.models import Client, Entity, parse_model

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
TODAY = date(2026, 11, 21)


def make_entity(**overrides: Any) -> Entity:
    data: dict[str, Any] = {
        "id": "ent_1",
        "name": "Acme GmbH",
        "address": {
            "line1": "Hauptstraße 1",
            "postal_code": "10115",
            "city": "Berlin",
            "country": "DE",
        },
        "vat_number": "DE136695976",
        "default_vat_rate": "19",
        "bank": {"iban": "DE89370400440532013000", "bic": "DEUTDEFF"},
    }
    data.update(overrides)
    return parse_model(Entity, data)


def make_client(country: str = "FR", *, verified: bool = True, **overrides: Any) -> Client:
    vat_numbers = {"FR": "FR40303265045", "DE": "DE136695976", "BE": "BE0411905847"}
    data: dict[str, Any] = {
        "id": "cli_1",
        "name": "Client SARL",
        "email": "ap@client.example",
        "address": {"line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris"},
    }
    data["address"] = {**data["address"], "country": country}
    if country in vat_numbers:
        data["vat_number"] = vat_numbers[country]
        if verified:
            data["vat_verification"] = {
                "status": "valid",
                "checked_at": "2026-11-20T10:00:00Z",
                "vat_number": vat_numbers[country],
            }
    data.update(overrides)
    return parse_model(Client, data)


@pytest.fixture
def entity() -> Entity:
    return make_entity()


@pytest.fixture
def client_fr() -> Client:
    return make_client("FR")
