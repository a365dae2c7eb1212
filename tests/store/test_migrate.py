"""A store written by the previous version (``fixtures/v1_store.sqlite``, made by main's code
before declared indexes, with ``fixtures/make_v1_store.py``) is upgraded in place — on open and
with ``billow migrate`` — and then answers exactly what the old code answered, nothing lost."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from functions.overdue.job import run_overdue
from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import act, make_ctx

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    db = tmp_path / "data" / "billow.db"
    db.parent.mkdir()
    shutil.copy(FIXTURES / "v1_store.sqlite", db)
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
    assert "records" in tables and "ix_invoices" not in tables  # really the old layout
    return db


#: Fields the representation gained after the fixture was recorded (later features), with
#: the value every migrated document shows for them.
ADDED_FIELDS = {"hosted_invoice_url": None, "viewed_at": None}


def _as_recorded(answer: dict, recorded: dict) -> dict:
    """``answer`` with the fields added since the recording checked and set aside: the old
    store must answer the same for everything the old version answered."""
    items = []
    for item in answer["items"]:
        item = dict(item)
        for name, value in ADDED_FIELDS.items():
            assert item.pop(name, value) == value, (name, item["id"])
        items.append(item)
    return {**answer, "items": items}


def _answers_of(store: SqliteStore) -> dict:
    ctx = make_ctx(store, account_id="acct_test")
    expected = json.loads((FIXTURES / "v1_answers.json").read_text())
    lists = [
        [q, _as_recorded(act(ctx, "invoice.list", **q), answer)] for q, answer in expected["lists"]
    ]
    return {"lists": lists, "summary": act(ctx, "report.summary")}, expected


def test_old_store_migrates_on_open_and_answers_the_same(old_store: Path):
    rows_before = sqlite3.connect(old_store).execute("SELECT count(*) FROM records").fetchone()
    store = SqliteStore(old_store)
    got, expected = _answers_of(store)
    assert got["lists"] == expected["lists"]
    assert got["summary"] == expected["summary"]
    due = [r.key for r in store.due("invoices", up_to="2026-12-31")]
    assert sorted(due) == expected["due_by_2026_12_31"]
    assert store.migrate() == {}  # idempotent: nothing left to do
    conn = sqlite3.connect(old_store)
    assert conn.execute("SELECT count(*) FROM records").fetchone() == rows_before
    assert conn.execute("SELECT count(*) FROM ix_invoices").fetchone()[0] == 26
    # the new filters work on migrated data
    ctx = make_ctx(store, account_id="acct_test")
    assert act(ctx, "invoice.list", metadata={"order": "1"})["total"] == 4
    # and the daily run finds the migrated open invoices through the due index
    counts = run_overdue(store, date(2027, 1, 2), {"mailer": _NoMail()})
    assert counts["checked"] == len(expected["due_by_2026_12_31"]) > 0
    store.close()


def test_billow_migrate_command(old_store: Path):
    data_dir = old_store.parent
    out = subprocess.run(
        [sys.executable, "-m", "infra.cli", "migrate", "--data-dir", str(data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    # quotes, recurring and clients are declared for the universal search's facet rows
    migrated = {"invoices": 26, "quotes": 0, "recurring": 0, "clients": 2}
    assert json.loads(out.stdout) == {"migrated": migrated}
    again = subprocess.run(
        [sys.executable, "-m", "infra.cli", "migrate", "--data-dir", str(data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(again.stdout) == {"migrated": {}}
    store = SqliteStore(old_store)
    got, expected = _answers_of(store)
    assert got == {"lists": expected["lists"], "summary": expected["summary"]}
    store.close()


class _NoMail:
    def send(self, message) -> str:
        return "<test@billow>"


# --- DynamoDB: a table made by the previous version ---------------------------------------------


@pytest.mark.aws
def test_old_dynamodb_table_migrates_in_place(moto_endpoint, monkeypatch):
    from storage_adapter import Store
    from storage_adapter import dynamodb as ddb_module
    from storage_adapter.declared import INVOICES
    from storage_adapter.dynamodb import DynamoStore, create_table_definition
    from storage_adapter.indexes import due_records
    from tests.invoices.support import draft, seed
    from tests.support.moto_server import REGION, create_bucket, unique_name

    table = unique_name("billow-old")
    old = create_table_definition(table)  # the previous version's table: two GSIs
    old["GlobalSecondaryIndexes"] = [
        g
        for g in old["GlobalSecondaryIndexes"]
        if g["IndexName"] in ("by_account", "by_collection")
    ]
    old["AttributeDefinitions"] = [
        a for a in old["AttributeDefinitions"] if a["AttributeName"][:3] in ("PK", "SK", "GSI")
    ]
    store = DynamoStore(
        table, bucket=create_bucket(moto_endpoint), region=REGION, endpoint_url=moto_endpoint
    )
    store._ddb.create_table(**old)
    # written as the previous version wrote: no index attributes, no aggregate items
    with monkeypatch.context() as m:
        m.setattr(ddb_module, "declaration", lambda _collection: None)
        ctx = make_ctx(store, account_id="acct_test")
        ctx.services["pdf"] = lambda *_a: {
            "blob_key": "pdf/x.pdf",
            "sha256": "0" * 64,
            "filename": "x.pdf",
        }
        ids = seed(ctx)
        docs = [
            draft(
                ctx,
                ids,
                lines=[{"description": "x", "unit_price": str(10 + 7 * i)}],
                metadata={"order": str(i % 2)},
            )
            for i in range(6)
        ]
        for doc in docs[:4]:
            act(ctx, "invoice.finalize", invoice_id=doc["id"])
        paid = act(ctx, "invoice.get", invoice_id=docs[0]["id"])
        act(ctx, "invoice.record_payment", invoice_id=paid["id"], amount=paid["total"])
        queries = [
            {},
            {"status": "open", "sort_by": "total"},
            {"sort_by": "number", "sort_order": "asc"},
        ]
        before = [act(ctx, "invoice.list", **q) for q in queries]
    items = store._ddb.scan(TableName=table)["Items"]
    assert not any("X01_PK" in i or str(i["PK"]["S"]).startswith("A#") for i in items)

    # every declared collection is brought up to date (the search declares quotes, schedules
    # and clients too): here six invoices and the one client
    assert store.migrate() == {"invoices": 6, "quotes": 0, "recurring": 0, "clients": 1}
    indexes = {
        g["IndexName"]
        for g in store._ddb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
    }
    assert {"ix01", "ix14", "due"} <= indexes
    assert [act(ctx, "invoice.list", **q) for q in queries] == before
    records = store.query("invoices", account_id="acct_test").items
    for name in ("by_status", "_count", "payments_by_day"):
        assert store.aggregate("invoices", name, account_id="acct_test") == Store.aggregate(
            store, "invoices", name, account_id="acct_test"
        )
    assert [r.key for r in store.due("invoices", up_to="2027-12-31")] == [
        r.key for r in due_records(INVOICES, records, "2027-12-31")
    ]
    assert act(ctx, "invoice.list", metadata={"order": "1"})["total"] == 3
    assert store.migrate() == {}  # done once
