"""Operator tools for the DynamoDB backend (credentials of an operator, not a function's role):
``billow migrate`` upgrades a table made by an older version in place — creates the GSIs the
declared indexes need (one ``UpdateTable`` each, as DynamoDB requires), rewrites the items of
declared collections with their index attributes, recomputes the aggregates — and
:func:`bulk_load` writes large accounts for benchmarks and tests.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

from . import dynamodb_deferred as deferred
from . import dynamodb_indexes as dix
from .base import Record, check_collection
from .dynamodb import (
    COLLECTION_INDEX,
    COLLECTION_SHARDS,
    DynamoStore,
    _item_to_record,
    _record_item,
)
from .indexes import declaration, declarations

#: The layout of what this module writes beside the declarations; a new value makes
#: ``billow migrate`` rebuild every collection (2: deferred aggregates kept as their own items;
#: 3: the ``q`` search's vocabulary, suffix rows and GSI ``q_group``).
LAYOUT = 3


def migrate(store: DynamoStore, *, force: bool = False) -> dict[str, int]:
    """Upgrade a table made by an older version in place: create the GSIs it lacks, then
    rewrite every record of a declared collection whose index attributes are missing or out
    of date (``ix_sig``), and recompute the collection's aggregates. Returns ``{collection:
    records rewritten}``. Safe to rerun; run it with writes paused (``billow migrate``)."""
    desc = store._ddb.describe_table(TableName=store.table)["Table"]
    have = {g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", [])}
    definition = store.create_table_definition()
    attrs = definition["AttributeDefinitions"]
    for gsi in definition["GlobalSecondaryIndexes"]:
        if gsi["IndexName"] in have:
            continue
        store._ddb.update_table(
            TableName=store.table,
            AttributeDefinitions=attrs,
            GlobalSecondaryIndexUpdates=[{"Create": gsi}],
        )
        store._ddb.get_waiter("table_exists").wait(TableName=store.table)
    done: dict[str, int] = {}
    for decl in declarations():
        marker = {"PK": {"S": f"M#{decl.collection}"}, "SK": {"S": "M"}}
        cur = store._ddb.get_item(TableName=store.table, Key=marker, ConsistentRead=True)
        sig = f"{decl.signature}/{LAYOUT}"
        if not force and cur.get("Item", {}).get("sig", {}).get("S") == sig:
            continue
        done[decl.collection] = _reindex(store, decl)
        store._ddb.put_item(TableName=store.table, Item={**marker, "sig": {"S": sig}})
    return done


def _reindex(store: DynamoStore, decl: Any, *, deferred_rows: bool | frozenset[str] = True) -> int:
    """Rewrite the collection's record items with their index attributes and rebuild its
    aggregate items from the records."""
    count = 0
    aggs: dict[tuple[str, str, str, str], list] = {}
    for item, rec in _records(store, decl):
        fresh = _record_item(rec, rec.version)
        if any(item.get(k) != v for k, v in fresh.items()):
            store._ddb.put_item(
                TableName=store.table,
                Item=fresh,
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "ver"},
                ExpressionAttributeValues={":v": {"N": str(rec.version)}},
            )
        dix.agg_delta(decl, None, None, rec.data, rec.account_id, aggs)
        count += 1
    _write_aggregates(store, decl, aggs, replace=True)
    if deferred_rows and deferred.has_deferred(decl):  # emptied above: written anew
        with _table(store).batch_writer() as batch:
            names = None if deferred_rows is True else deferred_rows
            records = (rec for _, rec in _records(store, decl))
            deferred.rebuild(store, decl, records, batch, names=names)
    return count


def _records(store: DynamoStore, decl: Any) -> Any:
    """``(item, record)`` of every live record of the collection, every account."""
    for shard in range(COLLECTION_SHARDS):
        for item in store._query_items(
            IndexName=COLLECTION_INDEX,
            KeyConditionExpression="GSI2PK = :p",
            ExpressionAttributeValues={":p": {"S": f"{decl.collection}#{shard}"}},
        ):
            rec = _item_to_record(item)
            if rec is not None:
                yield item, rec


def _table(store: DynamoStore) -> Any:
    return (
        boto3.session.Session()
        .resource("dynamodb", region_name=store.region, endpoint_url=store.endpoint_url)
        .Table(store.table)
    )


def _write_aggregates(store: DynamoStore, decl: Any, aggs: dict, *, replace: bool) -> None:
    if replace:  # drop the collection's aggregate items of every account first
        accounts = {acct for (_n, acct, _r, _g) in aggs}
        for acct in accounts:
            for agg in dix.dynamo_aggregates(decl):
                for item in store._query_items(
                    KeyConditionExpression="PK = :p",
                    ExpressionAttributeValues={
                        ":p": {"S": dix.agg_pk(decl.collection, acct, agg.name)}
                    },
                    ProjectionExpression="PK, SK",
                ):
                    store._ddb.delete_item(TableName=store.table, Key=item)
    table = (
        boto3.session.Session()
        .resource("dynamodb", region_name=store.region, endpoint_url=store.endpoint_url)
        .Table(store.table)
    )
    with table.batch_writer() as batch:
        for (name, acct, r, g), (n, sums) in aggs.items():
            if n <= 0:
                continue
            batch.put_item(
                Item={
                    "PK": dix.agg_pk(decl.collection, acct, name),
                    "SK": dix.agg_sk(r, g),
                    "r": r,
                    "g": g,
                    "n": n,
                    "sums": json.dumps({k: format(v, "f") for k, v in sorted(sums.items())}),
                    "ver": 1,
                }
            )


def bulk_load(
    store: DynamoStore,
    collection: str,
    rows: Any,
    *,
    deferred_rows: bool | frozenset[str] = True,
) -> int:
    """New records ``(key, account_id, data)`` (version 1) written with BatchWriteItem and
    the collection's aggregates recomputed — for benchmarks and tests of large accounts.
    Not transactional; the collection's aggregates are rebuilt from every record.
    ``deferred_rows=False``: the deferred aggregates' rows (the search's) are not written now
    but left pending, as after a commit whose process died: the first reader of an account's
    search rows builds them (a bench of lists need not pay for the search's rows). A set of
    deferred aggregate names: only those rows are written, the others never (a bench of lists
    and ``q`` searches, ``{"_qs"}``, need not pay for the universal search's rows)."""
    check_collection(collection)
    n = 0
    table = _table(store)
    deserialize = TypeDeserializer().deserialize
    pending: dict[str | None, list[tuple[str, str]]] = {}
    with table.batch_writer() as batch:
        for key, account_id, data in rows:
            item = _record_item(Record(collection, key, account_id, 1, data), 1)
            batch.put_item(Item={k: deserialize(v) for k, v in item.items()})
            pending.setdefault(account_id, []).append((collection, key))
            n += 1
        decl = declaration(collection)
        if deferred_rows is False and deferred.has_deferred(decl):
            for account_id, keys in pending.items():
                for i in range(0, len(keys), 500):  # a marker item stays far below 400 KB
                    marker = deferred.marker_item(account_id, keys[i : i + 500])
                    batch.put_item(Item={k: deserialize(v) for k, v in marker.items()})
    if decl is not None:
        _reindex(store, decl, deferred_rows=deferred_rows)
    return n
