"""DynamoDB keeps the search's facet rows beside each commit (``dynamodb_deferred``):
a search reads only the rows its conditions cover, a commit whose rows were never written
(the process died after it) is still found, concurrent writers leave exactly the rows of the
record's last version, and a record with more rows than one transaction takes is complete."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from functions.domain.facets import COLLECTION_TYPES
from functions.services.search import AmountLabel
from storage_adapter import Store
from storage_adapter import dynamodb_deferred as deferred
from storage_adapter.declared import FACETS
from storage_adapter.dynamodb import DynamoStore
from tests.invoices.support import act, draft, make_ctx, seed

pytestmark = pytest.mark.aws

A = "acct_a"


def _pending(store: DynamoStore, account: str) -> list[dict[str, Any]]:
    return store._ddb.query(
        TableName=store.table,
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": {"S": f"DP#{account}"}},
        ConsistentRead=True,
    )["Items"]


def _rows_agree(store: DynamoStore, collection: str, account: str) -> None:
    """The kept rows are exactly what the records themselves publish."""
    kept = store.aggregate(collection, FACETS, account_id=account)
    assert kept == Store.aggregate(store, collection, FACETS, account_id=account)


def test_a_search_reads_the_rows_it_finds_not_the_account(dynamo_store: DynamoStore) -> None:
    ctx = make_ctx(dynamo_store, account_id=A)
    ids = seed(ctx)
    made = [draft(ctx, ids, po_number=f"PO-{i}") for i in range(25)]
    assert not _pending(dynamo_store, A)  # each commit settled its own rows
    before = dynamo_store.items_read
    found = act(ctx, "search", identifiers={"value": "PO-17", "type": "po_number"})
    read = dynamo_store.items_read - before
    assert [i["id"] for i in found["items"]] == [made[17]["id"]]
    # the one row found (the other collections have none): not the 26 records
    assert read <= 4, read
    before = dynamo_store.items_read
    assert act(ctx, "search", identifiers={"value": "PO-99"})["total"] == 0
    assert dynamo_store.items_read - before <= 4


def test_a_search_drains_the_pending_markers_once(dynamo_store: DynamoStore) -> None:
    """An amount search with no label reads rows of every label and collection: one marker
    query for all of them, not one per range read (and pending markers are still found)."""
    ctx = make_ctx(dynamo_store, account_id=A)
    ids = seed(ctx)
    draft(ctx, ids, lines=[{"description": "Work", "unit_price": "100"}])
    before = dynamo_store.queries
    act(ctx, "search", amounts={"min": "1", "max": "1000"})
    ranges = len(AmountLabel.__args__) * len(COLLECTION_TYPES)
    assert dynamo_store.queries - before == ranges + 1


def test_a_commit_whose_rows_were_never_written_is_found(
    dynamo_store: DynamoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_ctx(dynamo_store, account_id=A)
    ids = seed(ctx)
    with monkeypatch.context() as m:  # the process "dies" right after each commit
        m.setattr(deferred, "settle", lambda *_a, **_k: None)
        invoice = draft(ctx, ids, po_number="PO 4711")
        act(
            ctx,
            "invoice.update",
            invoice_id=invoice["id"],
            version=invoice["version"],
            po_number="PO 815",
        )
    assert len(_pending(dynamo_store, A)) == 2  # the draft and its update
    assert act(ctx, "search", identifiers={"value": "PO 4711"})["total"] == 0
    found = act(ctx, "search", identifiers={"value": "po815"})
    assert [i["id"] for i in found["items"]] == [invoice["id"]]
    assert not _pending(dynamo_store, A)  # the reader brought them up to date
    _rows_agree(dynamo_store, "invoices", A)
    _rows_agree(dynamo_store, "clients", A)


def test_concurrent_writers_leave_the_last_versions_rows(dynamo_store: DynamoStore) -> None:
    ctx = make_ctx(dynamo_store, account_id=A)
    ids = seed(ctx)
    invoice = draft(ctx, ids)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for k in range(4):

                def change(tx: Any, value: str = f"PO-{n}-{k}") -> None:
                    rec = tx.get("invoices", invoice["id"])
                    tx.put(
                        "invoices",
                        invoice["id"],
                        {**rec.data, "po_number": value},
                        account_id=A,
                        expected_version=rec.version,
                    )

                dynamo_store.transaction(change)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    _rows_agree(dynamo_store, "invoices", A)
    last = dynamo_store.get("invoices", invoice["id"]).data["po_number"]
    found = act(ctx, "search", identifiers={"value": last, "type": "po_number"})
    assert [i["id"] for i in found["items"]] == [invoice["id"]]
    assert act(ctx, "search", identifiers={"type": "po_number", "value": "PO-0-0"})["total"] == (
        1 if last == "PO-0-0" else 0
    )


def test_more_rows_than_one_transaction_takes(dynamo_store: DynamoStore) -> None:
    """40 payments publish about 175 rows: written in chunks, all found, then replaced."""
    payments = [
        {"id": f"pay_{k}", "amount": "1.00", "paid_on": "2026-11-02", "reference": f"R-{k}"}
        for k in range(40)
    ]
    data = {
        "id": "inv_many",
        "kind": "invoice",
        "status": "open",
        "currency": "EUR",
        "total": "40.00",
        "amount_due": "0.00",
        "created_at": "2026-11-01T09:00:00Z",
        "client_name": "Acme",
        "payments": payments,
    }
    dynamo_store.put("invoices", "inv_many", data, account_id=A, expected_version=0)
    rows = deferred.row_items(
        deferred.declaration("invoices"), dynamo_store.get("invoices", "inv_many")
    )
    assert len(rows) > 100
    _rows_agree(dynamo_store, "invoices", A)
    ctx = make_ctx(dynamo_store, account_id=A)
    assert act(ctx, "search", identifiers={"value": "r-39"})["total"] == 1
    rec = dynamo_store.get("invoices", "inv_many")
    fewer = {**data, "payments": payments[:3]}
    dynamo_store.put("invoices", "inv_many", fewer, account_id=A, expected_version=rec.version)
    _rows_agree(dynamo_store, "invoices", A)
    assert act(ctx, "search", identifiers={"value": "r-39"})["total"] == 0
    rec = dynamo_store.get("invoices", "inv_many")
    dynamo_store.transaction(
        lambda tx: tx.delete("invoices", "inv_many", expected_version=rec.version)
    )
    assert dynamo_store.aggregate("invoices", FACETS, account_id=A) == []
