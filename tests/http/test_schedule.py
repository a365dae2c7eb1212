from __future__ import annotations

from datetime import UTC, datetime

from infra.server import next_run


def test_overdue_job_runs_next_at_seven_utc() -> None:
    assert next_run(datetime(2026, 11, 21, 6, 59, tzinfo=UTC)) == datetime(
        2026, 11, 21, 7, 0, tzinfo=UTC
    )
    assert next_run(datetime(2026, 11, 21, 7, 0, tzinfo=UTC)) == datetime(
        2026, 11, 22, 7, 0, tzinfo=UTC
    )
    assert next_run(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == datetime(
        2027, 1, 1, 7, 0, tzinfo=UTC
    )
