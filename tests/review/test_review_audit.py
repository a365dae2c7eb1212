"""Audit of the issues' promises: small ones that no other test proved (or proved only behind a
``pytest.skip`` that hides exactly the failure it should report)."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest

from tests.aws.template_model import ROOT
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401 - fixtures


def test_api_handler_import_does_not_load_reportlab() -> None:
    """Issue 4: the API handler's cold start must not pay for reportlab (the PDF function's
    dependency). Only the benchmark checked this, and it is run by hand."""
    code = (
        "import sys, functions.api.handler;"
        "print(sorted(m for m in sys.modules if m == 'reportlab' or m.startswith('reportlab.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


class _Clock:
    """Stands in for the scheduler's stop event: each wait returns at once, recording how long
    the loop meant to sleep, and says "stop" after ``runs`` job runs."""

    def __init__(self, runs: int) -> None:
        self.runs = runs
        self.waits: list[float] = []

    def is_set(self) -> bool:
        return len(self.waits) > self.runs

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return len(self.waits) > self.runs


def test_local_server_scheduler_runs_the_overdue_job_at_seven_utc_and_survives_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 4/6: `billow serve` runs the daily run in-process at start and at 07:00 UTC. Only
    ``next_run`` was tested; this drives the scheduler loop itself: it runs at once, sleeps
    until 07:00, runs again, keeps going after a failing run, and stops when asked."""
    from infra import server

    now = datetime(2026, 11, 21, 6, 30, tzinfo=UTC)

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return now

    calls: list[int] = []

    def job() -> dict[str, int]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("store unavailable")  # the loop must not die with it
        return {"marked_overdue": 0}

    monkeypatch.setattr(server, "datetime", FakeDatetime)
    monkeypatch.setattr(server, "run_daily_job", job)
    clock = _Clock(runs=2)
    worker = threading.Thread(target=server._scheduler, args=(clock,), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert len(calls) == 3  # at start (failing), then at 07:00 twice
    assert clock.waits == [30 * 60.0] * 3  # 06:30 → 07:00 each time (the clock is frozen)


@pytest.mark.aws
def test_idempotency_persistence_layer_works_on_dynamodb(dynamo_store) -> None:  # noqa: F811
    """Issue 4: the Idempotency-Key layer sits on the store adapter "so it works on both
    backends"; the API tests only ran it on SQLite. Same lifecycle here on DynamoDB (moto server
    over HTTP): a live attempt blocks a second, a completed one replays its response, a dead
    in-progress one is taken over."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyItemAlreadyExistsError,
    )

    from functions.api.idempotency import StorePersistenceLayer, make_config

    layer = StorePersistenceLayer(dynamo_store)
    layer.configure(make_config(), key_prefix="t")
    data = {"account_id": "acct_1", "key": "k", "body": {"action": "invoice.create"}}
    layer.save_inprogress(data, remaining_time_in_millis=60_000)
    with pytest.raises(IdempotencyItemAlreadyExistsError):
        layer.save_inprogress(data, remaining_time_in_millis=60_000)
    layer.save_success(data, {"id": "inv_1", "total": "10.00"})
    done = layer.get_record(data)
    assert done.status == "COMPLETED"
    assert done.response_json_as_dict() == {"id": "inv_1", "total": "10.00"}
    with pytest.raises(IdempotencyItemAlreadyExistsError):  # completed: replay, never rerun
        layer.save_inprogress(data, remaining_time_in_millis=60_000)

    other = {**data, "key": "k2"}
    layer.save_inprogress(other, remaining_time_in_millis=-1000)  # its Lambda timed out
    layer.save_inprogress(other, remaining_time_in_millis=60_000)  # so the retry takes over
    assert layer.get_record(other).status == "INPROGRESS"
