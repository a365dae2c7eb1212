"""``vat.rates`` (item 12): the rates in force in a country, from a maintained source, for the
editor's warning about a rate such as "0.25" (Chromium: tests/browser/test_audit_app.py)."""

from __future__ import annotations

from tests.support.api import call


def test_rates_of_a_country(key: str) -> None:
    status, body, _ = call("vat.rates", key=key, country="de")
    assert status == 200, body
    assert body["country"] == "DE" and body["standard"] == "19"
    assert body["rates"] == ["19", "7"]
    fr = call("vat.rates", key=key, country="FR")[1]
    assert "0.9" in fr["rates"] and "5.5" in fr["rates"]  # Corsica's rate is a real one
    assert "0.25" not in fr["rates"]
    assert call("vat.rates", key=key, country="US")[1]["rates"] == []  # unknown: no warning
    assert call("vat.rates", key=key, country="EL")[1]["standard"] == "24"


def test_rates_need_a_country_and_a_key(key: str) -> None:
    assert call("vat.rates", key=key)[0] == 422
    assert call("vat.rates", key=key, country="DEU")[0] == 422
    assert call("vat.rates", country="DE")[0] == 401
