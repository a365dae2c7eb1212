"""``invoice.list`` filters, sorting, paging and projection; ``report.summary``."""

from __future__ import annotations

import pytest

from functions.domain.errors import ValidationFailed

from .support import act, draft, seed


@pytest.fixture
def book(ctx, ids) -> dict[str, dict]:
    """Five documents of two clients in two currencies and several statuses."""
    other = act(
        ctx,
        "client.create",
        name="Zeta Trading Ltd",
        email="pay@zeta.example",
        currency="USD",
        address={"line1": "1 Main St", "postal_code": "10001", "city": "NYC", "country": "US"},
    )
    z = {**ids, "client_id": other["id"]}
    docs = {
        "small": draft(ctx, ids, lines=[{"description": "a", "unit_price": "9.5"}]),
        "big": draft(ctx, ids, lines=[{"description": "b", "unit_price": "1000"}]),
        "mid": draft(ctx, ids, lines=[{"description": "c", "unit_price": "100"}]),
        "usd": draft(ctx, z, lines=[{"description": "d", "unit_price": "50"}]),
        "draft": draft(ctx, ids, lines=[{"description": "e", "unit_price": "20"}]),
    }
    for name in ("small", "big", "mid", "usd"):
        docs[name] = act(ctx, "invoice.finalize", invoice_id=docs[name]["id"])
    act(ctx, "invoice.record_payment", invoice_id=docs["mid"]["id"], amount=docs["mid"]["total"])
    return docs


def _ids(result) -> list[str]:
    return [item["id"] for item in result["items"]]


def test_default_order_is_newest_first(ctx, book):
    result = act(ctx, "invoice.list")
    assert result["total"] == 5 and result["page"] == 1 and result["pages"] == 1
    assert result["limit"] == 20
    assert _ids(result) == [book[k]["id"] for k in ("draft", "usd", "mid", "big", "small")]


def test_numeric_sort_by_total(ctx, book):
    asc = act(ctx, "invoice.list", sort_by="total", sort_order="asc", fields=["total"])
    assert [i["total"] for i in asc["items"]] == ["11.31", "23.80", "50.00", "119.00", "1190.00"]
    desc = act(ctx, "invoice.list", sort_by="total", fields=["total"])
    assert desc["items"][0]["total"] == "1190.00"


def test_filters(ctx, book):
    by = lambda **kw: set(_ids(act(ctx, "invoice.list", **kw)))  # noqa: E731
    assert by(status="paid") == {book["mid"]["id"]}
    assert by(status=["open", "draft"]) == {book[k]["id"] for k in ("small", "big", "usd", "draft")}
    assert by(q="zeta") == {book["usd"]["id"]}  # client name, case-insensitive
    assert by(q="PAY@ZETA") == {book["usd"]["id"]}  # client e-mail
    assert by(q="2026-0002") == {book["big"]["id"]}  # number
    assert by(currency="usd") == {book["usd"]["id"]}
    assert by(client_id=book["usd"]["client_id"]) == {book["usd"]["id"]}
    assert by(min_total="50", max_total="119") == {book["usd"]["id"], book["mid"]["id"]}
    assert by(min_total=100.5) == {book["mid"]["id"], book["big"]["id"]}
    assert by(issued_from="2026-11-21", issued_to="2026-11-21") == {
        book[k]["id"] for k in ("small", "big", "mid", "usd")
    }
    assert by(due_to="2026-11-30") == set()
    assert by(kind="credit_note") == set()
    assert by(q="kunde", status="open", sort_by="total") == {book["small"]["id"], book["big"]["id"]}


def test_paging_and_projection(ctx, book):
    page1 = act(ctx, "invoice.list", limit=2, page=1, sort_by="number", sort_order="asc")
    page3 = act(ctx, "invoice.list", limit=2, page=3, sort_by="number", sort_order="asc")
    assert (page1["total"], page1["pages"], len(page1["items"])) == (5, 3, 2)
    assert len(page3["items"]) == 1
    assert page1["items"][0]["number"] == "INV-2026-0001"
    projected = act(ctx, "invoice.list", fields=["id", "number", "client_name"], limit=1)
    assert set(projected["items"][0]) == {"id", "number", "client_name"}
    for bad in (
        {"fields": ["nope"]},
        {"limit": 0},
        {"limit": 101},
        {"status": "late"},
        {"sort_by": "amount"},
        {"min_total": "x"},
    ):
        with pytest.raises((ValidationFailed, ValueError)):
            act(ctx, "invoice.list", **bad)


def test_report_summary(ctx, book):
    report = act(ctx, "report.summary")
    assert report["currency"] == "EUR"
    assert report["counts"]["open"] == 3 and report["counts"]["paid"] == 1
    assert report["counts"]["draft"] == 1
    assert report["by_status"]["open"] == {"count": 2, "total": "1201.31", "amount_due": "1201.31"}
    assert report["outstanding"] == {"count": 2, "amount": "1201.31"}
    assert report["paid_last_30_days"] == {"count": 1, "amount": "119.00"}
    assert report["by_currency"]["USD"]["outstanding"] == {"count": 1, "amount": "50.00"}
    usd = act(ctx, "report.summary", currency="USD")
    assert usd["currency"] == "USD" and usd["outstanding"]["amount"] == "50.00"
    assert usd["counts"]["open"] == 1


def test_report_per_entity(ctx, book):
    other = seed(ctx)
    act(ctx, "invoice.finalize", invoice_id=draft(ctx, other)["id"])
    report = act(ctx, "report.summary", entity_id=other["entity_id"])
    assert report["counts"]["open"] == 1 and report["outstanding"]["amount"] == "1249.49"
