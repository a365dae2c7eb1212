"""Secondary indexes, aggregates and due dates a collection declares (the store builds them).

A service that filters, sorts, sums or schedules over a collection *declares* what it needs once,
in :mod:`storage_adapter.declared`; every backend then keeps it natively and in the same commit
as each record write:

.. code-block:: python

    declare(
        "invoices",
        fields={"status": TEXT, "due_date": DATE, "total": NUMBER, ...},  # filterable/sortable
        indexes=[Index(sort="created_at"), Index(eq=("status",), sort="total"), ...],
        q=("number", "client_name", "client_email"),  # `contains` served by a trigram index
        pairs=("metadata",),                           # `has` filters on {key: value} maps
        aggregates=[Aggregate("by_status", by_status_rows)],
        due=Due("due_date", when=is_open),             # sparse, across accounts
    )

- **fields**: top-level fields of the record's data, each with a kind: ``DATE`` (ISO text,
  compared and sorted as stored), ``TEXT`` (compared as stored, sorted case-folded, as
  :func:`~storage_adapter.base.sort_key` does), ``NUMBER`` (decimal text or numbers, compared
  and sorted numerically; filter it with :class:`~decimal.Decimal` values).
- **indexes**: :class:`Index` — equality prefix (``eq``) plus an optional sort field. SQLite
  creates one B-tree per index on ``(account_id, *eq, sort, key)``; DynamoDB keeps one GSI per
  index (partition = collection, account and the ``eq`` values; sort key = the sort field).
  :func:`plan` chooses the index for a query.
- **q**: fields a case-insensitive substring search (``Filter(op="contains")``) covers (FTS5
  trigram index on SQLite).
- **q_shared**: the ``q`` fields whose values many records of an account share (a client's name
  and e-mail on its invoices). SQLite also keeps the account's distinct combinations of them (a
  vocabulary, trigram-indexed): a search that matches a few of them reads those records through
  a B-tree, not one index entry per matching record. DynamoDB keeps a vocabulary too (with the
  ``counts`` values, so it counts a search's matches) and the suffixes of the other ``q``
  fields (:mod:`storage_adapter.dynamodb_search`); without ``q_shared`` it reads the account.
- **pairs**: map fields (``{str: str}``) whose pairs can be filtered with ``Filter(f, "has",
  (key, value))``.
- **aggregates**: :class:`Aggregate` — a function of a record's data returning the rows it
  contributes (``(range_key, group, {name: Decimal})``; each row counts 1). The store keeps per
  account the count and the sums of every ``(range_key, group)``; a write subtracts the old
  record's rows and adds the new one's. Read with :meth:`Store.aggregate
  <storage_adapter.base.Store.aggregate>`.
- **counts**: fields whose ``eq``/``in`` filters can be counted from the ``_count`` aggregate
  (a list's exact ``total`` without counting records).
- **due**: :class:`Due` — a sparse index across accounts of the records ``when(data)`` holds
  for, by the date in ``field``; read with :meth:`Store.due <storage_adapter.base.Store.due>`.

Queries with filters or sorts the declaration does not cover still work (a backend falls back to
reading the account's records), so a collection never *has* to declare anything; the reference
implementation (:func:`brute_force`, :func:`aggregate_records`, :func:`due_records`) defines the
answers every backend must give, and the property tests compare against it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

DATE = "date"
TEXT = "text"
NUMBER = "number"
KINDS = (DATE, TEXT, NUMBER)
#: The aggregate counting records per value of the declaration's ``counts`` fields.
COUNT = "_count"

AggRow = tuple[str, tuple[Any, ...], dict[str, Decimal]]


@dataclass(frozen=True)
class Index:
    """Records of one account with equal ``eq`` fields, ordered by ``sort`` (then key)."""

    eq: tuple[str, ...] = ()
    sort: str | None = None

    @property
    def name(self) -> str:
        return "_".join([*self.eq, "by", self.sort or "key"])


@dataclass(frozen=True)
class Aggregate:
    """Counts and sums kept per ``(range_key, group)``; ``rows(data)`` gives a record's rows."""

    name: str
    rows: Callable[[Mapping[str, Any]], list[AggRow]]
    version: int = 1  # bump when ``rows`` changes meaning: stores then recompute


@dataclass(frozen=True)
class Due:
    """A sparse index of the records ``when(data)`` holds for, by the ISO date in ``field``."""

    field: str
    when: Callable[[Mapping[str, Any]], bool]
    version: int = 1


@dataclass(frozen=True)
class Declaration:
    collection: str
    fields: dict[str, str]
    indexes: tuple[Index, ...] = ()
    q: tuple[str, ...] = ()
    pairs: tuple[str, ...] = ()
    aggregates: tuple[Aggregate, ...] = ()
    due: Due | None = None
    counts: tuple[str, ...] = ()
    q_shared: tuple[str, ...] = ()

    @property
    def signature(self) -> str:
        """Changes whenever a backend must rebuild what it keeps for the collection."""
        shape = {
            "fields": self.fields,
            "indexes": [[list(i.eq), i.sort] for i in self.indexes],
            "q": list(self.q),
            "pairs": list(self.pairs),
            "aggregates": [[a.name, a.version] for a in self.aggregates],
            "due": [self.due.field, self.due.version] if self.due else None,
            "counts": list(self.counts),
        }
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def all_aggregates(self) -> tuple[Aggregate, ...]:
        """The declared aggregates plus ``_count`` (records per value of the ``counts``)."""
        if not self.counts:
            return self.aggregates
        names = self.counts
        count = Aggregate(COUNT, lambda data: [("", tuple(data.get(n) for n in names), {})])
        return (*self.aggregates, count)

    def count_from(self, filters: Sequence[Any]) -> list[tuple[int, list[Any]]] | None:
        """When ``filters`` are only ``eq``/``in`` on ``counts`` fields: ``[(position in the
        group, allowed values)]`` to sum ``_count`` rows by; else ``None``."""
        if not self.counts:
            return None
        out = []
        for f in filters:
            if f.field not in self.counts or f.also:
                return None
            if f.op == "eq":
                values = [f.value]
            elif f.op == "in":
                values = list(f.value)
            else:
                return None
            if not all(v is None or isinstance(v, str) for v in values):
                return None
            out.append((self.counts.index(f.field), values))
        return out

    def aggregate(self, name: str) -> Aggregate:
        for a in self.all_aggregates:
            if a.name == name:
                return a
        raise KeyError(f"{self.collection} declares no aggregate {name!r}")

    def due_key(self, data: Mapping[str, Any]) -> str | None:
        """The due date the record is filed under, or ``None`` when it is not in the index."""
        if self.due is None or not self.due.when(data):
            return None
        value = data.get(self.due.field)
        return value if isinstance(value, str) and value else None

    def agg_rows(
        self, data: Mapping[str, Any] | None, aggregates: Sequence[Aggregate] | None = None
    ) -> dict[tuple[str, str, str], list]:
        """``{(aggregate, range_key, group_json): [count, {sum: Decimal}]}`` of one record
        (over ``aggregates``: by default the declared ones and ``_count``)."""
        out: dict[tuple[str, str, str], list] = {}
        if data is None:
            return out
        for agg in self.all_aggregates if aggregates is None else aggregates:
            for rng, group, sums in agg.rows(data):
                k = (agg.name, rng, json.dumps(list(group), separators=(",", ":")))
                cur = out.setdefault(k, [0, {}])
                cur[0] += 1
                for s, v in sums.items():
                    cur[1][s] = cur[1].get(s, Decimal(0)) + v
        return out


_REGISTRY: dict[str, Declaration] = {}


def declare(
    collection: str,
    *,
    fields: Mapping[str, str],
    indexes: Iterable[Index] = (),
    q: Iterable[str] = (),
    pairs: Iterable[str] = (),
    aggregates: Iterable[Aggregate] = (),
    due: Due | None = None,
    counts: Iterable[str] = (),
    q_shared: Iterable[str] = (),
) -> Declaration:
    """Register what ``collection`` is queried by (see the module doc). Declare before a store
    opens (declarations live in :mod:`storage_adapter.declared`, imported with the package)."""
    from .base import check_collection, check_field

    check_collection(collection)
    for name, kind in fields.items():
        check_field(name)
        if kind not in KINDS:
            raise ValueError(f"{collection}.{name}: kind {kind!r} is not one of {KINDS}")
    indexes = tuple(indexes)
    for ix in indexes:
        for name in (*ix.eq, *([ix.sort] if ix.sort else [])):
            if name not in fields:
                raise ValueError(f"{collection}: index field {name!r} is not a declared field")
    q = tuple(q)
    for name in q:
        if fields.get(name) != TEXT:
            raise ValueError(f"{collection}: q field {name!r} must be a declared TEXT field")
    q_shared = tuple(q_shared)
    if not set(q_shared) <= set(q):
        raise ValueError(f"{collection}: q_shared {q_shared} must be q fields")
    decl = Declaration(
        collection,
        dict(fields),
        indexes,
        q,
        tuple(pairs),
        tuple(aggregates),
        due,
        tuple(counts),
        q_shared,
    )
    _REGISTRY[collection] = decl
    return decl


def declaration(collection: str) -> Declaration | None:
    return _REGISTRY.get(collection)


def declarations() -> list[Declaration]:
    return list(_REGISTRY.values())


# --- values as the indexes keep them -----------------------------------------------------------


def number(value: Any) -> Decimal | None:
    """A NUMBER field's value (``None`` when missing or not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def folded(value: Any) -> str | None:
    """How text sorts and ``contains`` compare (see ``base.sort_key``/``base.matches``)."""
    if value is None:
        return None
    return value.casefold() if isinstance(value, str) else str(value)


def scalar(value: Any) -> Any:
    """A field's stored value as an index column keeps it (structures are not indexed)."""
    if value is None or isinstance(value, str | int | float):
        return value
    return None


# --- planning ---------------------------------------------------------------------------------


@dataclass
class Plan:
    """How to answer a query from a declaration.

    ``index``: the chosen :class:`Index` (``None``: no index fits; the backend reads what its
    filters allow); ``eq``: the values of its equality prefix (one tuple per combination of
    ``in`` values); ``range``: filters on its sort field the index key serves; ``rest``:
    filters left to check per record; ``search``: the ``contains`` filter served by the q index.
    """

    index: Index | None
    eq: list[tuple[Any, ...]]
    rest: list[Any]
    search: Any = None
    range: list[Any] = field(default_factory=list)


def supported(decl: Declaration, f: Any) -> bool:
    """Whether a backend can evaluate filter ``f`` from the declared fields alone."""
    if f.op == "has":
        return f.field in decl.pairs
    if f.op == "contains":
        return all(decl.fields.get(n) == TEXT for n in f.fields())
    kind = decl.fields.get(f.field)
    if kind is None:
        return False
    if kind == NUMBER:  # numeric comparisons only (eq on a number field compares types)
        return f.op in ("gte", "lte", "gt", "lt") and isinstance(f.value, Decimal)
    if isinstance(f.value, Decimal):
        return False
    if f.op == "in":
        return all(v is not None and isinstance(v, str | int) for v in f.value)
    if f.op in ("eq", "ne"):
        return f.value is None or isinstance(f.value, str | int)
    return isinstance(f.value, str)


def covers(decl: Declaration | None, filters: Sequence[Any], sort: Any) -> bool:
    """Whether the declared indexes can answer ``filters``/``sort`` exactly."""
    if decl is None:
        return False
    kind = decl.fields.get(sort.field)
    if kind is None or (kind == NUMBER) != bool(sort.numeric):
        return False
    return all(supported(decl, f) for f in filters)


def plan(decl: Declaration, filters: Sequence[Any], sort: Any) -> Plan:
    """Choose the index with the longest equality prefix the filters fix (``eq`` or ``in`` of
    at most 10 values), preferring one sorted by ``sort``; the rest is checked per record."""
    fixed: dict[str, list[Any]] = {}
    for f in filters:
        if f.op == "eq" and f.value is not None and f.field not in fixed:
            fixed[f.field] = [f.value]
        elif f.op == "in" and 0 < len(f.value) <= 10 and f.field not in fixed:
            fixed[f.field] = list(dict.fromkeys(f.value))
    best: Index | None = None
    best_score = (-1, -1)
    for ix in decl.indexes:
        if not all(n in fixed for n in ix.eq):
            continue
        score = (1 if ix.sort == sort.field else 0, len(ix.eq))
        if score > best_score:
            best, best_score = ix, score
    if best is None:
        return Plan(None, [], list(filters))
    combos: list[tuple[Any, ...]] = [()]
    for n in best.eq:
        combos = [(*c, v) for c in combos for v in fixed[n]]
    used = set(best.eq)
    rest, rng = [], []
    search = None
    for f in filters:
        if f.field in used and f.op in ("eq", "in") and not f.also:
            used.discard(f.field)  # the first such filter is served by the key
            continue
        if f.op == "contains" and search is None and set(f.fields()) <= set(decl.q):
            search = f
        if (
            best.sort is not None
            and f.field == best.sort
            and f.op in ("gte", "lte", "gt", "lt")
            and best.sort == sort.field
        ):
            rng.append(f)
        rest.append(f)
    return Plan(best, combos, rest, search, rng)


# --- the reference implementation -------------------------------------------------------------


def brute_force(records: Iterable[Any], filters: Sequence[Any], sort: Any, limit, offset):
    """What every backend's query must answer: :func:`storage_adapter.base.select_page`."""
    from .base import select_page

    return select_page(records, filters, sort, limit, offset)


def aggregate_records(
    decl: Declaration, name: str, records: Iterable[Any], rng: tuple[str | None, str | None]
) -> list[tuple[str, tuple[Any, ...], int, dict[str, Decimal]]]:
    """What :meth:`Store.aggregate` must answer, computed from the records themselves."""
    agg = decl.aggregate(name)
    acc: dict[tuple[str, str], list] = {}
    lo, hi = rng
    for rec in records:
        for r, group, sums in agg.rows(rec.data):
            if (lo is not None and r < lo) or (hi is not None and r > hi):
                continue
            k = (r, json.dumps(list(group), separators=(",", ":")))
            cur = acc.setdefault(k, [0, {}])
            cur[0] += 1
            for s, v in sums.items():
                cur[1][s] = cur[1].get(s, Decimal(0)) + v
    return [(r, tuple(json.loads(g)), n, sums) for (r, g), (n, sums) in sorted(acc.items()) if n]


def due_records(decl: Declaration, records: Iterable[Any], up_to: str) -> list[Any]:
    """What :meth:`Store.due` must answer: records filed under a date ≤ ``up_to``, by (date,
    key)."""
    hits = []
    for rec in records:
        k = decl.due_key(rec.data)
        if k is not None and k <= up_to:
            hits.append((k, rec.key, rec))
    hits.sort(key=lambda t: (t[0], t[1]))
    return [t[2] for t in hits]
