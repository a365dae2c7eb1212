"""SQLite side tables for declared collections (see :mod:`storage_adapter.indexes`).

Per declared collection ``C``:

- ``ix_C``: one row per record (``rid`` integer key, ``key``, ``account_id``, ``expires_at``,
  ``due``) with a column per declared field: ``c_<field>`` as stored (REAL for NUMBER fields)
  and, for TEXT fields, ``f_<field>`` case-folded (how text sorts and is searched). One B-tree
  per declared :class:`~storage_adapter.indexes.Index` on ``(account_id, *eq, sort, key)`` and
  a partial index on ``(due, key)`` (only records in the due index have ``due``).
- ``fts_C``: FTS5 with the trigram tokenizer over the case-folded ``q`` fields (``rowid`` =
  ``rid``), for substring search of three characters or more.
- ``ixp_C``: ``(field, k, v, rid)`` for the pairs of the declared map fields (``has``).

Shared: ``aggregates`` (``collection, name, account_id, r, g`` → ``n``, ``sums`` as JSON of
decimal strings) and ``schema_meta`` (``ix:C`` → the declaration's signature).

Every record write updates these in the same transaction (:func:`apply_write`). On open, a
collection whose stored signature differs from its declaration (a store written before the
declaration existed, or before it changed) is rebuilt from the ``records`` table
(:func:`migrate`), under SQLite's write lock so concurrent openers build it once.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from .base import Filter, Sort
from .indexes import (
    COUNT,
    NUMBER,
    TEXT,
    Declaration,
    declarations,
    folded,
    number,
    scalar,
)

STORE_VERSION = "2"

_META = """
CREATE TABLE IF NOT EXISTS schema_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aggregates (
    collection TEXT NOT NULL,
    name       TEXT NOT NULL,
    account_id TEXT NOT NULL,
    r          TEXT NOT NULL,
    g          TEXT NOT NULL,
    n          INTEGER NOT NULL,
    sums       TEXT NOT NULL,
    PRIMARY KEY (collection, name, account_id, r, g)
) WITHOUT ROWID;
"""
_OPS = {"gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}


def _cols(decl: Declaration) -> list[str]:
    cols = []
    for name, kind in decl.fields.items():
        cols.append(f"c_{name}")
        if kind == TEXT:
            cols.append(f"f_{name}")
    return cols


def _sort_col(decl: Declaration, name: str) -> str:
    return f"f_{name}" if decl.fields[name] == TEXT else f"c_{name}"


def _values(decl: Declaration, data: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for name, kind in decl.fields.items():
        v = data.get(name)
        if kind == NUMBER:
            d = number(v)
            out.append(None if d is None else float(d))
        else:
            s = scalar(v)
            out.append(s)
            if kind == TEXT:
                out.append(folded(s))
    return out


def _q_values(decl: Declaration, data: dict[str, Any]) -> list[str]:
    return [folded(scalar(data.get(n))) or "" for n in decl.q]


def _pairs(decl: Declaration, data: dict[str, Any]) -> list[tuple[str, str, Any]]:
    out = []
    for name in decl.pairs:
        m = data.get(name)
        if isinstance(m, dict):
            for k, v in m.items():
                if isinstance(v, str | int | float) and not isinstance(v, bool):
                    out.append((name, str(k), v))
    return out


def create_meta(conn: sqlite3.Connection) -> None:
    conn.executescript(_META)


def _create(conn: sqlite3.Connection, decl: Declaration, *, with_indexes: bool = True) -> None:
    c = decl.collection
    cols = ", ".join(f"{col}" for col in _cols(decl))
    conn.execute(
        f"CREATE TABLE ix_{c} (rid INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, "
        f"account_id TEXT, expires_at INTEGER, due TEXT, {cols})"
    )
    if decl.q:
        conn.execute(
            f"CREATE VIRTUAL TABLE fts_{c} USING fts5({', '.join(decl.q)}, "
            "tokenize='trigram case_sensitive 1')"
        )
    if decl.pairs:
        conn.execute(
            f"CREATE TABLE ixp_{c} (field TEXT NOT NULL, k TEXT NOT NULL, v, rid INTEGER NOT NULL,"
            " PRIMARY KEY (field, k, v, rid)) WITHOUT ROWID"
        )
    if with_indexes:
        _create_indexes(conn, decl)


def _create_indexes(conn: sqlite3.Connection, decl: Declaration) -> None:
    c = decl.collection
    for ix in decl.indexes:
        cols = [f"c_{n}" for n in ix.eq]
        if ix.sort:
            cols.append(_sort_col(decl, ix.sort))
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS ix_{c}__{ix.name} ON ix_{c} "
            f"(account_id, {', '.join([*cols, 'key'])})"
        )
    if decl.due is not None:
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS ix_{c}___due ON ix_{c} (due, key) WHERE due IS NOT NULL"
        )
    if decl.pairs:
        conn.execute(f"CREATE INDEX IF NOT EXISTS ixp_{c}__rid ON ixp_{c} (rid)")


def _drop(conn: sqlite3.Connection, collection: str) -> None:
    conn.execute(f"DROP TABLE IF EXISTS ix_{collection}")
    conn.execute(f"DROP TABLE IF EXISTS fts_{collection}")
    conn.execute(f"DROP TABLE IF EXISTS ixp_{collection}")
    conn.execute("DELETE FROM aggregates WHERE collection = ?", (collection,))


def stale(conn: sqlite3.Connection) -> list[Declaration]:
    """The declared collections whose side tables are missing or out of date."""
    have = dict(conn.execute("SELECT name, value FROM schema_meta").fetchall())
    return [d for d in declarations() if have.get(f"ix:{d.collection}") != d.signature]


def migrate(conn: sqlite3.Connection, *, force: bool = False) -> dict[str, int]:
    """Build (or rebuild) the side tables of every stale declared collection from its records;
    returns ``{collection: records indexed}``. Runs in one write transaction per collection."""
    create_meta(conn)
    done: dict[str, int] = {}
    for decl in declarations() if force else stale(conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if force or decl in stale(conn):  # another process may have built it meanwhile
                done[decl.collection] = rebuild(conn, decl)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    conn.execute(
        "INSERT OR REPLACE INTO schema_meta (name, value) VALUES ('store_version', ?)",
        (STORE_VERSION,),
    )
    return done


def rebuild(conn: sqlite3.Connection, decl: Declaration) -> int:
    """Drop and refill the collection's side tables from ``records`` (inside a transaction)."""
    c = decl.collection
    _drop(conn, c)
    _create(conn, decl, with_indexes=False)
    cols = ["key", "account_id", "expires_at", "due", *_cols(decl)]
    ins = f"INSERT INTO ix_{c} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    fts = (
        f"INSERT INTO fts_{c} (rowid, {', '.join(decl.q)}) VALUES (?{', ?' * len(decl.q)})"
        if decl.q
        else None
    )
    pairs = f"INSERT OR IGNORE INTO ixp_{c} (field, k, v, rid) VALUES (?, ?, ?, ?)"
    aggs: dict[tuple[str, str, str, str], list] = {}
    count = 0
    rows = conn.execute(
        "SELECT key, account_id, data, expires_at FROM records WHERE collection = ?", (c,)
    )
    batch: list[tuple] = []
    fts_batch: list[tuple] = []
    pair_batch: list[tuple] = []

    def flush() -> None:
        conn.executemany(ins, batch)
        if fts:
            conn.executemany(fts, fts_batch)
        if pair_batch:
            conn.executemany(pairs, pair_batch)
        batch.clear()
        fts_batch.clear()
        pair_batch.clear()

    for rid, (key, account_id, raw, expires_at) in enumerate(rows, start=1):
        data = json.loads(raw)
        count += 1
        batch.append((key, account_id, expires_at, decl.due_key(data), *_values(decl, data)))
        if fts:
            fts_batch.append((rid, *_q_values(decl, data)))
        pair_batch.extend((f, k, v, rid) for f, k, v in _pairs(decl, data))
        for (name, r, g), (n, sums) in decl.agg_rows(data).items():
            cur = aggs.setdefault((name, account_id or "", r, g), [0, {}])
            cur[0] += n
            for s, v in sums.items():
                cur[1][s] = cur[1].get(s, Decimal(0)) + v
        if len(batch) >= 5000:
            flush()
    flush()
    # rids were handed out in insertion order: the ix table's rowids are 1..count as well
    _create_indexes(conn, decl)
    conn.executemany(
        "INSERT INTO aggregates (collection, name, account_id, r, g, n, sums) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (c, name, acct, r, g, n, _dump_sums(sums))
            for (name, acct, r, g), (n, sums) in aggs.items()
        ],
    )
    conn.execute(
        "INSERT OR REPLACE INTO schema_meta (name, value) VALUES (?, ?)",
        (f"ix:{c}", decl.signature),
    )
    conn.execute(f"ANALYZE ix_{c}")
    return count


def _dump_sums(sums: dict[str, Decimal]) -> str:
    return json.dumps({k: format(v, "f") for k, v in sorted(sums.items())})


# --- writes -----------------------------------------------------------------------------------


def apply_write(
    conn: sqlite3.Connection,
    decl: Declaration,
    key: str,
    account_id: str | None,
    old: dict[str, Any] | None,
    old_account: str | None,
    new: dict[str, Any] | None,
    expires_at: int | None,
) -> None:
    """Keep ``decl``'s side tables in step with one record write (``new`` None: deleted)."""
    c = decl.collection
    row = conn.execute(f"SELECT rid FROM ix_{c} WHERE key = ?", (key,)).fetchone()
    rid = row[0] if row else None
    if new is None:
        if rid is not None:
            conn.execute(f"DELETE FROM ix_{c} WHERE rid = ?", (rid,))
            if decl.q:
                conn.execute(f"DELETE FROM fts_{c} WHERE rowid = ?", (rid,))
            if decl.pairs:
                conn.execute(f"DELETE FROM ixp_{c} WHERE rid = ?", (rid,))
    else:
        cols = ["account_id", "expires_at", "due", *_cols(decl)]
        vals = [account_id, expires_at, decl.due_key(new), *_values(decl, new)]
        if rid is None:
            cur = conn.execute(
                f"INSERT INTO ix_{c} (key, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})",
                [key, *vals],
            )
            rid = cur.lastrowid
        else:
            conn.execute(
                f"UPDATE ix_{c} SET {', '.join(f'{col} = ?' for col in cols)} WHERE rid = ?",
                [*vals, rid],
            )
        if decl.q:
            q_new = _q_values(decl, new)
            if row is None or old is None or _q_values(decl, old) != q_new:
                if row is not None:
                    conn.execute(f"DELETE FROM fts_{c} WHERE rowid = ?", (rid,))
                conn.execute(
                    f"INSERT INTO fts_{c} (rowid, {', '.join(decl.q)}) "
                    f"VALUES (?{', ?' * len(decl.q)})",
                    [rid, *q_new],
                )
        if decl.pairs:
            p_new = _pairs(decl, new)
            if row is None or old is None or _pairs(decl, old) != p_new:
                if row is not None:
                    conn.execute(f"DELETE FROM ixp_{c} WHERE rid = ?", (rid,))
                conn.executemany(
                    f"INSERT OR IGNORE INTO ixp_{c} (field, k, v, rid) VALUES (?, ?, ?, ?)",
                    [(f, k, v, rid) for f, k, v in p_new],
                )
    _apply_aggregates(conn, decl, old, old_account, new, account_id)


def _apply_aggregates(
    conn: sqlite3.Connection,
    decl: Declaration,
    old: dict[str, Any] | None,
    old_account: str | None,
    new: dict[str, Any] | None,
    account_id: str | None,
) -> None:
    if not decl.all_aggregates:
        return
    delta: dict[tuple[str, str, str, str], list] = {}
    for data, acct, sign in ((old, old_account, -1), (new, account_id, 1)):
        for (name, r, g), (n, sums) in decl.agg_rows(data).items():
            cur = delta.setdefault((name, acct or "", r, g), [0, {}])
            cur[0] += sign * n
            for s, v in sums.items():
                cur[1][s] = cur[1].get(s, Decimal(0)) + sign * v
    c = decl.collection
    for (name, acct, r, g), (n, sums) in delta.items():
        if n == 0 and not any(sums.values()):
            continue
        row = conn.execute(
            "SELECT n, sums FROM aggregates WHERE collection = ? AND name = ? AND account_id = ? "
            "AND r = ? AND g = ?",
            (c, name, acct, r, g),
        ).fetchone()
        total_n = n + (row[0] if row else 0)
        total = {k: Decimal(v) for k, v in json.loads(row[1]).items()} if row else {}
        for s, v in sums.items():
            total[s] = total.get(s, Decimal(0)) + v
        if total_n <= 0:
            conn.execute(
                "DELETE FROM aggregates WHERE collection = ? AND name = ? AND account_id = ? "
                "AND r = ? AND g = ?",
                (c, name, acct, r, g),
            )
        else:
            conn.execute(
                "INSERT OR REPLACE INTO aggregates (collection, name, account_id, r, g, n, sums) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (c, name, acct, r, g, total_n, _dump_sums(total)),
            )


# --- reads ------------------------------------------------------------------------------------


def read_aggregate(
    conn: sqlite3.Connection,
    collection: str,
    name: str,
    account_id: str,
    range_from: str | None,
    range_to: str | None,
) -> list[tuple[str, tuple[Any, ...], int, dict[str, Decimal]]]:
    sql = (
        "SELECT r, g, n, sums FROM aggregates WHERE collection = ? AND name = ? AND account_id = ?"
    )
    args: list[Any] = [collection, name, account_id]
    if range_from is not None:
        sql += " AND r >= ?"
        args.append(range_from)
    if range_to is not None:
        sql += " AND r <= ?"
        args.append(range_to)
    return [
        (r, tuple(json.loads(g)), n, {k: Decimal(v) for k, v in json.loads(sums).items()})
        for r, g, n, sums in conn.execute(sql + " ORDER BY r, g", args)
    ]


def _fts_query(fields: Sequence[str], needle: str) -> str:
    return "{" + " ".join(fields) + "} : " + '"' + needle.replace('"', '""') + '"'


def _where(
    decl: Declaration, account_id: str | None, filters: Sequence[Filter]
) -> tuple[list[str], list[Any]]:
    c = decl.collection
    where = ["(x.expires_at IS NULL OR x.expires_at > ?)"]
    args: list[Any] = [int(time.time())]
    if account_id is not None:
        where.append("x.account_id = ?")
        args.append(account_id)
    for f in filters:
        col = f"x.c_{f.field}"
        if f.op == "contains":
            needle = str(f.value).casefold()
            if not needle:
                continue
            if len(needle) >= 3 and set(f.fields()) <= set(decl.q):
                where.append(f"x.rid IN (SELECT rowid FROM fts_{c} WHERE fts_{c} MATCH ?)")
                args.append(_fts_query(f.fields(), needle))
            else:
                parts = [f"instr(x.f_{n}, ?) > 0" for n in f.fields()]
                where.append("(" + " OR ".join(parts) + ")")
                args.extend([needle] * len(parts))
        elif f.op == "has":
            k, v = f.value
            where.append(f"x.rid IN (SELECT rid FROM ixp_{c} WHERE field = ? AND k = ? AND v = ?)")
            args.extend([f.field, k, v])
        elif f.op == "in":
            values = list(f.value)
            if not values:
                where.append("0")
                continue
            where.append(f"{col} IN ({','.join('?' * len(values))})")
            args.extend(values)
        elif f.op in ("eq", "ne"):
            where.append(f"{col} {'IS' if f.op == 'eq' else 'IS NOT'} ?")
            args.append(f.value)
        elif isinstance(f.value, Decimal):
            where.append(f"{col} {_OPS[f.op]} ?")
            args.append(float(f.value))
        else:
            where.append(f"{col} {_OPS[f.op]} ?")
            args.append(f.value)
    return where, args


def query_keys(
    conn: sqlite3.Connection,
    decl: Declaration,
    account_id: str | None,
    filters: Sequence[Filter],
    sort: Sort,
    limit: int | None,
    offset: int,
) -> tuple[list[str], int]:
    """The page's keys and the exact number of matches (inside the caller's read snapshot)."""
    c = decl.collection
    where, args = _where(decl, account_id, filters)
    clause = " AND ".join(where)
    col = f"x.{_sort_col(decl, sort.field)}"
    lim = -1 if limit is None else min(limit, 2**62)
    off = min(offset, 2**62)
    if sort.descending:  # NULL is the smallest value: last when descending, as required
        keys = [
            r[0]
            for r in conn.execute(
                f"SELECT x.key FROM ix_{c} x WHERE {clause} "
                f"ORDER BY {col} DESC, x.key DESC LIMIT ? OFFSET ?",
                [*args, lim, off],
            )
        ]
    else:  # ascending with missing values last: the present ones, then the missing ones
        keys = [
            r[0]
            for r in conn.execute(
                f"SELECT x.key FROM ix_{c} x WHERE {clause} AND {col} IS NOT NULL "
                f"ORDER BY {col}, x.key LIMIT ? OFFSET ?",
                [*args, lim, off],
            )
        ]
        if limit is None or len(keys) < limit:
            if keys or off == 0:
                off2 = 0
            else:
                present = conn.execute(
                    f"SELECT count(*) FROM ix_{c} x WHERE {clause} AND {col} IS NOT NULL", args
                ).fetchone()[0]
                off2 = max(0, off - present)
            lim2 = -1 if limit is None else limit - len(keys)
            keys += [
                r[0]
                for r in conn.execute(
                    f"SELECT x.key FROM ix_{c} x WHERE {clause} AND {col} IS NULL "
                    "ORDER BY x.key LIMIT ? OFFSET ?",
                    [*args, lim2, off2],
                )
            ]
    if limit is None and not offset:
        return keys, len(keys)
    if limit is not None and offset == 0 and len(keys) < limit:
        return keys, len(keys)
    return keys, count(conn, decl, account_id, filters, where=(clause, args))


def count(
    conn: sqlite3.Connection,
    decl: Declaration,
    account_id: str | None,
    filters: Sequence[Filter],
    *,
    where: tuple[str, list[Any]] | None = None,
) -> int:
    """Exact matches: from the ``_count`` aggregate when the filters allow, else counted."""
    by = decl.count_from(filters) if account_id is not None else None
    if by is not None:
        total = 0
        for _r, g, n in conn.execute(
            "SELECT r, g, n FROM aggregates WHERE collection = ? AND name = ? AND account_id = ?",
            (decl.collection, COUNT, account_id),
        ):
            group = json.loads(g)
            if all(group[i] in values for i, values in by):
                total += n
        return total
    if where is None:
        w, args = _where(decl, account_id, filters)
        where = (" AND ".join(w), args)
    clause, args = where
    return conn.execute(
        f"SELECT count(*) FROM ix_{decl.collection} x WHERE {clause}", args
    ).fetchone()[0]


def due_keys(
    conn: sqlite3.Connection,
    decl: Declaration,
    up_to: str,
    after: tuple[str, str] | None,
    limit: int | None,
) -> list[str]:
    c = decl.collection
    sql = f"SELECT key FROM ix_{c} WHERE due IS NOT NULL AND due <= ?"
    args: list[Any] = [up_to]
    if after is not None:
        sql += " AND (due > ? OR (due = ? AND key > ?))"
        args.extend([after[0], after[0], after[1]])
    sql += " ORDER BY due, key LIMIT ?"
    args.append(-1 if limit is None else limit)
    return [r[0] for r in conn.execute(sql, args)]
