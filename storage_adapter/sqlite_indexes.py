"""SQLite side tables for declared collections (see :mod:`storage_adapter.indexes`).

Per declared collection ``C``:

- ``ix_C``: one row per record (``rid`` integer key, ``key``, ``account_id``, ``expires_at``,
  ``due``) with a column per declared field: ``c_<field>`` as stored (REAL for NUMBER fields)
  and, for TEXT fields, ``f_<field>`` case-folded (how text sorts and is searched). One B-tree
  per declared :class:`~storage_adapter.indexes.Index` on ``(account_id, *eq, sort, key)`` and
  a partial index on ``(due, key)`` (only records in the due index have ``due``).
- ``fts_C``: FTS5 with the trigram tokenizer over the case-folded ``q`` fields (``rowid`` =
  ``rid``), for substring search of three characters or more; without the ``q_shared`` ones.
- ``ixp_C``: ``(field, k, v, rid)`` for the pairs of the declared map fields (``has``).
- With ``q_shared`` fields: ``ixv_C`` (``vid``, ``account_id``, ``combo``: the JSON list of a
  record's case-folded ``q_shared`` values, ``n``: records with it), ``ftsv_C`` (FTS5 trigram
  over the combinations, ``rowid`` = ``vid``) and a column ``qv`` (the record's ``vid``) with
  one B-tree per equality prefix on ``(account_id, *eq, qv)``. A search whose needle matches
  at most :data:`NARROW` combinations of the account (and records by the other q fields)
  becomes ``qv IN (...)``: counted on that B-tree, its page read by whichever of the sort
  index and that B-tree costs less (:func:`query_keys`).

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
#: Part of the side tables' stored signature: what this module builds beyond the declaration.
_LAYOUT = "qv2"
#: A search matching more combinations (or per-record q values) than this reads the FTS index.
NARROW = 200

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


def _row_q(decl: Declaration) -> tuple[str, ...]:
    """The q fields ``fts_C`` keeps per record (the ``q_shared`` ones are in ``ftsv_C``)."""
    return tuple(n for n in decl.q if n not in decl.q_shared)


def _q_values(decl: Declaration, data: dict[str, Any]) -> list[str]:
    return [folded(scalar(data.get(n))) or "" for n in _row_q(decl)]


def _combo(decl: Declaration, data: dict[str, Any]) -> tuple[str, list[str]]:
    values = [folded(scalar(data.get(n))) or "" for n in decl.q_shared]
    return json.dumps(values), values


def signature(decl: Declaration) -> str:
    """The stored signature of ``decl``'s side tables (rebuilt when it changes)."""
    return f"{decl.signature}:{_LAYOUT}" if decl.q_shared else decl.signature


def _eq_prefixes(decl: Declaration) -> list[tuple[str, ...]]:
    return list(dict.fromkeys(ix.eq for ix in decl.indexes)) or [()]


def _qv_index(decl: Declaration, eq: tuple[str, ...]) -> str:
    return f"ix_{decl.collection}__qv_{'_'.join(eq) or 'all'}"


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
        f"account_id TEXT, expires_at INTEGER, due TEXT, {cols}"
        + (", qv INTEGER)" if decl.q_shared else ")")
    )
    if decl.q_shared:
        conn.execute(
            f"CREATE TABLE ixv_{c} (vid INTEGER PRIMARY KEY, account_id TEXT NOT NULL, "
            "combo TEXT NOT NULL, n INTEGER NOT NULL, UNIQUE (account_id, combo))"
        )
        conn.execute(
            f"CREATE VIRTUAL TABLE ftsv_{c} USING fts5({', '.join(decl.q_shared)}, "
            "tokenize='trigram case_sensitive 1')"
        )
    if _row_q(decl):
        conn.execute(
            f"CREATE VIRTUAL TABLE fts_{c} USING fts5({', '.join(_row_q(decl))}, "
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
    if decl.q_shared:
        for eq in _eq_prefixes(decl):
            cols = ", ".join(["account_id", *(f"c_{n}" for n in eq), "qv", "expires_at"])
            conn.execute(f"CREATE INDEX IF NOT EXISTS {_qv_index(decl, eq)} ON ix_{c} ({cols})")
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
    conn.execute(f"DROP TABLE IF EXISTS ixv_{collection}")
    conn.execute(f"DROP TABLE IF EXISTS ftsv_{collection}")
    conn.execute("DELETE FROM aggregates WHERE collection = ?", (collection,))


def stale(conn: sqlite3.Connection) -> list[Declaration]:
    """The declared collections whose side tables are missing or out of date."""
    have = dict(conn.execute("SELECT name, value FROM schema_meta").fetchall())
    return [d for d in declarations() if have.get(f"ix:{d.collection}") != signature(d)]


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
    if decl.q_shared:
        cols.append("qv")
    vocab: dict[tuple[str, str], list] = {}  # (account, combo) -> [vid, n, values]
    ins = f"INSERT INTO ix_{c} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    fts = (
        f"INSERT INTO fts_{c} (rowid, {', '.join(_row_q(decl))}) "
        f"VALUES (?{', ?' * len(_row_q(decl))})"
        if _row_q(decl)
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
        row = [key, account_id, expires_at, decl.due_key(data), *_values(decl, data)]
        if decl.q_shared:
            combo, values = _combo(decl, data)
            entry = vocab.setdefault((account_id or "", combo), [len(vocab) + 1, 0, values])
            entry[1] += 1
            row.append(entry[0])
        batch.append(tuple(row))
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
    if decl.q_shared:
        conn.executemany(
            f"INSERT INTO ixv_{c} (vid, account_id, combo, n) VALUES (?, ?, ?, ?)",
            [(vid, acct, combo, n) for (acct, combo), (vid, n, _v) in vocab.items()],
        )
        conn.executemany(
            f"INSERT INTO ftsv_{c} (rowid, {', '.join(decl.q_shared)}) "
            f"VALUES (?{', ?' * len(decl.q_shared)})",
            [(vid, *values) for vid, _n, values in vocab.values()],
        )
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
        (f"ix:{c}", signature(decl)),
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
    row = conn.execute(
        f"SELECT rid{', qv' if decl.q_shared else ''} FROM ix_{c} WHERE key = ?", (key,)
    ).fetchone()
    rid = row[0] if row else None
    old_qv = row[1] if row and decl.q_shared else None
    if new is None:
        if rid is not None:
            if old_qv is not None:
                _vocab_release(conn, decl, old_qv)
            conn.execute(f"DELETE FROM ix_{c} WHERE rid = ?", (rid,))
            if _row_q(decl):
                conn.execute(f"DELETE FROM fts_{c} WHERE rowid = ?", (rid,))
            if decl.pairs:
                conn.execute(f"DELETE FROM ixp_{c} WHERE rid = ?", (rid,))
    else:
        cols = ["account_id", "expires_at", "due", *_cols(decl)]
        vals = [account_id, expires_at, decl.due_key(new), *_values(decl, new)]
        if decl.q_shared:
            cols.append("qv")
            vals.append(_vocab_take(conn, decl, account_id, new, old_qv))
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
        if _row_q(decl):
            q_new = _q_values(decl, new)
            if row is None or old is None or _q_values(decl, old) != q_new:
                if row is not None:
                    conn.execute(f"DELETE FROM fts_{c} WHERE rowid = ?", (rid,))
                conn.execute(
                    f"INSERT INTO fts_{c} (rowid, {', '.join(_row_q(decl))}) "
                    f"VALUES (?{', ?' * len(_row_q(decl))})",
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


def _vocab_take(
    conn: sqlite3.Connection,
    decl: Declaration,
    account_id: str | None,
    data: dict[str, Any],
    old_qv: int | None,
) -> int:
    """The ``vid`` of ``data``'s combination in its account (counted), releasing ``old_qv``."""
    c = decl.collection
    combo, values = _combo(decl, data)
    found = conn.execute(
        f"SELECT vid FROM ixv_{c} WHERE account_id = ? AND combo = ?", (account_id or "", combo)
    ).fetchone()
    if found is not None and found[0] == old_qv:
        return old_qv
    if old_qv is not None:
        _vocab_release(conn, decl, old_qv)
    if found is not None:
        conn.execute(f"UPDATE ixv_{c} SET n = n + 1 WHERE vid = ?", (found[0],))
        return found[0]
    vid = conn.execute(
        f"INSERT INTO ixv_{c} (account_id, combo, n) VALUES (?, ?, 1)", (account_id or "", combo)
    ).lastrowid
    conn.execute(
        f"INSERT INTO ftsv_{c} (rowid, {', '.join(decl.q_shared)}) "
        f"VALUES (?{', ?' * len(decl.q_shared)})",
        [vid, *values],
    )
    return vid


def _vocab_release(conn: sqlite3.Connection, decl: Declaration, vid: int) -> None:
    """One record less with combination ``vid``; the last one removes it (and its text)."""
    c = decl.collection
    conn.execute(f"UPDATE ixv_{c} SET n = n - 1 WHERE vid = ?", (vid,))
    if conn.execute(f"SELECT n FROM ixv_{c} WHERE vid = ?", (vid,)).fetchone()[0] <= 0:
        conn.execute(f"DELETE FROM ixv_{c} WHERE vid = ?", (vid,))
        conn.execute(f"DELETE FROM ftsv_{c} WHERE rowid = ?", (vid,))


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


def _search(
    conn: sqlite3.Connection | None,
    decl: Declaration,
    account_id: str | None,
    fields: Sequence[str],
    needle: str,
) -> tuple[str, list[Any], str | None]:
    """A ``contains`` filter (needle of 3+ characters) as a WHERE term and its arguments.

    With ``q_shared`` fields: ``qv IN (...)`` for the account's combinations of them that
    contain the needle (``ftsv_C``), or'ed with ``rid IN (...)`` for the records whose other
    q fields do (``fts_C``). When both lists were read (``conn`` given, at most
    :data:`NARROW` each) they are inlined and the third value is the same term with ``+x.qv``
    and ``+x.rid``, which leaves the choice of index to the other terms (:func:`query_keys`);
    else the lists are subqueries and it is ``None``."""
    c = decl.collection
    shared = [n for n in fields if n in decl.q_shared]
    others = [n for n in fields if n not in decl.q_shared]
    if not decl.q_shared:
        return (
            f"x.rid IN (SELECT rowid FROM fts_{c} WHERE fts_{c} MATCH ?)",
            [_fts_query(fields, needle)],
            None,
        )
    vocab_sql = f"SELECT rowid FROM ftsv_{c} WHERE ftsv_{c} MATCH ?"
    vargs: list[Any] = [_fts_query(shared, needle)]
    if account_id is not None:  # else every account's combinations
        vocab_sql = (
            f"SELECT v.vid FROM ftsv_{c} JOIN ixv_{c} v ON v.vid = ftsv_{c}.rowid "
            f"WHERE ftsv_{c} MATCH ? AND v.account_id = ?"
        )
        vargs.append(account_id)
    row_sql = f"SELECT rowid FROM fts_{c} WHERE fts_{c} MATCH ?"
    parts: list[tuple[str, str, list[Any], list[int] | None]] = []
    if shared:
        parts.append(("qv", vocab_sql, vargs, _ids(conn, vocab_sql, vargs)))
    if others:
        rargs = [_fts_query(others, needle)]
        parts.append(("rid", row_sql, rargs, _ids(conn, row_sql, rargs)))
    terms, walk, args = [], [], []
    for col, sql, sargs, ids in parts:
        if ids is None:
            terms.append(f"x.{col} IN ({sql})")
            args.extend(sargs)
        elif ids:
            listed = ",".join(map(str, ids))
            terms.append(f"x.{col} IN ({listed})")
            walk.append(f"+x.{col} IN ({listed})")
    if not terms:
        return "0", [], "0"
    inlined = all(ids is not None for *_, ids in parts)
    return (
        "(" + " OR ".join(terms) + ")",
        args,
        "(" + " OR ".join(walk) + ")" if inlined else None,
    )


def _ids(conn: sqlite3.Connection | None, sql: str, args: list[Any]) -> list[int] | None:
    """The ids ``sql`` selects when there are at most :data:`NARROW`, else ``None``."""
    if conn is None:
        return None
    ids = [r[0] for r in conn.execute(f"{sql} LIMIT {NARROW + 1}", args)]
    return ids if len(ids) <= NARROW else None


def _where(
    decl: Declaration,
    account_id: str | None,
    filters: Sequence[Filter],
    conn: sqlite3.Connection | None = None,
) -> tuple[list[str], list[Any], tuple[int, str] | None]:
    """The WHERE terms and their arguments; and, when a ``contains`` filter was narrowed to
    ``qv``/``rid`` lists (:func:`_search`, given ``conn``), its position and the variant of
    its term that leaves the choice of index to the other terms."""
    c = decl.collection
    where = ["(x.expires_at IS NULL OR x.expires_at > ?)"]
    args: list[Any] = [int(time.time())]
    narrowed: tuple[int, str] | None = None
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
                term, targs, walk = _search(conn, decl, account_id, f.fields(), needle)
                if walk is not None and narrowed is None:
                    narrowed = (len(where), walk)
                where.append(term)
                args.extend(targs)
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
    return where, args, narrowed


def query_keys(
    conn: sqlite3.Connection,
    decl: Declaration,
    account_id: str | None,
    filters: Sequence[Filter],
    sort: Sort,
    limit: int | None,
    offset: int,
) -> tuple[list[str], int]:
    """The page's keys and the exact number of matches (inside the caller's read snapshot).

    A search narrowed to a few combinations (:func:`_search`) is counted first, on the ``qv``
    B-tree. The count chooses how the page is read: walking the sort order and checking
    ``qv`` costs about ``(offset + limit) * scope / matches`` rows (``scope``: the matches
    without the search, from the ``_count`` aggregate where it can), reading every match and
    sorting costs ``matches``; the cheaper one is taken."""
    c = decl.collection
    where, args, narrowed = _where(decl, account_id, filters, conn)
    total: int | None = None
    if narrowed is not None and limit is not None:
        total = conn.execute(
            f"SELECT count(*) FROM ix_{c} x WHERE {' AND '.join(where)}", args
        ).fetchone()[0]
        scope = _scope(conn, decl, account_id, filters)
        if total and scope is not None and (offset + limit) * scope < total * total:
            where[narrowed[0]] = narrowed[1]
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
    if total is not None:
        return keys, total
    if limit is None and not offset:
        return keys, len(keys)
    if limit is not None and offset == 0 and len(keys) < limit:
        return keys, len(keys)
    return keys, count(conn, decl, account_id, filters, where=(clause, args))


def _scope(
    conn: sqlite3.Connection, decl: Declaration, account_id: str | None, filters: Sequence[Filter]
) -> int | None:
    """At least the matches of ``filters`` without the search, from the ``_count`` aggregate
    alone (its filters there; the others dropped); ``None`` when it cannot say."""
    kept = [f for f in filters if f.op in ("eq", "in") and f.field in decl.counts and not f.also]
    for candidate in (kept, []):
        if account_id is not None and decl.count_from(candidate) is not None:
            return count(conn, decl, account_id, candidate)
    return None


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
        w, args, _ = _where(decl, account_id, filters, conn)
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
