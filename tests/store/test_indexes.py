"""Declared indexes answer exactly what a brute-force filter over every record answers.

Random invoices (statuses, kinds, clients, currencies, dates, totals, numbers, names with
mixed case and non-ASCII, metadata, missing fields) in two accounts; random filters and sorts
as the services build them; on both backends. Also the aggregates and the due index against
their reference implementations, after updates and deletes.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest

from storage_adapter import Filter, Record, Sort, sqlite_indexes
from storage_adapter.declared import INVOICES
from storage_adapter.indexes import (
    aggregate_records,
    brute_force,
    covers,
    due_records,
    folded,
    scalar,
)

STATUSES = ["draft", "open", "sent", "overdue", "paid", "void"]
NAMES = ["Acme AG", "acme gmbh", "Straße Bau", "STRASSE AG", "Zeta Ltd", "Ærø ApS", None]
FIELDS_Q = ("number", "client_name", "client_email")


def _record(rnd: random.Random, i: int) -> dict:
    name = rnd.choice(NAMES)
    data: dict = {
        "id": f"inv_{i:04d}",
        "status": rnd.choice(STATUSES),
        "kind": rnd.choice(["invoice", "invoice", "credit_note"]),
        "client_id": rnd.choice(["cl_a", "cl_b", "cl_c"]),
        "entity_id": rnd.choice(["ent_1", "ent_2"]),
        "currency": rnd.choice(["EUR", "EUR", "USD"]),
        "created_at": f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T10:00:00Z",
        "total": str(Decimal(rnd.randint(-500, 100000)) / 100),
        "amount_due": str(Decimal(rnd.randint(0, 5000)) / 100),
    }
    if rnd.random() < 0.8:
        data["number"] = rnd.choice(["INV", "inv", "CN"]) + f"-2026-{rnd.randint(1, 60):04d}"
    if name is not None:
        data["client_name"] = name
        data["client_email"] = f"ap@{name.split()[0].lower()}.example"
    for f in ("issue_date", "due_date"):
        if rnd.random() < 0.85:
            data[f] = f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
    if rnd.random() < 0.5:
        data["metadata"] = {
            k: rnd.choice(["1", "2", "x"]) for k in rnd.sample(["order", "shop", "ref"], 2)
        }
    if rnd.random() < 0.4:
        data["payments"] = [
            {"paid_on": f"2026-11-{rnd.randint(1, 30):02d}", "amount": "10.00"}
            for _ in range(rnd.randint(1, 2))
        ]
    return data


def _filters(rnd: random.Random) -> list[Filter]:
    out: list[Filter] = []
    choices = [
        lambda: Filter("status", "in", rnd.sample(STATUSES, rnd.randint(1, 3))),
        lambda: Filter("status", "eq", rnd.choice(STATUSES)),
        lambda: Filter("kind", "eq", "invoice"),
        lambda: Filter("client_id", "eq", rnd.choice(["cl_a", "cl_b"])),
        lambda: Filter("currency", "eq", rnd.choice(["EUR", "USD"])),
        lambda: Filter("entity_id", "ne", "ent_1"),
        lambda: Filter(
            "number",
            "contains",
            rnd.choice(["acm", "STRASSE", "ß", "-2026-00", "æ", "1"]),
            also=FIELDS_Q[1:],
        ),
        lambda: Filter("number", "eq", f"INV-2026-{rnd.randint(1, 60):04d}"),
        lambda: Filter(
            "issue_date", rnd.choice(["gte", "lte"]), f"2026-{rnd.randint(1, 12):02d}-10"
        ),
        lambda: Filter("due_date", "lt", f"2026-{rnd.randint(1, 12):02d}-01"),
        lambda: Filter("created_at", "gte", f"2026-{rnd.randint(1, 12):02d}-05"),
        lambda: Filter("total", rnd.choice(["gte", "lte"]), Decimal(rnd.randint(0, 1000))),
        lambda: Filter("metadata", "has", (rnd.choice(["order", "shop"]), rnd.choice(["1", "x"]))),
    ]
    for _ in range(rnd.randint(0, 3)):
        out.append(rnd.choice(choices)())
    return out


SORTS = [
    Sort("created_at", True),
    Sort("created_at", False),
    Sort("issue_date", False),
    Sort("due_date", True),
    Sort("total", True, numeric=True),
    Sort("total", False, numeric=True),
    Sort("number", False),
    Sort("client_name", True),
    Sort("client_name", False),
]


@pytest.fixture
def book(store):
    rnd = random.Random(15)
    datas = {}

    def write(tx, items):
        for key, acct, data in items:
            tx.put("invoices", key, data, account_id=acct, expected_version=0)

    items = []
    for i in range(160):
        data = _record(rnd, i)
        acct = "acct_a" if i % 4 else "acct_b"
        items.append((data["id"], acct, data))
        datas[data["id"]] = (acct, data)
    for i in range(0, len(items), 10):
        store.transaction(lambda tx, chunk=items[i : i + 10]: write(tx, chunk))
    # updates (status, totals, client names, metadata) and deletes, as services make them
    for key in rnd.sample(sorted(datas), 30):
        rec = store.get("invoices", key)
        data = {**rec.data, **_record(rnd, 999), "id": key}
        store.put("invoices", key, data, account_id=rec.account_id, expected_version=rec.version)
        datas[key] = (rec.account_id, data)
    for key in rnd.sample(sorted(datas), 10):
        rec = store.get("invoices", key)
        store.transaction(
            lambda tx, rec=rec: tx.delete("invoices", rec.key, expected_version=rec.version)
        )
        del datas[key]
    store.datas = datas
    return store


def _all(store, account_id):
    """The records as written (kept apart from the store: the brute force's input)."""
    return [
        Record("invoices", key, acct, 1, data)
        for key, (acct, data) in sorted(store.datas.items())
        if acct == account_id
    ]


def test_indexed_queries_equal_brute_force(book):
    _queries_equal_brute_force(book)


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("narrow", [0, 3])
def test_searches_equal_brute_force_whatever_the_sqlite_plan(book, narrow, monkeypatch):
    """SQLite inlines a search's matching client combinations (and numbers) when there are at
    most NARROW of each, else reads them as subqueries: both plans, and their mix, answer
    what the brute force answers."""
    monkeypatch.setattr(sqlite_indexes, "NARROW", narrow)
    _queries_equal_brute_force(book)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_sqlite_vocabulary_counts_each_accounts_client_combinations(book):
    """After creates, updates that change client names and deletes, ``ixv_invoices`` holds
    exactly the combinations of client name and e-mail each account's invoices have, each
    with its number of invoices, and its trigram index holds exactly those."""
    want: dict[tuple[str, str], int] = {}
    for acct, data in book.datas.values():
        combo = json.dumps(
            [folded(scalar(data.get(n))) or "" for n in ("client_name", "client_email")]
        )
        want[(acct, combo)] = want.get((acct, combo), 0) + 1
    conn = book._conn()
    got = {(a, c): n for a, c, n in conn.execute("SELECT account_id, combo, n FROM ixv_invoices")}
    assert got == want
    vids = {r[0] for r in conn.execute("SELECT vid FROM ixv_invoices")}
    assert {r[0] for r in conn.execute("SELECT rowid FROM ftsv_invoices")} == vids
    assert {r[0] for r in conn.execute("SELECT DISTINCT qv FROM ix_invoices")} == vids


def test_a_search_across_accounts_equals_brute_force(book):
    """``account_id=None`` (every account), as the store port allows: a search finds the
    records of every account (SQLite's vocabulary is per account)."""
    records = [r for a in ("acct_a", "acct_b") for r in _all(book, a)]
    for needle in ("acm", "STRASSE", "-2026-00", "ærø", "zzz"):
        filters = [Filter("number", "contains", needle, also=FIELDS_Q[1:])]
        sort = Sort("created_at", True)
        got = book.query("invoices", account_id=None, filters=filters, sort=sort, limit=None)
        want = brute_force(records, filters, sort, None, 0)
        assert sorted(r.key for r in got.items) == sorted(r.key for r in want.items), needle
        assert got.total == want.total > 0 or needle == "zzz"


def _queries_equal_brute_force(book) -> None:
    rnd = random.Random(1515)
    records = {a: _all(book, a) for a in ("acct_a", "acct_b")}
    assert len(records["acct_a"]) + len(records["acct_b"]) == 150
    covered = 0
    for _ in range(300):
        account = rnd.choice(["acct_a", "acct_b"])
        filters = _filters(rnd)
        sort = rnd.choice(SORTS)
        limit = rnd.choice([None, 1, 5, 20])
        offset = rnd.choice([0, 0, 3, 20, 100])
        covered += covers(INVOICES, filters, sort)
        got = book.query(
            "invoices", account_id=account, filters=filters, sort=sort, limit=limit, offset=offset
        )
        want = brute_force(records[account], filters, sort, limit, offset)
        assert [r.key for r in got.items] == [r.key for r in want.items], (filters, sort)
        assert got.total == want.total, (filters, sort)
    assert covered > 250  # the declared indexes served (nearly) all of them


def test_aggregates_and_due_equal_brute_force(book):
    for account in ("acct_a", "acct_b"):
        records = _all(book, account)
        for name, rng in (
            ("by_status", (None, None)),
            ("payments_by_day", ("2026-11-05", "2026-11-20")),
        ):
            got = book.aggregate(
                "invoices", name, account_id=account, range_from=rng[0], range_to=rng[1]
            )
            want = aggregate_records(INVOICES, name, records, rng)
            assert _norm(got) == _norm(want)
    everyone = _all(book, "acct_a") + _all(book, "acct_b")
    for up_to in ("2026-01-01", "2026-06-15", "2026-12-31"):
        want = [r.key for r in due_records(INVOICES, everyone, up_to)]
        assert [r.key for r in book.due("invoices", up_to=up_to)] == want
        # paged with the cursor
        paged, after = [], None
        while True:
            page = book.due("invoices", up_to=up_to, after=after, limit=7)
            paged += [r.key for r in page]
            if len(page) < 7:
                break
            after = (page[-1].data["due_date"], page[-1].key)
        assert paged == want


def _norm(rows):
    return sorted((r, tuple(g), n, {k: v for k, v in s.items() if v}) for r, g, n, s in rows)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_client_search_is_counted_on_a_b_tree_and_paged_by_the_sort_order(store):
    """``q`` + status + sort by total, as ``invoice.list`` asks it, for a client with 1,000 of
    the 4,000 invoices: the count reads only the ``qv`` B-tree (a covering index: no invoice
    row, no trigram index) and the page walks the total order. SQLite's own plans of the
    statements the query ran are checked (``EXPLAIN QUERY PLAN``)."""
    clients = ["Acme AG", "Globex GmbH", "Initech KG", "Umbrella SE"]
    rows = [
        (
            f"inv_{i:05d}",
            "acct_a",
            {
                "id": f"inv_{i:05d}",
                "status": ["open", "paid", "sent", "draft"][i % 4],
                "client_name": clients[(i // 4) % 4],
                "client_email": f"ap@{clients[(i // 4) % 4].split()[0].lower()}.example",
                "number": f"INV-{i:05d}",
                "total": str(i % 997),
                "created_at": f"2026-01-01T00:00:{i % 60:02d}Z",
            },
        )
        for i in range(4000)
    ]
    store.bulk_load("invoices", rows)
    conn = store._conn()
    ran: list[str] = []
    conn.set_trace_callback(ran.append)
    try:
        page = store.query(
            "invoices",
            account_id="acct_a",
            filters=[
                Filter("number", "contains", "acme", also=FIELDS_Q[1:]),
                Filter("status", "in", ["open", "sent"]),
            ],
            sort=Sort("total", True, numeric=True),
            limit=20,
        )
    finally:
        conn.set_trace_callback(None)
    assert page.total == 500
    totals = [Decimal(r.data["total"]) for r in page.items]
    assert len(totals) == 20 and totals == sorted(totals, reverse=True)
    plans = {
        sql: " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        for sql in ran
        if sql.startswith("SELECT") and "FROM ix_invoices x" in sql
    }
    counts = [p for sql, p in plans.items() if "count(*)" in sql]
    pages = [p for sql, p in plans.items() if "ORDER BY" in sql]
    assert counts and all("COVERING INDEX ix_invoices__qv_status" in p for p in counts), plans
    assert pages and all("INDEX ix_invoices__by_total" in p for p in pages), plans
    assert not any("fts_invoices" in p or "TEMP B-TREE" in p for p in plans.values()), plans
