"""The ``store`` fixture: every contract test runs once on SQLite and once on DynamoDB+S3
(moto in server mode on loopback, reached over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage_adapter import Store, open_store
from tests.support.moto_server import (  # noqa: F401 - fixtures
    create_bucket,
    create_table,
    dynamo_store,
    moto_endpoint,
    store_url,
)

BACKENDS = ["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A store URL for a fresh, empty store of the current backend (usable by subprocesses)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'billow.db'}"
    endpoint = request.getfixturevalue("moto_endpoint")
    return store_url(endpoint, create_table(endpoint), create_bucket(endpoint))


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = open_store(url)
    yield s
    s.close()
