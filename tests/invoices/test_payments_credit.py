"""Payments, void, uncollectible and credit notes, with refused transitions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from functions.domain.errors import InvalidState, ValidationFailed

from .support import act, draft


@pytest.fixture
def invoice(ctx, ids) -> dict:
    """An open invoice over 1249.49 EUR."""
    return act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])


def _types(ctx, invoice_id: str) -> list[str]:
    return [e["type"] for e in act(ctx, "invoice.timeline", invoice_id=invoice_id)["events"]]


def test_partial_payments_add_up_to_paid(ctx, invoice):
    first = act(
        ctx,
        "invoice.record_payment",
        invoice_id=invoice["id"],
        amount="1000",
        paid_on="2026-11-25",
        method="bank_transfer",
        reference="SEPA 1",
    )
    assert first["status"] == "open"
    assert (first["amount_paid"], first["amount_due"]) == ("1000.00", "249.49")
    assert first["payments"][0]["id"].startswith("pay_")
    assert first["payments"][0]["paid_on"] == "2026-11-25"
    second = act(ctx, "invoice.record_payment", invoice_id=invoice["id"], amount=Decimal("249.49"))
    assert second["status"] == "paid" and second["amount_due"] == "0.00"
    assert second["paid_at"] == "2026-11-21T09:30:00Z"
    assert _types(ctx, invoice["id"])[-3:] == ["payment_recorded", "payment_recorded", "paid"]
    with pytest.raises(InvalidState) as err:
        act(ctx, "invoice.record_payment", invoice_id=invoice["id"], amount="1")
    assert "paid" in err.value.message


def test_overpayment_and_bad_amounts_are_422(ctx, invoice):
    for amount in ("1249.50", "0", "-5", "1.001", "abc"):
        with pytest.raises(ValidationFailed) as err:
            act(ctx, "invoice.record_payment", invoice_id=invoice["id"], amount=amount)
        assert err.value.details[0].field == "amount"
    got = act(ctx, "invoice.get", invoice_id=invoice["id"])
    assert got["payments"] == [] and got["version"] == invoice["version"]


def test_payment_on_draft_is_refused(ctx, ids):
    inv = draft(ctx, ids)
    with pytest.raises(InvalidState) as err:
        act(ctx, "invoice.record_payment", invoice_id=inv["id"], amount="1")
    assert "draft" in err.value.message


def test_void_without_payment_keeps_the_number_used(ctx, ids, invoice):
    voided = act(ctx, "invoice.void", invoice_id=invoice["id"], reason="wrong client")
    assert voided["status"] == "void" and voided["number"] == "INV-2026-0001"
    assert voided["voided_at"] == "2026-11-21T09:30:00Z"
    assert _types(ctx, invoice["id"])[-1] == "voided"
    nxt = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    assert nxt["number"] == "INV-2026-0002"
    for name, params in [
        ("invoice.void", {}),
        ("invoice.record_payment", {"amount": "1"}),
        ("invoice.send", {}),
        ("invoice.mark_uncollectible", {}),
        ("invoice.credit", {"reason": "x"}),
    ]:
        with pytest.raises(InvalidState) as err:
            act(ctx, name, invoice_id=invoice["id"], **params)
        assert "void" in err.value.message


def test_void_with_payment_is_refused(ctx, invoice):
    act(ctx, "invoice.record_payment", invoice_id=invoice["id"], amount="10")
    with pytest.raises(InvalidState) as err:
        act(ctx, "invoice.void", invoice_id=invoice["id"])
    assert "payment" in err.value.message and "open" in err.value.message
    assert act(ctx, "invoice.get", invoice_id=invoice["id"])["status"] == "open"


def test_draft_cannot_be_voided_or_marked_uncollectible(ctx, ids):
    inv = draft(ctx, ids)
    for name in ("invoice.void", "invoice.mark_uncollectible", "invoice.send"):
        with pytest.raises(InvalidState) as err:
            act(ctx, name, invoice_id=inv["id"])
        assert "draft" in err.value.message


def test_uncollectible_then_paid(ctx, invoice):
    marked = act(ctx, "invoice.mark_uncollectible", invoice_id=invoice["id"])
    assert marked["status"] == "uncollectible"
    paid = act(ctx, "invoice.record_payment", invoice_id=invoice["id"], amount="1249.49")
    assert paid["status"] == "paid"
    assert _types(ctx, invoice["id"])[-3:] == ["marked_uncollectible", "payment_recorded", "paid"]


def test_partial_then_full_credit(ctx, invoice):
    note = act(
        ctx,
        "invoice.credit",
        invoice_id=invoice["id"],
        reason="3 hours not delivered",
        lines=[{"line_id": "ln_1", "quantity": "3"}],
    )
    assert note["kind"] == "credit_note" and note["status"] == "open"
    assert note["number"] == "CN-2026-0001"
    assert note["original_invoice_id"] == invoice["id"]
    assert note["original_invoice_number"] == "INV-2026-0001"
    assert (note["subtotal"], note["tax_total"], note["total"]) == ("-300.00", "-57.00", "-357.00")
    assert note["lines"][0]["quantity"] == "-3"
    assert note["pdf"]["filename"] == "CN-2026-0001.pdf"
    assert _types(ctx, note["id"]) == ["created", "finalized", "pdf_rendered"]

    original = act(ctx, "invoice.get", invoice_id=invoice["id"])
    assert original["status"] == "open"
    assert (original["credited_amount"], original["amount_due"]) == ("357.00", "892.49")
    assert _types(ctx, invoice["id"])[-1] == "credited"

    with pytest.raises(ValidationFailed) as err:  # only 7 hours remain on line 1
        act(
            ctx,
            "invoice.credit",
            invoice_id=invoice["id"],
            reason="too much",
            lines=[{"line_id": "ln_1", "quantity": "8"}],
        )
    assert err.value.details[0].field == "lines[0].quantity"

    rest = act(ctx, "invoice.credit", invoice_id=invoice["id"], reason="cancel the rest")
    assert rest["number"] == "CN-2026-0002" and rest["total"] == "-892.49"
    original = act(ctx, "invoice.get", invoice_id=invoice["id"])
    assert original["status"] == "credited" and original["amount_due"] == "0.00"
    # invoice + all its credit notes sum to zero
    assert Decimal(original["total"]) + Decimal(note["total"]) + Decimal(rest["total"]) == 0
    with pytest.raises(InvalidState) as err:
        act(ctx, "invoice.credit", invoice_id=invoice["id"], reason="again")
    assert "credited" in err.value.message


def test_credit_of_a_paid_invoice_and_of_a_credit_note(ctx, invoice):
    act(ctx, "invoice.record_payment", invoice_id=invoice["id"], amount="1249.49")
    note = act(ctx, "invoice.credit", invoice_id=invoice["id"], reason="refund")
    assert note["total"] == "-1249.49"
    assert act(ctx, "invoice.get", invoice_id=invoice["id"])["status"] == "credited"
    with pytest.raises(InvalidState):
        act(ctx, "invoice.credit", invoice_id=note["id"], reason="credit of a credit note")
    with pytest.raises(InvalidState):
        act(ctx, "invoice.record_payment", invoice_id=note["id"], amount="1")
    with pytest.raises(InvalidState):
        act(ctx, "invoice.void", invoice_id=note["id"])
