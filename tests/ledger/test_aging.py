"""report.aging: open receivables by days past due, per client and in total, per currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from functions.ledger.aging import BUCKETS, aging, bucket_of

from .lives import Life


def test_buckets_edges():
    assert [bucket_of(d) for d in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 400)] == [
        "current",
        "current",
        "1-30",
        "1-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "90+",
        "90+",
    ]


def test_aging_of_a_life():
    life = Life.start("DE", None)
    line = [{"description": "x", "quantity": "1", "unit_price": "100"}]
    a = life.issue("cli_home", line, "EUR")  # due 2026-02-04 (30 days)
    life.issue("cli_eu", line, "EUR")
    life.issue("cli_home", line, "USD")
    c = life.issue("cli_us", line, "EUR")
    life.pay(a.id, Decimal("19"))
    life.write_off(c.id)  # written off: not a receivable any more
    life.issue_self_billed("sup_home", line, "EUR")  # owed by the entity: not a receivable
    report = aging(life.docs.values(), date(2026, 3, 10))  # 34 days past due
    assert report["buckets"] == list(BUCKETS)
    eur, usd = report["currencies"]
    assert eur["currency"] == "EUR" and usd["currency"] == "USD"
    assert eur["total"] == {
        "current": "0.00",
        "1-30": "0.00",
        "31-60": "200.00",
        "61-90": "0.00",
        "90+": "0.00",
        "total": "200.00",
        "count": 2,
    }
    assert [(c["client_id"], c["total"]) for c in eur["clients"]] == [
        ("cli_eu", "100.00"),  # reverse charge: no VAT
        ("cli_home", "100.00"),  # 119.00 less 19.00 paid
    ]
    assert eur["clients"][0]["name"] == "Client cli_eu (SE)"
    assert (
        aging(life.docs.values(), date(2026, 2, 4), currency="usd")["currencies"][0]["total"][
            "current"
        ]
        == "119.00"
    )
    assert aging([], date(2026, 1, 1))["currencies"] == []
