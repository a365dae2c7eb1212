"""Self-billing: the one validator of kind/seller/buyer (walked over the whole matrix), the
supplier-side VAT treatment, the series per entity and supplier, the mention and type codes."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from functions.domain.credit import build_credit_note
from functions.domain.drafts import draft_invoice
from functions.domain.errors import ValidationFailed
from functions.domain.finalize import series_counter as plain_series_counter
from functions.domain.kinds import KINDS, base_kind, credit_kind_for, is_self_billed
from functions.domain.models import Client, Entity, Invoice, parse_model
from functions.domain.self_billing import (
    SELF_BILLING_MENTION,
    TYPE_CODES,
    PartyRef,
    check_parties,
    complete_self_billed,
    frozen_parties,
    parties_for,
    prepare_self_billed,
    self_billing_mention,
    series_counter,
    supplier_side_treatment,
)
from functions.mail.labels import SUPPORTED_LANGUAGES

from .conftest import NOW, TODAY, make_client, make_entity

AGREEMENT = {"agreement_reference": "SBA-7", "valid_from": "2026-01-01", "valid_to": "2026-12-31"}


def supplier(country: str = "DE", agreement: dict | None = AGREEMENT, **overrides) -> Client:
    extra = {"self_billing": agreement} if agreement is not None else {}
    return make_client(country, id="cli_sup", name="Supplier GmbH", **extra, **overrides)


def fields(err) -> list[str]:
    return [d.field for d in err.value.details]


# --- the matrix ---------------------------------------------------------------------------------

AGREEMENTS = {
    "none": None,
    "in_force": AGREEMENT,
    "expired": {
        "agreement_reference": "SBA-1",
        "valid_from": "2025-01-01",
        "valid_to": "2025-12-31",
    },
    "not_yet": {"agreement_reference": "SBA-9", "valid_from": "2027-01-01"},
    "open_ended": {"agreement_reference": "SBA-2", "valid_from": "2026-11-21"},
}
PARTIES = {
    "entity": PartyRef("entity", "ent_1"),
    "client": PartyRef("client", "cli_sup"),
    "other_entity": PartyRef("entity", "ent_2"),
    "other_client": PartyRef("client", "cli_2"),
    "entity_id_as_client": PartyRef("client", "ent_1"),
    "nobody": PartyRef("entity", None),
}


def allowed(kind: str, seller: str, buyer: str, agreement: str) -> bool:
    if kind in ("invoice", "credit_note"):
        return seller == "entity" and buyer == "client"
    if kind in ("self_billed_invoice", "self_billed_credit_note"):
        return seller == "client" and buyer == "entity" and agreement in ("in_force", "open_ended")
    return False


@pytest.mark.parametrize("agreement", list(AGREEMENTS))
def test_every_combination_of_kind_seller_and_buyer(agreement):
    """Walk every kind (and an unknown one) × every seller × every buyer × agreement state:
    exactly the four allowed shapes pass, every other one is a 422 naming a field."""
    entity = make_entity()
    client = supplier(agreement=AGREEMENTS[agreement])
    passed = []
    for kind, seller, buyer in itertools.product([*KINDS, "proforma"], PARTIES, PARTIES):
        try:
            check_parties(
                kind,
                PARTIES[seller],
                PARTIES[buyer],
                entity=entity,
                client=client,
                issue_date=TODAY,
            )
        except ValidationFailed as exc:
            assert exc.details and all(d.field for d in exc.details)
            assert not allowed(kind, seller, buyer, agreement), (kind, seller, buyer)
        else:
            passed.append((kind, seller, buyer))
            assert allowed(kind, seller, buyer, agreement), (kind, seller, buyer)
    expected = {("invoice", "entity", "client"), ("credit_note", "entity", "client")}
    if agreement in ("in_force", "open_ended"):
        expected |= {
            ("self_billed_invoice", "client", "entity"),
            ("self_billed_credit_note", "client", "entity"),
        }
    assert set(passed) == expected


def test_the_refusal_says_why():
    entity, client = make_entity(), supplier(agreement=AGREEMENTS["expired"])
    seller, buyer = parties_for("self_billed_invoice", entity, client)
    assert (seller.role, buyer.role) == ("client", "entity")
    with pytest.raises(ValidationFailed) as err:
        check_parties(
            "self_billed_invoice", seller, buyer, entity=entity, client=client, issue_date=TODAY
        )
    assert fields(err) == ["issue_date"] and "SBA-1" in err.value.details[0].message
    with pytest.raises(ValidationFailed) as err:
        check_parties(
            "self_billed_invoice",
            seller,
            buyer,
            entity=entity,
            client=supplier(agreement=None),
            issue_date=TODAY,
        )
    assert fields(err) == ["client_id"]
    with pytest.raises(ValidationFailed) as err:
        check_parties("invoice", seller, buyer, entity=entity, client=client, issue_date=TODAY)
    assert fields(err) == ["seller", "buyer"]
    with pytest.raises(ValidationFailed) as err:
        parties_for("quote", entity, client)
    assert fields(err) == ["kind"]


def test_agreement_model_checks_its_dates():
    with pytest.raises(ValidationFailed) as err:
        parse_model(
            Client,
            {
                "name": "S",
                "address": {"country": "DE"},
                "self_billing": {
                    "agreement_reference": "A",
                    "valid_from": "2026-05-01",
                    "valid_to": "2026-04-30",
                },
            },
        )
    assert fields(err) == ["self_billing.valid_to"]
    with pytest.raises(ValidationFailed) as err:
        parse_model(Client, {"name": "S", "address": {"country": "DE"}, "self_billing": {}})
    assert set(fields(err)) == {"self_billing.agreement_reference", "self_billing.valid_from"}
    agreement = supplier().self_billing
    assert agreement.covers(date(2026, 1, 1)) and agreement.covers(date(2026, 12, 31))
    assert not agreement.covers(date(2027, 1, 1)) and not agreement.covers(date(2025, 12, 31))


# --- VAT from the supplier's side ---------------------------------------------------------------


def _line(supply_type: str = "services"):
    from functions.domain.models import Line

    return Line(description="x", unit_price=Decimal(1), supply_type=supply_type)


@pytest.mark.parametrize(
    ("supplier_country", "supply_type", "entity_vat", "expected"),
    [
        ("DE", "services", True, ("S", Decimal(19))),  # domestic: the entity's rate
        ("FR", "services", True, ("AE", Decimal(0))),  # EU supplier, entity has a VAT number
        ("FR", "goods", True, ("K", Decimal(0))),
        ("FR", "services", False, ("S", Decimal(20))),  # taxed in France at its rate
        ("US", "services", True, ("O", Decimal(0))),  # outside the EU: not an EU supply
        ("GB", "goods", True, ("O", Decimal(0))),
    ],
)
def test_treatment_is_the_table_with_roles_swapped(
    supplier_country, supply_type, entity_vat, expected
):
    entity = make_entity() if entity_vat else make_entity(vat_number=None, tax_number="123/456")
    seller, buyer = frozen_parties(entity, supplier(supplier_country), supplier_rate=Decimal(20))
    treatment = supplier_side_treatment(_line(supply_type), seller, buyer)
    assert (treatment.category, treatment.rate) == expected


def test_entity_outside_the_eu_buying_goods_from_the_eu_is_an_export():
    entity = make_entity(
        address={
            "line1": "Bahnhofstr. 1",
            "postal_code": "8001",
            "city": "Zürich",
            "country": "CH",
        },
        vat_number="CHE-116.281.710 MWST",
        default_vat_rate="8.1",
    )
    seller, buyer = frozen_parties(entity, supplier("DE"))
    assert supplier_side_treatment(_line("goods"), seller, buyer).category == "G"


# --- finalize and numbering ---------------------------------------------------------------------


def _self_billed_draft(entity: Entity, client: Client, **params):
    data = {
        "lines": [
            {"description": "Scrap metal, 2 t", "quantity": "2", "unit_price": "450"},
            {"description": "Haulage", "quantity": "1", "unit_price": "80"},
        ],
        **params,
    }
    draft = draft_invoice(data, entity, client, {}, invoice_id="inv_sb1")
    return draft.model_copy(update={"kind": "self_billed_invoice"})


def test_self_billed_invoice_end_to_end():
    entity = make_entity(self_billing_number_pattern="GS-{YY}-{SEQ:3}")
    client = supplier("FR")
    prepared = prepare_self_billed(_self_billed_draft(entity, client), entity, client, TODAY)
    assert prepared.seller.name == "Supplier GmbH" and prepared.seller.id == "cli_sup"
    assert prepared.buyer.name == "Acme GmbH" and prepared.buyer.vat_number == "DE136695976"
    assert [line.vat_category for line in prepared.lines] == ["AE", "AE"]
    assert prepared.total == Decimal("980.00") and prepared.tax_total == 0
    key, start = series_counter(entity, client.id, prepared.issue_date)
    assert (key, start) == ("number:ent_1:self_billed:cli_sup:2026", 1)
    done = complete_self_billed(prepared, entity, 7, NOW)
    assert done.number == "GS-26-007" and done.status == "open" and done.payment_reference is None
    assert done.kind == "self_billed_invoice" and TYPE_CODES[done.kind] == "389"
    # the frozen parties read back from the store (JSON) as valid records
    again = parse_model(Invoice, done.model_dump(mode="json"))
    assert again.seller.name == "Supplier GmbH" and again.buyer.name == "Acme GmbH"

    note = build_credit_note(
        done, reason="1 t returned", lines=[{"line_id": "ln_1", "quantity": "1"}]
    )
    assert note.kind == "self_billed_credit_note" == credit_kind_for(done.kind)
    note_done = complete_self_billed(
        prepare_self_billed(note, entity, client, TODAY), entity, 8, NOW
    )
    assert note_done.number == "GS-26-008" and note_done.total == Decimal("-450.00")
    assert note_done.seller.id == "cli_sup" and TYPE_CODES[note_done.kind] == "261"


def test_self_billed_finalize_lists_every_problem():
    entity = make_entity()
    client = supplier("DE", address={"country": "DE"}, agreement=AGREEMENTS["expired"])
    with pytest.raises(ValidationFailed) as err:
        prepare_self_billed(_self_billed_draft(entity, make_client("DE")), entity, client, TODAY)
    found = fields(err)
    assert "issue_date" in found  # the agreement is not in force
    client = supplier("DE", address={"country": "DE"})
    with pytest.raises(ValidationFailed) as err:
        prepare_self_billed(_self_billed_draft(entity, make_client("DE")), entity, client, TODAY)
    assert {"seller.address.line1", "seller.address.city"} <= set(fields(err))


def test_series_never_collide():
    entity = make_entity()
    keys = {
        series_counter(entity, "cli_a", TODAY)[0],
        series_counter(entity, "cli_b", TODAY)[0],
        series_counter(make_entity(id="ent_2"), "cli_a", TODAY)[0],
        series_counter(entity, "cli_a", date(2027, 1, 1))[0],
    }
    plain = {"number:ent_1:invoice:2026", "number:ent_1:credit_note:2026"}
    assert len(keys) == 4 and not keys & plain
    draft = _self_billed_draft(entity, make_client("DE")).model_copy(update={"kind": "invoice"})
    from functions.domain.finalize import prepare_finalize

    assert (
        plain_series_counter(prepare_finalize(draft, entity, make_client("DE"), TODAY))[0] in plain
    )


def test_self_billing_pattern_is_checked_and_must_not_mimic_own_numbers():
    assert make_entity().self_billing_number_pattern == "SB-{YYYY}-{SEQ:4}"
    with pytest.raises(ValidationFailed) as err:
        make_entity(self_billing_number_pattern="INV-{YYYY}-{SEQ}")
    assert fields(err) == ["self_billing_number_pattern"]
    with pytest.raises(ValidationFailed) as err:
        make_entity(self_billing_number_pattern="SB-{SEQ:4}-{HH}")
    assert fields(err) == ["self_billing_number_pattern"]


def test_self_billing_series_restarts_only_as_often_as_its_number_shows():
    from functions.domain.self_billing import series_reset

    assert series_reset(make_entity()) == "yearly"
    assert series_reset(make_entity(self_billing_number_pattern="SB-{SEQ:5}")) == "never"
    assert series_reset(make_entity(number_reset="never")) == "never"
    daily = make_entity(
        number_reset="daily",
        invoice_number_pattern="R-{YYYY}{MM}{DD}-{SEQ}",
        credit_note_number_pattern="G-{YYYY}{MM}{DD}-{SEQ}",
    )
    assert series_reset(daily) == "yearly"  # SB-{YYYY}-{SEQ:4} shows the year only
    key, _ = series_counter(daily, "cli_a", date(2026, 3, 5))
    assert key == "number:ent_1:self_billed:cli_a:2026"
    per_day = daily.model_copy(update={"self_billing_number_pattern": "SB-{YY}{MM}{DD}-{SEQ}"})
    assert series_counter(per_day, "cli_a", date(2026, 3, 5))[0].endswith(":2026-03-05")


def test_mention_in_every_language_of_the_documents():
    assert set(SELF_BILLING_MENTION) == set(SUPPORTED_LANGUAGES)
    assert self_billing_mention("de-AT") == "Gutschrift"
    assert self_billing_mention("sv") == "Självfakturering"
    assert self_billing_mention("fi") == "Self-billing"


def test_kinds():
    assert [base_kind(k) for k in KINDS] == ["invoice", "credit_note", "invoice", "credit_note"]
    assert [is_self_billed(k) for k in KINDS] == [False, False, True, True]
    with pytest.raises(ValueError):
        base_kind("quote")
