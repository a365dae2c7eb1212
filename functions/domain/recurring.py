"""Recurring schedules (contract: "Recurring invoices"): the periods they bill and their statuses.

Pure: no store, no clock. A schedule bills in advance: period ``k`` (from 0) starts on the
``k``-th step of ``interval_count`` × ``interval`` from ``start_date`` and ends the day before
period ``k + 1`` starts; its invoice is issued on the period's first day.

Months are counted from the anchor, never from the previous period, so a schedule that starts
on January 31 bills on Feb 28 (29 in a leap year), Mar 31, Apr 30, … — the day is clamped to
the month's length and comes back when the month has it. ``year`` and ``quarter`` are 12 and 3
months (Feb 29 → Feb 28 in common years).

A schedule ends after ``count`` periods, or with the last period that *starts* on or before
``end_date`` (that period is billed whole).

Statuses: ``active`` → ``paused`` (pause) → ``active`` (resume); ``active``/``paused`` →
``cancelled`` (cancel, final); ``active`` → ``ended`` when the last period has been issued
(final). Periods that start while a schedule is paused are skipped: resuming continues with
the first period that starts on or after the day of the resume.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from functions.domain.errors import InvalidState

Interval = Literal["week", "month", "quarter", "year"]
Status = Literal["active", "paused", "ended", "cancelled"]

INTERVALS: tuple[str, ...] = ("week", "month", "quarter", "year")
STATUSES: tuple[str, ...] = ("active", "paused", "ended", "cancelled")
MONTHS = {"month": 1, "quarter": 3, "year": 12}

#: (status, action) → the status after it; any other pair is refused (409 invalid_state).
TRANSITIONS: dict[tuple[str, str], str] = {
    ("active", "update"): "active",
    ("paused", "update"): "paused",
    ("active", "pause"): "paused",
    ("paused", "resume"): "active",
    ("active", "cancel"): "cancelled",
    ("paused", "cancel"): "cancelled",
    ("active", "issue"): "active",
    ("active", "end"): "ended",
}


def transition(status: str, action: str) -> str:
    """The status after ``action``, or :class:`InvalidState` naming the current status."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidState(
            status, action, f"cannot {action} a recurring schedule that is {status}"
        ) from None


def add_months(anchor: date, months: int) -> date:
    """``anchor`` moved by ``months``, its day clamped to the target month's length."""
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Schedule:
    """What decides a schedule's periods."""

    interval: Interval
    start_date: date
    interval_count: int = 1
    end_date: date | None = None
    count: int | None = None

    def period_start(self, index: int) -> date:
        """The first day of period ``index`` (0 = the first period)."""
        if index < 0:
            raise ValueError("period index must be >= 0")
        if self.interval == "week":
            return self.start_date + timedelta(weeks=self.interval_count * index)
        return add_months(self.start_date, MONTHS[self.interval] * self.interval_count * index)

    def period(self, index: int) -> tuple[date, date]:
        """``(start, end)`` of period ``index``, both days included."""
        return self.period_start(index), self.period_start(index + 1) - timedelta(days=1)

    def exists(self, index: int) -> bool:
        """Whether period ``index`` is part of the schedule (``count``/``end_date``)."""
        if self.count is not None and index >= self.count:
            return False
        return self.end_date is None or self.period_start(index) <= self.end_date

    def first_index_on_or_after(self, day: date) -> int:
        """The first period index whose start is on or after ``day`` (exists or not)."""
        if day <= self.start_date:
            return 0
        if self.interval == "week":
            step = 7 * self.interval_count
            return -(-(day - self.start_date).days // step)
        step = MONTHS[self.interval] * self.interval_count
        months = (day.year - self.start_date.year) * 12 + day.month - self.start_date.month
        index = max(0, months // step - 1)
        while self.period_start(index) < day:
            index += 1
        return index

    def due(self, next_index: int, today: date) -> list[int]:
        """Indexes of the periods from ``next_index`` whose invoice is due on ``today``
        (start on or before it), in order."""
        found = []
        index = next_index
        while self.exists(index) and self.period_start(index) <= today:
            found.append(index)
            index += 1
        return found

    def next_date(self, next_index: int) -> date | None:
        """The day the invoice of period ``next_index`` is issued; ``None`` past the end."""
        return self.period_start(next_index) if self.exists(next_index) else None


def check_bounds(
    start_date: date, end_date: date | None, count: int | None
) -> list[tuple[str, str]]:
    """Problems with a schedule's bounds as ``(field, message)`` pairs (empty when fine)."""
    problems = []
    if end_date is not None and count is not None:
        problems.append(("count", "give end_date or count, not both"))
    if end_date is not None and end_date < start_date:
        problems.append(("end_date", "must not be before start_date"))
    return problems
