"""On DynamoDB (moto server), what a list page and ``report.summary`` read follows the page,
not the account: items read (the responses' ``ScannedCount``) for accounts of 100 and 10,000
invoices stay within the page size plus a constant when the filters are index keys.

The 100,000-invoice row is in the bench (``python -m tests.bench.bench_list --dynamo``).
"""

from __future__ import annotations

import pytest

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
