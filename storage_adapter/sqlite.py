"""Local backend: one SQLite file (WAL, synchronous=FULL) plus a blob folder.

Transactions take SQLite's write lock up front (``BEGIN IMMEDIATE``), so a transaction function
sees a stable snapshot and never has to be retried: writers from any number of processes are
serialised by SQLite itself. A process killed mid-commit leaves the previous state, because
SQLite's WAL makes the commit atomic.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from . import sqlite_indexes as six
from .base import (
    Blob,
    Filter,
    Page,
    Record,
    Sort,
    Store,
    Transaction,
    VersionConflict,
    check_blob_key,
    check_collection,
    check_field,
    check_key,
    dumps,
)
from .indexes import covers, declaration

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL,
    key        TEXT NOT NULL,
    account_id TEXT,
    version    INTEGER NOT NULL,
    data       TEXT NOT NULL,
    scalars    TEXT NOT NULL,
    expires_at INTEGER,
    folded     TEXT,
    PRIMARY KEY (collection, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    stream TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS events_append_only_u BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_d BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""

_OPS = {"eq": "=", "ne": "!=", "gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}


# List queries read only this index (it covers every column they filter and sort on), so they
# never touch the large ``data`` column until the page's rows are fetched by key.
_LIST_INDEX = """
CREATE INDEX IF NOT EXISTS records_list
    ON records (collection, account_id, expires_at, scalars, folded);
"""


def _scalars(data: dict[str, Any]) -> str:
    """The top-level scalar fields, kept in a small column so list queries stay fast."""
    return dumps({k: v for k, v in data.items() if v is None or isinstance(v, str | int | bool)})


def _folded(data: dict[str, Any]) -> str:
    """Scalar fields as compared by text search and text sort (``base.matches``/``sort_key``):
    strings case-folded, other scalars as ``str``; ``None`` left out (sorts last)."""
    return dumps(
        {
            k: v.casefold() if isinstance(v, str) else str(v)
            for k, v in data.items()
            if v is not None and isinstance(v, str | int | bool)
        }
    )


class _SqliteTx(Transaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self._conn = conn

    def _read(self, collection: str, key: str) -> Record | None:
        return _row_to_record(
            self._conn.execute(
                "SELECT collection, key, account_id, version, data, expires_at FROM records "
                "WHERE collection = ? AND key = ?",
                (collection, key),
            ).fetchone()
        )

    def _read_counter(self, name: str) -> int:
        row = self._conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return row[0] if row else 0


def _row_to_record(row: tuple | None) -> Record | None:
    if row is None:
        return None
    collection, key, account_id, version, data, expires_at = row
    if expires_at is not None and expires_at <= time.time():
        return None
    return Record(collection, key, account_id, version, json.loads(data), expires_at)


class SqliteStore(Store):
    def __init__(self, db_path: str | os.PathLike, blob_dir: str | os.PathLike | None = None):
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.blob_dir = Path(blob_dir) if blob_dir else self.db_path.parent / "blobs"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._secret = self._load_secret()
        conn = self._conn()
        conn.executescript(_SCHEMA)
        conn.executescript(_LIST_INDEX)
        #: What opening the store built (a store written by an older version): see migrate.
        self.migrated = self.migrate()

    def migrate(self, *, force: bool = False) -> dict[str, int]:
        """Build the side tables of declared collections that lack them or are out of date
        (a store written by an older version); ``force``: rebuild every one. Returns
        ``{collection: records indexed}``. Idempotent; run on every open."""
        return six.migrate(self._conn(), force=force)

    # --- connections ------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.db_path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
            self._local.pid = os.getpid()
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- records ----------------------------------------------------------------------------
    def get(self, collection: str, key: str) -> Record | None:
        check_collection(collection)
        check_key(key)
        return _row_to_record(
            self._conn()
            .execute(
                "SELECT collection, key, account_id, version, data, expires_at FROM records "
                "WHERE collection = ? AND key = ?",
                (collection, key),
            )
            .fetchone()
        )

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
        decl = declaration(collection)
        sort = sort or Sort()
        check_field(sort.field)
        for f in filters:
            for name in f.fields():
                check_field(name)
        if covers(decl, filters, sort):
            return self._query_declared(decl, account_id, filters, sort, limit, offset)
        where = ["collection = ?", "(expires_at IS NULL OR expires_at > ?)"]
        args: list[Any] = [collection, int(time.time())]
        if account_id is not None:
            where.append("account_id = ?")
            args.append(account_id)
        for f in filters:
            for name in f.fields():
                check_field(name)
            col = f"json_extract(scalars, '$.{f.field}')"
            if f.op == "has":
                where.append(
                    "EXISTS (SELECT 1 FROM json_each(records.data, ?) AS m "
                    "WHERE m.key = ? AND m.value = ? AND m.type NOT IN ('object', 'array'))"
                )
                args.extend([f"$.{f.field}", f.value[0], f.value[1]])
            elif f.op == "contains":
                if not str(f.value):
                    continue  # the empty text is in every value, present or not
                parts = [f"instr(json_extract(folded, '$.{name}'), ?) > 0" for name in f.fields()]
                where.append("(" + " OR ".join(parts) + ")")
                args.extend([str(f.value).casefold()] * len(parts))
            elif f.op == "in":
                values = list(f.value)
                if not values:
                    where.append("0")
                    continue
                where.append(f"{col} IN ({','.join('?' * len(values))})")
                args.extend(values)
            elif f.op in ("eq", "ne"):  # IS / IS NOT: a missing field equals None, as in Python
                where.append(f"{col} {'IS' if f.op == 'eq' else 'IS NOT'} ?")
                args.append(f.value)
            elif isinstance(f.value, Decimal):
                where.append(f"CAST({col} AS REAL) {_OPS[f.op]} ?")
                args.append(float(f.value))
            else:
                where.append(f"{col} {_OPS[f.op]} ?")
                args.append(f.value)
        clause = " AND ".join(where)
        if sort.numeric:
            expr = f"CAST(json_extract(scalars, '$.{sort.field}') AS REAL)"
        else:
            expr = f"json_extract(folded, '$.{sort.field}')"
        direction = "DESC" if sort.descending else "ASC"
        # A selective filter leaves few rows: count them in the same pass (a window over the
        # sorted rows). Otherwise counting apart is cheaper, as the page then needs only a top-N
        # sort instead of sorting every row.
        one_pass = limit is not None and any(
            f.op in ("contains", "eq", "in", "has") for f in filters
        )
        sql = (
            f"SELECT key{', count(*) OVER ()' if one_pass else ''} "
            f"FROM records INDEXED BY records_list WHERE {clause} "
            f"ORDER BY {expr} IS NULL, {expr} {direction}, key {direction} LIMIT ? OFFSET ?"
        )
        count_sql = f"SELECT count(*) FROM records INDEXED BY records_list WHERE {clause}"
        conn = self._conn()
        own_snapshot = not conn.in_transaction
        if own_snapshot:  # the statements below read one snapshot
            conn.execute("BEGIN")
        try:
            # SQLite integers are 64-bit: a page number from the far end is simply past the end
            bounds = [-1 if limit is None else min(limit, 2**62), min(offset, 2**62)]
            found = conn.execute(sql, [*args, *bounds]).fetchall()
            if one_pass and found:
                total = found[0][1]
            elif limit is None and not offset:
                total = len(found)
            else:
                total = conn.execute(count_sql, args).fetchone()[0]
            page_keys = [row[0] for row in found]
            items = self._fetch(conn, collection, page_keys)
        finally:
            if own_snapshot:
                conn.execute("COMMIT")
        return Page(items, total)

    @staticmethod
    def _fetch(conn: sqlite3.Connection, collection: str, keys: list[str]) -> list[Record]:
        by_key: dict[str, Record] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = conn.execute(
                "SELECT collection, key, account_id, version, data, expires_at FROM records "
                f"WHERE collection = ? AND key IN ({','.join('?' * len(chunk))})",
                [collection, *chunk],
            ).fetchall()
            for rec in map(_row_to_record, rows):
                if rec is not None:
                    by_key[rec.key] = rec
        return [by_key[k] for k in keys if k in by_key]

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on one read snapshot."""
        conn = self._conn()
        own_snapshot = not conn.in_transaction
        if own_snapshot:
            conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            if own_snapshot:
                conn.execute("COMMIT")

    def _query_declared(self, decl, account_id, filters, sort, limit, offset) -> Page:
        def run(conn: sqlite3.Connection) -> Page:
            keys, total = six.query_keys(conn, decl, account_id, filters, sort, limit, offset)
            return Page(self._fetch(conn, decl.collection, keys), total)

        return self._read(run)

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
        return self._read(
            lambda conn: six.read_aggregate(
                conn, collection, name, account_id or "", range_from, range_to
            )
        )

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

        def run(conn: sqlite3.Connection) -> list[Record]:
            keys = six.due_keys(conn, decl, up_to, after, limit)
            return self._fetch(conn, collection, keys)

        return self._read(run)

    def count(self, collection: str, *, account_id: str | None, filters=()) -> int:
        """Records matching ``filters`` (without reading them)."""
        decl = declaration(collection)
        if covers(decl, filters, Sort(next(iter(decl.fields)) if decl else "created_at")):
            return self._read(lambda conn: six.count(conn, decl, account_id, filters))
        return self.query(collection, account_id=account_id, filters=filters, limit=0).total

    def transaction(self, fn: Callable[[Transaction], T], *, retries: int = 25) -> T:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            tx = _SqliteTx(conn)
            result = fn(tx)
            self._apply(conn, tx)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return result

    def _apply(self, conn: sqlite3.Connection, tx: _SqliteTx) -> None:
        staged = tx._staged
        for (collection, key), expected in staged.deletes.items():
            row = conn.execute(
                "SELECT version, data, account_id FROM records WHERE collection = ? AND key = ?",
                (collection, key),
            ).fetchone()
            if row is None or row[0] != expected:
                raise VersionConflict(collection, key, expected, row[0] if row else None)
            conn.execute("DELETE FROM records WHERE collection = ? AND key = ?", (collection, key))
            decl = declaration(collection)
            if decl is not None:
                six.apply_write(conn, decl, key, None, json.loads(row[1]), row[2], None, None)
        for (collection, key), (rec, expected) in staged.puts.items():
            decl = declaration(collection)
            row = conn.execute(
                "SELECT version, expires_at"
                + (", data, account_id" if decl is not None else "")
                + " FROM records WHERE collection = ? AND key = ?",
                (collection, key),
            ).fetchone()
            live = row is not None and (row[1] is None or row[1] > time.time())
            actual = row[0] if live else 0
            if expected is not None and actual != expected:
                raise VersionConflict(collection, key, expected, actual or None)
            version = (actual + 1) if expected is None else rec.version
            data = dumps(rec.data)
            conn.execute(
                "INSERT OR REPLACE INTO records "
                "(collection, key, account_id, version, data, scalars, folded, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    collection,
                    key,
                    rec.account_id,
                    version,
                    data,
                    _scalars(rec.data),
                    _folded(rec.data),
                    rec.expires_at,
                ),
            )
            if decl is not None:
                old = json.loads(row[2]) if row is not None else None
                six.apply_write(
                    conn,
                    decl,
                    key,
                    rec.account_id,
                    old,
                    row[3] if row is not None else None,
                    rec.data,
                    rec.expires_at,
                )
        for name, (_old, new) in staged.counters.items():
            conn.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, new),
            )
        next_seq: dict[str, int] = {}
        for stream, event in staged.events:
            if stream not in next_seq:
                row = conn.execute(
                    "SELECT max(seq) FROM events WHERE stream = ?", (stream,)
                ).fetchone()
                next_seq[stream] = (row[0] or 0) + 1
            conn.execute(
                "INSERT INTO events (stream, seq, data) VALUES (?, ?, ?)",
                (stream, next_seq[stream], dumps(event)),
            )
            next_seq[stream] += 1

    def bulk_load(
        self, collection: str, rows: Iterable[tuple[str, str | None, dict[str, Any]]]
    ) -> int:
        """Insert new records ``(key, account_id, data)`` (version 1) in one transaction and
        rebuild the collection's declared indexes once at the end — for benchmarks and imports
        of large histories; far faster than one ``put`` per record. Returns the rows added."""
        check_collection(collection)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            n = 0
            batch: list[tuple] = []
            sql = (
                "INSERT INTO records (collection, key, account_id, version, data, scalars, "
                "folded, expires_at) VALUES (?, ?, ?, 1, ?, ?, ?, NULL)"
            )
            for key, account_id, data in rows:
                check_key(key)
                batch.append(
                    (collection, key, account_id, dumps(data), _scalars(data), _folded(data))
                )
                if len(batch) >= 5000:
                    conn.executemany(sql, batch)
                    n += len(batch)
                    batch.clear()
            conn.executemany(sql, batch)
            n += len(batch)
            decl = declaration(collection)
            if decl is not None:
                six.rebuild(conn, decl)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return n

    # --- events and counters ---------------------------------------------------------------
    def events(self, stream: str) -> list[dict[str, Any]]:
        check_key(stream)
        rows = self._conn().execute(
            "SELECT data FROM events WHERE stream = ? ORDER BY seq", (stream,)
        )
        return [json.loads(r[0]) for r in rows]

    def counter_value(self, name: str) -> int:
        check_key(name)
        row = self._conn().execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return row[0] if row else 0

    # --- blobs ------------------------------------------------------------------------------
    def _blob_path(self, key: str) -> Path:
        path = (self.blob_dir / check_blob_key(key)).resolve()
        if not path.is_relative_to(self.blob_dir.resolve()):
            raise ValueError("blob key escapes the blob folder")
        return path

    def put_blob(self, key: str, data: bytes, content_type: str) -> None:
        path = self._blob_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        meta = path.with_name(path.name + ".meta")
        meta.write_text(json.dumps({"content_type": content_type}))
        os.replace(tmp, path)

    def get_blob(self, key: str) -> Blob | None:
        path = self._blob_path(key)
        if not path.is_file():
            return None
        meta = path.with_name(path.name + ".meta")
        ctype = "application/octet-stream"
        if meta.is_file():
            ctype = json.loads(meta.read_text()).get("content_type", ctype)
        return Blob(path.read_bytes(), ctype)

    def _load_secret(self) -> bytes:
        path = self.db_path.parent / "secret.key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            for _ in range(50):
                data = path.read_bytes()
                if len(data) == 32:
                    return data
                time.sleep(0.02)
            raise
        data = secrets.token_bytes(32)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return data

    def _signature(self, key: str, expires: int, filename: str) -> str:
        msg = f"{key}\n{expires}\n{filename}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def blob_url(self, key: str, *, filename: str, expires_in: int = 900) -> tuple[str, int]:
        check_blob_key(key)
        expires = int(time.time()) + expires_in
        query = urllib.parse.urlencode(
            {
                "expires": expires,
                "filename": filename,
                "sig": self._signature(key, expires, filename),
            }
        )
        base = os.environ.get("BILLOW_PUBLIC_URL", "").rstrip("/")
        return f"{base}/blobs/{urllib.parse.quote(key)}?{query}", expires

    def verify_blob_link(self, key: str, expires: str, filename: str, sig: str) -> bool:
        """Check a link made by :meth:`blob_url` (the local server serves ``/blobs/...``)."""
        try:
            exp = int(expires)
            check_blob_key(key)
        except (ValueError, TypeError):
            return False
        if exp < time.time():
            return False
        return hmac.compare_digest(self._signature(key, exp, filename), sig)
