"""Drafts: create, update, get, delete, duplicate — direct through the registry on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.domain.errors import Conflict, InvalidState, NotFound, ValidationFailed

from .support import OTHER_ACCOUNT, act, draft, make_ctx


def test_create_computes_totals_and_default_vat(ctx, ids):
    inv = draft(ctx, ids)
    assert inv["status"] == "draft"
    assert inv["number"] is None
    assert inv["object"] == "invoice" and inv["kind"] == "invoice"
    assert [line["net_amount"] for line in inv["lines"]] == ["1000.00", "49.99"]
    assert inv["tax_breakdown"] == [
        {
            "vat_category": "S",
            "vat_rate": "19",
            "taxable_amount": "1049.99",
            "tax_amount": "199.50",
            "exemption_reason": None,
        }
    ]
    assert (inv["subtotal"], inv["tax_total"], inv["total"]) == ("1049.99", "199.50", "1249.49")
    assert inv["amount_due"] == "1249.49"
    assert inv["client_name"] == "Kunde AG"
    assert inv["version"] == 1
    events = act(ctx, "invoice.timeline", invoice_id=inv["id"])["events"]
    assert [e["type"] for e in events] == ["created"]
    assert events[0]["actor"] == "user:test"


def test_reverse_charge_for_verified_eu_business_client(ctx, ids):
    client = act(
        ctx,
        "client.create",
        name="Client SARL",
        email="compta@client.example",
        vat_number="FR40303265045",
        address={"line1": "1 rue X", "postal_code": "75001", "city": "Paris", "country": "FR"},
    )
    # Evidence of a VIES check, as client.verify_vat stores it.
    rec = ctx.store.get("clients", client["id"])
    verification = {
        "status": "valid",
        "checked_at": "2026-11-20T10:00:00Z",
        "vat_number": "FR40303265045",
    }
    ctx.store.put(
        "clients",
        client["id"],
        {**rec.data, "vat_verification": verification},
        account_id=rec.account_id,
        expected_version=rec.version,
    )
    inv = act(
        ctx,
        "invoice.create",
        entity_id=ids["entity_id"],
        client_id=client["id"],
        lines=[
            {"description": "Design", "unit_price": "500"},
            {"description": "Printed books", "unit_price": "100", "supply_type": "goods"},
        ],
    )
    cats = [(line["vat_category"], line["vat_rate"]) for line in inv["lines"]]
    assert cats == [("AE", "0"), ("K", "0")]
    assert inv["lines"][0]["exemption_reason"] == "Reverse charge"
    assert inv["tax_total"] == "0.00" and inv["total"] == "600.00"


def test_unverified_eu_client_pays_seller_vat(ctx, ids):
    client = act(
        ctx,
        "client.create",
        name="Client SARL",
        vat_number="FR40303265045",
        address={"line1": "1 rue X", "postal_code": "75001", "city": "Paris", "country": "FR"},
    )
    inv = act(
        ctx,
        "invoice.create",
        entity_id=ids["entity_id"],
        client_id=client["id"],
        lines=[{"description": "Design", "unit_price": "500"}],
    )
    assert inv["lines"][0]["vat_category"] == "S" and inv["total"] == "595.00"


def test_product_lines_take_catalogue_defaults(ctx, ids):
    product = act(
        ctx, "product.create", name="Workshop day", unit_price="800", currency="EUR", unit="day"
    )
    inv = draft(ctx, ids, lines=[{"product_id": product["id"], "quantity": "2"}])
    line = inv["lines"][0]
    assert (line["description"], line["unit_price"], line["unit"]) == ("Workshop day", "800", "day")
    assert inv["subtotal"] == "1600.00"


def test_create_validation_names_fields(ctx, ids):
    with pytest.raises(ValidationFailed) as err:
        draft(
            ctx,
            ids,
            lines=[
                {"description": "ok", "unit_price": "1"},
                {"description": "bad", "quantity": "x", "unit_price": "1"},
                {"description": "no price"},
            ],
        )
    fields = {d.field for d in err.value.details}
    assert {"lines[1].quantity", "lines[2].unit_price"} <= fields


def test_unknown_entity_or_foreign_client_is_not_found(ctx, ids, store):
    other = make_ctx(store, account_id=OTHER_ACCOUNT)
    with pytest.raises(NotFound):
        draft(other, ids)  # both ids belong to the first account
    with pytest.raises(NotFound):
        draft(ctx, {**ids, "entity_id": "ent_missing"})


def test_update_draft_recomputes_and_checks_version(ctx, ids):
    inv = draft(ctx, ids)
    updated = act(
        ctx,
        "invoice.update",
        invoice_id=inv["id"],
        version=inv["version"],
        lines=[{"description": "Consulting", "quantity": "3", "unit_price": "100"}],
        notes="Thanks!",
    )
    assert updated["total"] == "357.00" and updated["notes"] == "Thanks!"
    assert updated["version"] == inv["version"] + 1
    with pytest.raises(Conflict):
        act(ctx, "invoice.update", invoice_id=inv["id"], version=inv["version"], notes="stale")
    cleared = act(ctx, "invoice.update", invoice_id=inv["id"], notes=None)
    assert cleared["notes"] is None and cleared["total"] == "357.00"
    events = act(ctx, "invoice.timeline", invoice_id=inv["id"])["events"]
    assert [e["type"] for e in events] == ["created", "updated", "updated"]
    assert "lines" in events[1]["data"]["fields"]


def test_update_and_delete_refused_after_finalize(ctx, ids):
    inv = draft(ctx, ids)
    act(ctx, "invoice.finalize", invoice_id=inv["id"])
    with pytest.raises(InvalidState) as err:
        act(ctx, "invoice.update", invoice_id=inv["id"], notes="late")
    assert "open" in err.value.message
    with pytest.raises(InvalidState) as err:
        act(ctx, "invoice.delete", invoice_id=inv["id"])
    assert "open" in err.value.message
    assert act(ctx, "invoice.get", invoice_id=inv["id"])["status"] == "open"


def test_delete_draft(ctx, ids):
    inv = draft(ctx, ids)
    assert act(ctx, "invoice.delete", invoice_id=inv["id"]) == {
        "id": inv["id"],
        "object": "invoice",
        "deleted": True,
    }
    with pytest.raises(NotFound):
        act(ctx, "invoice.get", invoice_id=inv["id"])


def test_get_with_fields_projection(ctx, ids):
    inv = draft(ctx, ids)
    got = act(ctx, "invoice.get", invoice_id=inv["id"], fields=["id", "status", "total", "version"])
    assert got == {"id": inv["id"], "status": "draft", "total": "1249.49", "version": 1}
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "invoice.get", invoice_id=inv["id"], fields=["id", "nope"])
    assert err.value.details[0].field == "fields"


def test_duplicate_makes_a_fresh_draft(ctx, ids, store):
    inv = draft(ctx, ids, notes="Net 14", po_number="PO-7")
    act(ctx, "invoice.finalize", invoice_id=inv["id"])
    later = make_ctx(store, now=datetime(2027, 1, 5, 8, 0, tzinfo=UTC))
    copy = act(later, "invoice.duplicate", invoice_id=inv["id"])
    assert copy["id"] != inv["id"]
    assert copy["status"] == "draft" and copy["number"] is None
    assert copy["issue_date"] == "2027-01-05" and copy["due_date"] == "2027-01-19"
    assert (copy["notes"], copy["po_number"], copy["total"]) == ("Net 14", "PO-7", inv["total"])
    assert [e["type"] for e in act(ctx, "invoice.timeline", invoice_id=inv["id"])["events"]][
        -1
    ] == "duplicated"


def test_other_account_sees_nothing(ctx, ids, store):
    inv = draft(ctx, ids)
    other = make_ctx(store, account_id=OTHER_ACCOUNT)
    for name, params in [
        ("invoice.get", {}),
        ("invoice.update", {"notes": "x"}),
        ("invoice.finalize", {}),
        ("invoice.delete", {}),
        ("invoice.duplicate", {}),
        ("invoice.timeline", {}),
        ("invoice.pdf", {}),
        ("invoice.send", {}),
        ("invoice.record_payment", {"amount": "1"}),
        ("invoice.void", {}),
        ("invoice.mark_uncollectible", {}),
        ("invoice.credit", {"reason": "x"}),
    ]:
        with pytest.raises(NotFound):
            act(other, name, invoice_id=inv["id"], **params)
    assert act(other, "invoice.list")["total"] == 0
    assert act(ctx, "invoice.get", invoice_id=inv["id"])["version"] == 1
