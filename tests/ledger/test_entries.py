"""Journal entries of each business event, worked through by hand on a German entity (SKR03),
a Swedish one (BAS) and the generic chart."""

from __future__ import annotations

from decimal import Decimal

import pytest

from functions.domain.errors import InvalidState, ValidationFailed
from functions.ledger.charts import BAS, SKR03, SKR04, Books
from functions.ledger.entries import (
    JournalEntry,
    balances,
    post_finalize,
    write_off_remaining,
)

from .lives import Life

D = Decimal


def lines_of(entry: JournalEntry) -> list[tuple[str, str, str, str | None]]:
    """(account, debit, credit, vat_code) per line, amounts as written in JSON."""
    return [
        (line.account, f"{line.debit}", f"{line.credit}", line.vat_code) for line in entry.lines
    ]


def service(description: str, price: str, **extra) -> dict:
    return {"description": description, "quantity": "1", "unit_price": price, **extra}


def test_invoice_with_two_rates_posts_revenue_and_vat_per_rate():
    life = Life.start("DE", None)
    life.issue(
        "cli_home",
        [service("Beratung", "1000"), service("Buch", "100", vat_category="S", vat_rate="7")],
        "EUR",
    )
    entry = life.entries[-1]
    assert entry.type == "finalize" and entry.document_number == "INV-2026-0001"
    assert lines_of(entry) == [
        ("1410", "1297.00", "0", None),
        ("8400", "0", "1000.00", "S19"),
        ("1776", "0", "190.00", "S19"),
        ("8300", "0", "100.00", "S7"),
        ("1771", "0", "7.00", "S7"),
    ]
    dumped = entry.model_dump(mode="json")
    assert dumped["lines"][0] == {
        "account": "1410",
        "debit": "1297.00",
        "credit": "0.00",
        "vat_code": None,
        "role": "receivables",
    }
    assert {k: dumped[k] for k in ("date", "document_id", "type", "currency")} == {
        "date": "2026-01-05",
        "document_id": entry.document_id,
        "type": "finalize",
        "currency": "EUR",
    }
    assert JournalEntry.model_validate(dumped) == entry  # stored JSON reads back


def test_zero_rated_groups_go_to_their_own_revenue_accounts():
    life = Life.start("DE", "skr04")
    life.issue(
        "cli_eu",
        [service("Consulting", "500"), service("Parts", "300", supply_type="goods")],
        "EUR",
    )
    assert lines_of(life.entries[-1]) == [
        ("1210", "800.00", "0", None),
        ("4336", "0", "500.00", "AE"),
        ("4125", "0", "300.00", "K"),
    ]
    # outside the EU: services not subject (O), goods exported (G); EN 16931 keeps O apart
    life.issue("cli_us", [service("Consulting", "50")], "EUR")
    assert [line[0] for line in lines_of(life.entries[-1])] == ["1210", "4338"]
    life.issue("cli_us", [service("Parts", "30", supply_type="goods")], "EUR")
    assert [line[0] for line in lines_of(life.entries[-1])] == ["1210", "4120"]


def test_payment_credit_on_paid_invoice_then_refund():
    life = Life.start("DE", None)
    invoice = life.issue("cli_home", [service("Beratung", "1000")], "EUR")
    life.pay(invoice.id, D("1190"))
    assert lines_of(life.entries[-1]) == [
        ("1200", "1190.00", "0", None),
        ("1410", "0", "1190.00", None),
    ]
    note = life.credit(invoice.id, None)
    assert life.docs[invoice.id].amount_due == 0 and life.docs[invoice.id].status == "credited"
    assert note.refund_due == D("1190.00")
    credit = life.entries[-1]
    assert credit.type == "credit" and credit.document_id == note.id
    assert credit.original_document_id == invoice.id
    assert lines_of(credit) == [
        ("8400", "1000.00", "0", "S19"),
        ("1776", "190.00", "0", "S19"),
        ("1700", "0", "1190.00", None),
    ]
    with pytest.raises(ValidationFailed) as err:
        life.refund(note.id, D("1190.01"))
    assert err.value.details[0].field == "amount"
    life.refund(note.id, D("1000"))
    life.refund(note.id, D("190"))
    assert life.docs[note.id].refund_due == 0 and len(life.docs[note.id].refunds) == 2
    assert lines_of(life.entries[-1]) == [
        ("1700", "190.00", "0", None),
        ("1200", "0", "190.00", None),
    ]
    totals = balances(life.entries)
    assert totals[("1410", "EUR")] == 0 and totals[("1700", "EUR")] == 0
    assert totals[("1200", "EUR")] == 0 and totals[("1776", "EUR")] == 0


def test_part_paid_invoice_credited_in_full_splits_receivable_and_refund():
    life = Life.start("DE", None)
    invoice = life.issue("cli_home", [service("Beratung", "1000")], "EUR")
    life.pay(invoice.id, D("500"))
    note = life.credit(invoice.id, None)
    assert note.refund_due == D("500.00")
    assert lines_of(life.entries[-1])[-2:] == [
        ("1410", "0", "690.00", None),
        ("1700", "0", "500.00", None),
    ]


def test_void_reverses_the_finalize_entry():
    life = Life.start("SE", None)
    invoice = life.issue("cli_home", [service("Konsult", "1000")], "SEK")
    life.void(invoice.id)
    finalize, void = life.entries
    assert void.type == "void"
    assert [(x.account, x.debit, x.credit) for x in void.lines] == [
        (x.account, x.credit, x.debit) for x in finalize.lines
    ]
    assert lines_of(finalize) == [
        ("1510", "1250.00", "0", None),
        ("3001", "0", "1000.00", "S25"),
        ("2611", "0", "250.00", "S25"),
    ]
    assert all(amount == 0 for amount in balances(life.entries).values())


def test_write_off_corrects_vat_and_a_late_payment_takes_it_back():
    life = Life.start("DE", None)
    invoice = life.issue(
        "cli_home",
        [service("Beratung", "1000"), service("Buch", "100", vat_category="S", vat_rate="7")],
        "EUR",
    )
    life.pay(invoice.id, D("297"))
    life.write_off(invoice.id)
    # 1000.00 due, pro rata 1190/1297 and 107/1297: 917.50 and 82.50; the VAT contained
    # in each: 917.50 × 19/119 = 146.49, 82.50 × 7/107 = 5.40
    assert lines_of(life.entries[-1]) == [
        ("2406", "771.01", "0", "S19"),
        ("1776", "146.49", "0", "S19"),
        ("2401", "77.10", "0", "S7"),
        ("1771", "5.40", "0", "S7"),
        ("1410", "0", "1000.00", None),
    ]
    entry = life.entries[-1]
    assert entry.totals() == (D("1000.00"), D("1000.00"))
    assert balances(life.entries)[("1410", "EUR")] == 0
    assert sum(write_off_remaining(life.entries, invoice.id).values()) == D("1000.00")
    life.pay(invoice.id, D("400"))
    recovery = life.entries[-1]
    assert {line.account for line in recovery.lines} == {"1200", "2406", "1776", "2401", "1771"}
    assert sum(write_off_remaining(life.entries, invoice.id).values()) == D("600.00")
    life.pay(invoice.id, D("600"))
    assert life.docs[invoice.id].status == "paid"
    assert write_off_remaining(life.entries, invoice.id) == {}
    totals = balances(life.entries)
    for account in ("1410", "2406", "2401"):
        assert totals[(account, "EUR")] == 0
    assert totals[("1776", "EUR")] == D("-190.00") and totals[("1771", "EUR")] == D("-7.00")


def test_write_off_vat_is_the_vat_contained_at_the_rate():
    life = Life.start("DE", None)
    invoice = life.issue("cli_home", [service("Beratung", "100")], "EUR")
    life.write_off(invoice.id)
    assert lines_of(life.entries[-1]) == [
        ("2406", "100.00", "0", "S19"),
        ("1776", "19.00", "0", "S19"),
        ("1410", "0", "119.00", None),
    ]
    with pytest.raises(InvalidState):
        life.write_off(invoice.id)


def test_credit_on_written_off_invoice_takes_back_the_write_off():
    life = Life.start("DE", None)
    invoice = life.issue("cli_home", [service("Beratung", "100")], "EUR")
    life.write_off(invoice.id)
    life.credit(invoice.id, None)
    assert lines_of(life.entries[-1]) == [
        ("8400", "100.00", "0", "S19"),
        ("1776", "19.00", "0", "S19"),
        ("1776", "0", "19.00", "S19"),
        ("2406", "0", "100.00", "S19"),
    ]
    assert all(amount == 0 for amount in balances(life.entries).values())


def test_self_billed_reverse_charge_purchase_self_assesses_the_vat():
    life = Life.start("DE", None)
    bill = life.issue_self_billed("sup_eu", [service("Provision", "1000")], "EUR")
    assert bill.number == "SB-2026-0001" and bill.lines[0].vat_category == "AE"
    assert lines_of(life.entries[-1]) == [
        ("1610", "0", "1000.00", None),
        ("3123", "1000.00", "0", "AE"),
        ("1577", "190.00", "0", "AE"),
        ("1787", "0", "190.00", "AE"),
    ]
    life.pay(bill.id, D("1000"))
    assert lines_of(life.entries[-1]) == [
        ("1610", "1000.00", "0", None),
        ("1200", "0", "1000.00", None),
    ]
    note = life.credit(bill.id, None)
    assert note.kind == "self_billed_credit_note" and note.refund_due == D("1000.00")
    assert lines_of(life.entries[-1]) == [
        ("3123", "0", "1000.00", "AE"),
        ("1577", "0", "190.00", "AE"),
        ("1787", "190.00", "0", "AE"),
        ("1500", "1000.00", "0", None),
    ]
    life.refund(note.id, D("1000"))
    assert lines_of(life.entries[-1]) == [
        ("1200", "1000.00", "0", None),
        ("1500", "0", "1000.00", None),
    ]
    assert all(amount == 0 for amount in balances(life.entries).values())
    with pytest.raises(InvalidState):
        life.write_off(bill.id)


def test_domestic_self_billed_invoice_books_input_vat():
    life = Life.start("SE", None)
    life.issue_self_billed("sup_home", [service("Skrot", "1000")], "SEK")
    assert lines_of(life.entries[-1]) == [
        ("2440", "0", "1250.00", None),
        ("4000", "1000.00", "0", "S25"),
        ("2641", "250.00", "0", "S25"),
    ]


def test_overrides_and_other_rates():
    books = Books(SKR03, {"receivables": "10000", "revenue_s_16": "8410"})
    entry = post_finalize(
        {
            "id": "inv_1",
            "number": "X-1",
            "kind": "invoice",
            "currency": "EUR",
            "issue_date": "2026-03-01",
            "total": "116.00",
            "tax_breakdown": [
                {
                    "vat_category": "S",
                    "vat_rate": "16",
                    "taxable_amount": "100.00",
                    "tax_amount": "16.00",
                }
            ],
        },
        books,
    )
    assert lines_of(entry) == [
        ("10000", "116.00", "0", None),
        ("8410", "0", "100.00", "S16"),
        ("1770", "0", "16.00", "S16"),
    ]


def test_entries_refuse_to_be_unbalanced_or_two_sided():
    line = {"account": "1", "role": "bank", "debit": "1.00"}
    with pytest.raises(ValueError, match="unbalanced"):
        JournalEntry(
            id="je",
            date="2026-01-01",
            document_id="d",
            type="payment",
            currency="EUR",
            lines=[line],
        )
    with pytest.raises(ValueError, match="one of debit/credit"):
        JournalEntry(
            id="je",
            date="2026-01-01",
            document_id="d",
            type="payment",
            currency="EUR",
            lines=[{**line, "credit": "1.00"}],
        )
    with pytest.raises(ValueError, match="finer than"):
        JournalEntry(
            id="je",
            date="2026-01-01",
            document_id="d",
            type="payment",
            currency="JPY",
            lines=[{**line, "debit": "1.5"}, {**line, "debit": "0", "credit": "1.5"}],
        )


@pytest.mark.parametrize("chart", [SKR03, SKR04, BAS])
def test_chart_numbers_are_distinct_where_they_must_be(chart):
    accounts = {role: number for role, (number, _) in chart.accounts.items()}
    sales_vat = {a for r, a in accounts.items() if r.startswith("output_vat_") and r[-1].isdigit()}
    revenue = {a for r, a in accounts.items() if r.startswith("revenue_")}
    parties = [
        accounts[r]
        for r in ("receivables", "bank", "refund_due", "payables", "supplier_refund_due")
    ]
    assert len(set(parties)) == len(parties)
    assert not sales_vat & revenue and not set(parties) & (sales_vat | revenue)
