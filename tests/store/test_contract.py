"""The storage contract: every test here runs unchanged on SQLite and on DynamoDB+S3."""

from __future__ import annotations

import inspect
import random
import time
import urllib.parse
from decimal import Decimal

import pytest
import requests

from storage_adapter import (
    Filter,
    InvalidKey,
    Sort,
    Store,
    Transaction,
    VersionConflict,
)
from storage_adapter.base import select_page

ACC = "acc-1"
OTHER = "acc-2"


def _put(store: Store, key: str, data: dict, *, account: str = ACC, expected: int | None = 0, **kw):
    return store.put("invoices", key, data, account_id=account, expected_version=expected, **kw)


# --- records and versions ---------------------------------------------------------------------


def test_missing_record_is_none(store: Store) -> None:
    assert store.get("invoices", "nope") is None


def test_put_get_round_trip_keeps_decimals_exact_and_text(store: Store) -> None:
    data = {
        "number": "RE-2026-0001",
        "client_name": "Zoë Ørsted — Straße 5",
        "total": Decimal("1234567890.10"),
        "lines": [{"qty": Decimal("3"), "unit_price": Decimal("0.1")}],
        "paid": False,
        "notes": None,
    }
    rec = _put(store, "inv-1", data)
    assert rec.version == 1
    got = store.get("invoices", "inv-1")
    assert got is not None
    assert got.version == 1
    assert got.account_id == ACC
    assert got.data["total"] == "1234567890.10"  # exact, as a string — never a float
    assert got.data["lines"][0]["unit_price"] == "0.1"
    assert got.data["client_name"] == "Zoë Ørsted — Straße 5"
    assert got.data["paid"] is False and got.data["notes"] is None


def test_update_with_current_version_increments_it(store: Store) -> None:
    _put(store, "inv-1", {"status": "draft"})
    rec = _put(store, "inv-1", {"status": "open"}, expected=1)
    assert rec.version == 2
    got = store.get("invoices", "inv-1")
    assert (got.version, got.data) == (2, {"status": "open"})


def test_create_only_conflicts_when_the_record_exists(store: Store) -> None:
    _put(store, "inv-1", {"status": "draft"})
    with pytest.raises(VersionConflict) as err:
        _put(store, "inv-1", {"status": "hijack"}, expected=0)
    assert (err.value.collection, err.value.key) == ("invoices", "inv-1")
    assert store.get("invoices", "inv-1").data == {"status": "draft"}


def test_stale_update_conflicts_and_changes_nothing(store: Store) -> None:
    _put(store, "inv-1", {"n": 1})
    _put(store, "inv-1", {"n": 2}, expected=1)
    with pytest.raises(VersionConflict):
        _put(store, "inv-1", {"n": "lost update"}, expected=1)
    got = store.get("invoices", "inv-1")
    assert (got.version, got.data) == (2, {"n": 2})


def test_update_of_a_missing_record_conflicts(store: Store) -> None:
    with pytest.raises(VersionConflict):
        _put(store, "ghost", {"n": 1}, expected=3)
    assert store.get("invoices", "ghost") is None


def test_blind_write_creates_and_overwrites(store: Store) -> None:
    assert _put(store, "bucket", {"tokens": 5}, expected=None).version == 1
    assert _put(store, "bucket", {"tokens": 4}, expected=None).version == 2
    got = store.get("invoices", "bucket")
    assert (got.version, got.data) == (2, {"tokens": 4})


def test_delete_needs_the_current_version(store: Store) -> None:
    _put(store, "inv-1", {"status": "draft"})
    _put(store, "inv-1", {"status": "draft", "x": 1}, expected=1)
    with pytest.raises(VersionConflict):
        store.transaction(lambda tx: tx.delete("invoices", "inv-1", expected_version=1))
    assert store.get("invoices", "inv-1") is not None
    store.transaction(lambda tx: tx.delete("invoices", "inv-1", expected_version=2))
    assert store.get("invoices", "inv-1") is None
    assert store.query("invoices", account_id=ACC).total == 0
    assert _put(store, "inv-1", {"status": "draft"}, expected=0).version == 1


def test_transaction_reads_its_own_writes(store: Store) -> None:
    def fn(tx: Transaction) -> tuple:
        tx.put("invoices", "a", {"n": 1}, account_id=ACC, expected_version=0)
        first = tx.get("invoices", "a")
        tx.put("invoices", "a", {"n": 2}, account_id=ACC, expected_version=first.version)
        return first.data, tx.get("invoices", "a").data

    assert store.transaction(fn) == ({"n": 1}, {"n": 2})
    assert store.get("invoices", "a").data == {"n": 2}


def test_stale_expected_version_inside_a_transaction_is_the_callers_conflict(store: Store) -> None:
    _put(store, "a", {"n": 1})
    _put(store, "a", {"n": 2}, expected=1)
    calls = []

    def fn(tx: Transaction) -> None:
        calls.append(1)
        tx.put("invoices", "a", {"n": 3}, account_id=ACC, expected_version=1)

    with pytest.raises(VersionConflict):
        store.transaction(fn)
    assert calls == [1]  # not retried: running it again cannot make version 1 current
    assert store.get("invoices", "a").data == {"n": 2}


def test_keys_are_data_not_paths_or_expressions(store: Store) -> None:
    odd = ["../x", "a' OR '1'='1", "R#invoices#a", "a/b\\c", "ümlaut 😀", "%00", ":v"]
    for i, key in enumerate(odd):
        _put(store, key, {"i": i})
    for i, key in enumerate(odd):
        assert store.get("invoices", key).data == {"i": i}
    assert sorted(r.key for r in store.query("invoices", account_id=ACC).items) == sorted(odd)


# --- invalid names ------------------------------------------------------------------------------

BAD_COLLECTIONS = ["", "Invoices", "../x", "a/b", "a-b", "a#b", "1abc", "x" * 65, "inv\x00"]
BAD_KEYS = ["", "a\x00b", "a\nb", "tab\there", "del\x7f", "x" * 513]


@pytest.mark.parametrize("collection", BAD_COLLECTIONS)
def test_bad_collection_names_are_refused(store: Store, collection: str) -> None:
    with pytest.raises(InvalidKey):
        store.get(collection, "k")
    with pytest.raises(InvalidKey):
        store.put(collection, "k", {}, account_id=ACC, expected_version=0)
    with pytest.raises(InvalidKey):
        store.query(collection, account_id=ACC)


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused(store: Store, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.get("invoices", key)
    with pytest.raises(InvalidKey):
        _put(store, key, {})
    with pytest.raises(InvalidKey):
        store.transaction(lambda tx: tx.append(key, {"type": "x"}))
    with pytest.raises(InvalidKey):
        store.transaction(lambda tx: tx.next_number(key))
    with pytest.raises(InvalidKey):
        store.events(key)


@pytest.mark.parametrize(
    "blob_key", ["../x", "a/../../etc/passwd", "/abs", "a//b", "./a", "a/", "a\\..\\b", "a\x00"]
)
def test_blob_keys_that_could_escape_are_refused(store: Store, blob_key: str) -> None:
    with pytest.raises(InvalidKey):
        store.put_blob(blob_key, b"x", "text/plain")
    with pytest.raises(InvalidKey):
        store.get_blob(blob_key)
    with pytest.raises(InvalidKey):
        store.blob_url(blob_key, filename="x.pdf")


@pytest.mark.parametrize("field", ["total); DROP TABLE records; --", "a.b", "$.x", "Total", ""])
def test_bad_filter_and_sort_fields_are_refused(store: Store, field: str) -> None:
    _put(store, "a", {"total": "1"})
    with pytest.raises(InvalidKey):
        store.query("invoices", account_id=ACC, filters=[Filter(field, "eq", "1")])
    with pytest.raises(InvalidKey):
        store.query("invoices", account_id=ACC, filters=[Filter("a", "contains", "1", (field,))])
    with pytest.raises(InvalidKey):
        store.query("invoices", account_id=ACC, sort=Sort(field))


# --- queries ----------------------------------------------------------------------------------

INVOICES = {
    "i1": {
        "number": "RE-2026-0001",
        "client_name": "Müller GmbH",
        "client_email": "buchhaltung@mueller.de",
        "status": "open",
        "total": "100.00",
        "issue_date": "2026-01-15",
        "created_at": "2026-01-15T09:00:00Z",
    },
    "i2": {
        "number": "RE-2026-0002",
        "client_name": "acme corp",
        "client_email": "ap@acme.example",
        "status": "paid",
        "total": "9.99",
        "issue_date": "2026-02-01",
        "created_at": "2026-02-01T10:00:00Z",
    },
    "i3": {
        "number": "RE-2026-0003",
        "client_name": "Große Straße AG",
        "client_email": "info@strasse.example",
        "status": "sent",
        "total": "25.5",
        "issue_date": "2026-02-20",
        "created_at": "2026-02-20T08:30:00Z",
    },
    "i4": {
        "number": None,
        "client_name": "Ærø Shipping",
        "client_email": "MAIL@AERO.example",
        "status": "draft",
        "total": "-12.00",
        "created_at": "2026-03-01T12:00:00Z",
    },
    "i5": {
        "number": "RE-2026-0004",
        "client_name": "ACME Europe",
        "client_email": "billing@acme.example",
        "status": "overdue",
        "total": "1000.01",
        "issue_date": "2026-01-02",
        "created_at": "2026-01-02T07:00:00Z",
    },
}


@pytest.fixture
def invoices(store: Store) -> Store:
    for key, data in INVOICES.items():
        _put(store, key, data)
    _put(store, "x1", {**INVOICES["i1"], "client_name": "Müller Fremd"}, account="acc-2")
    return store


def keys(page) -> list[str]:
    return [r.key for r in page.items]


def q(store: Store, *filters: Filter, sort: Sort | None = None, **kw) -> list[str]:
    return keys(store.query("invoices", account_id=ACC, filters=list(filters), sort=sort, **kw))


def test_eq_and_in_filters(invoices: Store) -> None:
    assert q(invoices, Filter("status", "eq", "paid")) == ["i2"]
    assert sorted(q(invoices, Filter("status", "in", ["open", "sent", "overdue"]))) == [
        "i1",
        "i3",
        "i5",
    ]
    assert q(invoices, Filter("status", "in", [])) == []
    assert sorted(q(invoices, Filter("status", "ne", "draft"))) == ["i1", "i2", "i3", "i5"]


def test_contains_is_case_insensitive_over_several_fields_including_non_ascii(
    invoices: Store,
) -> None:
    def search(text: str) -> list[str]:
        f = Filter("number", "contains", text, also=("client_name", "client_email"))
        return sorted(q(invoices, f))

    assert search("acme") == ["i2", "i5"]
    assert search("MÜLLER") == ["i1"]  # non-ASCII upper case finds lower case
    assert search("ærø") == ["i4"]
    assert search("STRASSE") == ["i3"]  # casefold: ß == ss (name "Straße", mail "strasse")
    assert search("0002") == ["i2"]
    assert search("mail@aero") == ["i4"]
    assert search("nobody") == []


def test_numeric_range_filters_compare_decimals_not_strings(invoices: Store) -> None:
    # As strings "9.99" > "100.00"; as numbers it is not.
    assert sorted(q(invoices, Filter("total", "gte", Decimal("25.5")))) == ["i1", "i3", "i5"]
    assert sorted(q(invoices, Filter("total", "lte", Decimal("25.50")))) == ["i2", "i3", "i4"]
    assert sorted(q(invoices, Filter("total", "gt", Decimal("-12")))) == ["i1", "i2", "i3", "i5"]
    assert q(invoices, Filter("total", "lt", Decimal("0"))) == ["i4"]
    assert sorted(
        q(invoices, Filter("total", "gte", Decimal("10")), Filter("total", "lte", Decimal("1000")))
    ) == ["i1", "i3"]


def test_date_range_filters_compare_iso_strings(invoices: Store) -> None:
    assert sorted(
        q(
            invoices,
            Filter("issue_date", "gte", "2026-01-15"),
            Filter("issue_date", "lte", "2026-02-01"),
        )
    ) == ["i1", "i2"]
    # a record without the field never satisfies a range
    assert "i4" not in q(invoices, Filter("issue_date", "lte", "2099-12-31"))


def test_numeric_sort_both_ways(invoices: Store) -> None:
    assert q(invoices, sort=Sort("total", descending=True, numeric=True)) == [
        "i5",
        "i1",
        "i3",
        "i2",
        "i4",
    ]
    assert q(invoices, sort=Sort("total", descending=False, numeric=True)) == [
        "i4",
        "i2",
        "i3",
        "i1",
        "i5",
    ]


def test_text_sort_is_case_insensitive_and_missing_values_come_last(invoices: Store) -> None:
    assert q(invoices, sort=Sort("client_name", descending=False)) == [
        "i2",  # acme corp
        "i5",  # ACME Europe
        "i3",  # Große
        "i1",  # Müller
        "i4",  # Ærø (U+00C6 sorts after ASCII)
    ]
    assert q(invoices, sort=Sort("number", descending=False)) == ["i1", "i2", "i3", "i5", "i4"]
    assert q(invoices, sort=Sort("number", descending=True)) == ["i5", "i3", "i2", "i1", "i4"]


def test_default_sort_is_newest_first(invoices: Store) -> None:
    assert q(invoices) == ["i4", "i3", "i2", "i1", "i5"]


def test_paging_with_limit_offset_and_total(invoices: Store) -> None:
    sort = Sort("created_at", descending=False)
    page = invoices.query("invoices", account_id=ACC, sort=sort, limit=2, offset=0)
    assert (keys(page), page.total) == (["i5", "i1"], 5)
    page = invoices.query("invoices", account_id=ACC, sort=sort, limit=2, offset=2)
    assert (keys(page), page.total) == (["i2", "i3"], 5)
    page = invoices.query("invoices", account_id=ACC, sort=sort, limit=2, offset=4)
    assert (keys(page), page.total) == (["i4"], 5)
    page = invoices.query("invoices", account_id=ACC, sort=sort, limit=2, offset=10)
    assert (keys(page), page.total) == ([], 5)
    page = invoices.query("invoices", account_id=ACC, sort=sort, offset=3)
    assert (keys(page), page.total) == (["i3", "i4"], 5)
    filtered = invoices.query(
        "invoices", account_id=ACC, filters=[Filter("status", "ne", "draft")], limit=1
    )
    assert filtered.total == 4 and len(filtered.items) == 1


def test_accounts_are_isolated_and_none_lists_every_account(invoices: Store) -> None:
    mine = invoices.query("invoices", account_id=ACC)
    assert sorted(keys(mine)) == ["i1", "i2", "i3", "i4", "i5"]
    assert all(r.account_id == ACC for r in mine.items)
    theirs = invoices.query("invoices", account_id=OTHER)
    assert keys(theirs) == ["x1"]
    hidden = invoices.query(
        "invoices", account_id=ACC, filters=[Filter("client_name", "contains", "fremd")]
    )
    assert hidden.total == 0
    everyone = invoices.query("invoices", account_id=None)
    assert sorted(keys(everyone)) == ["i1", "i2", "i3", "i4", "i5", "x1"]
    assert invoices.query("clients", account_id=ACC).total == 0


def test_backend_agrees_with_the_reference_semantics_on_random_queries(invoices: Store) -> None:
    reference = invoices.query("invoices", account_id=ACC).items
    rnd = random.Random(20261121)
    fields = ["number", "client_name", "client_email", "status", "total", "issue_date"]
    for _ in range(60):
        filters = []
        for _ in range(rnd.randint(0, 2)):
            op = rnd.choice(["eq", "ne", "in", "gte", "lte", "gt", "lt", "contains"])
            if op == "contains":
                filters.append(
                    Filter("client_name", op, rnd.choice(["ac", "Ü", "SS", "e", "zz"]), ("number",))
                )
            elif op in ("eq", "ne"):
                field = rnd.choice(["status", "issue_date", "number"])
                value = {
                    "status": rnd.choice(["open", "paid", "draft"]),
                    "issue_date": rnd.choice(["2026-01-15", None]),
                    "number": rnd.choice(["RE-2026-0002", None]),
                }[field]
                filters.append(Filter(field, op, value))
            elif op == "in":
                filters.append(Filter("status", op, rnd.sample(["open", "paid", "sent"], 2)))
            elif rnd.random() < 0.5:
                filters.append(Filter("total", op, Decimal(rnd.choice(["0", "25.50", "100"]))))
            else:
                filters.append(Filter("issue_date", op, rnd.choice(["2026-01-15", "2026-02-10"])))
        sort = Sort(rnd.choice(fields), descending=rnd.random() < 0.5, numeric=False)
        if sort.field == "total":
            sort = Sort("total", descending=sort.descending, numeric=True)
        limit, offset = rnd.choice([(None, 0), (2, 0), (2, 1), (3, 3)])
        expected = select_page(reference, filters, sort, limit, offset)
        got = invoices.query(
            "invoices", account_id=ACC, filters=filters, sort=sort, limit=limit, offset=offset
        )
        assert (keys(got), got.total) == (keys(expected), expected.total), (filters, sort)


def test_expired_records_are_invisible_and_can_be_recreated(store: Store) -> None:
    past, future = int(time.time()) - 5, int(time.time()) + 3600
    _put(store, "gone", {"n": 1}, expires_at=past)
    _put(store, "kept", {"n": 2}, expires_at=future)
    assert store.get("invoices", "gone") is None
    assert store.get("invoices", "kept").expires_at == future
    assert keys(store.query("invoices", account_id=ACC)) == ["kept"]
    assert keys(store.query("invoices", account_id=None)) == ["kept"]
    assert _put(store, "gone", {"n": 3}, expected=0).version == 1
    assert store.get("invoices", "gone").data == {"n": 3}


# --- events -------------------------------------------------------------------------------------


def test_events_keep_their_order_per_stream(store: Store) -> None:
    store.transaction(lambda tx: tx.append("inv-1", {"type": "created"}))
    store.transaction(lambda tx: tx.append("inv-2", {"type": "created"}))

    def two(tx: Transaction) -> None:
        tx.append("inv-1", {"type": "finalized", "amount": Decimal("10.00")})
        tx.append("inv-1", {"type": "sent"})

    store.transaction(two)
    assert store.events("inv-1") == [
        {"type": "created"},
        {"type": "finalized", "amount": "10.00"},
        {"type": "sent"},
    ]
    assert store.events("inv-2") == [{"type": "created"}]
    assert store.events("inv-3") == []
    for i in range(12):  # order survives past 9 -> 10 (no string-order surprises)
        store.transaction(lambda tx, i=i: tx.append("inv-2", {"i": i}))
    assert [e["i"] for e in store.events("inv-2")[1:]] == list(range(12))


def test_there_is_no_call_that_rewrites_or_deletes_an_event(store: Store) -> None:
    def public(cls: type) -> set[str]:
        return {n for n, _ in inspect.getmembers(cls, callable) if not n.startswith("_")}

    store_calls = {n for n in public(type(store)) if "event" in n or "stream" in n}
    assert store_calls == {"events"}
    tx_calls = public(Transaction)
    assert {n for n in tx_calls if "event" in n or "append" in n or "stream" in n} == {"append"}
    # delete/put only address records (collection + key), never a stream
    assert list(inspect.signature(Transaction.delete).parameters)[:3] == [
        "self",
        "collection",
        "key",
    ]


# --- counters -----------------------------------------------------------------------------------


def test_counters_count_from_one_or_from_start(store: Store) -> None:
    assert store.counter_value("inv-2026") == 0
    assert [store.transaction(lambda tx: tx.next_number("inv-2026")) for _ in range(3)] == [1, 2, 3]
    assert store.transaction(lambda tx: tx.next_number("cn-2026", start=1000)) == 1000
    assert store.transaction(lambda tx: tx.next_number("cn-2026", start=1000)) == 1001
    assert store.transaction(lambda tx: tx.next_number("cn-2026", start=5)) == 1002
    assert store.transaction(lambda tx: (tx.next_number("x"), tx.next_number("x"))) == (1, 2)
    assert store.counter_value("inv-2026") == 3
    assert store.counter_value("cn-2026") == 1002
    assert store.counter_value("x") == 2


# --- atomicity -----------------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_an_exception_in_the_transaction_leaves_nothing(store: Store) -> None:
    _put(store, "a", {"status": "draft"})
    store.transaction(lambda tx: tx.next_number("inv"))

    def fn(tx: Transaction) -> None:
        n = tx.next_number("inv")
        tx.put("invoices", "a", {"status": "open", "number": n}, account_id=ACC, expected_version=1)
        tx.put("invoices", "b", {"new": True}, account_id=ACC, expected_version=0)
        tx.delete("invoices", "a", expected_version=1)
        tx.append("a", {"type": "finalized"})
        raise Boom

    with pytest.raises(Boom):
        store.transaction(fn)
    assert store.get("invoices", "a").data == {"status": "draft"}
    assert store.get("invoices", "b") is None
    assert store.counter_value("inv") == 1
    assert store.events("a") == []
    # no gap: the next committed number follows the last committed one
    assert store.transaction(lambda tx: tx.next_number("inv")) == 2


def test_a_conflict_on_one_put_leaves_counter_events_and_other_writes_unwritten(
    store: Store,
) -> None:
    _put(store, "a", {"status": "draft"})
    _put(store, "taken", {"x": 1})

    def finalize(tx: Transaction) -> int:
        n = tx.next_number("inv")
        rec = tx.get("invoices", "a")
        tx.put(
            "invoices",
            "a",
            {"status": "open", "number": n},
            account_id=ACC,
            expected_version=rec.version,
        )
        tx.put("invoices", "fresh", {"x": 2}, account_id=ACC, expected_version=0)
        tx.append("a", {"type": "finalized", "number": n})
        tx.put("invoices", "taken", {"x": 3}, account_id=ACC, expected_version=0)  # conflicts
        return n

    with pytest.raises(VersionConflict) as err:
        store.transaction(finalize)
    assert err.value.key == "taken"
    assert store.get("invoices", "a").data == {"status": "draft"}
    assert store.get("invoices", "fresh") is None
    assert store.get("invoices", "taken").data == {"x": 1}
    assert store.counter_value("inv") == 0
    assert store.events("a") == []


# --- blobs ---------------------------------------------------------------------------------------


def test_blob_round_trip(store: Store) -> None:
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 64
    store.put_blob("acc-1/invoices/i1.pdf", pdf, "application/pdf")
    blob = store.get_blob("acc-1/invoices/i1.pdf")
    assert (blob.data, blob.content_type) == (pdf, "application/pdf")
    store.put_blob("acc-1/invoices/i1.pdf", b"v2", "application/pdf")
    assert store.get_blob("acc-1/invoices/i1.pdf").data == b"v2"
    assert store.get_blob("acc-1/invoices/missing.pdf") is None


def test_signed_link_downloads_the_blob_as_an_attachment(store: Store, backend: str) -> None:
    pdf = b"%PDF-1.7 signed"
    store.put_blob("acc-1/i1.pdf", pdf, "application/pdf")
    url, expires_at = store.blob_url("acc-1/i1.pdf", filename="RE-2026-0001.pdf", expires_in=900)
    assert expires_at >= int(time.time()) + 800
    if backend == "sqlite":
        parsed = urllib.parse.urlparse(url)
        assert parsed.path.endswith("/blobs/acc-1/i1.pdf")  # served by the local server
        qs = dict(urllib.parse.parse_qsl(parsed.query))
        key = urllib.parse.unquote(parsed.path.split("/blobs/", 1)[1])
        assert qs["filename"] == "RE-2026-0001.pdf"
        assert store.verify_blob_link(key, qs["expires"], qs["filename"], qs["sig"])
        assert not store.verify_blob_link(key, qs["expires"], "other.pdf", qs["sig"])
        assert not store.verify_blob_link("acc-2/i1.pdf", qs["expires"], qs["filename"], qs["sig"])
        later = str(int(qs["expires"]) + 3600)
        assert not store.verify_blob_link(key, later, qs["filename"], qs["sig"])
        old, _ = store.blob_url("acc-1/i1.pdf", filename="a.pdf", expires_in=-10)
        oq = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(old).query))
        assert not store.verify_blob_link(key, oq["expires"], oq["filename"], oq["sig"])
    else:
        resp = requests.get(url, timeout=10)
        assert resp.status_code == 200
        assert resp.content == pdf
        assert resp.headers["Content-Type"] == "application/pdf"
        assert resp.headers["Content-Disposition"] == 'attachment; filename="RE-2026-0001.pdf"'
        assert "blobs/acc-1/i1.pdf" in urllib.parse.urlparse(url).path
        forged = url.replace("i1.pdf", "i2.pdf", 1)
        assert requests.get(forged, timeout=10).status_code != 200
