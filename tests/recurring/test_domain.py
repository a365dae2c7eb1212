"""The schedule model: periods tile the calendar with no gap and no overlap, month ends are
clamped and come back, bounds and statuses."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain.errors import InvalidState
from functions.domain.recurring import Schedule, add_months, check_bounds, transition

schedules = st.builds(
    Schedule,
    interval=st.sampled_from(["week", "month", "quarter", "year"]),
    start_date=st.dates(date(2000, 1, 1), date(2090, 12, 31)),
    interval_count=st.integers(1, 6),
)


@given(schedules, st.integers(0, 60))
def test_periods_tile_the_calendar(schedule: Schedule, index: int) -> None:
    start, end = schedule.period(index)
    next_start, _ = schedule.period(index + 1)
    assert start <= end
    assert next_start == end + timedelta(days=1)  # no gap, no overlap
    assert schedule.period_start(0) == schedule.start_date


@given(schedules, st.integers(0, 60))
def test_monthly_periods_keep_the_anchor_day_when_the_month_has_it(
    schedule: Schedule, index: int
) -> None:
    start = schedule.period_start(index)
    if schedule.interval == "week":
        assert (start - schedule.start_date).days == 7 * schedule.interval_count * index
        return
    last = calendar.monthrange(start.year, start.month)[1]
    assert start.day == min(schedule.start_date.day, last)


@given(schedules, st.dates(date(1999, 1, 1), date(2100, 1, 1)))
def test_first_index_on_or_after(schedule: Schedule, day: date) -> None:
    index = schedule.first_index_on_or_after(day)
    assert schedule.period_start(index) >= day
    assert index == 0 or schedule.period_start(index - 1) < day


@given(schedules, st.integers(1, 30), st.dates(date(2000, 1, 1), date(2095, 1, 1)))
def test_due_periods_are_those_started_within_the_count(
    schedule: Schedule, count: int, today: date
) -> None:
    bounded = Schedule(schedule.interval, schedule.start_date, schedule.interval_count, None, count)
    due = bounded.due(0, today)
    assert due == [i for i in range(count) if bounded.period_start(i) <= today]
    nxt = bounded.next_date(len(due))
    assert nxt is None or nxt > today


def test_month_end_is_clamped_and_comes_back() -> None:
    s = Schedule("month", date(2027, 1, 31))
    starts = [s.period_start(i) for i in range(5)]
    assert starts == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
    ]
    assert s.period(0) == (date(2027, 1, 31), date(2027, 2, 27))
    assert Schedule("month", date(2028, 1, 31)).period_start(1) == date(2028, 2, 29)
    assert Schedule("year", date(2028, 2, 29)).period_start(1) == date(2029, 2, 28)
    assert Schedule("year", date(2028, 2, 29)).period_start(4) == date(2032, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_quarter_week_and_end_date() -> None:
    q = Schedule("quarter", date(2026, 12, 1), end_date=date(2027, 6, 1))
    assert [q.period_start(i) for i in range(3)] == [
        date(2026, 12, 1),
        date(2027, 3, 1),
        date(2027, 6, 1),
    ]
    assert q.exists(2) and not q.exists(3) and q.next_date(3) is None
    w = Schedule("week", date(2026, 12, 7), interval_count=2)
    assert w.period(1) == (date(2026, 12, 21), date(2027, 1, 3))


def test_bounds() -> None:
    assert check_bounds(date(2027, 1, 1), date(2026, 1, 1), None) == [
        ("end_date", "must not be before start_date")
    ]
    assert check_bounds(date(2027, 1, 1), date(2028, 1, 1), 3)[0][0] == "count"
    assert check_bounds(date(2027, 1, 1), None, 3) == []


def test_transitions() -> None:
    assert transition("active", "pause") == "paused"
    assert transition("paused", "resume") == "active"
    assert transition("paused", "cancel") == "cancelled"
    for status, act in [("cancelled", "resume"), ("ended", "pause"), ("active", "resume")]:
        with pytest.raises(InvalidState) as err:
            transition(status, act)
        assert status in err.value.message
