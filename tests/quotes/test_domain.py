"""The quote model alone: the transition table, totals through the invoice path, numbering."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from functions.domain.calc import price
from functions.domain.drafts import draft_invoice
from functions.domain.errors import InvalidState, ValidationFailed
from functions.domain.models import Client, Entity
from functions.domain.quotes import (
    QUOTE_STATUSES,
    QUOTE_TRANSITIONS,
    accept,
    complete_quote,
    decline,
    draft_quote,
    expire,
    invoice_from_quote,
    is_expired,
    prepare_quote,
    quote_counter,
    quote_transition,
)
from tests.invoices.support import CLIENT, SELLER

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
LINES = [
    {"description": "Design", "quantity": "3", "unit_price": "33.33", "discount_percent": "5"},
    {"description": "Books", "quantity": "2", "unit_price": "19.99", "vat_rate": "7"},
    {"description": "Hosting", "quantity": "1.5", "unit_price": "10.005"},
]


@pytest.fixture
def entity() -> Entity:
    return Entity.model_validate({**SELLER, "id": "ent_1", "account_id": "acct_1"})


@pytest.fixture
def client() -> Client:
    return Client.model_validate({**CLIENT, "id": "cli_1", "account_id": "acct_1"})


def test_every_pair_outside_the_table_is_refused_naming_the_status():
    actions = {a for _, a in QUOTE_TRANSITIONS} | {"finalize", "pay"}
    for status in QUOTE_STATUSES:
        for action in actions:
            if (status, action) in QUOTE_TRANSITIONS:
                assert quote_transition(status, action) == QUOTE_TRANSITIONS[(status, action)]
            else:
                with pytest.raises(InvalidState) as err:
                    quote_transition(status, action)
                assert status in str(err.value)


def test_totals_are_the_invoice_calculation(entity, client):
    quote = draft_quote({"lines": LINES}, entity, client, quote_id="quo_1")
    invoice = draft_invoice({"lines": LINES}, entity, client, invoice_id="inv_1")
    for field in ("subtotal", "tax_total", "total", "tax_breakdown"):
        assert getattr(quote, field) == getattr(invoice, field)
    assert [line.net_amount for line in quote.lines] == [line.net_amount for line in invoice.lines]
    # 19 %: (94.99 + 15.01) + 20.90; 7 %: 39.98 + 2.80 (VAT rounded once per rate)
    assert str(quote.total) == "173.68"
    # and converting prices the same lines again to the same amounts
    converted = invoice_from_quote(
        quote, entity, client, invoice_id="inv_2", today=date(2026, 11, 21)
    )
    assert converted.total == quote.total and converted.quote_id == "quo_1"
    assert converted.status == "draft" and converted.number is None
    assert price(converted, entity, client).total == quote.total


def test_validity_and_answers(entity, client):
    with pytest.raises(ValidationFailed) as err:
        draft_quote(
            {"lines": LINES, "issue_date": date(2026, 11, 20), "valid_until": date(2026, 11, 1)},
            entity,
            client,
        )
    assert err.value.details[0].field == "valid_until"
    with pytest.raises(ValidationFailed) as err:
        draft_quote(
            {"lines": [{"description": "x", "unit_price": "1", "colour": "red"}]}, entity, client
        )
    assert err.value.details[0].field == "lines[0].colour"

    quote = draft_quote({"lines": LINES}, entity, client, quote_id="quo_1")
    prepared = prepare_quote(quote, entity, client, date(2026, 11, 21))
    assert prepared.valid_until == date(2026, 12, 21) and prepared.seller is not None
    opened = complete_quote(prepared, 7, NOW)
    assert (opened.number, opened.status) == ("QUO-2026-0007", "open")
    with pytest.raises(ValidationFailed) as err:
        accept(opened, "   ", NOW)
    assert err.value.details[0].field == "name"
    accepted = accept(opened, "  Erika   Muster ", NOW)
    assert (accepted.status, accepted.accepted_by) == ("accepted", "Erika Muster")
    with pytest.raises(InvalidState):
        decline(accepted, "too late", NOW)
    assert decline(opened, " no budget ", NOW).decline_reason == "no budget"
    assert not is_expired(opened, date(2026, 12, 21))
    assert is_expired(opened, date(2026, 12, 22))
    assert expire(opened, NOW).status == "expired"
    with pytest.raises(InvalidState):  # the last valid day has passed
        accept(opened, "Late Larry", datetime(2026, 12, 22, 8, tzinfo=UTC))


def test_own_series_and_pattern_checks(entity):
    assert quote_counter("ent_1", entity, date(2026, 3, 5)) == "number:ent_1:quote:2026"
    monthly = entity.model_copy(
        update={"number_reset": "monthly", "quote_number_pattern": "Q-{YYYY}{MM}-{SEQ}"}
    )
    assert quote_counter("ent_1", monthly, date(2026, 3, 5)) == "number:ent_1:quote:2026-03"
    plain = entity.model_copy(update={"quote_number_pattern": "Q{SEQ:5}"})
    assert quote_counter("ent_1", plain, date(2026, 3, 5)) == "number:ent_1:quote:all"
    with pytest.raises(ValueError) as err:
        Entity.model_validate({**SELLER, "quote_number_pattern": "QUO-{NOPE}"})
    assert "quote_number_pattern" in str(err.value)
