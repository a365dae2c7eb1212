"""Fixtures of the newcomer's audit (issue 16): the service layer on a real SQLite store, and
the API function on a fresh data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import make_ctx, seed
from tests.support.api import sign_in, use_tmp_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "data" / "billow.db")
    yield s
    s.close()


@pytest.fixture
def ctx(store: SqliteStore, tmp_path: Path):
    return make_ctx(store, outbox=tmp_path / "outbox")


@pytest.fixture
def ids(ctx) -> dict[str, str]:
    return seed(ctx)


@pytest.fixture
def api_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The API function on a fresh SQLite store (and outbox) under ``tmp_path``."""
    return use_tmp_store(tmp_path / "api", monkeypatch)


@pytest.fixture
def key(api_env: Path) -> str:
    return sign_in("ann@example.com", api_env)
