from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import make_ctx, seed
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401

LINK_KEY = bytes(range(32))


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Every quote service test runs on SQLite and on DynamoDB + S3 (moto server mode)."""
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "data" / "billow.db")
        yield s
        s.close()
    else:
        yield request.getfixturevalue("dynamo_store")


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


def quote_ctx(store: Any, outbox: Path, **kwargs: Any) -> Any:
    ctx = make_ctx(store, outbox=outbox, **kwargs)
    ctx.services["link_key"] = LINK_KEY
    return ctx


@pytest.fixture
def ctx(store: Any, outbox: Path) -> Any:
    return quote_ctx(store, outbox)


@pytest.fixture
def ids(ctx: Any) -> dict[str, str]:
    return seed(ctx)
