"""Property test over random lives of documents driven through the SERVICES (the actions as
the API runs them) on SQLite, and a smaller run on DynamoDB (moto server): invoices and
self-billed invoices in mixed VAT categories, rates and currencies, partial and full payments,
partial and full credits, refunds, voids and write-offs, on each chart.

After every step the ledger the services posted (``ledger.entries``) is held against the
documents they store (``invoice.list``), with the same invariants as the pure model's test
(:func:`tests.ledger.test_lives.check_books`): every entry balances; receivables = Σ amount
due of the open sales invoices (payables likewise); refund_due = Σ refund_due of the credit
notes; output VAT = the VAT of the finalized documents net of credits and voids (less what a
write-off holds back); bank = payments in − refunds out. A refused step (409/422) writes no
entry. At the end the exports are downloaded through ``ledger.export`` and read back (CSV with
the csv module, DATEV against the format's layout, SIE by the independent reader), and their
account totals equal the ledger's.

The PDF renderer is replaced by one that stores a stub file: rendering is not what is tested
here, and a real Factur-X PDF per finalize would make a hundred lives take many minutes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from functions.domain.errors import BillowError
from functions.domain.lifecycle import allowed
from functions.domain.models import Invoice, parse_model
from functions.ledger.charts import books_for, is_vat_role
from functions.ledger.entries import JournalEntry
from functions.services.invoices import to_entity
from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import act, make_ctx
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401

from .datev_layout import check_datev
from .lives import ADDRESSES, RATES, SETUPS, START, VAT_NUMBERS
from .sie_reader import read_sie
from .test_lives import CURRENCIES, OUTSTANDING, TO_EUR, TO_SEK, a_line, check_books, money_part
from .test_services import blob

ACTIONS = ["issue", "issue", "self_billed", "pay", "pay", "credit", "credit", "refund"]
ACTIONS += ["refund", "paid_credit", "void", "write_off", "wait"]
EXAMPLES = int(os.environ.get("BILLOW_SERVICE_PROPERTY_EXAMPLES", "25"))


def stub_pdf(store, invoice: dict[str, Any]) -> dict[str, str]:
    """Stores a small stand-in file for the document's PDF (see the module docstring)."""
    data = f"%PDF-stub {invoice['id']} {invoice.get('number')}".encode()
    sha = hashlib.sha256(data).hexdigest()
    key = f"pdf/test/{invoice['id']}-{sha[:12]}.pdf"
    store.put_blob(key, data, "application/pdf")
    return {"blob_key": key, "sha256": sha, "filename": f"{invoice.get('number')}.pdf"}


class ServiceLife:
    """One entity's documents, moved by the actions; the day moves on with ``wait``."""

    def __init__(self, store, country: str, chart: str | None) -> None:
        self.store = store
        self.today = START
        entity: dict[str, Any] = {
            "name": f"{country} Books Test",
            "address": ADDRESSES[country],
            "vat_number": VAT_NUMBERS[country],
            "default_vat_rate": RATES[country],
            "currency": "SEK" if country == "SE" else "EUR",
        }
        if chart:
            entity["chart_of_accounts"] = chart
        self.entity = act(self.ctx(), "entity.create", **entity)
        others = [c for c in ("DE", "SE", "FR") if c != country]
        self.clients = {
            "cli_home": self._client("Home", country),
            "cli_eu": self._client("EU", others[0]),
            "cli_us": self._client("US", "US"),
            "sup_home": self._client("Home supplier", country, supplier=True),
            "sup_eu": self._client("EU supplier", others[0], supplier=True),
        }

    def ctx(self):
        now = datetime(self.today.year, self.today.month, self.today.day, 12, tzinfo=UTC)
        ctx = make_ctx(self.store, now=now)
        ctx.services["pdf"] = stub_pdf
        return ctx

    def _client(self, name: str, country: str, *, supplier: bool = False) -> str:
        params: dict[str, Any] = {"name": f"{name} {country}", "address": ADDRESSES[country]}
        if country in VAT_NUMBERS:
            params["vat_number"] = VAT_NUMBERS[country]
        if supplier:
            params["self_billing"] = {
                "agreement_reference": f"SBA-{name}",
                "valid_from": "2025-01-01",
            }
        return act(self.ctx(), "client.create", **params)["id"]

    # --- reading back ---------------------------------------------------------------------

    def documents(self) -> dict[str, Invoice]:
        docs: dict[str, Invoice] = {}
        page = 1
        while True:
            listed = act(
                self.ctx(), "invoice.list", entity_id=self.entity["id"], limit=100, page=page
            )
            for item in listed["items"]:
                if item["status"] != "draft":
                    docs[item["id"]] = parse_model(Invoice, item)
            if page >= listed["pages"]:
                return docs
            page += 1

    def entries(self) -> list[JournalEntry]:
        items: list[dict] = []
        page = 1
        while True:
            listed = act(
                self.ctx(), "ledger.entries", entity_id=self.entity["id"], limit=100, page=page
            )
            items += listed["items"]
            if page >= listed["pages"]:
                return [JournalEntry.model_validate(item) for item in items]
            page += 1

    def books(self):
        rec = self.store.get("entities", self.entity["id"])
        return books_for(to_entity(rec))

    # --- the actions ----------------------------------------------------------------------

    def issue(self, client: str, lines: list[dict], currency: str, kind: str = "invoice") -> None:
        draft = act(
            self.ctx(),
            "invoice.create",
            entity_id=self.entity["id"],
            client_id=self.clients[client],
            lines=lines,
            currency=currency,
            kind=kind,
        )
        act(self.ctx(), "invoice.finalize", invoice_id=draft["id"])


def credit_lines(data: st.DataObject, doc: Invoice) -> list[dict] | None:
    if data.draw(st.booleans()):
        return None  # all that remains
    index = data.draw(st.integers(0, len(doc.lines) - 1))
    quantity = abs(doc.lines[index].quantity)
    if data.draw(st.booleans()):
        quantity = quantity / 2
    return [{"line_index": index, "quantity": str(quantity)}]


def step(data: st.DataObject, life: ServiceLife, action: str, docs: dict[str, Invoice]) -> None:
    ctx = life.ctx()
    values = list(docs.values())
    if action == "issue":
        lines = data.draw(st.lists(a_line(), min_size=1, max_size=3))
        client = data.draw(st.sampled_from(["cli_home", "cli_home", "cli_eu", "cli_us"]))
        life.issue(client, lines, data.draw(st.sampled_from(CURRENCIES)))
    elif action == "self_billed":
        lines = data.draw(st.lists(a_line(), min_size=1, max_size=2))
        supplier = data.draw(st.sampled_from(["sup_home", "sup_eu"]))
        life.issue(supplier, lines, data.draw(st.sampled_from(CURRENCIES)), "self_billed_invoice")
    elif action == "pay":
        payable = [
            d
            for d in values
            if d.kind in ("invoice", "self_billed_invoice")
            and allowed(d.status, "record_payment")
            and d.amount_due > 0
        ]
        if payable:
            doc = data.draw(st.sampled_from(payable))
            amount = money_part(data.draw, doc.amount_due, doc.currency)
            act(ctx, "invoice.record_payment", invoice_id=doc.id, amount=str(amount))
    elif action == "paid_credit":  # paid in full, then credited: a refund is owed
        open_ = [d for d in values if d.kind == "invoice" and d.status in OUTSTANDING]
        if open_:
            doc = data.draw(st.sampled_from(open_))
            act(ctx, "invoice.record_payment", invoice_id=doc.id, amount=str(doc.amount_due))
            note = act(ctx, "invoice.credit", invoice_id=doc.id, reason="returned")
            owed = Decimal(note["refund_due"])
            if owed > 0 and data.draw(st.booleans()):
                amount = money_part(data.draw, owed, note["currency"])
                act(ctx, "invoice.record_refund", invoice_id=note["id"], amount=str(amount))
    elif action == "credit":
        creditable = [
            d
            for d in values
            if d.kind in ("invoice", "self_billed_invoice") and allowed(d.status, "credit")
        ]
        if creditable:
            doc = data.draw(st.sampled_from(creditable))
            params: dict[str, Any] = {"invoice_id": doc.id, "reason": "credit"}
            lines = credit_lines(data, doc)
            if lines is not None:
                params["lines"] = lines
            act(ctx, "invoice.credit", **params)
    elif action == "refund":
        owed = [d for d in values if d.refund_due > 0]
        if owed:
            note = data.draw(st.sampled_from(owed))
            amount = money_part(data.draw, note.refund_due, note.currency)
            act(ctx, "invoice.record_refund", invoice_id=note.id, amount=str(amount))
    elif action == "void":
        voidable = [
            d
            for d in values
            if d.kind in ("invoice", "self_billed_invoice")
            and d.status in OUTSTANDING
            and not d.payments
            and d.credited_amount == 0
        ]
        if voidable:
            act(ctx, "invoice.void", invoice_id=data.draw(st.sampled_from(voidable)).id)
    elif action == "write_off":
        collectable = [d for d in values if d.kind == "invoice" and d.status in OUTSTANDING]
        if collectable:
            doc = data.draw(st.sampled_from(collectable))
            act(ctx, "invoice.mark_uncollectible", invoice_id=doc.id)
    else:
        life.today += timedelta(days=data.draw(st.integers(1, 40)))


def live(data: st.DataObject, life: ServiceLife, steps: int, *, check_every_step: bool) -> None:
    docs: dict[str, Invoice] = {}
    count = 0
    for number in range(steps):
        action = "issue" if number < 2 else data.draw(st.sampled_from(ACTIONS))
        try:
            step(data, life, action, docs)
        except BillowError:
            # a refused step (a credit below a minor unit, a supplier the VAT rules cannot
            # serve ...) is all or nothing: no entry was posted
            assert len(life.entries()) == count
        if check_every_step or number == steps - 1:
            docs = life.documents()
            entries = life.entries()
            count = len(entries)
            check_books(SimpleNamespace(books=life.books(), entries=entries, docs=docs))
        else:
            docs = life.documents()
            count = len(life.entries())


def check_exports(life: ServiceLife) -> None:
    """The files ``ledger.export`` links to, read back, give the ledger's account totals."""
    first, last = date(2026, 1, 1), date(2026, 12, 31)
    entries = [e for e in life.entries() if first <= e.date <= last]
    period = {"entity_id": life.entity["id"], "from": first.isoformat(), "to": last.isoformat()}
    ctx = life.ctx()
    ledger: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        for line in entry.lines:
            ledger[(line.account, entry.currency)] += line.debit - line.credit

    text = blob(life.store, act(ctx, "ledger.export", format="csv", **period)["url"]).decode()
    from_csv: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in csv.DictReader(io.StringIO(text)):
        from_csv[(row["account"], row["currency"])] += Decimal(row["debit"]) - Decimal(
            row["credit"]
        )
    assert {k: v for k, v in from_csv.items() if v} == {k: v for k, v in ledger.items() if v}

    books = life.books()
    chart = books.chart.name
    if chart in ("skr03", "skr04"):
        link = act(ctx, "ledger.export", format="datev", rates=TO_EUR, **period)
        _, postings = check_datev(blob(life.store, link["url"]))
        from_datev: dict[str, Decimal] = defaultdict(Decimal)
        for posting in postings:
            from_datev[posting.account] += posting.amount
            from_datev[posting.counter_account] -= posting.amount
        converted = _converted(entries, "EUR", TO_EUR)
        folded = {
            line.account
            for e in entries
            for line in e.lines
            if is_vat_role(line.role) or books.is_automatic(line.account)
        }
        for account, amount in converted.items():
            if account not in folded:
                assert from_datev.get(account, Decimal(0)) == amount, account
        assert sum((from_datev.get(a, Decimal(0)) for a in folded), Decimal(0)) == sum(
            (converted.get(a, Decimal(0)) for a in folded), Decimal(0)
        )
    if chart == "bas":
        link = act(ctx, "ledger.export", format="sie", rates=TO_SEK, **period)
        parsed = read_sie(blob(life.store, link["url"]))
        assert parsed.one("#SIETYP") == ["4"] and parsed.one("#VALUTA") == ["SEK"]
        from_sie: dict[str, Decimal] = defaultdict(Decimal)
        for verification in parsed.verifications:
            assert sum((t.amount for t in verification.transactions), Decimal(0)) == 0
            for t in verification.transactions:
                from_sie[t.account] += t.amount
        converted = _converted(entries, "SEK", TO_SEK)
        assert {a: v for a, v in from_sie.items() if v} == {a: v for a, v in converted.items() if v}


def _converted(entries: list[JournalEntry], base: str, rates: dict) -> dict[str, Decimal]:
    from functions.ledger.currency import in_currency

    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in in_currency(entries, base, rates):
        for line in entry.lines:
            totals[line.account] += line.debit - line.credit
    return totals


# --- SQLite -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory):
    store = SqliteStore(tmp_path_factory.mktemp("lives") / "billow.db")
    yield store
    store.close()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(data=st.data(), setup=st.sampled_from(SETUPS), steps=st.integers(6, 18))
def test_random_lives_through_the_services_keep_the_books_right(sqlite_store, data, setup, steps):
    life = ServiceLife(sqlite_store, *setup)  # a new entity in the shared store per life
    live(data, life, steps, check_every_step=True)
    check_exports(life)
    for kind in sorted({e.type for e in life.entries()}):
        event(f"entry {kind}")


# --- DynamoDB -----------------------------------------------------------------------------------


@pytest.mark.aws
@settings(
    max_examples=max(2, EXAMPLES // 8),
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(data=st.data(), setup=st.sampled_from(SETUPS), steps=st.integers(6, 12))
def test_random_lives_on_dynamodb(dynamo_store, data, setup, steps):  # noqa: F811
    life = ServiceLife(dynamo_store, *setup)
    live(data, life, steps, check_every_step=False)
    check_exports(life)
