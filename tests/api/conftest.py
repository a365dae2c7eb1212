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
