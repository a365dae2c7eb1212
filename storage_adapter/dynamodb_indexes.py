"""DynamoDB items and GSIs for declared collections (see :mod:`storage_adapter.indexes`).

- **Index slots**: the table has :data:`SLOTS` overloaded GSIs ``ix01``…; a collection's
  ``i``-th declared :class:`~storage_adapter.indexes.Index` lives in slot ``i`` (a collection
  may declare at most :data:`SLOTS`). A record item carries ``Xnn_PK = <collection>#<account>#
  <eq values as JSON>`` and ``Xnn_SK = <sort part>\\x01<key>`` (sort part ``"1" + value`` when
  present, ``"0"`` when missing, so missing values come last in either direction). TEXT sorts
  case-folded, NUMBER as an order-preserving string (:func:`num_key`). Records without an
  account, or whose ``eq`` values are missing, are left out of the index (sparse).
- **Due**: GSI ``due`` on ``DUE_PK = <collection>#<shard>`` (over :data:`DUE_SHARDS`),
  ``DUE_SK = <date>\\x01<key>``, only on records in the declared due index (sparse).
- **Aggregates**: items ``PK = A#<collection>#<account>#<name>``, ``SK = <range>\\x01<group>``
  with ``n``, ``sums`` and ``ver``: each commit reads the rows its records change and writes
  them back in the same ``TransactWriteItems``, conditioned on their version (a concurrent
  commit makes one of them retry).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from decimal import Decimal
from typing import Any

from .indexes import DATE, NUMBER, Aggregate, Declaration, folded, number, scalar

SLOTS = 14
DUE_INDEX = "due"
DUE_SHARDS = 4
#: GSI of the ``q`` search (:mod:`.dynamodb_search`): a record by its ``_qv`` group.
QV_INDEX = "q_group"
QV_PK, QV_SK = "QV_PK", "QV_SK"
SEP = "\x01"
_MAX_SORT = 400


def slot_index(i: int) -> str:
    return f"ix{i + 1:02d}"


def slot_attrs(i: int) -> tuple[str, str]:
    return f"X{i + 1:02d}_PK", f"X{i + 1:02d}_SK"


def gsi_definitions() -> list[tuple[str, str, str]]:
    """``(index name, PK attribute, SK attribute)`` of the GSIs declared collections use."""
    out = [(slot_index(i), *slot_attrs(i)) for i in range(SLOTS)]
    out.append((DUE_INDEX, "DUE_PK", "DUE_SK"))
    out.append((QV_INDEX, QV_PK, QV_SK))
    return out


def num_key(d: Decimal) -> str:
    """A string whose byte order is the numeric order of ``d``."""
    if d == 0:
        return "5"
    sign, digits, _ = d.normalize().as_tuple()
    mant = "".join(map(str, digits)).rstrip("0") or "0"
    e = max(0, min(999, d.adjusted() + 500))
    if sign == 0:
        return f"6{e:03d}{mant}"
    comp = "".join(str(9 - int(c)) for c in mant)
    return f"4{999 - e:03d}{comp}~"


def sort_part(decl: Declaration, name: str | None, data: dict[str, Any]) -> str:
    if name is None:
        return ""
    kind = decl.fields[name]
    v = data.get(name)
    if kind == NUMBER:
        d = number(v)
        return "0" if d is None else "1" + num_key(d)
    if kind == DATE:
        return "1" + v[:_MAX_SORT] if isinstance(v, str) else "0"
    s = folded(scalar(v))
    return "0" if s is None else "1" + s[:_MAX_SORT]


def eq_part(values: tuple[Any, ...]) -> str:
    return json.dumps(list(values), separators=(",", ":"), ensure_ascii=False)


def index_attrs(
    decl: Declaration, key: str, account_id: str | None, data: dict[str, Any]
) -> dict[str, Any]:
    """The GSI attributes of one record item."""
    out: dict[str, Any] = {}
    if account_id is not None:
        for i, ix in enumerate(decl.indexes[:SLOTS]):
            values = tuple(scalar(data.get(n)) for n in ix.eq)
            if any(v is None or isinstance(v, float) for v in values):
                continue
            pk, sk = slot_attrs(i)
            out[pk] = {"S": f"{decl.collection}#{account_id}#{eq_part(values)}"}
            out[sk] = {"S": f"{sort_part(decl, ix.sort, data)}{SEP}{key}"}
    due = decl.due_key(data)
    if due is not None:
        shard = zlib.crc32(key.encode()) % DUE_SHARDS
        out["DUE_PK"] = {"S": f"{decl.collection}#{shard}"}
        out["DUE_SK"] = {"S": f"{due}{SEP}{key}"}
    out.update(qv_attrs(decl, key, account_id, data))
    return out


def agg_pk(collection: str, account_id: str | None, name: str) -> str:
    return f"A#{collection}#{account_id or ''}#{name}"


def agg_sk(r: str, g: str) -> str:
    """An aggregate row's sort key; a group too long for DynamoDB's 1,024-byte sort keys (a
    vocabulary row of long names) is keyed by its digest (the row's ``g`` keeps it whole)."""
    sk = f"{r}{SEP}{g}"
    if len(sk.encode()) <= 900:
        return sk
    return f"{r}{SEP}#{hashlib.sha256(g.encode()).hexdigest()}"


#: DynamoDB's own aggregates serving ``q`` (:mod:`.dynamodb_search`; SQLite has its trigram
#: indexes instead). ``_qv``, kept in the commit: per account, the records of each group of
#: ``counts`` values and ``q_shared`` texts (the vocabulary of client names and e-mails).
VOCAB = "_qv"
#: ``_qs``, kept beside the commit: a row per suffix (of at least :data:`MIN_NEEDLE`
#: characters, cut at :data:`MAX_SUFFIX`) of each record's other ``q`` fields (the number),
#: with the record's ``_qv`` group: a substring is a range read of the suffixes it begins.
SUFFIXES = "_qs"
MIN_NEEDLE = 3
MAX_SUFFIX = 64

#: Aggregates DynamoDB keeps beside the commit instead of in it (:mod:`.dynamodb_deferred`).
#: The search's ``facets`` publish a row per amount, date and identifier of a record (about 15
#: per invoice, 4 more per payment), ``_qs`` one per suffix of its number: as items of the
#: record's own TransactWriteItems they would push a commit past DynamoDB's 100 items. SQLite
#: keeps ``facets`` in the commit.
DEFERRED = frozenset({"facets", SUFFIXES})


def contains_text(value: Any) -> str:
    """A field's text as ``contains`` compares it (see ``base.matches``)."""
    return str(value or "").casefold()


def vocab_group(decl: Declaration, data: Any) -> tuple[Any, ...]:
    """A record's ``_qv`` group: its ``counts`` values, then its ``q_shared`` texts."""
    return (
        *(data.get(n) for n in decl.counts),
        *(str(data.get(n) or "") for n in decl.q_shared),
    )


def group_json(group: tuple[Any, ...]) -> str:
    """A group as aggregate rows keep it (``Declaration.agg_rows``)."""
    return json.dumps(list(group), separators=(",", ":"))


def own_q(decl: Declaration) -> tuple[str, ...]:
    """The ``q`` fields each record has its own value of (served by ``_qs``)."""
    return tuple(n for n in decl.q if n not in decl.q_shared)


def suffixes(text: str) -> set[str]:
    return {text[i : i + MAX_SUFFIX] for i in range(len(text) - MIN_NEEDLE + 1)}


def _suffix_rows(decl: Declaration) -> Any:
    """A row per suffix of each own ``q`` field: group ``(field, *vocab group)``, so a search
    counts its number hits by status and client without reading them."""
    fields = own_q(decl)

    def rows(data: Any) -> list:
        group = vocab_group(decl, data)
        return [
            (s, (name, *group), {})
            for name in fields
            for s in suffixes(contains_text(data.get(name)))
        ]

    return rows


_OWN: dict[str, tuple[Declaration, tuple[Aggregate, ...]]] = {}


def dynamo_aggregates(decl: Declaration) -> tuple[Aggregate, ...]:
    """The aggregates DynamoDB keeps for ``decl``: the declared ones, ``_count`` and those of
    its ``q`` search."""
    got = _OWN.get(decl.collection)
    if got is not None and got[0] is decl:
        return got[1]
    extra: list[Aggregate] = []
    if decl.q_shared:
        extra.append(Aggregate(VOCAB, lambda data: [("", vocab_group(decl, data), {})]))
    if decl.q_shared and own_q(decl):
        extra.append(Aggregate(SUFFIXES, _suffix_rows(decl)))
    out = (*decl.all_aggregates, *extra)
    _OWN[decl.collection] = (decl, out)
    return out


def qv_attrs(decl: Declaration, key: str, account_id: str | None, data: Any) -> dict[str, Any]:
    """GSI ``q_group`` of a record item: its account's records of one ``_qv`` group, by
    ``created_at``."""
    if account_id is None or not decl.q_shared:
        return {}
    sort = "created_at" if "created_at" in decl.fields else None
    return {
        QV_PK: {"S": qv_pk(decl.collection, account_id, group_json(vocab_group(decl, data)))},
        QV_SK: {"S": f"{sort_part(decl, sort, data)}{SEP}{key}"},
    }


def qv_pk(collection: str, account_id: str, g: str) -> str:
    return f"{collection}#{account_id}#{hashlib.sha256(g.encode()).hexdigest()[:32]}"


def agg_delta(
    decl: Declaration,
    old: dict[str, Any] | None,
    old_account: str | None,
    new: dict[str, Any] | None,
    account_id: str | None,
    into: dict[tuple[str, str, str, str], list],
) -> None:
    """Add one record change's aggregate rows (old subtracted, new added) to ``into``."""
    for data, acct, sign in ((old, old_account, -1), (new, account_id, 1)):
        for (name, r, g), (n, sums) in decl.agg_rows(data, dynamo_aggregates(decl)).items():
            if name in DEFERRED:
                continue
            cur = into.setdefault((name, acct or "", r, g), [0, {}])
            cur[0] += sign * n
            for s, v in sums.items():
                cur[1][s] = cur[1].get(s, Decimal(0)) + sign * v
