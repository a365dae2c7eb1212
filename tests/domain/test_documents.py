"""Drafts, finalize, payments and credit notes, end to end through the pure functions."""

from datetime import date
from decimal import Decimal

import pytest
from stdnum import luhn

from functions.domain.credit import apply_credit, build_credit_note, remaining_creditable
from functions.domain.drafts import draft_invoice, duplicate, product_ids, update_draft
from functions.domain.errors import InvalidState, ValidationFailed
from functions.domain.finalize import complete_finalize, prepare_finalize, series_counter
from functions.domain.models import Invoice, Product
from functions.domain.numbering import next_sequence
from functions.domain.payments import apply_payment
from functions.domain.references import is_valid_ocr

from .conftest import NOW, TODAY, make_client, make_entity

PRODUCTS = {
    "prd_1": Product(
        id="prd_1",
        name="Widget",
        unit_price=Decimal("9.99"),
        currency="EUR",
        supply_type="goods",
        vat_rate=Decimal(7),
    ),
    "prd_usd": Product(id="prd_usd", name="Gadget", unit_price=Decimal(5), currency="USD"),
}


def fields(err) -> list[str]:
    return [d.field for d in err.value.details]


def finalized(invoice: Invoice, entity=None, client=None, seq: int = 1) -> Invoice:
    entity = entity or make_entity()
    client = client or make_client("DE")
    prepared = prepare_finalize(invoice, entity, client, TODAY)
    return complete_finalize(prepared, seq, NOW)


def sample_draft(**data) -> Invoice:
    params = {
        "lines": [
            {"description": "Consulting", "quantity": "10", "unit_price": "120"},
            {"product_id": "prd_1", "quantity": 3},
        ],
        **data,
    }
    return draft_invoice(params, make_entity(), make_client("DE"), PRODUCTS, invoice_id="inv_1")


def test_draft_from_input_is_priced_and_numberless():
    draft = sample_draft()
    assert draft.status == "draft" and draft.number is None and draft.id == "inv_1"
    assert [li.id for li in draft.lines] == ["ln_1", "ln_2"]
    assert draft.lines[1].description == "Widget" and draft.lines[1].vat_rate == 7
    assert (draft.subtotal, draft.tax_total, draft.total) == (
        Decimal("1229.97"),
        Decimal("230.10"),
        Decimal("1460.07"),
    )
    assert product_ids([{"product_id": "prd_1"}, {"x": 1}, {"product_id": "prd_1"}]) == ["prd_1"]


def test_draft_input_errors_all_at_once():
    with pytest.raises(ValidationFailed) as err:
        draft_invoice(
            {
                "lines": [
                    {"description": "a"},
                    {"product_id": "prd_nope"},
                    {"product_id": "prd_usd"},
                    {"description": "b", "unit_price": "1", "quantity": "x", "colour": "red"},
                ]
            },
            make_entity(),
            make_client("DE"),
            PRODUCTS,
        )
    assert fields(err) == [
        "lines[0].unit_price",
        "lines[1].product_id",
        "lines[2].product_id",
        "lines[3].colour",
        "lines[3].quantity",
    ]


def test_update_only_drafts():
    draft = sample_draft()
    updated = update_draft(
        draft,
        {"lines": [{"description": "x", "unit_price": "1"}], "po_number": "PO-7"},
        make_entity(),
        make_client("DE"),
    )
    assert updated.total == Decimal("1.19") and updated.po_number == "PO-7"
    with pytest.raises(InvalidState) as err:
        update_draft(finalized(draft), {"notes": "x"}, make_entity(), make_client("DE"))
    assert err.value.status == "open" and "open" in err.value.message


def test_finalize_numbers_freezes_and_sets_dates():
    entity = make_entity(payment_reference="ocr", ocr_length_digit=True, next_invoice_number=1500)
    client = make_client("DE", payment_terms_days=14)
    prepared = prepare_finalize(sample_draft(), entity, client, TODAY)
    assert prepared.number is None and prepared.status == "draft"
    key, start = series_counter(prepared)
    assert key == "number:ent_1:invoice:2026" and start == 1500
    done = complete_finalize(prepared, next_sequence(None, start), NOW)
    assert done.number == "INV-2026-1500" and done.status == "open"
    assert done.issue_date == TODAY and done.due_date == date(2026, 12, 5)
    # the number's digits, length digit (10 digits → 0), Luhn check digit
    assert done.payment_reference == "20261500" + "0" + luhn.calc_check_digit("202615000")
    assert is_valid_ocr(done.payment_reference, length_digit=True)
    assert done.seller.name == entity.name and done.buyer.name == client.name
    assert done.finalized_at == NOW
    with pytest.raises(InvalidState):
        prepare_finalize(done, entity, client, TODAY)


def test_finalize_resolves_vat_with_the_frozen_buyer():
    draft = sample_draft()
    assert draft.lines[0].vat_category == "S"
    done = finalized(draft, client=make_client("FR"))
    assert [li.vat_category for li in done.lines] == ["AE", "K"]
    assert done.tax_total == 0 and done.total == Decimal("1229.97")


def test_payments_partial_then_full():
    invoice = finalized(sample_draft())
    with pytest.raises(ValidationFailed) as err:
        apply_payment(invoice, "1460.08", paid_on=TODAY)
    assert fields(err) == ["amount"] and "1460.07" in err.value.details[0].message
    for bad in ("0", "-5", "1.005", "abc"):
        with pytest.raises(ValidationFailed) as err:
            apply_payment(invoice, bad, paid_on=TODAY)
        assert fields(err) == ["amount"]
    part = apply_payment(invoice, "460.07", paid_on=TODAY, method="bank", payment_id="pay_1")
    assert part.status == "open" and part.amount_due == Decimal(1000)
    paid = apply_payment(part, 1000, paid_on=TODAY, now=NOW)
    assert paid.status == "paid" and paid.amount_due == 0 and paid.paid_at == NOW
    assert [p.amount for p in paid.payments] == [Decimal("460.07"), Decimal("1000.00")]
    with pytest.raises(InvalidState) as err:
        apply_payment(paid, "1", paid_on=TODAY)
    assert err.value.status == "paid"


def test_payment_on_draft_is_invalid_state_before_amount_checks():
    with pytest.raises(InvalidState) as err:
        apply_payment(sample_draft(), "-1", paid_on=TODAY)
    assert err.value.status == "draft"


def test_uncollectible_then_paid():
    invoice = finalized(sample_draft()).model_copy(update={"status": "uncollectible"})
    part = apply_payment(invoice, "60.07", paid_on=TODAY)
    assert part.status == "uncollectible"
    assert apply_payment(part, "1400", paid_on=TODAY).status == "paid"


def test_jpy_payment_must_be_whole_yen():
    invoice = finalized(
        sample_draft(currency="JPY", lines=[{"description": "x", "unit_price": "1000"}])
    )
    assert invoice.total == Decimal(1190)
    with pytest.raises(ValidationFailed):
        apply_payment(invoice, "0.5", paid_on=TODAY)


def test_partial_credit_by_line_then_the_rest():
    invoice = finalized(sample_draft())
    note = build_credit_note(
        invoice,
        reason="2 widgets broken",
        lines=[{"line_id": "ln_2", "quantity": "2"}],
        issue_date=TODAY,
    )
    assert note.kind == "credit_note" and note.status == "draft" and note.number is None
    assert note.original_invoice_id == "inv_1" and note.credit_reason == "2 widgets broken"
    assert note.lines[0].quantity == -2 and note.lines[0].original_line_id == "ln_2"
    assert note.total == Decimal("-21.38")  # -19.98 net, -1.40 VAT at 7 %
    assert note.amount_due == 0
    after = apply_credit(invoice, note)
    assert after.status == "open" and after.credited_amount == Decimal("21.38")
    assert after.amount_due == Decimal("1438.69")
    assert remaining_creditable(after) == Decimal("1438.69")

    with pytest.raises(ValidationFailed) as err:
        build_credit_note(
            after, lines=[{"line_id": "ln_2", "quantity": "1.5"}], previous_credit_notes=[note]
        )
    assert fields(err) == ["lines[0].quantity"] and "only 1 " in err.value.details[0].message
    with pytest.raises(ValidationFailed) as err:
        build_credit_note(after, lines=[{"line_id": "ln_9"}, {"line_index": 0, "quantity": "0"}])
    assert fields(err) == ["lines[0].line_id", "lines[1].quantity"]

    rest = build_credit_note(after, reason="cancel", previous_credit_notes=[note])
    assert [(li.original_line_id, li.quantity) for li in rest.lines] == [
        ("ln_1", Decimal(-10)),
        ("ln_2", Decimal(-1)),
    ]
    done = apply_credit(after, rest, previous_credit_notes=[note], now=NOW)
    assert done.status == "credited" and done.amount_due == 0 and done.credited_at == NOW
    assert invoice.total + note.total + rest.total == 0


def test_credit_note_finalizes_in_its_own_series():
    invoice = finalized(sample_draft(), seq=41)
    note = build_credit_note(invoice, reason="cancel", issue_date=TODAY)
    prepared = prepare_finalize(note, make_entity(), make_client("DE"), TODAY)
    key, start = series_counter(prepared)
    assert key == "number:ent_1:credit_note:2026" and start == 1
    issued = complete_finalize(prepared, 1, NOW)
    assert issued.number == "CN-2026-0001" and issued.status == "open"
    assert issued.total == -invoice.total and issued.payment_reference is None


def test_partial_credit_after_partial_payment_settles_to_paid():
    invoice = finalized(sample_draft())
    paid_part = apply_payment(invoice, "1438.69", paid_on=TODAY)
    note = build_credit_note(paid_part, lines=[{"line_id": "ln_2", "quantity": "2"}])
    after = apply_credit(paid_part, note, now=NOW)
    assert after.amount_due == 0 and after.status == "paid"


def test_cannot_credit_drafts_voids_or_credit_notes():
    with pytest.raises(InvalidState) as err:
        build_credit_note(sample_draft(), reason="x")
    assert err.value.status == "draft"
    void = finalized(sample_draft()).model_copy(update={"status": "void"})
    with pytest.raises(InvalidState):
        build_credit_note(void, reason="x")
    note = build_credit_note(finalized(sample_draft()), reason="x")
    with pytest.raises(InvalidState):
        build_credit_note(note.model_copy(update={"status": "open"}), reason="x")


def test_duplicate_is_a_fresh_draft():
    original = finalized(sample_draft())
    copy = duplicate(
        original, make_entity(), make_client("DE"), today=date(2027, 1, 5), invoice_id="inv_2"
    )
    assert copy.status == "draft" and copy.number is None and copy.id == "inv_2"
    assert copy.issue_date == date(2027, 1, 5) and copy.due_date == date(2027, 2, 4)
    assert copy.total == original.total and copy.payments == [] and copy.seller is None
