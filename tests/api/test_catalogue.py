"""entity.*, client.* and product.* through the API function on a real SQLite store."""

from __future__ import annotations

from tests.support.api import call
from tests.support.params import ADDRESS_DE, client_params, entity_params
from tests.vies.conftest import ViesLookalike, error_wrapper, valid_answer


def _fields(body: dict) -> dict[str, str]:
    return {d["field"]: d["message"] for d in body["error"]["details"]}


def test_entity_create_get_update_with_versions(key: str) -> None:
    status, ent, _ = call("entity.create", key=key, **entity_params(default_vat_rate=19.5))
    assert status == 200, ent
    assert ent["id"].startswith("ent_") and ent["object"] == "entity"
    assert ent["version"] == 1
    assert ent["default_vat_rate"] == "19.5"  # a JSON number in, a decimal string out
    assert ent["currency"] == "EUR" and ent["locale"] == "en"
    assert ent["invoice_number_pattern"] == "INV-{YYYY}-{SEQ:4}"
    assert ent["reminder_days"] == [7, 14, 30]
    assert ent["created_at"].endswith("Z")

    assert call("entity.get", key=key, entity_id=ent["id"])[1] == ent

    status, upd, _ = call(
        "entity.update", key=key, entity_id=ent["id"], version=1, address={"city": "Bonn"}
    )
    assert status == 200, upd
    assert upd["version"] == 2
    assert upd["address"] == {**ent["address"], "city": "Bonn"}  # nested objects merge

    status, body, _ = call("entity.update", key=key, entity_id=ent["id"], version=1, name="X")
    assert status == 409 and body["error"]["code"] == "conflict"
    assert call("entity.get", key=key, entity_id=ent["id"])[1]["name"] == "Acme GmbH"


def test_entity_validation_names_every_field(key: str) -> None:
    status, body, _ = call(
        "entity.create",
        key=key,
        **entity_params(
            vat_number="DE123",
            bank={"iban": "DE00370400440532013000"},
            address={"line1": "x", "postal_code": "1", "country": "DE"},
            reminder_days=[7, "soon"],
            colour="blue",
        ),
    )
    assert status == 422
    assert body["error"]["code"] == "validation_error"
    fields = _fields(body)
    assert {"vat_number", "bank.iban", "address.city", "reminder_days[1]", "colour"} <= set(fields)
    assert fields["colour"] == "unknown field"
    assert call("entity.list", key=key)[1]["total"] == 0


def test_entity_number_reset_needs_a_year_token(key: str) -> None:
    status, body, _ = call(
        "entity.create", key=key, **entity_params(invoice_number_pattern="INV-{SEQ:4}")
    )
    assert status == 422
    assert "invoice_number_pattern" in _fields(body)
    status, ent, _ = call(
        "entity.create",
        key=key,
        **entity_params(invoice_number_pattern="INV-{SEQ:4}", number_reset="never"),
    )
    assert status == 200 and ent["number_reset"] == "never"


def test_entity_list_pages_and_projects(key: str) -> None:
    for i in range(3):
        assert call("entity.create", key=key, **entity_params(name=f"E{i}"))[0] == 200
    status, page, _ = call("entity.list", key=key, limit=2, page=2, fields=["id", "name"])
    assert status == 200
    assert {k: page[k] for k in ("total", "page", "pages", "limit")} == {
        "total": 3,
        "page": 2,
        "pages": 2,
        "limit": 2,
    }
    assert [set(i) for i in page["items"]] == [{"id", "name"}]
    assert page["items"][0]["name"] == "E2"

    status, body, _ = call("entity.list", key=key, fields=["id", "secret"])
    assert status == 422 and _fields(body) == {"fields": "unknown field(s): secret"}
    status, body, _ = call("entity.list", key=key, limit=101)
    assert status == 422 and "limit" in _fields(body)
    status, body, _ = call("entity.list", key=key, page=0)
    assert status == 422 and "page" in _fields(body)


def test_client_lifecycle_search_and_archive(key: str) -> None:
    status, cli, _ = call("client.create", key=key, **client_params())
    assert status == 200, cli
    assert cli["id"].startswith("cli_") and cli["vat_verification"] is None
    other = call(
        "client.create", key=key, **client_params(name="Initech", email="x@initech.example")
    )[1]

    status, upd, _ = call(
        "client.update", key=key, client_id=cli["id"], version=1, contact_name="Hank Scorpio"
    )
    assert status == 200 and upd["version"] == 2 and upd["contact_name"] == "Hank Scorpio"

    found = call("client.list", key=key, q="SCORPIO")[1]
    assert [c["id"] for c in found["items"]] == [cli["id"]]
    found = call("client.list", key=key, q="initech.example")[1]
    assert [c["id"] for c in found["items"]] == [other["id"]]

    status, arch, _ = call("client.archive", key=key, client_id=cli["id"])
    assert status == 200 and arch["archived"] is True
    assert [c["id"] for c in call("client.list", key=key)[1]["items"]] == [other["id"]]
    assert call("client.list", key=key, include_archived=True)[1]["total"] == 2
    assert call("client.get", key=key, client_id=cli["id"])[1]["archived"] is True


def test_client_refuses_read_only_and_bad_fields(key: str) -> None:
    status, body, _ = call(
        "client.create",
        key=key,
        **client_params(vat_verification={"status": "valid"}, address={"country": "XX"}),
    )
    assert status == 422
    assert {"vat_verification", "address.country"} <= set(_fields(body))


def test_client_verify_vat_stores_evidence_and_survives_an_outage(
    key: str, vies: ViesLookalike, monkeypatch
) -> None:
    monkeypatch.setenv("BILLOW_VIES_URL", vies.url)
    call("entity.create", key=key, **entity_params())
    cli = call("client.create", key=key, **client_params())[1]

    vies.answer_with((200, valid_answer("NL", "004495445B01", requestIdentifier="WAPIAAAAW")))
    status, verified, _ = call("client.verify_vat", key=key, client_id=cli["id"])
    assert status == 200, verified
    check = verified["vat_verification"]
    assert check["status"] == "valid"
    assert check["request_identifier"] == "WAPIAAAAW"
    assert check["name"] == "ACME GMBH"
    sent = vies.requests[-1]["body"]
    assert sent["countryCode"] == "NL"
    assert sent.get("requesterMemberStateCode") == "DE"  # the entity's number is the requester

    # younger than 24 hours: reused, VIES is not asked again
    asked = len(vies.requests)
    assert call("client.verify_vat", key=key, client_id=cli["id"])[1]["vat_verification"] == check
    assert len(vies.requests) == asked

    # a new number drops the old evidence; VIES down → 503 and nothing stored as invalid
    upd = call("client.update", key=key, client_id=cli["id"], vat_number="FR40303265045")[1]
    assert upd["vat_verification"] is None
    vies.answer_with((200, error_wrapper("MS_MAX_CONCURRENT_REQ")))
    status, body, _ = call("client.verify_vat", key=key, client_id=cli["id"])
    assert status == 503 and body["error"]["code"] == "vies_unavailable"
    assert call("client.get", key=key, client_id=cli["id"])[1]["vat_verification"] is None


def test_client_verify_vat_without_a_number_is_422_and_sends_nothing(
    key: str, vies: ViesLookalike, monkeypatch
) -> None:
    monkeypatch.setenv("BILLOW_VIES_URL", vies.url)
    cli = call("client.create", key=key, **client_params(vat_number=None))[1]
    status, body, _ = call("client.verify_vat", key=key, client_id=cli["id"])
    assert status == 422 and "vat_number" in _fields(body)
    assert vies.requests == []


def test_product_catalogue(key: str) -> None:
    status, prd, _ = call(
        "product.create",
        key=key,
        name="Consulting",
        unit_price=120.5,
        currency="eur",
        unit="hour",
        vat_rate="19",
    )
    assert status == 200, prd
    assert prd["id"].startswith("prd_")
    assert prd["unit_price"] == "120.5" and prd["currency"] == "EUR"
    assert prd["supply_type"] == "services"

    status, upd, _ = call(
        "product.update", key=key, product_id=prd["id"], version=1, unit_price="130.00"
    )
    assert status == 200 and upd["unit_price"] == "130.00" and upd["version"] == 2
    assert call("product.get", key=key, product_id=prd["id"])[1] == upd

    call(
        "product.create",
        key=key,
        name="Widget",
        unit_price="3",
        currency="EUR",
        supply_type="goods",
    )
    assert call("product.list", key=key, q="consult")[1]["total"] == 1
    assert call("product.archive", key=key, product_id=prd["id"])[1]["archived"] is True
    names = [p["name"] for p in call("product.list", key=key)[1]["items"]]
    assert names == ["Widget"]

    status, body, _ = call("product.create", key=key, name="Bad", unit_price="abc", currency="EUR")
    assert status == 422 and "unit_price" in _fields(body)


def test_address_shape_is_shared(key: str) -> None:
    status, ent, _ = call(
        "entity.create", key=key, **entity_params(address=ADDRESS_DE | {"region": "BE"})
    )
    assert status == 200 and ent["address"]["region"] == "BE"
