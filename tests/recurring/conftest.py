from __future__ import annotations

from pathlib import Path

import pytest

from storage_adapter.sqlite import SqliteStore
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)])
def store(request, tmp_path: Path):
    """The same tests on both backends: a SQLite file, and DynamoDB + S3 through moto in
    server mode over HTTP."""
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "data" / "billow.db")
        yield s
        s.close()
    else:
        yield request.getfixturevalue("dynamo_store")
