"""Unknown fields are refused at every depth, never dropped (item 1); stored data that carries
the services' own fields is still read. The fuzz test in tests/hardening/test_fuzz.py tries an
unknown key in every object of every action's valid request."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from functions.domain.errors import ValidationFailed
from functions.domain.models import Address, DomainModel, Entity, Invoice, parse_model
from functions.services.registry import Params
from tests.invoices.support import act, draft
from tests.support.api import call
from tests.support.params import client_params, entity_params


def _fields(body: dict[str, Any]) -> dict[str, str]:
    return {d["field"]: d["message"] for d in body["error"]["details"]}


def test_a_nested_bank_field_is_refused_not_dropped(key: str) -> None:
    bank = {"iban": "DE89370400440532013000", "bankgiro": "123-4567"}
    status, body, _ = call("entity.create", key=key, **entity_params(bank=bank))
    assert status == 422, body
    assert _fields(body) == {"bank.bankgiro": "unknown field"}
    assert call("entity.list", key=key)[1]["total"] == 0


def test_a_nested_address_field_is_refused_on_create_and_update(key: str) -> None:
    address = {**client_params()["address"], "street_no": "4"}
    status, body, _ = call("client.create", key=key, **client_params(address=address))
    assert status == 422 and _fields(body) == {"address.street_no": "unknown field"}

    client = call("client.create", key=key, **client_params())[1]
    status, body, _ = call(
        "client.update", key=key, client_id=client["id"], address={"street_no": "4"}
    )
    assert status == 422 and _fields(body) == {"address.street_no": "unknown field"}
    after = call("client.get", key=key, client_id=client["id"])[1]
    assert after == client


def test_unknown_fields_come_with_every_other_problem(key: str) -> None:
    status, body, _ = call(
        "entity.create",
        key=key,
        **entity_params(address={"city": "Berlin", "country": "DE", "door": "2"}, colour="b"),
    )
    assert status == 422
    assert {"address.door", "colour", "address.line1", "address.postal_code"} <= set(_fields(body))


def test_invoice_lines_refuse_unknown_fields(ctx, ids) -> None:
    with pytest.raises(ValidationFailed) as err:
        draft(ctx, ids, lines=[{"description": "x", "unit_price": "1", "foo": 1}])
    assert [d.field for d in err.value.details] == ["lines[0].foo"]


# --- the mechanism covers what is added later -------------------------------------------------


class _Period(DomainModel):
    start: str
    end: str | None = None


class _LaterParams(Params):
    """Parameters as a later change might add them: a domain model typed into an action."""

    period: _Period | None = None
    periods: list[_Period] = []


def test_a_domain_model_added_to_parameters_refuses_unknown_keys() -> None:
    with pytest.raises(ValidationError) as err:
        _LaterParams.model_validate(
            {"period": {"start": "2026-01-01", "stop": "x"}, "periods": [{"start": "a", "y": 1}]}
        )
    locs = sorted(tuple(e["loc"]) for e in err.value.errors())
    assert locs == [("period", "stop"), ("periods", 0, "y")]
    # the same model still reads stored data that carries more than it knows
    assert _Period.model_validate({"start": "a", "kept_by_a_service": 1}).start == "a"


class _LaterEntity(Entity):
    """An entity as a later change might extend it with a nested object."""

    electronic_address: _Period | None = None


def test_a_nested_field_added_to_a_domain_model_refuses_unknown_keys() -> None:
    from functions.domain.models import unknown_fields

    data = {"electronic_address": {"start": "x", "schema": "0208"}, "address": {"zip": "1"}}
    assert [d.field for d in unknown_fields(_LaterEntity, data)] == [
        "address.zip",
        "electronic_address.schema",
    ]


def test_stored_data_with_service_fields_is_still_read(ctx, ids) -> None:
    invoice = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    rec = ctx.store.get("invoices", invoice["id"])
    stored = {**rec.data, "reminder_claim": {"level": 1, "on": "2026-12-01"}}
    assert "client_name" in stored
    stored["seller"] = {**stored["seller"], "someday_field": {"x": 1}}
    stored["pdf"] = {**stored["pdf"], "blob_key": "pdf/x.pdf"}
    assert parse_model(Invoice, stored).number == invoice["number"]
    with pytest.raises(ValidationFailed):
        parse_model(Invoice, stored, as_input=True)
    assert parse_model(Address, {"country": "SE", "extra": 1}).country == "SE"


def test_the_published_schema_says_nested_objects_are_closed() -> None:
    from functions.api.schema import openapi_document

    schemas = openapi_document()["components"]["schemas"]
    for name in ("Address", "Bank", "Line"):
        assert schemas[name]["additionalProperties"] is False, name
