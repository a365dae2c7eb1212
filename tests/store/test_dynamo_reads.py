"""On DynamoDB (moto server), what a list page and ``report.summary`` read follows the page,
not the account: items read (the responses' ``ScannedCount``) for accounts of 100 and 10,000
invoices stay within the page size plus a constant when the filters are index keys, and a
``q`` search within its matches plus a constant (the account's vocabulary of client groups).

The 100,000-invoice row is in the bench (``python -m tests.bench.bench_list --dynamo``).
"""

from __future__ import annotations

import pytest

from storage_adapter import dynamodb_indexes as dix
from tests.bench.bench_list import generate, templates
from tests.invoices.support import ACCOUNT, act
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401

pytestmark = pytest.mark.aws

PAGE = 20
#: Reads besides the page's items: the count's aggregate rows, one spare item per partition.
SLACK = 12


def _reads(store, fn):
    before = store.items_read
    result = fn()
    return store.items_read - before, result


@pytest.mark.parametrize("size", [100, 10_000])
def test_items_read_follow_the_page(dynamo_store, size):  # noqa: F811
    ctx, clients, made = templates(dynamo_store, ACCOUNT)
    rows = ((k, ACCOUNT, d) for k, d in generate(clients, made, size, ["2027-03-01"]))
    dynamo_store.bulk_load("invoices", rows, deferred_rows=False)  # lists, not the search

    n, first = _reads(dynamo_store, lambda: act(ctx, "invoice.list", limit=PAGE))
    assert first["total"] == size + 2 and len(first["items"]) == PAGE
    assert n <= PAGE + SLACK, n

    n, by_status = _reads(
        dynamo_store,
        lambda: act(ctx, "invoice.list", status=["open", "overdue"], sort_by="total", limit=PAGE),
    )
    totals = [float(i["total"]) for i in by_status["items"]]
    assert totals == sorted(totals, reverse=True) and by_status["total"] > PAGE
    assert n <= 2 * (PAGE + SLACK), n  # one partition per status

    second = act(ctx, "invoice.list", limit=PAGE, page=2)
    assert {i["id"] for i in second["items"]}.isdisjoint({i["id"] for i in first["items"]})

    n, summary = _reads(dynamo_store, lambda: act(ctx, "report.summary"))
    assert sum(summary["counts"].values()) == size + 2
    assert n <= 3 * SLACK, n  # aggregate rows only: statuses x currencies, payment days


@pytest.mark.parametrize("size", [100, 2_500])
def test_a_search_reads_its_matches_and_the_vocabulary(dynamo_store, size):  # noqa: F811
    """A ``q`` search reads the account's vocabulary (a row per client x status x ... group,
    not per invoice) and about its matches: a client match through its groups or a walk of
    the list's index, a number hit as its suffix row and its record. (The suffix rows make
    moto, which scans the table for every index query, slow at 10,000: the bench has that
    size and 100,000.)"""
    ctx, clients, made = templates(dynamo_store, ACCOUNT)
    rows = ((k, ACCOUNT, d) for k, d in generate(clients, made, size, ["2027-03-01"]))
    # the q search's suffix rows, not the universal search's
    dynamo_store.bulk_load("invoices", rows, deferred_rows=frozenset({dix.SUFFIXES}))
    vocabulary = len(
        list(
            dynamo_store._query_items(
                KeyConditionExpression="PK = :p",
                ExpressionAttributeValues={":p": {"S": dix.agg_pk("invoices", ACCOUNT, dix.VOCAB)}},
            )
        )
    )
    assert vocabulary <= 60  # 8 clients x 6 statuses, and the templates'
    for params, per_match in (
        ({"q": "acme", "status": ["open", "overdue"], "sort_by": "total"}, 1),
        ({"q": "acme"}, 1),
        ({"q": "ACME ag", "status": "paid", "page": 2}, 1),
        ({"q": "INV-2026-00001"}, 2),
        ({"q": "-2026-000002", "status": "open"}, 2),
        ({"q": "zzz-nothing"}, 0),
    ):
        n, got = _reads(dynamo_store, lambda p=params: act(ctx, "invoice.list", limit=PAGE, **p))
        assert n <= per_match * got["total"] + vocabulary + SLACK, (params, n, got["total"])
        skipped = PAGE * (params.get("page", 1) - 1)
        assert len(got["items"]) == min(PAGE, max(0, got["total"] - skipped)), params
        assert (got["total"] > 0) == (params["q"] != "zzz-nothing"), params
