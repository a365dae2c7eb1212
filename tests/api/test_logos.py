"""Entity logos through the API function: 422 on field ``logo``, data URL back from get."""

from __future__ import annotations

from tests.invoices.test_logos import data_url, png
from tests.support.api import call
from tests.support.params import entity_params


def _fields(body: dict) -> dict[str, str]:
    return {d["field"]: d["message"] for d in body["error"]["details"]}


def test_logo_too_large_or_not_an_image_is_422(key: str) -> None:
    big = png(8, 8, filler=b"x" * (513 * 1024))
    status, body, _ = call("entity.create", key=key, **entity_params(logo=data_url(big)))
    assert status == 422 and body["error"]["code"] == "validation_error"
    assert "512 KiB" in _fields(body)["logo"]

    text = data_url(b"just some text, not a picture")
    status, body, _ = call("entity.create", key=key, **entity_params(logo=text))
    assert status == 422 and set(_fields(body)) == {"logo"}
    assert call("entity.list", key=key)[1]["total"] == 0


def test_logo_round_trip(key: str) -> None:
    logo = data_url(png(40, 20))
    status, ent, _ = call("entity.create", key=key, **entity_params(logo=logo))
    assert status == 200 and ent["logo"] == logo
    assert call("entity.get", key=key, entity_id=ent["id"])[1]["logo"] == logo
    status, ent, _ = call(
        "entity.update", key=key, entity_id=ent["id"], version=ent["version"], logo=None
    )
    assert status == 200 and ent["logo"] is None
    assert call("entity.get", key=key, entity_id=ent["id"])[1]["logo"] is None
