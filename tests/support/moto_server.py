"""moto in server mode on loopback, shared by every test that needs DynamoDB or S3.

Tests reach moto the way the code reaches AWS: boto3 over HTTP with ``endpoint_url`` (no
in-process patching). Use the fixtures from your ``conftest.py``::

    from tests.support.moto_server import moto_endpoint, dynamo_store  # noqa: F401

or call :func:`start_moto_server` / :func:`new_dynamo_store` directly (e.g. in a benchmark).

moto's DynamoDB backend is not thread-safe (``transact_write_items`` validates and writes item by
item and rolls back by restoring a deep copy of the whole table, which would wipe a concurrent
writer's items). Real DynamoDB serialises conflicting transactions, so the server here handles one
request at a time; connections are still accepted concurrently. It also stops moto from keeping
every table copy it ever made (see :func:`_forget_tracked_dynamodb_models`).
"""

from __future__ import annotations

import copy
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core.base_backend import model_data
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

REGION = "eu-central-1"
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def set_dummy_aws_env() -> None:
    """Point boto3 at fake credentials (never real ones) and the test region."""
    os.environ.update(DUMMY_AWS_ENV)
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _forget_tracked_dynamodb_models() -> None:
    """moto remembers every model object it ever made (for its reset API), including the
    deep copy of the whole table that each ``TransactWriteItems`` takes for rollback — memory
    grows with transactions times table size. We never use moto's reset, so let them go."""
    for cls in model_data.get("dynamodb", {}).values():
        tracked = getattr(cls, "instances_tracked", None)
        if tracked:
            tracked.clear()


_ROLLBACK = threading.local()


def _table_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    """``copy.deepcopy`` of a moto ``Table``: the table itself while a transaction of ours runs
    (it is rolled back item by item, see :func:`_item_level_rollback`), else a plain deep copy."""
    if getattr(_ROLLBACK, "active", False):
        return self
    new = self.__class__.__new__(self.__class__)
    memo[id(self)] = new
    for name, value in self.__dict__.items():
        setattr(new, name, copy.deepcopy(value, memo))
    return new


def _item_level_rollback() -> None:
    """moto's ``TransactWriteItems`` deep-copies the whole table once per item of the
    transaction, for its rollback: a transaction's cost grows with the table (seen: writes
    slowing from 0.2 s to 1 s within a test of a few hundred records). The same rollback, done
    for the items the transaction names only (and the table's stream records), is the same
    behaviour at a cost that follows the transaction. The server runs one request at a time
    (:class:`_Serialised`), so nothing else touches the table meanwhile."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend, "_billow_rollback", False):
        return
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[Any, Any, Any, Any]] = []
        streams: dict[int, tuple[Any, int]] = {}
        for item in transact_items:
            _, op = next(iter(item.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            attrs = op.get("Item") or op.get("Key") or {}
            if table.hash_key_attr not in attrs:
                continue
            h = DynamoType(attrs[table.hash_key_attr])
            r = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
            bucket = table.items.get(h)
            old = (bucket or {}).get(r) if r is not None else bucket
            saved.append((table, h, r, copy.deepcopy(old)))
            if table.stream_shard is not None and id(table) not in streams:
                streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
        _ROLLBACK.active = True
        try:
            return original(self, transact_items)
        except Exception:
            for table, h, r, old in reversed(saved):
                if r is None:
                    if old is None:
                        table.items.pop(h, None)
                    else:
                        table.items[h] = old
                elif old is None:
                    table.items.get(h, {}).pop(r, None)
                    if h in table.items and not table.items[h]:
                        del table.items[h]
                else:
                    table.items[h][r] = old
            for shard, n in streams.values():
                del shard.items[n:]
            raise
        finally:
            _ROLLBACK.active = False

    Table.__deepcopy__ = _table_deepcopy
    DynamoDBBackend.transact_write_items = transact_write_items
    DynamoDBBackend._billow_rollback = True


class _FairLock:
    """A lock granted in arrival order. ``threading.Lock`` is not fair: with dozens of clients
    waiting on the serialised server, an unlucky request could wait minutes (seen: read timeouts
    of 120 s under load) while later arrivals got through."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            while ticket != self._serving:
                self._cond.wait()

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


class _Serialised:
    """WSGI wrapper: one request at a time through moto's backends, in arrival order."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = _FairLock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                if hasattr(result, "close"):
                    result.close()
                _forget_tracked_dynamodb_models()


class _QuietHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class SerialisedMotoServer(ThreadedMotoServer):
    """:class:`ThreadedMotoServer` whose requests run one at a time (see module doc)."""

    def _server_entry(self) -> None:
        _item_level_rollback()
        app = _Serialised(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=_QuietHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def start_moto_server() -> tuple[ThreadedMotoServer, str]:
    """Start moto on 127.0.0.1 at a free port; returns the server and its endpoint URL."""
    set_dummy_aws_env()
    # port 0: the OS picks a free port when the server binds (no window for another process)
    server = SerialisedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_table(endpoint_url: str, table: str | None = None) -> str:
    """Create a Billow table (single-table design, TTL on) and return its name."""
    from storage_adapter.dynamodb import DynamoStore

    table = table or unique_name("billow")
    DynamoStore(table, region=REGION, endpoint_url=endpoint_url).ensure_table()
    return table


def create_bucket(endpoint_url: str, bucket: str | None = None) -> str:
    """Create an S3 bucket and return its name."""
    from storage_adapter.dynamodb import DynamoStore

    bucket = bucket or unique_name("billow-blobs")
    DynamoStore("unused", bucket=bucket, region=REGION, endpoint_url=endpoint_url).ensure_bucket()
    return bucket


def store_url(endpoint_url: str, table: str, bucket: str) -> str:
    """The ``dynamodb://`` URL for :func:`storage_adapter.open_store` (and ``BILLOW_STORE_URL``)."""
    return f"dynamodb://{table}?bucket={bucket}&region={REGION}&endpoint_url={endpoint_url}"


def new_dynamo_store(endpoint_url: str) -> Any:
    """A :class:`~storage_adapter.dynamodb.DynamoStore` on a fresh table and bucket."""
    from storage_adapter.dynamodb import DynamoStore

    return DynamoStore(
        create_table(endpoint_url),
        bucket=create_bucket(endpoint_url),
        region=REGION,
        endpoint_url=endpoint_url,
    )


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The endpoint URL of a moto server for this test session (one per xdist worker)."""
    server, url = start_moto_server()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def dynamo_store(moto_endpoint: str) -> Iterator[Any]:
    """A DynamoStore on its own table and bucket."""
    store = new_dynamo_store(moto_endpoint)
    yield store
    store.close()
