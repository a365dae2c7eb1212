"""SQLite's list queries (SQL over indexed JSON columns) give exactly the result of the Python
reference semantics (``base.select_page``), which the DynamoDB backend uses as is."""

from __future__ import annotations

import itertools
import tempfile
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage_adapter import Filter, Sort
from storage_adapter.base import select_page
from storage_adapter.sqlite import SqliteStore

TEXT = st.text(alphabet="aAbBßSsİiÆæøØü Ü-1", max_size=6)
AMOUNT = st.decimals(min_value=-1000, max_value=1000, places=2).map(lambda d: format(d, "f"))
DATE = st.dates().map(lambda d: d.isoformat())
RECORD = st.fixed_dictionaries(
    {},
    optional={
        "name": TEXT,
        "email": TEXT,
        "status": st.sampled_from(["open", "paid", "draft"]),
        "total": AMOUNT,
        "issue_date": DATE,
    },
)
FILTER = st.one_of(
    st.builds(Filter, st.just("name"), st.just("contains"), TEXT, st.just(("email",))),
    st.builds(
        Filter,
        st.just("status"),
        st.sampled_from(["eq", "ne"]),
        st.sampled_from(["open", "paid", None]),
    ),
    st.builds(
        Filter, st.just("status"), st.just("in"), st.lists(st.sampled_from(["open", "paid"]))
    ),
    st.builds(
        Filter,
        st.just("total"),
        st.sampled_from(["gte", "lte", "gt", "lt"]),
        AMOUNT.map(Decimal),
    ),
    st.builds(Filter, st.just("issue_date"), st.sampled_from(["gte", "lte"]), DATE),
)
SORT = st.one_of(
    st.builds(Sort, st.sampled_from(["name", "issue_date", "status"]), st.booleans()),
    st.builds(Sort, st.just("total"), st.booleans(), st.just(True)),
)

_store = SqliteStore(tempfile.mkdtemp(prefix="billow-semantics-") + "/billow.db")
_collections = itertools.count()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(RECORD, max_size=12),
    filters=st.lists(FILTER, max_size=3),
    sort=SORT,
    limit=st.one_of(st.none(), st.integers(1, 5)),
    offset=st.integers(0, 4),
)
def test_sqlite_query_equals_the_reference(records, filters, sort, limit, offset) -> None:
    collection = f"c{next(_collections)}"

    def load(tx) -> None:
        for i, data in enumerate(records):
            tx.put(collection, f"k{i:02d}", data, account_id="a", expected_version=0)

    _store.transaction(load)
    everything = _store.query(collection, account_id="a").items
    expected = select_page(everything, filters, sort, limit, offset)
    got = _store.query(
        collection, account_id="a", filters=filters, sort=sort, limit=limit, offset=offset
    )
    assert [r.key for r in got.items] == [r.key for r in expected.items]
    assert got.total == expected.total
