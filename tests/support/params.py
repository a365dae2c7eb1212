"""Sample parameters for entity.create and client.create, shared by the API-level tests."""

from __future__ import annotations

ADDRESS_DE = {"line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"}


def entity_params(**overrides: object) -> dict[str, object]:
    params: dict[str, object] = {
        "name": "Acme GmbH",
        "address": dict(ADDRESS_DE),
        "vat_number": "DE136695976",
        "default_vat_rate": "19",
        "bank": {"iban": "DE89370400440532013000", "bic": "DEUTDEFF"},
        "email": "billing@acme.example",
    }
    params.update(overrides)
    return params


def client_params(**overrides: object) -> dict[str, object]:
    params: dict[str, object] = {
        "name": "Globex BV",
        "email": "ap@globex.example",
        "address": {
            "line1": "Damrak 1",
            "postal_code": "1012 LG",
            "city": "Amsterdam",
            "country": "NL",
        },
        "vat_number": "NL004495445B01",
    }
    params.update(overrides)
    return params
