"""Refunds: a credit note on a paid invoice never makes its amount due negative; what was
already paid is the credit note's refund_due, settled by record_refund."""

from __future__ import annotations

from decimal import Decimal

import pytest

from functions.domain.credit import build_credit_note, refund_owed, settle_credit
from functions.domain.errors import InvalidState, ValidationFailed
from functions.domain.finalize import complete_finalize, prepare_finalize
from functions.domain.payments import apply_payment, record_refund

from .conftest import NOW, TODAY, make_client, make_entity
from .test_documents import finalized, sample_draft

D = Decimal


def issued_note(original, **kwargs):
    note = build_credit_note(original, reason="returned", issue_date=TODAY, **kwargs)
    prepared = prepare_finalize(note, make_entity(), make_client("DE"), TODAY)
    return complete_finalize(prepared, 1, NOW)


def test_credit_on_a_paid_invoice_owes_the_client_back():
    invoice = apply_payment(finalized(sample_draft()), "1460.07", paid_on=TODAY, now=NOW)
    assert invoice.status == "paid"
    note = issued_note(invoice)
    after, note = settle_credit(invoice, note, now=NOW)
    assert after.amount_due == 0 and after.status == "credited"
    assert note.refund_due == D("1460.07") and note.amount_due == 0
    dumped = note.model_dump(mode="json")
    assert dumped["refund_due"] == "1460.07" and dumped["refunds"] == []
    assert dumped["amount_due"] == "0.00"


def test_partial_credit_on_a_part_paid_invoice():
    """1460.07 invoice, 1000 paid, 1200 (10 hours) + VAT credited: 460.07 was still due, the
    rest of the 1428.00 credited was paid and is owed back."""
    invoice = apply_payment(finalized(sample_draft()), "1000", paid_on=TODAY)
    note = issued_note(invoice, lines=[{"line_id": "ln_1"}])
    assert note.total == D("-1428.00")
    assert refund_owed(invoice, note) == D("967.93")
    after, note = settle_credit(invoice, note, now=NOW)
    assert (
        after.amount_due == 0 and after.status == "paid" and after.credited_amount == D("1428.00")
    )
    assert note.refund_due == D("967.93")


def test_credit_within_what_is_due_owes_nothing():
    invoice = apply_payment(finalized(sample_draft()), "100", paid_on=TODAY)
    note = issued_note(invoice, lines=[{"line_id": "ln_2", "quantity": "1"}])
    after, note = settle_credit(invoice, note)
    assert note.refund_due == 0 and after.amount_due == invoice.amount_due + note.total


def test_record_refund_settles_refund_due():
    invoice = apply_payment(finalized(sample_draft()), "1460.07", paid_on=TODAY)
    _, note = settle_credit(invoice, issued_note(invoice))
    part = record_refund(note, "460.07", paid_on=TODAY, method="bank", refund_id="ref_1", now=NOW)
    assert part.refund_due == D("1000.00") and part.refunds[0].id == "ref_1"
    for bad, message in (
        ("0", "greater than zero"),
        ("-1", "greater than zero"),
        ("0.001", "2 decimal"),
    ):
        with pytest.raises(ValidationFailed) as err:
            record_refund(part, bad, paid_on=TODAY)
        assert err.value.details[0].field == "amount" and message in err.value.details[0].message
    with pytest.raises(ValidationFailed) as err:
        record_refund(part, "1000.01", paid_on=TODAY)
    assert err.value.details[0].field == "amount" and "1000.00" in err.value.details[0].message
    done = record_refund(part, "1000", paid_on=TODAY, refund_id="ref_2")
    assert done.refund_due == 0 and [r.amount for r in done.refunds] == [D("460.07"), D("1000")]
    assert done.model_dump(mode="json")["refunds"][1]["amount"] == "1000.00"
    with pytest.raises(ValidationFailed):
        record_refund(done, "0.01", paid_on=TODAY)


def test_refunds_only_on_finalized_credit_notes():
    invoice = finalized(sample_draft())
    with pytest.raises(InvalidState):
        record_refund(invoice, "1", paid_on=TODAY)
    draft_note = build_credit_note(invoice, reason="x")
    with pytest.raises(InvalidState):
        record_refund(draft_note, "1", paid_on=TODAY)
