from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.api import sign_in, use_tmp_store
from tests.vies.conftest import vies  # noqa: F401  (the VIES look-alike fixture)


@pytest.fixture
def api_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the API function at a fresh SQLite store (and outbox) under ``tmp_path``."""
    return use_tmp_store(tmp_path / "data", monkeypatch)


@pytest.fixture
def key(api_env: Path) -> str:
    return sign_in("ann@example.com", api_env)


@pytest.fixture
def other_key(api_env: Path) -> str:
    return sign_in("bob@example.org", api_env)


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
