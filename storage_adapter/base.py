"""The one door to persistence: records, event streams, counters and blobs.

Every backend implements :class:`Store`. Writes happen inside :meth:`Store.transaction`, which
runs a function against a :class:`Transaction` and commits everything it staged at once — or
nothing. A transaction function may be run more than once (optimistic backends retry when another
writer got there first), so it must not have side effects outside the transaction.

Records are JSON documents addressed by ``(collection, key)``; each carries the account it belongs
to and a ``version`` that grows by one on every write. A write names the version it expects
(``0`` = must not exist yet) and fails with :class:`VersionConflict` otherwise.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeVar

T = TypeVar("T")

_COLLECTION_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FIELD_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
_BLOB_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=-]{0,127}$")
_MAX_KEY = 512


class StoreError(Exception):
    """Base class of storage errors."""


class VersionConflict(StoreError):
    """Another writer changed the record first (or it exists when it must not)."""

    def __init__(self, collection: str, key: str, expected: int | None, actual: int | None):
        super().__init__(
            f"{collection}/{key}: expected version {expected}, found {actual if actual else 'none'}"
        )
        self.collection = collection
        self.key = key
        self.expected = expected
        self.actual = actual


class TransactionAborted(StoreError):
    """Optimistic retries were exhausted (sustained contention)."""


class InvalidKey(StoreError, ValueError):
    """A collection, key, field or blob name that is not allowed."""


@dataclass(frozen=True)
class Record:
    collection: str
    key: str
    account_id: str | None
    version: int
    data: dict[str, Any]
    expires_at: int | None = None


@dataclass(frozen=True)
class Blob:
    data: bytes
    content_type: str


@dataclass(frozen=True)
class Filter:
    """A condition on a top-level field of a record's data.

    ``op``: ``eq``, ``ne``, ``in`` (value is a list), ``gte``/``lte``/``gt``/``lt`` (compared as
    decimal numbers when ``value`` is a :class:`~decimal.Decimal`, else as strings — ISO dates
    order correctly as strings), and ``contains``: case-insensitive substring over ``field`` and
    any ``also`` fields (true when any of them contains it); ``has``: ``value`` is a
    ``(key, value)`` pair the map in ``field`` holds (``metadata`` filters).
    """

    field: str
    op: Literal["eq", "ne", "in", "gte", "lte", "gt", "lt", "contains", "has"]
    value: Any
    also: tuple[str, ...] = ()

    def fields(self) -> tuple[str, ...]:
        return (self.field, *self.also)


@dataclass(frozen=True)
class Sort:
    field: str = "created_at"
    descending: bool = True
    numeric: bool = False


@dataclass
class Page:
    items: list[Record]
    total: int


@dataclass
class _Staged:
    puts: dict[tuple[str, str], tuple[Record, int | None]] = field(default_factory=dict)
    deletes: dict[tuple[str, str], int] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    counters: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (old, new)


class Transaction(ABC):
    """Reads and staged writes of one atomic commit."""

    def __init__(self) -> None:
        self._staged = _Staged()

    @abstractmethod
    def _read(self, collection: str, key: str) -> Record | None: ...

    @abstractmethod
    def _read_counter(self, name: str) -> int: ...

    def get(self, collection: str, key: str) -> Record | None:
        """The record as this transaction sees it (including its own staged writes)."""
        check_collection(collection)
        check_key(key)
        k = (collection, key)
        if k in self._staged.deletes:
            return None
        if k in self._staged.puts:
            return self._staged.puts[k][0]
        return self._read(collection, key)

    def put(
        self,
        collection: str,
        key: str,
        data: dict[str, Any],
        *,
        account_id: str | None,
        expected_version: int | None,
        expires_at: int | None = None,
    ) -> Record:
        """Stage a write. ``expected_version``: 0 = create only, N = update of version N,
        ``None`` = blind write (last writer wins; for caches and rate-limit buckets only)."""
        check_collection(collection)
        check_key(key)
        k = (collection, key)
        if k in self._staged.puts:  # second write to the same record in one transaction
            prev, first_expected = self._staged.puts[k]
            if expected_version is not None and expected_version != prev.version:
                raise VersionConflict(collection, key, expected_version, prev.version)
            rec = Record(
                collection, key, account_id, prev.version + 1, to_jsonable(data), expires_at
            )
            self._staged.puts[k] = (rec, first_expected)
            return rec
        if expected_version is None:
            current = self._read(collection, key)
            base = current.version if current else 0
        else:
            base = expected_version
        rec = Record(collection, key, account_id, base + 1, to_jsonable(data), expires_at)
        self._staged.puts[k] = (rec, expected_version)
        return rec

    def delete(self, collection: str, key: str, *, expected_version: int) -> None:
        check_collection(collection)
        check_key(key)
        self._staged.puts.pop((collection, key), None)
        self._staged.deletes[(collection, key)] = expected_version

    def append(self, stream: str, event: dict[str, Any]) -> None:
        """Append an event to a stream (e.g. an invoice's timeline). Never rewritten."""
        check_key(stream)
        self._staged.events.append((stream, to_jsonable(event)))

    def next_number(self, counter: str, *, start: int = 1) -> int:
        """The next number of a series, committed together with the rest of the transaction.

        The number is ``max(current + 1, start)``; it is used only if the commit succeeds, so a
        failed or retried transaction leaves no gap.
        """
        check_key(counter)
        if counter in self._staged.counters:
            old, new = self._staged.counters[counter]
        else:
            old = self._read_counter(counter)
            new = old
        nxt = max(new + 1, start)
        self._staged.counters[counter] = (old, nxt)
        return nxt


class Store(ABC):
    """Backend-neutral persistence port."""

    #: Most items one transaction may stage (records written or read, events, counters);
    #: ``None``: no limit. Batch jobs size their transactions by it.
    max_transaction_items: int | None = None

    # --- records -----------------------------------------------------------------------
    @abstractmethod
    def get(self, collection: str, key: str) -> Record | None: ...

    @abstractmethod
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
        """Records of one collection and account (``None``: every account — system jobs only)."""

    @abstractmethod
    def transaction(self, fn: Callable[[Transaction], T], *, retries: int = 25) -> T:
        """Run ``fn`` and commit what it staged atomically; retried on optimistic conflicts.

        A :class:`VersionConflict` raised because the caller's *expected* version was stale
        propagates after retries are exhausted or when it comes from ``fn`` itself.
        """

    def put(
        self,
        collection: str,
        key: str,
        data: dict[str, Any],
        *,
        account_id: str | None,
        expected_version: int | None,
        expires_at: int | None = None,
    ) -> Record:
        """One-record write. A stale ``expected_version`` is the caller's conflict (no retry);
        a blind write only races with other writers, so it is retried."""
        return self.transaction(
            lambda tx: tx.put(
                collection,
                key,
                data,
                account_id=account_id,
                expected_version=expected_version,
                expires_at=expires_at,
            ),
            retries=25 if expected_version is None else 0,
        )

    # --- declared aggregates and due dates (see storage_adapter.indexes) ---------------------
    def aggregate_reads(self, account_id: str) -> AbstractContextManager[None]:
        """Several :meth:`aggregate` reads of one account that may share the work of bringing
        its aggregates up to date (one search reads up to 16 ranges). A backend that keeps
        them in the commit has nothing to share."""
        return nullcontext()

    def aggregate(
        self,
        collection: str,
        name: str,
        *,
        account_id: str,
        range_from: str | None = None,
        range_to: str | None = None,
    ) -> list[tuple[str, tuple[Any, ...], int, dict[str, Decimal]]]:
        """The declared aggregate ``name`` of one account: ``(range_key, group, count, sums)``
        for every row with ``range_from <= range_key <= range_to``, ordered by range key and
        group. This default computes it from the records; backends keep it per commit."""
        from .indexes import aggregate_records, declaration

        decl = declaration(collection)
        if decl is None:
            raise KeyError(f"{collection} declares no aggregates")
        recs = self.query(collection, account_id=account_id).items
        return aggregate_records(decl, name, recs, (range_from, range_to))

    def due(
        self,
        collection: str,
        *,
        up_to: str,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        """Records of every account in the collection's declared due index filed under a date
        ``<= up_to``, ordered by ``(date, key)``, starting after the cursor ``after``
        (``(date, key)`` of the last record of the previous page). This default reads every
        record; backends read the sparse index."""
        from .indexes import declaration, due_records

        decl = declaration(collection)
        if decl is None or decl.due is None:
            raise KeyError(f"{collection} declares no due index")
        hits = due_records(decl, self.query(collection, account_id=None).items, up_to)
        if after is not None:
            hits = [r for r in hits if (decl.due_key(r.data), r.key) > after]
        return hits if limit is None else hits[:limit]

    # --- events and counters ----------------------------------------------------------------
    @abstractmethod
    def events(self, stream: str) -> list[dict[str, Any]]:
        """A stream's events, oldest first."""

    @abstractmethod
    def counter_value(self, name: str) -> int:
        """The last number handed out (0 when none)."""

    # --- blobs ------------------------------------------------------------------------------
    @abstractmethod
    def put_blob(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    def get_blob(self, key: str) -> Blob | None: ...

    @abstractmethod
    def blob_url(self, key: str, *, filename: str, expires_in: int = 900) -> tuple[str, int]:
        """A signed link that downloads the blob as an attachment; returns ``(url, expires_at)``."""

    def migrate(self, *, force: bool = False) -> dict[str, int]:
        """Upgrade the store in place for the declared indexes (``billow migrate``): build what
        a store written by an older version lacks; ``force``: rebuild all. Returns
        ``{collection: records indexed}``; ``{}`` when nothing was to do."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


# --- helpers shared by backends ----------------------------------------------------------------


def check_collection(name: str) -> str:
    if not isinstance(name, str) or not _COLLECTION_RE.match(name):
        raise InvalidKey(f"invalid collection name {name!r}")
    return name


def check_key(key: str) -> str:
    if (
        not isinstance(key, str)
        or not key
        or len(key) > _MAX_KEY
        or any(ord(c) < 32 or ord(c) == 127 for c in key)
    ):
        raise InvalidKey(f"invalid key {key!r}")
    return key


def check_field(name: str) -> str:
    if not isinstance(name, str) or not _FIELD_RE.match(name):
        raise InvalidKey(f"invalid field name {name!r}")
    return name


def check_blob_key(key: str) -> str:
    """Blob keys become paths: only plain segments joined by ``/`` (no ``..``, no ``//``)."""
    if not isinstance(key, str) or len(key) > _MAX_KEY:
        raise InvalidKey(f"invalid blob key {key!r}")
    parts = key.split("/")
    if not all(_BLOB_SEGMENT_RE.match(p) and p not in {".", ".."} for p in parts):
        raise InvalidKey(f"invalid blob key {key!r}")
    return key


def to_jsonable(data: Any) -> Any:
    """Deep copy into JSON types; Decimals become strings (never floats)."""
    return json.loads(dumps(data))


def dumps(data: Any) -> str:
    return json.dumps(data, default=_default, separators=(",", ":"), ensure_ascii=False)


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return format(o, "f")
    if hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def matches(data: dict[str, Any], filters: Iterable[Filter]) -> bool:
    """Reference implementation of :class:`Filter` semantics (used by backends that filter in
    Python, and by the contract tests)."""
    for f in filters:
        if f.op == "contains":
            needle = str(f.value).casefold()
            if not any(needle in str(data.get(fl) or "").casefold() for fl in f.fields()):
                return False
            continue
        v = data.get(f.field)
        if f.op == "has":
            k, want = f.value
            if not (isinstance(v, dict) and k in v and v[k] == want):
                return False
            continue
        if f.op == "eq":
            ok = v == f.value
        elif f.op == "ne":
            ok = v != f.value
        elif f.op == "in":
            ok = v in f.value
        else:
            if v is None:
                return False
            if isinstance(f.value, Decimal):
                try:
                    a, b = Decimal(str(v)), f.value
                except ArithmeticError:
                    return False
            else:
                a, b = str(v), str(f.value)
            ok = {"gte": a >= b, "lte": a <= b, "gt": a > b, "lt": a < b}[f.op]
        if not ok:
            return False
    return True


def sort_key(sort: Sort) -> Callable[[Record], Any]:
    def key(rec: Record) -> Any:
        v = rec.data.get(sort.field)
        if sort.numeric:
            try:
                return (v is None, Decimal(str(v)) if v is not None else Decimal(0), rec.key)
            except ArithmeticError:
                return (True, Decimal(0), rec.key)
        if isinstance(v, str):
            return (v is None, v.casefold(), rec.key)
        return (v is None, "" if v is None else str(v), rec.key)

    return key


def select_page(
    records: Iterable[Record],
    filters: Sequence[Filter] = (),
    sort: Sort | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Page:
    """Filter, sort and page records in Python with the same result as the SQLite backend.

    Records whose sort field is missing come last in either direction; ties are broken by key
    in the sort direction.
    """
    sort = sort or Sort()
    check_field(sort.field)
    for f in filters:
        for name in f.fields():
            check_field(name)
    hits = [r for r in records if matches(r.data, filters)]
    key = sort_key(sort)
    present: list[tuple[Any, Record]] = []
    missing: list[Record] = []
    for rec in hits:
        k = key(rec)
        if k[0]:
            missing.append(rec)
        else:
            present.append((k, rec))
    present.sort(key=lambda kr: kr[0], reverse=sort.descending)
    missing.sort(key=lambda r: r.key, reverse=sort.descending)
    ordered = [r for _, r in present] + missing
    end = None if limit is None else offset + limit
    return Page(ordered[offset:end], len(hits))
