from datetime import date

import pytest

from functions.domain.errors import ValidationFailed
from functions.domain.numbering import (
    counter_name,
    format_number,
    next_sequence,
    pattern_for,
    series_start,
    validate_pattern,
)

from .conftest import make_entity

D = date(2026, 3, 9)


@pytest.mark.parametrize(
    ("pattern", "seq", "expected"),
    [
        ("INV-{YYYY}-{SEQ:4}", 42, "INV-2026-0042"),
        ("CN-{YYYY}-{SEQ:4}", 1, "CN-2026-0001"),
        ("{YY}{MM}-{SEQ:3}", 7, "2603-007"),
        ("RE {YYYY}/{MM}/{SEQ}", 123, "RE 2026/03/123"),
        ("A{SEQ:2}", 12345, "A12345"),  # padding never truncates
        ("{SEQ:6}", 1, "000001"),
    ],
)
def test_format_number(pattern, seq, expected):
    assert validate_pattern(pattern, "never") == pattern
    assert format_number(pattern, seq, D) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "INV-{YYYY}",
        "INV-{SEQ}-{SEQ:2}",
        "INV-{HH}-{SEQ}",
        "INV-{seq}",
        "INV\n{SEQ}",
        "../{SEQ}" + "x" * 50,
    ],
)
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(ValidationFailed):
        validate_pattern(pattern, "never")


def test_yearly_reset_needs_the_year_in_the_number():
    with pytest.raises(ValidationFailed) as err:
        validate_pattern("INV-{SEQ:4}", "yearly", "invoice_number_pattern")
    assert err.value.details[0].field == "invoice_number_pattern"
    assert validate_pattern("INV-{YY}-{SEQ:4}", "yearly")
    assert validate_pattern("INV-{SEQ:4}", "never")


def test_entity_refuses_yearly_reset_without_year():
    with pytest.raises(ValidationFailed) as err:
        make_entity(credit_note_number_pattern="CN-{SEQ}")
    assert [d.field for d in err.value.details] == ["credit_note_number_pattern"]
    assert make_entity(credit_note_number_pattern="CN-{SEQ}", number_reset="never")


def test_counter_name_per_series_and_period():
    pattern = "INV-{YYYY}-{SEQ:4}"
    a = counter_name("ent_1", "invoice", pattern, "yearly", date(2026, 12, 31))
    b = counter_name("ent_1", "invoice", pattern, "yearly", date(2027, 1, 1))
    c = counter_name("ent_1", "credit_note", "CN-{YYYY}-{SEQ}", "yearly", date(2026, 5, 1))
    d = counter_name("ent_2", "invoice", pattern, "yearly", date(2026, 5, 1))
    assert len({a, b, c, d}) == 4
    assert "2026" in a and "2027" in b
    # same series, same year → same counter (a new prefix continues the sequence)
    assert a == counter_name("ent_1", "invoice", "R-{YYYY}-{SEQ}", "yearly", date(2026, 1, 1))
    never = counter_name("ent_1", "invoice", "INV-{SEQ}", "never", date(2026, 1, 1))
    assert never == counter_name("ent_1", "invoice", "INV-{SEQ}", "never", date(2031, 1, 1))
    assert "2026" not in never


def test_start_number_when_moving_from_another_system():
    entity = make_entity(next_invoice_number=1500)
    assert series_start(entity, "invoice") == 1500
    assert series_start(entity, "credit_note") == 1
    assert next_sequence(None, 1500) == 1500
    assert next_sequence(0, 1500) == 1500
    assert next_sequence(1500, 1500) == 1501
    assert next_sequence(41, None) == 42
    assert next_sequence(None) == 1


def test_credit_notes_use_their_own_pattern():
    entity = make_entity(credit_note_number_pattern="GS-{YYYY}-{SEQ:3}")
    assert pattern_for(entity, "credit_note") == "GS-{YYYY}-{SEQ:3}"
    assert pattern_for(entity, "invoice") == "INV-{YYYY}-{SEQ:4}"
    with pytest.raises(ValueError):
        pattern_for(entity, "quote")
