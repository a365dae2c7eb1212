from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage_adapter.sqlite import SqliteStore
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Every search test runs on a SQLite file and on DynamoDB + S3 (moto server mode)."""
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "data" / "billow.db")
        yield s
        s.close()
    else:
        yield request.getfixturevalue("dynamo_store")
