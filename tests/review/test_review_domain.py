"""Review findings in the invoicing domain and services, each shown by a failing-first test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.domain.errors import ValidationFailed
from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import act, draft, make_ctx, seed


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "data" / "billow.db")
    yield s
    s.close()


@pytest.fixture
def ctx(store: SqliteStore, tmp_path: Path):
    return make_ctx(store, outbox=tmp_path / "outbox")


@pytest.fixture
def ids(ctx) -> dict[str, str]:
    return seed(ctx)


def _finalize_new(ctx, ids) -> dict:
    return act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])


def test_number_reset_cannot_change_once_numbers_were_issued(ctx, ids):
    """Switching ``number_reset`` moves to another counter, which restarts at 1 and would print
    INV-2026-0001 a second time; the switch is refused once the entity has numbered a document."""
    act(ctx, "entity.update", entity_id=ids["entity_id"], number_reset="never")
    first = _finalize_new(ctx, ids)
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "entity.update", entity_id=ids["entity_id"], number_reset="yearly")
    assert err.value.details[0].field == "number_reset"
    second = _finalize_new(ctx, ids)
    assert second["number"] != first["number"]
    entity = act(ctx, "entity.get", entity_id=ids["entity_id"])
    assert entity["number_reset"] == "never"


def test_number_reset_may_change_before_the_first_number(ctx, ids):
    act(ctx, "entity.update", entity_id=ids["entity_id"], number_reset="never")
    draft(ctx, ids)  # drafts have no number
    entity = act(ctx, "entity.update", entity_id=ids["entity_id"], number_reset="yearly")
    assert entity["number_reset"] == "yearly"


@pytest.mark.parametrize("credit_pattern", ["INV-{YYYY}-{SEQ:4}", "INV-{YYYY}-{SEQ:2}"])
def test_credit_note_series_cannot_print_invoice_numbers(ctx, ids, credit_pattern):
    """Invoices and credit notes have separate counters: with the same pattern the first credit
    note would be numbered INV-2026-0001 like the first invoice."""
    with pytest.raises(ValidationFailed) as err:
        act(
            ctx,
            "entity.update",
            entity_id=ids["entity_id"],
            credit_note_number_pattern=credit_pattern,
        )
    assert err.value.details[0].field == "credit_note_number_pattern"
    from tests.invoices.support import SELLER

    with pytest.raises(ValidationFailed) as err:
        act(ctx, "entity.create", **SELLER, credit_note_number_pattern=credit_pattern)
    assert err.value.details[0].field == "credit_note_number_pattern"


def test_partial_credit_that_leaves_nothing_due_settles_a_partly_paid_invoice(ctx, ids):
    """Paid 1000 of 1249.49, then 595.00 credited: nothing remains to pay, so the invoice must
    not stay ``open`` (where no payment can ever be recorded on it)."""
    invoice = _finalize_new(ctx, ids)
    act(ctx, "invoice.record_payment", invoice_id=invoice["id"], amount="1000")
    act(
        ctx,
        "invoice.credit",
        invoice_id=invoice["id"],
        reason="5 hours not delivered",
        lines=[{"line_id": "ln_1", "quantity": "5"}],
    )
    got = act(ctx, "invoice.get", invoice_id=invoice["id"])
    assert got["credited_amount"] == "595.00"
    # never below zero (contract, "Refunds"): the 345.51 paid beyond what the invoice now comes
    # to is owed back, as refund_due on the credit note (domain.credit.settle_credit)
    assert got["amount_due"] == "0.00"
    assert got["status"] == "paid"
    assert got["paid_at"] is not None


def test_a_partly_credited_invoice_cannot_be_voided(ctx, ids):
    """Voiding cancels the whole invoice; its finalized credit note would then reduce the
    revenue a second time. Credit the rest instead (like an invoice with payments)."""
    from functions.domain.errors import InvalidState

    invoice = _finalize_new(ctx, ids)
    act(
        ctx,
        "invoice.credit",
        invoice_id=invoice["id"],
        reason="one hour too many",
        lines=[{"line_id": "ln_1", "quantity": "1"}],
    )
    with pytest.raises(InvalidState) as err:
        act(ctx, "invoice.void", invoice_id=invoice["id"])
    assert "credit" in err.value.message
    got = act(ctx, "invoice.get", invoice_id=invoice["id"])
    assert got["status"] == "open" and got["voided_at"] is None


def test_an_invoice_with_nothing_to_pay_is_paid_at_finalize(ctx, ids):
    """A 100 % discount leaves a total of zero; left ``open`` it could never be settled (every
    payment would be an overpayment), so finalize moves it to ``paid``."""
    line = {
        "description": "Goodwill visit",
        "quantity": "1",
        "unit_price": "80",
        "discount_percent": "100",
    }
    inv = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids, lines=[line])["id"])
    assert inv["total"] == "0.00" and inv["number"]
    assert inv["status"] == "paid" and inv["paid_at"]


def test_ids_sort_in_creation_order_even_within_one_millisecond():
    """Lists order by created_at (whole seconds) and then by id, so ids made in the same
    millisecond must still sort in the order they were made (ULID monotonicity)."""
    from functions.services.common import new_id

    ids = [new_id("inv") for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
