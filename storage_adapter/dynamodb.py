"""AWS backend: one DynamoDB table (single-table design) plus one S3 bucket.

Items of the table (``PK``/``SK`` strings):

==============  =========================  ============  ==========================================
item            PK                         SK            other attributes
==============  =========================  ============  ==========================================
record          ``R#<collection>#<key>``   ``R``         ``coll``, ``key``, ``acct``, ``ver`` (N),
                                                         ``data`` (JSON string), ``expires_at`` (N,
                                                         the table's TTL attribute), index keys
event           ``E#<stream>``             ``%012d``     ``data`` (JSON string); put only with
                                                         ``attribute_not_exists`` — never rewritten
counter         ``C#<name>``               ``C``         ``value`` (N)
==============  =========================  ============  ==========================================

Two global secondary indexes list records: ``by_account`` (``GSI1PK = <collection>#<account>``)
serves an account's list queries; ``by_collection`` (``GSI2PK = <collection>#<shard>``, spread
over :data:`COLLECTION_SHARDS` partitions) lists a collection across all accounts for system jobs
(the daily overdue run). Index reads are eventually consistent, as DynamoDB indexes are; single
reads (``get``, transaction reads, events, counters) are strongly consistent.

A transaction runs its function with strongly consistent reads, recording the version of every
record read, then commits everything with ONE ``TransactWriteItems``: conditional puts/deletes on
the expected version, a ``ConditionCheck`` for each record only read (so the commit is
serialisable, as on SQLite), the counter write conditioned on its old value and event puts
conditioned on their sequence slot being free. When another writer got there first the function
is run again; a caller's own stale ``expected_version`` is reported at once as
:class:`~storage_adapter.base.VersionConflict`.

A query the declared indexes cover reads an index slot in its sort order
(:mod:`.dynamodb_indexes`) and a ``q`` search its matches (:mod:`.dynamodb_search`); any other
filter or sort runs in Python over the account's partition
(:func:`~storage_adapter.base.select_page`), with the same result as the SQLite backend.

User keys only ever appear as attribute *values* (never in expressions or S3 paths other than
validated blob keys), so they cannot inject anything.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import mimetypes
import os
import random
import threading
import time
import urllib.parse
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import dynamodb_deferred as deferred
from . import dynamodb_indexes as dix
from . import dynamodb_search as dsearch
from .base import (
    Blob,
    Filter,
    Page,
    Record,
    Sort,
    Store,
    StoreError,
    Transaction,
    TransactionAborted,
    VersionConflict,
    check_blob_key,
    check_collection,
    check_field,
    check_key,
    dumps,
    matches,
    select_page,
)
from .indexes import covers, declaration, plan

T = TypeVar("T")

TTL_ATTRIBUTE = "expires_at"
ACCOUNT_INDEX = "by_account"
COLLECTION_INDEX = "by_collection"
#: Partitions a collection is spread over in the collection index. Changing it needs a re-index.
COLLECTION_SHARDS = 4
MAX_ITEM_BYTES = 400 * 1024
MAX_TRANSACTION_ITEMS = 100
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024

_NAMES = {"#v": "ver", "#e": TTL_ATTRIBUTE}
_ABSENT_OR_EXPIRED = "attribute_not_exists(PK) OR #e <= :now"
_LIVE_VERSION = "#v = :v AND (attribute_not_exists(#e) OR #e > :now)"


class ItemTooLarge(StoreError):
    """A record or event exceeds DynamoDB's 400 KB item limit."""


class TransactionTooLarge(StoreError):
    """A commit exceeds DynamoDB's 100 items / 4 MB per ``TransactWriteItems``."""


def create_table_definition(table: str) -> dict[str, Any]:
    """Keyword arguments for ``create_table`` (also the shape for the SAM template).

    Enable TTL on :data:`TTL_ATTRIBUTE` as well (``update_time_to_live`` / the template's
    ``TimeToLiveSpecification``).
    """

    def index(name: str, pk: str, sk: str) -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": pk, "KeyType": "HASH"},
                {"AttributeName": sk, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }

    declared = dix.gsi_definitions()
    return {
        "TableName": table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in (
                "PK",
                "SK",
                "GSI1PK",
                "GSI1SK",
                "GSI2PK",
                "GSI2SK",
                *(a for _, pk, sk in declared for a in (pk, sk)),
            )
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            index(ACCOUNT_INDEX, "GSI1PK", "GSI1SK"),
            index(COLLECTION_INDEX, "GSI2PK", "GSI2SK"),
            *(index(name, pk, sk) for name, pk, sk in declared),
        ],
    }


def _record_pk(collection: str, key: str) -> str:
    return f"R#{collection}#{key}"


def _record_key(collection: str, key: str) -> dict[str, Any]:
    return {"PK": {"S": _record_pk(collection, key)}, "SK": {"S": "R"}}


def _counter_key(name: str) -> dict[str, Any]:
    return {"PK": {"S": f"C#{name}"}, "SK": {"S": "C"}}


def _shard(key: str) -> int:
    return zlib.crc32(key.encode()) % COLLECTION_SHARDS


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings as UTF-8, numbers ~ digits)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        ((kind, v),) = value.items()
        size += len(v.encode()) if kind == "S" else len(str(v)) + 1
    return size


def _record_item(rec: Record, version: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_record_key(rec.collection, rec.key),
        "coll": {"S": rec.collection},
        "key": {"S": rec.key},
        "ver": {"N": str(version)},
        "data": {"S": dumps(rec.data)},
        "GSI2PK": {"S": f"{rec.collection}#{_shard(rec.key)}"},
        "GSI2SK": {"S": rec.key},
    }
    if rec.account_id is not None:
        item["acct"] = {"S": rec.account_id}
        item["GSI1PK"] = {"S": f"{rec.collection}#{rec.account_id}"}
        item["GSI1SK"] = {"S": rec.key}
    if rec.expires_at is not None:
        item[TTL_ATTRIBUTE] = {"N": str(int(rec.expires_at))}
    decl = declaration(rec.collection)
    if decl is not None:
        item.update(dix.index_attrs(decl, rec.key, rec.account_id, rec.data))
    size = _item_size(item)
    if size > MAX_ITEM_BYTES:
        raise ItemTooLarge(
            f"{rec.collection}/{rec.key}: {size} bytes exceeds DynamoDB's {MAX_ITEM_BYTES} limit"
        )
    return item


def _item_to_record(item: dict[str, Any] | None, now: float | None = None) -> Record | None:
    if not item:
        return None
    expires_at = int(item[TTL_ATTRIBUTE]["N"]) if TTL_ATTRIBUTE in item else None
    if expires_at is not None and expires_at <= (time.time() if now is None else now):
        return None  # DynamoDB's TTL sweep may lag by hours: expired is gone for us
    return Record(
        item["coll"]["S"],
        item["key"]["S"],
        item["acct"]["S"] if "acct" in item else None,
        int(item["ver"]["N"]),
        json.loads(item["data"]["S"]),
        expires_at,
    )


class _DynamoTx(Transaction):
    def __init__(self, store: DynamoStore) -> None:
        super().__init__()
        self._store = store
        self._reads: dict[tuple[str, str], int] = {}  # version read; 0 = absent or expired
        self._records: dict[tuple[str, str], Record | None] = {}

    def _read(self, collection: str, key: str) -> Record | None:
        rec = self._store._get(collection, key)
        self._reads[(collection, key)] = rec.version if rec else 0
        self._records[(collection, key)] = rec
        return rec

    def _read_counter(self, name: str) -> int:
        return self._store.counter_value(name)


class _Op:
    """One item of a TransactWriteItems call and what its failed condition means."""

    __slots__ = ("actual_hint", "collection", "expected", "key", "mine", "request")

    def __init__(
        self,
        request: dict[str, Any],
        *,
        collection: str = "",
        key: str = "",
        expected: int | None = None,
        mine: bool = False,
    ) -> None:
        self.request = request
        self.collection = collection
        self.key = key
        self.expected = expected
        # mine: the condition is the caller's own expected version (not one read in this
        # transaction), so failing it is the caller's conflict — retrying cannot help.
        self.mine = mine
        self.actual_hint: int | None = None


class _Retry(Exception):
    def __init__(self, conflict: VersionConflict | None) -> None:
        self.conflict = conflict


class DynamoStore(Store):
    """The :class:`~storage_adapter.base.Store` on DynamoDB (records, events, counters) and S3
    (blobs under ``blob_prefix``)."""

    max_transaction_items = MAX_TRANSACTION_ITEMS  # TransactWriteItems' limit

    def __init__(
        self,
        table: str,
        bucket: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        s3_endpoint_url: str | None = None,
        blob_prefix: str = "blobs/",
    ) -> None:
        if not table:
            raise ValueError("a DynamoDB table name is required")
        self.table = table
        self.bucket = bucket
        self.region = (
            region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or "eu-central-1"
        )
        self.endpoint_url = endpoint_url or None
        self.s3_endpoint_url = s3_endpoint_url or self.endpoint_url
        self.blob_prefix = blob_prefix
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._pid = os.getpid()

    # --- clients ----------------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        if self._pid != os.getpid():  # boto3 clients are not fork-safe
            self._clients, self._pid = {}, os.getpid()
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    config = Config(
                        retries={"max_attempts": 6, "mode": "standard"},
                        signature_version="s3v4" if service == "s3" else None,
                        s3={"addressing_style": "path"} if self.s3_endpoint_url else None,
                    )
                    client = boto3.session.Session().client(
                        service,
                        region_name=self.region,
                        endpoint_url=self.s3_endpoint_url if service == "s3" else self.endpoint_url,
                        config=config,
                    )
                    self._clients[service] = client
        return client

    @property
    def _ddb(self) -> Any:
        return self._client("dynamodb")

    @property
    def _s3(self) -> Any:
        return self._client("s3")

    # --- set-up (dev and tests; production tables come from the SAM template) ----------------
    def create_table_definition(self) -> dict[str, Any]:
        return create_table_definition(self.table)

    def ensure_table(self) -> None:
        """Create the table (and enable TTL) unless it exists."""
        try:
            self._ddb.create_table(**self.create_table_definition())
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceInUseException":
                raise
        self._ddb.get_waiter("table_exists").wait(
            TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        try:
            self._ddb.update_time_to_live(
                TableName=self.table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
            )
        except ClientError as e:  # already enabled
            if e.response["Error"]["Code"] != "ValidationException":
                raise

    def ensure_bucket(self) -> None:
        """Create the blob bucket unless it exists."""
        if not self.bucket:
            raise StoreError("no bucket configured")
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._s3.create_bucket(**kwargs)
        except ClientError as e:
            if e.response["Error"]["Code"] not in {
                "BucketAlreadyOwnedByYou",
                "BucketAlreadyExists",
            }:
                raise

    # --- records ----------------------------------------------------------------------------
    def _get(self, collection: str, key: str) -> Record | None:
        resp = self._ddb.get_item(
            TableName=self.table, Key=_record_key(collection, key), ConsistentRead=True
        )
        return _item_to_record(resp.get("Item"))

    def get(self, collection: str, key: str) -> Record | None:
        check_collection(collection)
        check_key(key)
        return self._get(collection, key)

    #: Items read by queries (ScannedCount of every Query response), for tests and benches.
    items_read = 0
    queries = 0  # Query requests (pages), as items_read: what tests and benchmarks count

    def _query_items(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._ddb.get_paginator("query")
        for page in paginator.paginate(TableName=self.table, **kwargs):
            self.queries += 1
            self.items_read += int(page.get("ScannedCount", 0))
            yield from page.get("Items", [])

    def query(
        self,
        collection: str,
        *,
        account_id: str | None,
        filters: Sequence[Filter] = (),
        sort: Sort | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page:
        check_collection(collection)
        sort = sort or Sort()
        check_field(sort.field)
        for f in filters:
            for name in f.fields():
                check_field(name)
        decl = declaration(collection)
        if account_id is not None and any(f.op == "contains" for f in filters):
            found = dsearch.search(self, decl, account_id, filters, sort, limit, offset)
            if found is not None:
                return found
        if account_id is not None and covers(decl, filters, sort):
            chosen = plan(decl, filters, sort)
            if (
                chosen.index is not None
                and chosen.index.sort == sort.field
                and decl.indexes.index(chosen.index) < dix.SLOTS
            ):
                return self._query_index(decl, account_id, chosen, filters, sort, limit, offset)
        if account_id is not None:
            partitions = [("GSI1PK", ACCOUNT_INDEX, f"{collection}#{account_id}")]
        else:
            partitions = [
                ("GSI2PK", COLLECTION_INDEX, f"{collection}#{shard}")
                for shard in range(COLLECTION_SHARDS)
            ]
        now = time.time()
        records: list[Record] = []
        for attr, index, value in partitions:
            for item in self._query_items(
                IndexName=index,
                KeyConditionExpression="#p = :p",
                ExpressionAttributeNames={"#p": attr},
                ExpressionAttributeValues={":p": {"S": value}},
            ):
                rec = _item_to_record(item, now)
                if rec is not None:
                    records.append(rec)
        return select_page(records, filters, sort, limit, offset)

    def _query_index(
        self,
        decl: Any,
        account_id: str,
        chosen: Any,
        filters: Sequence[Filter],
        sort: Sort,
        limit: int | None,
        offset: int,
        *,
        total: int | None = None,
        expect: dict[tuple[Any, ...], int] | None = None,
    ) -> Page:
        """Read the chosen index slot in sort order (one partition per ``eq`` combination,
        merged), check the remaining filters per item, stop once the page is full (``total``:
        the matches, when the caller knows them; ``expect``: per partition (``eq`` values), the
        items it is likely to be read for when most fail the filters: read in requests of that
        many)."""
        slot = decl.indexes.index(chosen.index)
        pk_attr, sk_attr = dix.slot_attrs(slot)
        name = dix.slot_index(slot)
        forward = not sort.descending
        want = None if limit is None else offset + limit
        now = time.time()

        def stream(values: tuple[Any, ...]) -> Iterator[tuple[str, Record]]:
            pk = f"{decl.collection}#{account_id}#{dix.eq_part(values)}"
            for prefix in ("1", "0"):  # present sort values first, then missing ones
                pages = self._query_items(
                    IndexName=name,
                    KeyConditionExpression="#p = :p AND begins_with(#s, :b)",
                    ExpressionAttributeNames={"#p": pk_attr, "#s": sk_attr},
                    ExpressionAttributeValues={":p": {"S": pk}, ":b": {"S": prefix}},
                    ScanIndexForward=forward,
                    **(
                        {"Limit": min(max(want + 1, (expect or {}).get(values, 0)), 1000)}
                        if want is not None
                        else {}
                    ),
                )
                for item in pages:
                    rec = _item_to_record(item, now)
                    if rec is not None and matches(rec.data, chosen.rest):
                        yield item[sk_attr]["S"], rec

        streams = [stream(v) for v in chosen.eq]
        present = 0 if forward else 1  # present values first in either direction

        def order(t: tuple[str, Record]) -> tuple[int, str]:
            return (present if t[0][:1] == "1" else 1 - present, t[0])

        merged = heapq.merge(*streams, key=order, reverse=not forward)
        items: list[Record] = []
        exhausted = True
        for _sk, rec in merged:
            items.append(rec)
            if want is not None and len(items) >= want:
                exhausted = False
                break
        if exhausted:
            total = len(items)
        elif total is None:
            total = self._count(decl, account_id, filters, sort)
        return Page(items[offset:], total)

    def _count(self, decl: Any, account_id: str, filters: Sequence[Filter], sort: Sort) -> int:
        """Exact matches: from the ``_count`` aggregate when the filters allow it, else by
        reading the matches' index partition."""
        by = decl.count_from(filters)
        if by is not None:
            total = 0
            for _r, group, n, _s in self.aggregate(
                decl.collection, "_count", account_id=account_id
            ):
                if all(group[i] in values for i, values in by):
                    total += n
            return total
        return self.query(
            decl.collection, account_id=account_id, filters=filters, sort=sort, limit=None
        ).total

    def aggregate_reads(self, account_id: str) -> AbstractContextManager[None]:
        return deferred.drain_once(self, account_id)

    def aggregate(
        self,
        collection: str,
        name: str,
        *,
        account_id: str,
        range_from: str | None = None,
        range_to: str | None = None,
    ) -> list[tuple[str, tuple[Any, ...], int, dict[str, Decimal]]]:
        decl = declaration(collection)
        if decl is None:
            raise KeyError(f"{collection} declares no aggregates")
        decl.aggregate(name)
        if name in dix.DEFERRED:  # kept beside the commit (see dynamodb_deferred)
            return deferred.read(self, collection, name, account_id, range_from, range_to)
        values: dict[str, Any] = {":p": {"S": dix.agg_pk(collection, account_id, name)}}
        cond = "PK = :p"
        if range_to is not None:
            values[":hi"] = {"S": range_to + "\x02"}  # every "<r>\x01<group>" with r <= it
        if range_from is not None:
            values[":lo"] = {"S": range_from}
            cond += " AND SK BETWEEN :lo AND :hi" if range_to is not None else " AND SK >= :lo"
        elif range_to is not None:
            cond += " AND SK <= :hi"
        out = []
        for item in self._query_items(
            KeyConditionExpression=cond,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        ):
            r = item["r"]["S"]
            if (range_from is not None and r < range_from) or item["n"]["N"] == "0":
                continue
            sums = {k: Decimal(v) for k, v in json.loads(item["sums"]["S"]).items()}
            out.append((r, tuple(json.loads(item["g"]["S"])), int(item["n"]["N"]), sums))
        return out

    def due(
        self,
        collection: str,
        *,
        up_to: str,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        decl = declaration(collection)
        if decl is None or decl.due is None:
            raise KeyError(f"{collection} declares no due index")
        lo = f"{after[0]}{dix.SEP}{after[1]}{dix.SEP}" if after else " "
        hi = f"{up_to}\x02"  # every "<up_to>\x01<key>" sorts below
        now = time.time()

        def shard(i: int) -> list[tuple[str, Record]]:
            got = []
            for item in self._query_items(
                IndexName=dix.DUE_INDEX,
                KeyConditionExpression="DUE_PK = :p AND DUE_SK BETWEEN :lo AND :hi",
                ExpressionAttributeValues={
                    ":p": {"S": f"{collection}#{i}"},
                    ":lo": {"S": lo},
                    ":hi": {"S": hi},
                },
                **({"Limit": limit} if limit else {}),
            ):
                rec = _item_to_record(item, now)
                if rec is not None:
                    got.append((item["DUE_SK"]["S"], rec))
                if limit is not None and len(got) >= limit:
                    break
            return got

        merged = heapq.merge(*(shard(i) for i in range(dix.DUE_SHARDS)), key=lambda t: t[0])
        out = [rec for _sk, rec in merged]
        return out if limit is None else out[:limit]

    # --- migration (an operator's tool: `billow migrate`; see dynamodb_migrate) ---------------
    def migrate(self, *, force: bool = False) -> dict[str, int]:
        """Upgrade a table made by an older version in place (:mod:`.dynamodb_migrate`)."""
        from .dynamodb_migrate import migrate

        return migrate(self, force=force)

    def bulk_load(
        self, collection: str, rows: Any, *, deferred_rows: bool | frozenset[str] = True
    ) -> int:
        """New records written in bulk (benchmarks, tests): :mod:`.dynamodb_migrate`."""
        from .dynamodb_migrate import bulk_load

        return bulk_load(self, collection, rows, deferred_rows=deferred_rows)

    # --- transactions -----------------------------------------------------------------------
    def transaction(self, fn: Callable[[Transaction], T], *, retries: int = 25) -> T:
        attempt = 0
        while True:
            tx = _DynamoTx(self)
            result = fn(tx)
            try:
                markers = self._commit(tx)
            except _Retry as retry:
                if attempt >= retries:
                    if retry.conflict is not None:
                        raise retry.conflict from None
                    raise TransactionAborted(
                        f"transaction gave up after {attempt + 1} attempts (contention)"
                    ) from None
            else:
                if markers:
                    deferred.settle(self, markers)
                return result
            attempt += 1
            time.sleep(random.uniform(0, min(0.25, 0.004 * 2 ** min(attempt, 8))))

    def _commit(self, tx: _DynamoTx) -> list[tuple[dict[str, Any], dict[tuple[str, str], Any]]]:
        """Write the transaction; returns its pending markers of deferred aggregates (each
        with the records it names, as committed) for :func:`.dynamodb_deferred.settle`."""
        staged = tx._staged
        now = {"N": str(int(time.time()))}
        ops: list[_Op] = []
        written: set[tuple[str, str]] = set()

        def own(k: tuple[str, str], expected: int) -> bool:
            read = tx._reads.get(k)
            if read is not None and read != expected:  # the transaction saw another version
                raise VersionConflict(k[0], k[1], expected, read or None)
            return read is None

        for (collection, key), expected in staged.deletes.items():
            k = (collection, key)
            written.add(k)
            ops.append(
                _Op(
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": _record_key(collection, key),
                            "ConditionExpression": "#v = :v",
                            "ExpressionAttributeNames": {"#v": "ver"},
                            "ExpressionAttributeValues": {":v": {"N": str(expected)}},
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    collection=collection,
                    key=key,
                    expected=expected,
                    mine=own(k, expected),
                )
            )
        for (collection, key), (rec, expected) in staged.puts.items():
            k = (collection, key)
            written.add(k)
            base = tx._reads.get(k, 0) if expected is None else expected
            mine = False if expected is None else own(k, expected)
            ops.append(
                _Op(
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": _record_item(
                                rec, base + 1 if expected is None else rec.version
                            ),
                            **self._version_condition(base, now),
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    collection=collection,
                    key=key,
                    expected=base,
                    mine=mine,
                )
            )
        for (collection, key), version in tx._reads.items():
            if (collection, key) in written:
                continue
            ops.append(
                _Op(
                    {
                        "ConditionCheck": {
                            "TableName": self.table,
                            "Key": _record_key(collection, key),
                            **self._version_condition(version, now),
                        }
                    },
                    collection=collection,
                    key=key,
                    expected=version,
                )
            )
        for name, (old, new) in staged.counters.items():
            cond: dict[str, Any]
            if old == 0:
                cond = {"ConditionExpression": "attribute_not_exists(PK)"}
            else:
                cond = {
                    "ConditionExpression": "#n = :old",
                    "ExpressionAttributeNames": {"#n": "value"},
                    "ExpressionAttributeValues": {":old": {"N": str(old)}},
                }
            ops.append(
                _Op(
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {**_counter_key(name), "value": {"N": str(new)}},
                            **cond,
                        }
                    },
                    collection="counters",
                    key=name,
                    expected=old,
                )
            )
        ops.extend(self._aggregate_ops(tx, now))
        markers = self._deferred_markers(tx)
        for marker, _records in markers:
            ops.append(
                _Op(
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": marker,
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    collection="deferred",
                    key=marker["SK"]["S"],
                )
            )
        next_seq: dict[str, int] = {}
        for stream, event in staged.events:
            if stream not in next_seq:
                next_seq[stream] = self._last_seq(stream) + 1
            item = {
                "PK": {"S": f"E#{stream}"},
                "SK": {"S": f"{next_seq[stream]:012d}"},
                "data": {"S": dumps(event)},
            }
            if _item_size(item) > MAX_ITEM_BYTES:
                raise ItemTooLarge(f"event of {stream}: exceeds DynamoDB's item limit")
            next_seq[stream] += 1
            ops.append(
                _Op(
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    collection="events",
                    key=stream,
                )
            )
        if not any("ConditionCheck" not in op.request for op in ops):
            return []  # nothing to write
        if len(ops) > MAX_TRANSACTION_ITEMS:
            raise TransactionTooLarge(
                f"a commit of {len(ops)} items (records written and read, counters, events) "
                f"exceeds DynamoDB's {MAX_TRANSACTION_ITEMS}"
            )
        total = sum(_item_size(op.request["Put"]["Item"]) for op in ops if "Put" in op.request)
        if total > MAX_TRANSACTION_BYTES:
            raise TransactionTooLarge(f"a commit of {total} bytes exceeds DynamoDB's 4 MB")
        try:
            self._ddb.transact_write_items(
                TransactItems=[op.request for op in ops],
                ClientRequestToken=uuid.uuid4().hex,  # boto3's own retries stay idempotent
            )
        except ClientError as e:
            self._raise_cancelled(e, ops)
        return markers

    def _deferred_markers(
        self, tx: _DynamoTx
    ) -> list[tuple[dict[str, Any], dict[tuple[str, str], Any]]]:
        """One pending marker per account whose records with deferred aggregates this commit
        writes or deletes (:mod:`.dynamodb_deferred`)."""
        staged = tx._staged
        by_account: dict[str | None, dict[tuple[str, str], Any]] = {}
        for (collection, key), (rec, expected) in staged.puts.items():
            if deferred.has_deferred(declaration(collection)):
                # the version the commit writes (as in the put above)
                version = tx._reads.get((collection, key), 0) + 1 if expected is None else None
                known = rec if version is None else dataclasses.replace(rec, version=version)
                by_account.setdefault(rec.account_id, {})[(collection, key)] = known
        for collection, key in staged.deletes:
            if deferred.has_deferred(declaration(collection)):
                k = (collection, key)
                old = tx._records[k] if k in tx._records else self._get(collection, key)
                if old is not None:
                    by_account.setdefault(old.account_id, {})[k] = None
        return [
            (deferred.marker_item(account, records), records)
            for account, records in by_account.items()
        ]

    def _aggregate_ops(self, tx: _DynamoTx, now: dict[str, str]) -> list[_Op]:
        """The aggregate rows the staged record changes move, as conditioned writes."""
        staged = tx._staged
        delta: dict[tuple[str, str, str, str], list] = {}
        changes: list[tuple[Any, str, str, dict | None, str | None]] = []
        for (collection, key), _expected in staged.deletes.items():
            changes.append((declaration(collection), collection, key, None, None))
        for (collection, key), (rec, _expected) in staged.puts.items():
            changes.append((declaration(collection), collection, key, rec.data, rec.account_id))
        by_collection: dict[str, list] = {}
        for decl, collection, key, new, account_id in changes:
            if decl is None or not dix.dynamo_aggregates(decl):
                continue
            k = (collection, key)
            old = tx._records[k] if k in tx._records else self._get(collection, key)
            dix.agg_delta(
                decl,
                old.data if old else None,
                old.account_id if old else None,
                new,
                account_id,
                by_collection.setdefault(collection, {}),
            )
        ops: list[_Op] = []
        for collection, delta in by_collection.items():
            for (name, acct, r, g), (n, sums) in delta.items():
                if n == 0 and not any(sums.values()):
                    continue
                ops.append(self._aggregate_op(collection, name, acct, r, g, n, sums))
        return ops

    def _aggregate_op(
        self, collection: str, name: str, acct: str, r: str, g: str, n: int, sums: dict
    ) -> _Op:
        key = {"PK": {"S": dix.agg_pk(collection, acct, name)}, "SK": {"S": dix.agg_sk(r, g)}}
        cur = self._ddb.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        total_n = n + (int(cur["n"]["N"]) if cur else 0)
        total = {k: Decimal(v) for k, v in json.loads(cur["sums"]["S"]).items()} if cur else {}
        for s, v in sums.items():
            total[s] = total.get(s, Decimal(0)) + v
        if cur:
            cond = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "ver"},
                "ExpressionAttributeValues": {":v": cur["ver"]},
            }
        else:
            cond = {"ConditionExpression": "attribute_not_exists(PK)"}
        # a row that reaches 0 stays (n = 0, skipped by readers): no DeleteItem grant needed
        item = {
            **key,
            "r": {"S": r},
            "g": {"S": g},
            "n": {"N": str(max(total_n, 0))},
            "sums": {"S": json.dumps({k: format(v, "f") for k, v in sorted(total.items())})},
            "ver": {"N": str(int(cur["ver"]["N"]) + 1 if cur else 1)},
        }
        request = {"Put": {"TableName": self.table, "Item": item, **cond}}
        return _Op(request, collection="aggregates", key=f"{collection}/{name}/{r}/{g}")

    @staticmethod
    def _version_condition(version: int, now: dict[str, str]) -> dict[str, Any]:
        if version == 0:
            return {
                "ConditionExpression": _ABSENT_OR_EXPIRED,
                "ExpressionAttributeNames": {"#e": TTL_ATTRIBUTE},
                "ExpressionAttributeValues": {":now": now},
            }
        return {
            "ConditionExpression": _LIVE_VERSION,
            "ExpressionAttributeNames": _NAMES,
            "ExpressionAttributeValues": {":v": {"N": str(version)}, ":now": now},
        }

    def _last_seq(self, stream: str) -> int:
        resp = self._ddb.query(
            TableName=self.table,
            KeyConditionExpression="PK = :p",
            ExpressionAttributeValues={":p": {"S": f"E#{stream}"}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = resp.get("Items", [])
        return int(items[0]["SK"]["S"]) if items else 0

    @staticmethod
    def _raise_cancelled(e: ClientError, ops: list[_Op]) -> None:
        code = e.response.get("Error", {}).get("Code")
        if code in {"TransactionConflictException", "ThrottlingException"}:
            raise _Retry(None) from e
        if code != "TransactionCanceledException":
            raise e
        reasons = e.response.get("CancellationReasons") or []
        conflict: VersionConflict | None = None
        retry = False
        for op, reason in zip(ops, reasons, strict=False):
            rcode = reason.get("Code") or "None"
            if rcode == "None":
                continue
            if rcode == "ConditionalCheckFailed":
                old = reason.get("Item") or {}
                actual = int(old["ver"]["N"]) if "ver" in old else None
                found = VersionConflict(op.collection, op.key, op.expected, actual)
                if op.mine:
                    raise found from e
                conflict = conflict or found
                retry = True
            elif rcode in {
                "TransactionConflict",
                "ThrottlingError",
                "ProvisionedThroughputExceeded",
            }:
                retry = True
            else:
                raise StoreError(
                    f"DynamoDB refused the commit ({rcode}: {reason.get('Message', '')})"
                ) from e
        if retry or not reasons:
            raise _Retry(conflict) from e
        raise e

    # --- events and counters ---------------------------------------------------------------
    def events(self, stream: str) -> list[dict[str, Any]]:
        check_key(stream)
        return [
            json.loads(item["data"]["S"])
            for item in self._query_items(
                KeyConditionExpression="PK = :p",
                ExpressionAttributeValues={":p": {"S": f"E#{stream}"}},
                ConsistentRead=True,
            )
        ]

    def counter_value(self, name: str) -> int:
        check_key(name)
        resp = self._ddb.get_item(TableName=self.table, Key=_counter_key(name), ConsistentRead=True)
        item = resp.get("Item")
        return int(item["value"]["N"]) if item else 0

    # --- blobs ------------------------------------------------------------------------------
    def _blob_key(self, key: str) -> str:
        if not self.bucket:
            raise StoreError("no S3 bucket configured for blobs")
        return self.blob_prefix + check_blob_key(key)

    def put_blob(self, key: str, data: bytes, content_type: str) -> None:
        self._s3.put_object(
            Bucket=self.bucket, Key=self._blob_key(key), Body=data, ContentType=content_type
        )

    def get_blob(self, key: str) -> Blob | None:
        try:
            resp = self._s3.get_object(Bucket=self.bucket, Key=self._blob_key(key))
        except ClientError as e:
            if e.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                return None
            raise
        with resp["Body"] as body:
            data = body.read()
        return Blob(data, resp.get("ContentType") or "application/octet-stream")

    def blob_url(self, key: str, *, filename: str, expires_in: int = 900) -> tuple[str, int]:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self._blob_key(key),
            "ResponseContentDisposition": content_disposition(filename),
        }
        ctype = mimetypes.guess_type(filename)[0]
        if ctype:
            params["ResponseContentType"] = ctype
        expires = int(time.time()) + expires_in
        url = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
        return url, expires


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 name (RFC 6266)."""
    name = filename.replace("/", "_").replace("\\", "_")
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"%;' else "_" for c in name)
    value = f'attachment; filename="{fallback or "download"}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"
    return value
