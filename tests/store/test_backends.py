"""Backend-specific behaviour: DynamoDB limits and retries, SQLite's append-only guard and
schema upgrade."""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

import pytest
import requests

from storage_adapter import Transaction, VersionConflict, open_store
from storage_adapter.dynamodb import (
    ACCOUNT_INDEX,
    COLLECTION_INDEX,
    TTL_ATTRIBUTE,
    DynamoStore,
    ItemTooLarge,
    TransactionTooLarge,
    create_table_definition,
)
from storage_adapter.sqlite import SqliteStore
from tests.support.moto_server import REGION, create_bucket, create_table, store_url

ACC = "acc-1"

# --- DynamoDB ---------------------------------------------------------------------------------


def test_table_definition_has_the_indexes_the_queries_use() -> None:
    d = create_table_definition("billow")
    assert d["TableName"] == "billow"
    from storage_adapter.dynamodb_indexes import DUE_INDEX, QV_INDEX, SLOTS, slot_index

    assert {i["IndexName"] for i in d["GlobalSecondaryIndexes"]} == {
        ACCOUNT_INDEX,
        COLLECTION_INDEX,
        DUE_INDEX,  # the declared due index (sparse, sharded)
        QV_INDEX,  # the q search's records by client name/e-mail group
        *(slot_index(i) for i in range(SLOTS)),  # the declared list indexes' slots
    }
    assert len(d["GlobalSecondaryIndexes"]) <= 20  # DynamoDB's limit per table
    assert [k["AttributeName"] for k in d["KeySchema"]] == ["PK", "SK"]
    assert TTL_ATTRIBUTE == "expires_at"


@pytest.mark.aws
def test_open_store_reads_the_dynamodb_url_and_ensure_table_is_idempotent(
    moto_endpoint: str,
) -> None:
    table, bucket = create_table(moto_endpoint), create_bucket(moto_endpoint)
    store = open_store(store_url(moto_endpoint, table, bucket))
    assert isinstance(store, DynamoStore)
    assert (store.table, store.bucket, store.region) == (table, bucket, REGION)
    assert store.endpoint_url == moto_endpoint
    store.ensure_table()  # exists already: no error
    store.put("invoices", "a", {"n": 1}, account_id=ACC, expected_version=0)
    ttl = store._ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == TTL_ATTRIBUTE


@pytest.mark.aws
def test_an_item_over_400kb_is_refused_clearly_and_nothing_is_written(dynamo_store) -> None:
    def fn(tx: Transaction) -> None:
        tx.next_number("inv")
        tx.put("invoices", "small", {"n": 1}, account_id=ACC, expected_version=0)
        tx.put("invoices", "huge", {"x": "x" * 420_000}, account_id=ACC, expected_version=0)

    with pytest.raises(ItemTooLarge, match="huge"):
        dynamo_store.transaction(fn)
    assert dynamo_store.get("invoices", "small") is None
    assert dynamo_store.counter_value("inv") == 0


@pytest.mark.aws
def test_a_commit_over_100_items_is_refused_clearly_and_nothing_is_written(dynamo_store) -> None:
    def fn(tx: Transaction) -> None:
        for i in range(101):
            tx.put("invoices", f"k{i}", {"i": i}, account_id=ACC, expected_version=0)

    with pytest.raises(TransactionTooLarge, match="100"):
        dynamo_store.transaction(fn)
    assert dynamo_store.query("invoices", account_id=ACC).total == 0


@pytest.mark.aws
def test_a_write_that_lands_between_read_and_commit_makes_the_function_run_again(
    dynamo_store, moto_endpoint: str
) -> None:
    other = DynamoStore(dynamo_store.table, region=REGION, endpoint_url=moto_endpoint)
    dynamo_store.put("invoices", "a", {"paid": "0"}, account_id=ACC, expected_version=0)
    calls = []

    def add_payment(tx: Transaction) -> None:
        rec = tx.get("invoices", "a")
        calls.append(rec.version)
        if len(calls) == 1:  # a rival commits after our read
            other.put("invoices", "a", {"paid": "5"}, account_id=ACC, expected_version=1)
        paid = int(rec.data["paid"]) + 10
        tx.put("invoices", "a", {"paid": str(paid)}, account_id=ACC, expected_version=rec.version)

    dynamo_store.transaction(add_payment)
    assert calls == [1, 2]
    rec = dynamo_store.get("invoices", "a")
    assert (rec.version, rec.data) == (3, {"paid": "15"})  # no lost update


@pytest.mark.aws
def test_records_only_read_are_checked_at_commit(dynamo_store, moto_endpoint: str) -> None:
    other = DynamoStore(dynamo_store.table, region=REGION, endpoint_url=moto_endpoint)
    dynamo_store.put("settings", "entity", {"prefix": "A-"}, account_id=ACC, expected_version=0)
    calls = []

    def create(tx: Transaction) -> None:
        prefix = tx.get("settings", "entity").data["prefix"]
        calls.append(prefix)
        if len(calls) == 1:
            other.put("settings", "entity", {"prefix": "B-"}, account_id=ACC, expected_version=1)
        tx.put("invoices", "i", {"number": prefix + "1"}, account_id=ACC, expected_version=None)

    dynamo_store.transaction(create)
    assert calls == ["A-", "B-"]
    assert dynamo_store.get("invoices", "i").data == {"number": "B-1"}


@pytest.mark.aws
def test_sustained_contention_ends_in_version_conflict(dynamo_store, moto_endpoint) -> None:
    other = DynamoStore(dynamo_store.table, region=REGION, endpoint_url=moto_endpoint)
    dynamo_store.put("invoices", "a", {"n": 0}, account_id=ACC, expected_version=0)
    calls = []

    def bump(tx: Transaction) -> None:
        rec = tx.get("invoices", "a")
        calls.append(1)
        other.put("invoices", "a", {"n": "rival"}, account_id=ACC, expected_version=rec.version)
        tx.put("invoices", "a", {"n": "mine"}, account_id=ACC, expected_version=rec.version)

    with pytest.raises(VersionConflict):
        dynamo_store.transaction(bump, retries=2)
    assert len(calls) == 3
    assert dynamo_store.get("invoices", "a").data == {"n": "rival"}


@pytest.mark.aws
def test_signed_link_carries_a_non_ascii_file_name(dynamo_store) -> None:
    dynamo_store.put_blob("acc-1/x.pdf", b"%PDF", "application/pdf")
    url, _ = dynamo_store.blob_url("acc-1/x.pdf", filename='Rechnung "Müller".pdf')
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200
    cd = resp.headers["Content-Disposition"]
    assert cd.startswith('attachment; filename="Rechnung _M_ller_.pdf"')
    assert urllib.parse.unquote(cd.split("filename*=UTF-8''")[1]) == 'Rechnung "Müller".pdf'


@pytest.mark.aws
def test_query_across_accounts_spans_every_shard(dynamo_store) -> None:
    for i in range(40):
        dynamo_store.put(
            "invoices", f"k{i}", {"i": i}, account_id=f"acc-{i % 3}", expected_version=0
        )
    page = dynamo_store.query("invoices", account_id=None)
    assert sorted(r.key for r in page.items) == sorted(f"k{i}" for i in range(40))


# --- SQLite -----------------------------------------------------------------------------------


def test_sqlite_refuses_to_rewrite_or_delete_events_even_by_hand(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "b.db")
    store.transaction(lambda tx: tx.append("inv-1", {"type": "created"}))
    conn = sqlite3.connect(tmp_path / "b.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE events SET data = '{}'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM events")
    conn.close()
    assert store.events("inv-1") == [{"type": "created"}]
