"""Property tests over random lives of documents: invoices and self-billed invoices in mixed
currencies and VAT categories, partial and full payments, partial and full credits, refunds,
voids and write-offs, on each chart. After every life:

- every entry balances (by construction, re-checked here) and ids are unique;
- receivables (per currency) = Σ amount due of the open sales invoices, payables likewise
  for self-billed ones; refund_due = Σ refund_due of the credit notes;
- output VAT = the VAT of the finalized invoices net of credit notes and voids, less what a
  write-off still holds back (which itself equals the written-off invoices' amount due);
- bank = payments in − refunds out (and the mirror for self-billing);
- the exports, read back (CSV with the csv module, DATEV against the format's layout, SIE by
  an independent reader), give the ledger's account totals.
"""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from functions.domain.credit import remaining_quantities
from functions.domain.errors import ValidationFailed
from functions.domain.kinds import is_self_billed
from functions.domain.lifecycle import allowed
from functions.domain.money import ZERO, minor_units
from functions.ledger.charts import is_vat_role
from functions.ledger.currency import in_currency
from functions.ledger.entries import balances, write_off_remaining
from functions.ledger.export_csv import CSV_COLUMNS, export_csv
from functions.ledger.export_datev import DatevSettings, export_datev
from functions.ledger.export_sie import SieSettings, export_sie

from .datev_layout import check_datev
from .lives import SETUPS, Life
from .sie_reader import read_sie

SETTINGS = settings(
    max_examples=int(os.environ.get("BILLOW_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CURRENCIES = ["EUR", "SEK", "JPY", "KWD", "USD"]
#: base-currency units for one unit of each currency, for the one-currency exports
TO_EUR = {
    "SEK": Decimal("0.0871"),
    "JPY": Decimal("0.00612"),
    "KWD": Decimal("2.9871"),
    "USD": Decimal("0.9213"),
}
TO_SEK = {
    "EUR": Decimal("11.4812"),
    "JPY": Decimal("0.0703"),
    "KWD": Decimal("34.2951"),
    "USD": Decimal("10.5775"),
}
OUTSTANDING = ("open", "sent", "overdue")
ACTIONS = [
    "issue",
    "issue",
    "self_billed",
    "pay",
    "pay",
    "credit",
    "credit",
    "refund",
    "void",
    "write_off",
    "wait",
]


@st.composite
def a_line(draw: st.DrawFn) -> dict:
    line: dict = {
        "description": draw(st.sampled_from(["Beratung", "Widget", "Konsult – Öl", "Hosting"])),
        "quantity": str(draw(st.sampled_from(["1", "2", "3", "0.5", "1.25", "7"]))),
        "unit_price": str(
            Decimal(draw(st.integers(1, 250_000))) / Decimal(draw(st.sampled_from([1, 100, 1000])))
        ),
        "supply_type": draw(st.sampled_from(["services", "goods"])),
    }
    vat = draw(
        st.sampled_from(
            [None, None, None, ("S", "7"), ("S", "12"), ("S", "16"), ("E", "0"), ("Z", "0")]
        )
    )
    if vat:
        line["vat_category"], line["vat_rate"] = vat
    return line


def money_part(draw: st.DrawFn, due: Decimal, currency: str) -> Decimal:
    """The whole ``due`` or a part of it (at least one minor unit)."""
    step = Decimal(1).scaleb(-minor_units(currency))
    units = int(due / step)
    if units <= 1 or draw(st.booleans()):
        return due
    return Decimal(draw(st.integers(1, units - 1))) * step


def live(data: st.DataObject, life: Life, steps: int) -> None:
    for step in range(steps):
        # every life starts with two documents; "paid_credit" pays an invoice and credits it
        # (a refund to come)
        action = "issue" if step < 2 else data.draw(st.sampled_from(ACTIONS))
        docs = list(life.docs.values())
        try:
            if action == "issue":
                lines = data.draw(st.lists(a_line(), min_size=1, max_size=3))
                client = data.draw(st.sampled_from(["cli_home", "cli_home", "cli_eu", "cli_us"]))
                life.issue(client, lines, data.draw(st.sampled_from(CURRENCIES)))
            elif action == "self_billed":
                lines = data.draw(st.lists(a_line(), min_size=1, max_size=2))
                supplier = data.draw(st.sampled_from(["sup_home", "sup_eu", "sup_us"]))
                life.issue_self_billed(supplier, lines, data.draw(st.sampled_from(CURRENCIES)))
            elif action == "pay":
                payable = [
                    d
                    for d in docs
                    if d.kind in ("invoice", "self_billed_invoice")
                    and allowed(d.status, "record_payment")
                    and d.amount_due > 0
                ]
                if payable:
                    doc = data.draw(st.sampled_from(payable))
                    life.pay(doc.id, money_part(data.draw, doc.amount_due, doc.currency))
            elif action == "paid_credit":
                open_ = [d for d in docs if d.status in OUTSTANDING and d.amount_due > 0]
                if open_:
                    doc = data.draw(st.sampled_from(open_))
                    life.pay(doc.id, doc.amount_due)
                    life.credit(doc.id, credit_lines(data, life, doc.id))
            elif action == "credit":
                creditable = [
                    d
                    for d in docs
                    if d.kind in ("invoice", "self_billed_invoice") and allowed(d.status, "credit")
                ]
                if creditable:
                    doc = data.draw(st.sampled_from(creditable))
                    life.credit(doc.id, credit_lines(data, life, doc.id))
            elif action == "refund":
                owed = [d for d in docs if d.refund_due > 0]
                if owed:
                    note = data.draw(st.sampled_from(owed))
                    life.refund(note.id, money_part(data.draw, note.refund_due, note.currency))
            elif action == "void":
                voidable = [
                    d
                    for d in docs
                    if d.kind in ("invoice", "self_billed_invoice")
                    and d.status in OUTSTANDING
                    and not d.payments
                    and d.credited_amount == 0
                ]
                if voidable:
                    life.void(data.draw(st.sampled_from(voidable)).id)
            elif action == "write_off":
                collectable = [d for d in docs if d.kind == "invoice" and d.status in OUTSTANDING]
                if collectable:
                    life.write_off(data.draw(st.sampled_from(collectable)).id)
            else:
                life.advance(data.draw(st.integers(1, 40)))
        except ValidationFailed as exc:
            # the domain may refuse a step (a credit of less than a minor unit, a line whose
            # remaining quantity rounds to nothing); a refusal changes nothing
            assert all(d.field for d in exc.details)
        check_books(life)


def credit_lines(data: st.DataObject, life: Life, doc_id: str) -> list[dict] | None:
    if data.draw(st.booleans()):
        return None  # all that remains
    original = life.docs[doc_id]
    notes = [life.docs[n] for n in life.credit_notes[doc_id]]
    remaining = {k: q for k, q in remaining_quantities(original, notes).items() if q > 0}
    if not remaining:
        return None
    key = data.draw(st.sampled_from(sorted(remaining)))
    quantity = remaining[key] if data.draw(st.booleans()) else remaining[key] / 2
    return [{"line_id": key, "quantity": str(quantity)}]


def check_books(life: Life) -> None:
    books = life.books
    entries = life.entries
    assert len({e.id for e in entries}) == len(entries)
    for entry in entries:
        debit, credit = entry.totals()
        assert debit == credit
    totals = balances(entries)

    def balance(role: str, currency: str) -> Decimal:
        return totals.get((books.account(role), currency), ZERO)

    currencies = {d.currency for d in life.docs.values()}
    for code in currencies:
        sales = [d for d in life.docs.values() if d.currency == code and not is_self_billed(d.kind)]
        buys = [d for d in life.docs.values() if d.currency == code and is_self_billed(d.kind)]

        def due(documents, kinds):
            return sum(
                (d.amount_due for d in documents if d.kind in kinds and d.status in OUTSTANDING),
                ZERO,
            )

        for d in life.docs.values():
            assert d.amount_due >= 0 and d.refund_due >= 0
        assert balance("receivables", code) == due(sales, ("invoice",))
        assert -balance("payables", code) == due(buys, ("self_billed_invoice",))
        assert -balance("refund_due", code) == sum((d.refund_due for d in sales), ZERO)
        assert balance("supplier_refund_due", code) == sum((d.refund_due for d in buys), ZERO)

        # output VAT on sales: the documents' VAT, net of credits and voids ...
        vat_of_documents = sum(
            (d.tax_total for d in sales if d.status not in ("void",)),
            ZERO,
        )
        sales_vat_accounts = {
            line.account
            for e in entries
            for line in e.lines
            if line.role.startswith("output_vat") and not line.role.endswith(("_ae", "_k"))
        }
        posted_vat = -sum((totals.get((a, code), ZERO) for a in sales_vat_accounts), ZERO)
        # ... less what write-offs still hold back (VAT part of the uncollectible amounts due)
        held_back = ZERO
        written_off = ZERO
        for d in sales:
            remaining = write_off_remaining(entries, d.id)
            held_back += sum(
                (v for (_, role, _), v in remaining.items() if role.startswith("output_vat")), ZERO
            )
            written_off += sum(remaining.values(), ZERO)
        assert posted_vat == vat_of_documents - held_back
        # what a write-off holds back is the VAT contained in the amount still due: within a
        # minor unit per VAT group and per event of the document of the document's own ratio
        step = Decimal(1).scaleb(-minor_units(code))
        for d in sales:
            if d.status != "uncollectible" or d.total <= 0:
                continue
            vat_held = sum(
                (
                    v
                    for (_, role, _), v in write_off_remaining(entries, d.id).items()
                    if role.startswith("output_vat")
                ),
                ZERO,
            )
            events = sum(1 for e in entries if d.id in (e.document_id, e.original_document_id))
            tolerance = (len(d.tax_breakdown) + events) * step
            assert abs(vat_held - d.amount_due * d.tax_total / d.total) <= tolerance
        assert written_off == sum(
            (d.amount_due for d in sales if d.status == "uncollectible"), ZERO
        )

        # bank: what came in and went out
        paid_in = sum((p.amount for d in sales for p in d.payments), ZERO)
        refunded = sum((r.amount for d in sales for r in d.refunds), ZERO)
        paid_out = sum((p.amount for d in buys for p in d.payments), ZERO)
        refunded_to_us = sum((r.amount for d in buys for r in d.refunds), ZERO)
        assert balance("bank", code) == paid_in - refunded - paid_out + refunded_to_us

    # every account of every currency sums to zero over the whole ledger
    for code in currencies:
        assert sum((v for (_, c), v in totals.items() if c == code), ZERO) == 0


def check_exports(life: Life) -> None:
    entries = life.entries
    books = life.books
    first = date(2026, 1, 1)
    last = date(2026, 12, 31)
    created = datetime(2027, 1, 2, 8, 30, 15, 123000, tzinfo=UTC)
    in_year = [e for e in entries if first <= e.date <= last]

    # CSV: read back with the csv module, the account totals per currency are the ledger's
    text = export_csv(entries, books).decode("utf-8")
    assert text.split("\r\n", 1)[0] == ",".join(CSV_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    from_csv: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        from_csv[(row["account"], row["currency"])] += Decimal(row["debit"]) - Decimal(
            row["credit"]
        )
    assert {k: v for k, v in from_csv.items() if v} == {
        k: v for k, v in balances(entries).items() if v
    }
    assert len(rows) == sum(len(e.lines) for e in entries)

    if books.chart.name in ("skr03", "skr04"):
        data = export_datev(
            entries, books, period_from=first, period_to=last, created_at=created, rates=TO_EUR
        )
        header, postings = check_datev(data)
        assert header[13] == "4" and header[26] == f'"{books.chart.name[-2:]}"'
        expected = balances(in_currency(in_year, "EUR", TO_EUR))
        from_datev: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for posting in postings:
            assert posting.side == "S" and posting.currency == "EUR" and posting.amount > 0
            from_datev[posting.account] += posting.amount
            from_datev[posting.counter_account] -= posting.amount
        folded = {
            line.account
            for e in entries
            for line in e.lines
            if is_vat_role(line.role) or books.is_automatic(line.account)
        }
        for (account, _), amount in expected.items():
            if account not in folded:
                assert from_datev.get(account, ZERO) == amount, account
        assert sum((from_datev.get(a, ZERO) for a in folded), ZERO) == sum(
            (expected.get((a, "EUR"), ZERO) for a in folded), ZERO
        )
        assert DatevSettings().account_length == 4
    if books.chart.name == "bas":
        data = export_sie(
            entries,
            books,
            period_from=first,
            period_to=last,
            created_at=created,
            settings=SieSettings(company_name=life.entity.name, organisation_number="556036-0793"),
            rates=TO_SEK,
        )
        parsed = read_sie(data)
        assert parsed.one("#SIETYP") == ["4"] and parsed.one("#FORMAT") == ["PC8"]
        assert parsed.one("#FNAMN") == [life.entity.name]
        assert parsed.one("#RAR") == ["0", "20260101", "20261231"]
        expected = balances(in_currency(in_year, "SEK", TO_SEK))
        from_sie: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for verification in parsed.verifications:
            assert sum((t.amount for t in verification.transactions), ZERO) == 0
            for transaction in verification.transactions:
                assert transaction.account in parsed.accounts
                from_sie[transaction.account] += transaction.amount
        assert {a: v for a, v in from_sie.items() if v} == {
            a: v for (a, _), v in expected.items() if v
        }


@SETTINGS
@given(data=st.data(), setup=st.sampled_from(SETUPS), steps=st.integers(6, 28))
def test_random_lives_keep_the_books_right(data, setup, steps):
    life = Life.start(*setup)
    live(data, life, steps)
    check_exports(life)
    for kind in sorted({e.type for e in life.entries}):
        event(f"entry {kind}")
    event(f"{len(life.entries) // 5 * 5}+ entries")
