"""DynamoDB's ``q`` search: a case-insensitive substring over a collection's ``q`` fields that
reads about its matches, not the account's history.

Two structures serve it (kept by :mod:`.dynamodb_indexes` and :mod:`.dynamodb_deferred`):

- the **vocabulary** ``_qv``, an aggregate kept in each commit: per account, one row per group
  of ``counts`` values and ``q_shared`` texts (for invoices: entity, currency, kind, status,
  client name and e-mail) with its number of records; GSI ``q_group`` lists the account's records
  of one group. A needle in a client's name or e-mail selects groups: their counts give the
  total, the GSI their records.
- the **suffix rows** ``_qs``, kept beside the commit like the universal search's rows: a row
  per suffix of each record's other ``q`` fields (the number). A needle found in numbers is a
  range read of the suffixes it begins; each hit is then read by key (and checked).

A search reads the vocabulary (a row per group: clients x statuses, not per record) and the
suffix rows the needle begins. When its other filters are ``eq``/``in`` on ``counts`` fields
(a list's status, kind, entity), that gives the exact total without reading a record, and the
page is read the cheaper way:

- **walk** the list's index in the sort order, checking each record, until the page is full:
  about ``(offset + limit) x scope / total`` items, ``scope`` being the records the index's
  partitions hold (known from the vocabulary) — for a needle most records match;
- **fetch** every match (the groups' records through GSI ``q_group``, the number hits by key) and
  sort them here — for a rare needle.

Other filters are checked per record on the fetched matches. A needle shorter than
:data:`~.dynamodb_indexes.MIN_NEEDLE` or longer than :data:`~.dynamodb_indexes.MAX_SUFFIX`
characters is not served here (the caller reads the account).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import dynamodb_deferred as deferred
from . import dynamodb_indexes as dix
from .base import Filter, Page, Record, Sort, select_page
from .indexes import Declaration, covers, plan

if TYPE_CHECKING:
    from .dynamodb import DynamoStore


def search(
    store: DynamoStore,
    decl: Declaration | None,
    account_id: str,
    filters: Sequence[Filter],
    sort: Sort,
    limit: int | None,
    offset: int,
) -> Page | None:
    """The page of an account's ``q`` search, or ``None`` when it is not served here."""
    if decl is None or not decl.q_shared:
        return None
    found = [f for f in filters if f.op == "contains" and set(f.fields()) <= set(decl.q)]
    if not found:
        return None
    f = found[0]
    needle = str(f.value).casefold()
    if not dix.MIN_NEEDLE <= len(needle) <= dix.MAX_SUFFIX:
        return None
    k = len(decl.counts)
    shared = [k + decl.q_shared.index(n) for n in f.fields() if n in decl.q_shared]
    own = {n for n in f.fields() if n not in decl.q_shared}
    by = decl.count_from([x for x in filters if x is not f])

    groups = _vocabulary(store, decl, account_id)

    def counted(group: tuple[Any, ...]) -> bool:
        return by is None or all(group[i] in values for i, values in by)

    hit = [
        (g, group, n)
        for g, group, n in groups
        if any(needle in str(group[i]).casefold() for i in shared) and counted(group)
    ]
    in_hit = {g for g, _group, _n in hit}
    # matched by their own q fields (the number) only; with the other filters on counts fields
    # alone, each of them is a match
    extra = [
        key
        for key, g in _suffix_hits(store, decl, account_id, needle, own).items()
        if g not in in_hit and counted(tuple(json.loads(g)))
    ]
    fetch_cost = sum(n for _g, _group, n in hit)
    if by is not None and limit is not None:
        total = fetch_cost + len(extra)
        if total == 0:
            return Page([], 0)
        walk = _walk_plan(decl, filters, sort, groups)
        if walk is not None:
            chosen, scope = walk
            want = offset + limit
            if want * sum(scope.values()) < (fetch_cost + len(extra)) * total:
                # what each partition is likely read for (its share of the page), and a margin
                expect = {c: want * n // total + want // 4 + 1 for c, n in scope.items()}
                return store._query_index(
                    decl,
                    account_id,
                    chosen,
                    filters,
                    sort,
                    limit,
                    offset,
                    total=total,
                    expect=expect,
                )
    records = _fetch(store, decl, account_id, hit, extra)
    return select_page(records, filters, sort, limit, offset)


def _vocabulary(
    store: DynamoStore, decl: Declaration, account_id: str
) -> list[tuple[str, tuple[Any, ...], int]]:
    """The account's ``_qv`` rows: ``(group as kept, group, records)``."""
    out = []
    for item in store._query_items(
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": {"S": dix.agg_pk(decl.collection, account_id, dix.VOCAB)}},
        ConsistentRead=True,
    ):
        n = int(item["n"]["N"])
        if n > 0:
            g = item["g"]["S"]
            out.append((g, tuple(json.loads(g)), n))
    return out


def _suffix_hits(
    store: DynamoStore, decl: Declaration, account_id: str, needle: str, own: set[str]
) -> dict[str, str]:
    """``{key: its _qv group as kept}`` of the records whose ``own`` fields contain
    ``needle`` (from the suffix rows; the account's pending commits are brought in first, as
    for every deferred aggregate)."""
    keys: dict[str, str] = {}
    if not own:
        return keys
    deferred._drain_for_read(store, account_id)
    for item in store._query_items(
        KeyConditionExpression="PK = :p AND begins_with(SK, :b)",
        ExpressionAttributeValues={
            ":p": {"S": dix.agg_pk(decl.collection, account_id, dix.SUFFIXES)},
            ":b": {"S": needle},
        },
        ConsistentRead=True,
    ):
        r = item["r"]["S"]
        name, *group = json.loads(item["g"]["S"])
        if r.startswith(needle) and name in own:
            # SK = <suffix>\x01<key>\x01<digest>: keys never hold \x01
            key = item["SK"]["S"][len(r) + 1 :].rsplit(dix.SEP, 1)[0]
            keys[key] = dix.group_json(tuple(group))
    return keys


def _walk_plan(
    decl: Declaration,
    filters: Sequence[Filter],
    sort: Sort,
    groups: list[tuple[str, tuple[Any, ...], int]],
) -> tuple[Any, dict[tuple[Any, ...], int]] | None:
    """The list index a walk would read and how many records each of its partitions holds,
    when the index is sorted by ``sort`` and keyed by ``counts`` fields only."""
    if not covers(decl, filters, sort):
        return None
    chosen = plan(decl, filters, sort)
    ix = chosen.index
    if (
        ix is None
        or ix.sort != sort.field
        or decl.indexes.index(ix) >= dix.SLOTS
        or not all(n in decl.counts for n in ix.eq)
    ):
        return None
    at = [decl.counts.index(n) for n in ix.eq]
    scope: dict[tuple[Any, ...], int] = {tuple(c): 0 for c in chosen.eq}
    for _g, group, n in groups:
        combo = tuple(group[i] for i in at)
        if combo in scope:
            scope[combo] += n
    return chosen, scope


def _fetch(
    store: DynamoStore,
    decl: Declaration,
    account_id: str,
    hit: list[tuple[str, tuple[Any, ...], int]],
    extra: list[str],
) -> list[Record]:
    """The records of the matching groups (GSI ``q_group``) and the number hits (by key,
    100 a request), once each (an index read may briefly list a record under its old group
    as well)."""
    from .dynamodb import _item_to_record, _record_key

    now = time.time()
    out: dict[str, Record] = {}

    def keep(item: dict[str, Any]) -> None:
        rec = _item_to_record(item, now)
        if rec is None or rec.account_id != account_id:
            return
        if rec.key not in out or out[rec.key].version < rec.version:
            out[rec.key] = rec

    for g, _group, _n in hit:
        for item in store._query_items(
            IndexName=dix.QV_INDEX,
            KeyConditionExpression="#p = :p",
            ExpressionAttributeNames={"#p": dix.QV_PK},
            ExpressionAttributeValues={":p": {"S": dix.qv_pk(decl.collection, account_id, g)}},
        ):
            keep(item)
    for i in range(0, len(extra), 100):
        want = [_record_key(decl.collection, key) for key in extra[i : i + 100]]
        while want:
            got = store._ddb.batch_get_item(
                RequestItems={store.table: {"Keys": want, "ConsistentRead": True}}
            )
            items = got.get("Responses", {}).get(store.table, [])
            store.items_read += len(items)
            for item in items:
                keep(item)
            want = got.get("UnprocessedKeys", {}).get(store.table, {}).get("Keys", [])
            if want:  # throttled: DynamoDB asks for a pause before the rest
                time.sleep(0.05)
    return list(out.values())
