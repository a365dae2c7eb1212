"""Numbering per day and per month (item 6): ``{DD}`` in patterns, ``number_reset: daily |
monthly``; still gapless, still refused when two series could print the same number."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from functions.domain.errors import ValidationFailed
from functions.domain.numbering import counter_name, format_number, validate_pattern
from tests.invoices.support import CLIENT, SELLER, act, draft, make_ctx


def test_day_token() -> None:
    pattern = "ORD42-{YY}{MM}{DD}-myboutique-{SEQ:4}"
    assert validate_pattern(pattern, "daily") == pattern
    assert format_number(pattern, 7, date(2026, 12, 5)) == "ORD42-261205-myboutique-0007"


@pytest.mark.parametrize(
    ("reset", "pattern"),
    [
        ("daily", "INV-{YYYY}{MM}-{SEQ}"),  # 5 and 6 March would share numbers
        ("daily", "INV-{YYYY}{DD}-{SEQ}"),  # 5 March and 5 April
        ("daily", "INV-{MM}{DD}-{SEQ}"),  # 5 March of two years
        ("monthly", "INV-{YYYY}-{SEQ}"),
        ("monthly", "INV-{MM}-{SEQ}"),
        ("yearly", "INV-{MM}{DD}-{SEQ}"),
        ("hourly", "INV-{YYYY}-{SEQ}"),
    ],
)
def test_a_reset_needs_every_part_of_its_period_in_the_number(reset: str, pattern: str) -> None:
    with pytest.raises(ValidationFailed):
        validate_pattern(pattern, reset)


@pytest.mark.parametrize(
    ("reset", "pattern"),
    [
        ("daily", "{YYYY}{MM}{DD}-{SEQ}"),
        ("daily", "{YY}-{MM}-{DD}/{SEQ:3}"),
        ("monthly", "{YY}{MM}-{SEQ:3}"),
        ("monthly", "R-{YYYY}-{MM}{DD}-{SEQ}"),  # a day in the number is fine
        ("yearly", "{YYYY}-{DD}-{SEQ}"),
        ("never", "{DD}-{SEQ}"),
    ],
)
def test_patterns_that_are_accepted(reset: str, pattern: str) -> None:
    assert validate_pattern(pattern, reset) == pattern


def test_counters_per_day_and_per_month() -> None:
    day = counter_name("ent_1", "invoice", "", "daily", date(2026, 3, 5))
    month = counter_name("ent_1", "invoice", "", "monthly", date(2026, 3, 5))
    assert day == "number:ent_1:invoice:2026-03-05"
    assert month == "number:ent_1:invoice:2026-03"
    assert day != counter_name("ent_1", "invoice", "", "daily", date(2026, 3, 6))
    assert month == counter_name("ent_1", "invoice", "", "monthly", date(2026, 3, 31))


def _on(store, when: datetime):
    return make_ctx(store, now=when)


def test_a_daily_counter_restarts_each_day_and_stays_gapless(store) -> None:
    day1 = _on(store, datetime(2026, 12, 5, 9, tzinfo=UTC))
    entity = act(
        day1,
        "entity.create",
        **SELLER,
        number_reset="daily",
        invoice_number_pattern="ORD42-{YY}{MM}{DD}-myboutique-{SEQ:4}",
        credit_note_number_pattern="CN-{YY}{MM}{DD}-{SEQ:4}",
    )
    client = act(day1, "client.create", **CLIENT)
    ids = {"entity_id": entity["id"], "client_id": client["id"]}
    numbers = [
        act(day1, "invoice.finalize", invoice_id=draft(day1, ids)["id"])["number"] for _ in range(3)
    ]
    assert numbers == [f"ORD42-261205-myboutique-000{i}" for i in (1, 2, 3)]
    day2 = _on(store, datetime(2026, 12, 6, 9, tzinfo=UTC))
    later = act(day2, "invoice.finalize", invoice_id=draft(day2, ids)["id"])
    assert later["number"] == "ORD42-261206-myboutique-0001"
    note = act(day2, "invoice.credit", invoice_id=later["id"], reason="r")
    assert note["number"] == "CN-261206-0001"
    # an issue date set by hand numbers the document in that day's series
    back = draft(day2, ids, issue_date="2026-12-05")
    number = act(day2, "invoice.finalize", invoice_id=back["id"])["number"]
    assert number == "ORD42-261205-myboutique-0004"


def test_a_monthly_counter_restarts_each_month(store) -> None:
    nov = _on(store, datetime(2026, 11, 30, 9, tzinfo=UTC))
    entity = act(
        nov,
        "entity.create",
        **SELLER,
        number_reset="monthly",
        invoice_number_pattern="R{YY}{MM}-{SEQ:3}",
        credit_note_number_pattern="G{YY}{MM}-{SEQ:3}",
    )
    client = act(nov, "client.create", **CLIENT)
    ids = {"entity_id": entity["id"], "client_id": client["id"]}
    first = [act(nov, "invoice.finalize", invoice_id=draft(nov, ids)["id"])["number"] for _ in "ab"]
    dec = _on(store, datetime(2026, 12, 1, 9, tzinfo=UTC))
    third = act(dec, "invoice.finalize", invoice_id=draft(dec, ids)["id"])["number"]
    assert [*first, third] == ["R2611-001", "R2611-002", "R2612-001"]


def test_the_api_refuses_a_reset_the_pattern_cannot_tell_apart(ctx) -> None:
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "entity.create", **SELLER, number_reset="daily")  # INV-{YYYY}-{SEQ:4}
    assert {d.field for d in err.value.details} >= {"invoice_number_pattern"}
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "entity.create", **SELLER, number_reset="weekly")
    assert [d.field for d in err.value.details] == ["number_reset"]


def test_series_still_may_not_collide(ctx) -> None:
    """The credit-note pattern may not print the invoice pattern's numbers, with {DD} too."""
    with pytest.raises(ValidationFailed) as err:
        act(
            ctx,
            "entity.create",
            **SELLER,
            number_reset="daily",
            invoice_number_pattern="{YY}{MM}{DD}-{SEQ:4}",
            credit_note_number_pattern="{YY}{MM}{DD}-{SEQ:2}",
        )
    assert [d.field for d in err.value.details] == ["credit_note_number_pattern"]


def test_reset_still_locked_once_numbers_were_issued(ctx, ids) -> None:
    act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    with pytest.raises(ValidationFailed) as err:
        act(
            ctx,
            "entity.update",
            entity_id=ids["entity_id"],
            number_reset="daily",
            invoice_number_pattern="INV-{YYYY}{MM}{DD}-{SEQ:4}",
            credit_note_number_pattern="CN-{YYYY}{MM}{DD}-{SEQ:4}",
        )
    assert [d.field for d in err.value.details] == ["number_reset"]
