"""Charts of accounts: defaults by country, validated overrides, the roles every posting needs."""

from __future__ import annotations

import pytest

from functions.domain.errors import ValidationFailed
from functions.ledger.charts import CHARTS, ROLES, books_for, check_accounts, default_chart

from .lives import make_entity

#: roles the posting functions use in every chart (per-rate roles fall back to *_other)
NEEDED = {
    "receivables",
    "bank",
    "refund_due",
    "revenue_s_other",
    "output_vat_other",
    "revenue_z",
    "revenue_e",
    "revenue_ae",
    "revenue_k",
    "revenue_g",
    "revenue_o",
    "bad_debt",
    "rounding",
    "payables",
    "supplier_refund_due",
    "purchases_s_other",
    "input_vat_other",
    "purchases_exempt",
    "purchases_ae",
    "purchases_k",
    "purchases_g",
    "purchases_o",
    "input_vat_ae",
    "output_vat_ae",
    "input_vat_k",
    "output_vat_k",
}


def test_defaults_by_country():
    assert [default_chart(c) for c in ("DE", "de", "SE", "AT", "CH", "FR", None)] == [
        "skr03",
        "skr03",
        "bas",
        "generic",
        "generic",
        "generic",
        "generic",
    ]
    assert books_for(make_entity("DE", None)).chart.name == "skr03"
    assert books_for(make_entity("DE", "skr04")).account("receivables") == "1210"
    assert books_for(make_entity("SE", None)).account("receivables") == "1510"


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_every_chart_has_every_role_the_postings_need(name):
    chart = CHARTS[name]
    assert NEEDED <= set(chart.accounts)
    for role in chart.accounts:
        head, _, tail = role.rpartition("_")
        base = head if tail == "other" or tail.replace(".", "").isdigit() else role
        assert role in ROLES or base in ROLES, role
        assert chart.account_format.fullmatch(chart.accounts[role][0])


def test_overrides_are_checked_on_the_entity():
    with pytest.raises(ValidationFailed) as err:
        make_entity_with(accounts={"receivables": "12", "debtors": "10000", "revenue_s_16": "8410"})
    assert [d.field for d in err.value.details] == ["accounts.receivables", "accounts.debtors"]
    ok = make_entity_with(accounts={"receivables": "10000", "revenue_s_16": "8410"})
    books = books_for(ok)
    assert (
        books.account("receivables") == "10000"
        and books.rate_role("revenue_s", 16) == "revenue_s_16"
    )
    with pytest.raises(ValidationFailed) as err:
        make_entity_with(country="SE", accounts={"bank": "19300"})
    assert err.value.details[0].message == "must be 4 digits (BAS account)"
    assert check_accounts("generic", {"bank": "BANK-1"}, "FR") == []
    assert make_entity("DE", None).chart_of_accounts is None  # the country's default applies


def make_entity_with(country: str = "DE", **extra):
    from functions.domain.models import Entity, parse_model

    base = make_entity(country, None).model_dump(exclude_none=True)
    return parse_model(Entity, {**base, **extra})
