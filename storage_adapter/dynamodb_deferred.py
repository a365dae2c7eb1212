"""Aggregates DynamoDB keeps *beside* a commit instead of inside it: the search's ``facets``.

A record publishes about 15 facet rows (4 more per payment). As items of the record's own
``TransactWriteItems`` they would push a commit past DynamoDB's 100 items, so they are kept in
two steps, with nothing lost between them:

1. **In the commit**, one *pending marker* per account touched (``PK = DP#<account>``,
   ``SK = <uuid>``, ``keys``: the changed records) is written in the same transaction as the
   records. A commit that lands always leaves a marker; one that fails leaves none.
2. **After the commit**, :func:`settle` brings each record's rows up to date and deletes the
   marker. Should that step not happen (the process died, a throttle), the next reader of the
   account's deferred aggregate runs it first (:func:`drain`): every read sees every commit
   that landed before it, as with the aggregates kept in the commit.

Each record's rows are items ``PK = A#<collection>#<account>#<name>``, ``SK = <range>\\x01<key>
\\x01<digest of group>`` (so a range read returns only the rows in range, and two records never
share an item), listed in a per-record *listing* item ``PK = DL#<collection>#<key>`` (``ver``:
the record version the rows are of; ``rows``: ``{row id: digest}``). Bringing a record up to
date is a ``TransactWriteItems`` of its row puts and deletes, the new listing (conditioned on
the listing read) and a ``ConditionCheck`` that the record is still at the version the rows
were computed from: a stale worker can never write old rows over new ones, and two workers on
the same version write the same thing. Rows of more than one transaction's worth are written in
chunks, each with that check; the listing names the union of old and new rows (``partial``)
until the last chunk, so a crash half-way leaves no row unlisted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from . import dynamodb_indexes as dix
from .base import Record
from .dynamodb_indexes import DEFERRED
from .indexes import Declaration, declaration

if TYPE_CHECKING:
    from .dynamodb import DynamoStore

log = logging.getLogger("billow.store")

#: Items per ``TransactWriteItems`` (DynamoDB's limit).
_MAX_OPS = 100
#: Attempts at bringing one record up to date before leaving it to the next reader.
_ATTEMPTS = 12


def has_deferred(decl: Declaration | None) -> bool:
    return decl is not None and any(a.name in DEFERRED for a in dix.dynamo_aggregates(decl))


def marker_item(account_id: str | None, keys: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A pending marker: the records of one commit whose deferred rows are to be brought up to
    date."""
    return {
        "PK": {"S": f"DP#{account_id or ''}"},
        "SK": {"S": uuid.uuid4().hex},
        "keys": {"S": json.dumps(sorted(set(keys)), separators=(",", ":"))},
    }


def _listing_key(collection: str, key: str) -> dict[str, Any]:
    return {"PK": {"S": f"DL#{collection}#{key}"}, "SK": {"S": "L"}}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def row_items(
    decl: Declaration, rec: Record | None, names: frozenset[str] | None = None
) -> dict[str, dict[str, Any]]:
    """``{row id: item}``: the deferred aggregate rows of one record (none when it is gone;
    ``names``: of those aggregates only)."""
    out: dict[str, dict[str, Any]] = {}
    if rec is None:
        return out
    for (name, r, g), (n, sums) in decl.agg_rows(rec.data, dix.dynamo_aggregates(decl)).items():
        if name not in DEFERRED or n == 0 or (names is not None and name not in names):
            continue
        pk = dix.agg_pk(decl.collection, rec.account_id, name)
        sk = f"{r}{dix.SEP}{rec.key}{dix.SEP}{_digest(g)}"
        body = json.dumps({k: format(v, "f") for k, v in sorted(sums.items())})
        out[f"{pk}\x00{sk}"] = {
            "PK": {"S": pk},
            "SK": {"S": sk},
            "r": {"S": r},
            "g": {"S": g},
            "n": {"N": str(n)},
            "sums": {"S": body},
        }
    return out


def _content(item: dict[str, Any]) -> str:
    return _digest(item["g"]["S"] + "\x00" + item["n"]["N"] + "\x00" + item["sums"]["S"])


def _split(row_id: str) -> dict[str, Any]:
    pk, sk = row_id.split("\x00", 1)
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _retryable(e: ClientError) -> bool:
    return e.response.get("Error", {}).get("Code") in {
        "TransactionCanceledException",
        "TransactionConflictException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
    }


def apply(store: DynamoStore, collection: str, key: str, known: Record | None = None) -> bool:
    """Bring one record's deferred rows up to date with the record as it is now; ``known``:
    the record as the caller just committed it (saves a read; checked like any other)."""
    decl = declaration(collection)
    if not has_deferred(decl):
        return True
    assert decl is not None
    for attempt in range(_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
        rec = known if (attempt == 0 and known is not None) else store._get(collection, key)
        version = rec.version if rec else 0
        got = store._ddb.get_item(
            TableName=store.table, Key=_listing_key(collection, key), ConsistentRead=True
        ).get("Item")
        partial = bool(got and got.get("partial", {}).get("BOOL"))
        if got and int(got["ver"]["N"]) == version and not partial:
            return True  # already up to date
        old: dict[str, str] = json.loads(got["rows"]["S"]) if got else {}
        items = row_items(decl, rec)
        new = {rid: _content(item) for rid, item in items.items()}
        row_ops: list[dict[str, Any]] = [
            {"Put": {"TableName": store.table, "Item": item}}
            for rid, item in items.items()
            if partial or old.get(rid) != new[rid]
        ] + [
            {"Delete": {"TableName": store.table, "Key": _split(rid)}}
            for rid in old
            if rid not in new
        ]
        now = {"N": str(int(time.time()))}
        check = {
            "ConditionCheck": {
                "TableName": store.table,
                "Key": {"PK": {"S": f"R#{collection}#{key}"}, "SK": {"S": "R"}},
                **store._version_condition(version, now),
            }
        }

        before = got["tok"]["S"] if got else None
        try:
            if len(row_ops) + 2 <= _MAX_OPS:  # the usual case: one transaction
                _transact(
                    store,
                    [
                        check,
                        _listing_put(
                            store, collection, key, version, new, uuid.uuid4().hex, False, before
                        ),
                        *row_ops,
                    ],
                )
                return True
            # more rows than one transaction takes: list the union first, then the rows in
            # chunks, then the final listing; every step checks the record's version
            first = uuid.uuid4().hex
            union = {**{rid: "" for rid in old}, **new}
            _transact(
                store,
                [check, _listing_put(store, collection, key, version, union, first, True, before)],
            )
            step = _MAX_OPS - 1
            for i in range(0, len(row_ops), step):
                _transact(store, [check, *row_ops[i : i + step]])
            _transact(
                store,
                [
                    check,
                    _listing_put(
                        store, collection, key, version, new, uuid.uuid4().hex, False, first
                    ),
                ],
            )
            return True
        except ClientError as e:
            if not _retryable(e):
                raise
    log.warning("deferred rows of %s/%s: left to the next reader (contention)", collection, key)
    return False


def _listing_put(
    store: DynamoStore,
    collection: str,
    key: str,
    version: int,
    rows: dict[str, str],
    token: str,
    part: bool,
    after: str | None,
) -> dict[str, Any]:
    """The listing's put, conditioned on the listing the worker read (``after``: its token)."""
    item = {
        **_listing_key(collection, key),
        "ver": {"N": str(version)},
        "rows": {"S": json.dumps(rows, separators=(",", ":"))},
        "tok": {"S": token},
        "partial": {"BOOL": part},
    }
    cond: dict[str, Any]
    if after is None:
        cond = {"ConditionExpression": "attribute_not_exists(PK)"}
    else:
        cond = {
            "ConditionExpression": "tok = :t",
            "ExpressionAttributeValues": {":t": {"S": after}},
        }
    return {"Put": {"TableName": store.table, "Item": item, **cond}}


def _transact(store: DynamoStore, ops: list[dict[str, Any]]) -> None:
    store._ddb.transact_write_items(TransactItems=ops, ClientRequestToken=uuid.uuid4().hex)


def settle(
    store: DynamoStore, markers: list[tuple[dict[str, Any], dict[tuple[str, str], Any]]]
) -> None:
    """After a commit: bring its records' rows up to date, then delete its markers. A failure
    here loses nothing (the marker stays for the next reader), so it is logged, not raised."""
    for marker, records in markers:
        try:
            done = all(apply(store, c, k, known=rec) for (c, k), rec in records.items())
            if done:
                store._ddb.delete_item(
                    TableName=store.table, Key={"PK": marker["PK"], "SK": marker["SK"]}
                )
        except Exception:
            log.warning("deferred rows: left to the next reader", exc_info=True)


def drain(store: DynamoStore, account_id: str) -> None:
    """Run what the account's pending markers still ask for (usually nothing: one empty read)."""
    for item in store._query_items(
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": {"S": f"DP#{account_id}"}},
        ConsistentRead=True,
    ):
        keys = [tuple(k) for k in json.loads(item["keys"]["S"])]
        if all(apply(store, c, k) for c, k in keys):
            store._ddb.delete_item(TableName=store.table, Key={"PK": item["PK"], "SK": item["SK"]})


#: (store, account) pairs drained inside the current :func:`drain_once` (None outside one).
_drained: ContextVar[set[tuple[int, str]] | None] = ContextVar("billow_drained", default=None)


@contextmanager
def drain_once(store: DynamoStore, account_id: str) -> Iterator[None]:
    """Inside, the account's markers are drained at its first :func:`read` only: a search's
    reads of many ranges cost one marker query, not one each. Commits landing meanwhile are
    concurrent with the search, which may or may not see them, as with any read."""
    token = _drained.set(set())
    try:
        yield
    finally:
        _drained.reset(token)


def _drain_for_read(store: DynamoStore, account_id: str) -> None:
    done = _drained.get()
    if done is None:
        drain(store, account_id)
    elif (id(store), account_id) not in done:
        drain(store, account_id)
        done.add((id(store), account_id))


def read(
    store: DynamoStore,
    collection: str,
    name: str,
    account_id: str,
    range_from: str | None,
    range_to: str | None,
) -> list[tuple[str, tuple[Any, ...], int, dict[str, Decimal]]]:
    """A deferred aggregate's rows in ``[range_from, range_to]``, as :meth:`Store.aggregate`
    answers: pending markers first, then only the rows in range."""
    _drain_for_read(store, account_id)
    values: dict[str, Any] = {":p": {"S": dix.agg_pk(collection, account_id, name)}}
    cond = "PK = :p"
    if range_from is not None:
        values[":lo"] = {"S": range_from}
    if range_to is not None:
        values[":hi"] = {"S": range_to + "\x02"}  # every "<r>\x01…" with r <= it
    if range_from is not None and range_to is not None:
        cond += " AND SK BETWEEN :lo AND :hi"
    elif range_from is not None:
        cond += " AND SK >= :lo"
    elif range_to is not None:
        cond += " AND SK <= :hi"
    acc: dict[tuple[str, str], list] = {}
    for item in store._query_items(
        KeyConditionExpression=cond, ExpressionAttributeValues=values, ConsistentRead=True
    ):
        r, g = item["r"]["S"], item["g"]["S"]
        if (range_from is not None and r < range_from) or (range_to is not None and r > range_to):
            continue
        cur = acc.setdefault((r, g), [0, {}])
        cur[0] += int(item["n"]["N"])
        for s, v in json.loads(item["sums"]["S"]).items():
            cur[1][s] = cur[1].get(s, Decimal(0)) + Decimal(v)
    return [(r, tuple(json.loads(g)), n, sums) for (r, g), (n, sums) in sorted(acc.items()) if n]


def rebuild(
    store: DynamoStore,
    decl: Declaration,
    records: Iterable[Record],
    batch: Any,
    *,
    names: frozenset[str] | None = None,
) -> None:
    """``billow migrate``/bulk loads: write the records' rows and listings with a batch
    writer (writes paused; the collection's row partitions were emptied before). ``names``:
    only those aggregates' rows (bulk loads for benchmarks; the listing says the record is
    up to date, so the others are never written)."""
    from boto3.dynamodb.types import TypeDeserializer

    plain = TypeDeserializer().deserialize
    for rec in records:
        items = row_items(decl, rec, names)
        for item in items.values():
            batch.put_item(Item={k: plain(v) for k, v in item.items()})
        batch.put_item(
            Item={
                "PK": f"DL#{decl.collection}#{rec.key}",
                "SK": "L",
                "ver": rec.version,
                "rows": json.dumps(
                    {rid: _content(i) for rid, i in items.items()}, separators=(",", ":")
                ),
                "tok": uuid.uuid4().hex,
                "partial": False,
            }
        )
