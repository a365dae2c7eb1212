"""Billow's storage port and its backends (see :mod:`storage_adapter.base`).

``open_store(url)`` chooses the backend from a store URL:

- ``sqlite:///path/to/billow.db`` (or a plain path): the embedded default; blobs in ``blobs/``
  beside the database file. ``BILLOW_DATA_DIR`` (default ``.billow``) is used when no URL is given.
- ``dynamodb://TABLE?bucket=BUCKET&region=eu-central-1&endpoint_url=...&s3_endpoint_url=...``:
  DynamoDB (single table) plus S3.

``BILLOW_STORE_URL`` provides the URL when none is passed.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from . import declared  # noqa: F401 - registers the collections' indexes
from .base import (
    Blob,
    Filter,
    InvalidKey,
    Page,
    Record,
    Sort,
    Store,
    StoreError,
    Transaction,
    TransactionAborted,
    VersionConflict,
)

__all__ = [
    "Blob",
    "Filter",
    "InvalidKey",
    "Page",
    "Record",
    "Sort",
    "Store",
    "StoreError",
    "Transaction",
    "TransactionAborted",
    "VersionConflict",
    "default_store_url",
    "open_store",
]


def default_store_url(data_dir: str | os.PathLike | None = None) -> str:
    if data_dir is None and os.environ.get("BILLOW_STORE_URL"):
        return os.environ["BILLOW_STORE_URL"]
    base = Path(data_dir or os.environ.get("BILLOW_DATA_DIR", ".billow")).resolve()
    return f"sqlite:///{base / 'billow.db'}"


def open_store(url: str | None = None) -> Store:
    url = url or default_store_url()
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("", "file", "sqlite"):
        from .sqlite import SqliteStore

        path = urllib.parse.unquote(parsed.path) if parsed.scheme else url
        params = dict(urllib.parse.parse_qsl(parsed.query))
        return SqliteStore(path, params.get("blobs"))
    if parsed.scheme == "dynamodb":
        from .dynamodb import DynamoStore

        params = dict(urllib.parse.parse_qsl(parsed.query))
        return DynamoStore(table=parsed.netloc, **params)
    raise ValueError(f"unknown store URL scheme {parsed.scheme!r}")
