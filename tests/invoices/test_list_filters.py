"""``invoice.list``'s ``number`` (exact), ``created_from``/``created_to`` (whole UTC days) and
``metadata`` (every pair must match) filters (issue 16 item 7), on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from functions.domain.errors import ValidationFailed
from storage_adapter.sqlite import SqliteStore
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401

from .support import act, draft, make_ctx, seed


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)])
def any_store(request, tmp_path: Path):
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "data" / "billow.db")
        yield s
        s.close()
    else:
        yield request.getfixturevalue("dynamo_store")


def test_number_created_and_metadata_filters(any_store):
    ctx = make_ctx(any_store)
    ids = seed(ctx)
    docs = {}
    for day, meta in ((19, {"shop": "eu", "order": "7"}), (20, {"shop": "us"}), (21, None)):
        ctx.now = datetime(2026, 11, day, 23, 59, tzinfo=UTC)
        extra = {"metadata": meta} if meta else {}
        docs[day] = draft(ctx, ids, **extra)
    ctx.now = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    docs[19] = act(ctx, "invoice.finalize", invoice_id=docs[19]["id"])
    docs[20] = act(ctx, "invoice.finalize", invoice_id=docs[20]["id"])

    def by(**kw):
        listed = act(ctx, "invoice.list", **kw)
        assert listed["total"] == len(listed["items"])
        return {i["id"] for i in listed["items"]}

    assert by(number=docs[20]["number"]) == {docs[20]["id"]}
    assert by(number=docs[20]["number"].lower()) == set()  # exact, not a search
    assert by(number=docs[20]["number"][:-1]) == set()
    assert by(created_from="2026-11-20") == {docs[20]["id"], docs[21]["id"]}
    assert by(created_to="2026-11-20") == {docs[19]["id"], docs[20]["id"]}  # the whole day
    assert by(created_from="2026-11-20", created_to="2026-11-20") == {docs[20]["id"]}
    assert by(metadata={"shop": "eu"}) == {docs[19]["id"]}
    assert by(metadata={"shop": "eu", "order": "7"}) == {docs[19]["id"]}
    assert by(metadata={"shop": "eu", "order": "8"}) == set()  # every pair must match
    assert by(metadata={"shop": "us"}, status="open") == {docs[20]["id"]}
    assert by(metadata={}) == {d["id"] for d in docs.values()}
    for bad in ({"created_from": "yesterday"}, {"metadata": {"shop": 1}}, {"number": 5}):
        with pytest.raises((ValidationFailed, ValueError)):
            act(ctx, "invoice.list", **bad)
