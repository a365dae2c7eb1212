"""A small, pure model of the lives of documents, built with the domain functions exactly as
the services build them (draft → prepare → number → complete; payments; credit notes settled
against their invoice; refunds; voids; write-offs), posting one journal entry per event the
way the services will (see the report of issue 19 for the wiring).

It is also the executable description of that wiring: each method is one service action.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.domain.credit import build_credit_note, settle_credit
from functions.domain.drafts import draft_invoice
from functions.domain.finalize import complete_finalize, prepare_finalize, series_counter
from functions.domain.kinds import is_credit_kind, is_self_billed
from functions.domain.lifecycle import ensure_voidable, transition
from functions.domain.models import Client, Entity, Invoice, parse_model
from functions.domain.payments import apply_payment, record_refund
from functions.domain.self_billing import complete_self_billed, prepare_self_billed
from functions.domain.self_billing import series_counter as self_billed_counter
from functions.ledger.charts import Books, books_for
from functions.ledger.entries import (
    JournalEntry,
    post_credit,
    post_finalize,
    post_payment,
    post_refund,
    post_uncollectible,
    post_void,
)

START = date(2026, 1, 5)

ADDRESSES = {
    "DE": {"line1": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
    "SE": {
        "line1": "Drottninggatan 2",
        "postal_code": "111 51",
        "city": "Stockholm",
        "country": "SE",
    },
    "FR": {"line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris", "country": "FR"},
    "US": {"line1": "1 Main St", "postal_code": "10001", "city": "New York", "country": "US"},
}
VAT_NUMBERS = {"DE": "DE136695976", "SE": "SE556036079301", "FR": "FR40303265045"}
RATES = {"DE": "19", "SE": "25", "FR": "20"}
#: entity setups: (country, chart)
SETUPS = [("DE", None), ("DE", "skr04"), ("SE", None), ("FR", None), ("DE", "generic")]


def make_entity(country: str, chart: str | None) -> Entity:
    data: dict[str, Any] = {
        "id": "ent_1",
        "name": {"DE": "Acme GmbH", "SE": "Ärlig Öl AB", "FR": "Acme SARL"}[country],
        "address": ADDRESSES[country],
        "vat_number": VAT_NUMBERS[country],
        "default_vat_rate": RATES[country],
        "currency": "SEK" if country == "SE" else "EUR",
    }
    if chart:
        data["chart_of_accounts"] = chart
    return parse_model(Entity, data)


def make_client(key: str, country: str, *, supplier: bool = False) -> Client:
    data: dict[str, Any] = {
        "id": key,
        "name": f"{'Supplier' if supplier else 'Client'} {key} ({country})",
        "address": ADDRESSES[country],
    }
    if country in VAT_NUMBERS:
        data["vat_number"] = VAT_NUMBERS[country]
        data["vat_verification"] = {
            "status": "valid",
            "checked_at": "2026-01-01T00:00:00Z",
            "vat_number": VAT_NUMBERS[country],
        }
    if supplier:
        data["self_billing"] = {"agreement_reference": f"SBA-{key}", "valid_from": "2025-01-01"}
    return parse_model(Client, data)


@dataclass
class Life:
    entity: Entity
    books: Books
    clients: dict[str, Client]
    today: date = START
    docs: dict[str, Invoice] = field(default_factory=dict)
    entries: list[JournalEntry] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    credit_notes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    serial: int = 0

    @classmethod
    def start(cls, country: str, chart: str | None) -> Life:
        entity = make_entity(country, chart)
        others = [c for c in ("DE", "SE", "FR") if c != country]
        clients = {
            "cli_home": make_client("cli_home", country),
            "cli_eu": make_client("cli_eu", others[0]),
            "cli_us": make_client("cli_us", "US"),
            "sup_home": make_client("sup_home", country, supplier=True),
            "sup_eu": make_client("sup_eu", others[0], supplier=True),
            "sup_us": make_client("sup_us", "US", supplier=True),
        }
        return cls(entity=entity, books=books_for(entity), clients=clients)

    # --- helpers ---------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}_{self.serial:04d}"

    def now(self) -> datetime:
        return datetime(self.today.year, self.today.month, self.today.day, 12, tzinfo=UTC)

    def advance(self, days: int) -> None:
        self.today += timedelta(days=days)

    def previous(self, doc_id: str) -> list[JournalEntry]:
        """The entries of a document and of its credit notes (what the store keeps per
        invoice)."""
        related = {doc_id, *self.credit_notes[doc_id]}
        return [e for e in self.entries if e.document_id in related]

    def _post(self, entry: JournalEntry) -> JournalEntry:
        assert entry.id not in {e.id for e in self.entries}, "entry ids are unique per event"
        self.entries.append(entry)
        return entry

    def _number(self, key: str, start: int) -> int:
        self.counters[key] = max(self.counters[key] + 1, start)
        return self.counters[key]

    # --- actions (one service action each) --------------------------------------------------

    def issue(self, client_key: str, lines: list[dict[str, Any]], currency: str) -> Invoice:
        """invoice.create + invoice.finalize: Dr receivables / Cr revenue, Cr output VAT."""
        client = self.clients[client_key]
        draft = draft_invoice(
            {"lines": lines, "currency": currency},
            self.entity,
            client,
            {},
            invoice_id=self._id("inv"),
        )
        prepared = prepare_finalize(draft, self.entity, client, self.today)
        key, start = series_counter(prepared)
        done = complete_finalize(prepared, self._number(key, start), self.now())
        self.docs[done.id] = done
        self._post(post_finalize(done, self.books))
        return done

    def issue_self_billed(
        self, supplier_key: str, lines: list[dict[str, Any]], currency: str
    ) -> Invoice:
        """A self-billed invoice: Dr purchases, Dr input VAT / Cr payables (+ reverse charge)."""
        supplier = self.clients[supplier_key]
        draft = draft_invoice(
            {"lines": lines, "currency": currency},
            self.entity,
            supplier,
            {},
            invoice_id=self._id("inv"),
        ).model_copy(update={"kind": "self_billed_invoice"})
        prepared = prepare_self_billed(draft, self.entity, supplier, self.today)
        key, start = self_billed_counter(self.entity, supplier.id, prepared.issue_date)
        done = complete_self_billed(prepared, self.entity, self._number(key, start), self.now())
        self.docs[done.id] = done
        self._post(post_finalize(done, self.books))
        return done

    def pay(self, doc_id: str, amount: Decimal) -> Invoice:
        """invoice.record_payment."""
        payment_id = self._id("pay")
        after = apply_payment(
            self.docs[doc_id], amount, paid_on=self.today, payment_id=payment_id, now=self.now()
        )
        self.docs[doc_id] = after
        self._post(post_payment(after, payment_id, self.books, previous=self.previous(doc_id)))
        return after

    def credit(self, doc_id: str, lines: list[dict[str, Any]] | None) -> Invoice:
        """invoice.credit: the note is finalized in its series, then settled against the
        invoice (settle_credit), and posts its own entry."""
        original = self.docs[doc_id]
        previous_notes = [self.docs[n] for n in self.credit_notes[doc_id]]
        note = build_credit_note(
            original,
            reason="credit",
            lines=lines,
            previous_credit_notes=previous_notes,
            issue_date=self.today,
            credit_note_id=self._id("inv"),
        )
        client = self.clients[original.client_id]
        if is_self_billed(note.kind):
            prepared = prepare_self_billed(note, self.entity, client, self.today)
            key, start = self_billed_counter(self.entity, client.id, prepared.issue_date)
            final = complete_self_billed(
                prepared, self.entity, self._number(key, start), self.now()
            )
        else:
            prepared = prepare_finalize(note, self.entity, client, self.today)
            key, start = series_counter(prepared)
            final = complete_finalize(prepared, self._number(key, start), self.now())
        after, final = settle_credit(
            original, final, previous_credit_notes=previous_notes, now=self.now()
        )
        self.docs[final.id] = final
        self.docs[doc_id] = after
        self.credit_notes[doc_id].append(final.id)
        self._post(
            post_credit(
                final,
                self.books,
                original_before=original,
                original_after=after,
                original_entries=self.previous(doc_id),
            )
        )
        return final

    def refund(self, note_id: str, amount: Decimal) -> Invoice:
        """invoice.record_refund (on the credit note)."""
        refund_id = self._id("ref")
        after = record_refund(
            self.docs[note_id], amount, paid_on=self.today, refund_id=refund_id, now=self.now()
        )
        self.docs[note_id] = after
        self._post(post_refund(after, refund_id, self.books))
        return after

    def void(self, doc_id: str) -> Invoice:
        """invoice.void: the finalize entry reversed."""
        doc = self.docs[doc_id]
        status = ensure_voidable(
            doc.status, bool(doc.payments), has_credits=doc.credited_amount != 0
        )
        after = doc.model_copy(update={"status": status, "voided_at": self.now()})
        self.docs[doc_id] = after
        self._post(post_void(after, self.previous(doc_id), on=self.today))
        return after

    def write_off(self, doc_id: str) -> Invoice:
        """invoice.mark_uncollectible: bad debt and the VAT corrected."""
        doc = self.docs[doc_id]
        status = transition(doc.status, "mark_uncollectible")
        after = doc.model_copy(update={"status": status, "uncollectible_at": self.now()})
        self.docs[doc_id] = after
        self._post(post_uncollectible(after, self.books, on=self.today))
        return after

    # --- what the books must agree with -----------------------------------------------------

    def documents(self, *, purchase: bool, credit: bool) -> list[Invoice]:
        return [
            d
            for d in self.docs.values()
            if is_self_billed(d.kind) == purchase and is_credit_kind(d.kind) == credit
        ]
