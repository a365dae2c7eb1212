"""recurring.* through the action registry on both backends, and the daily run's recurring
job in-process: periods issued once, the period on each invoice, pause/resume/cancel."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from functions.daily.run import run_daily
from functions.domain.errors import Conflict, InvalidState, NotFound, ValidationFailed
from functions.mail.transport import OutboxMailer
from tests.invoices.support import OTHER_ACCOUNT, act, make_ctx, seed

LINES = [{"description": "Hosting", "quantity": "1", "unit": "month", "unit_price": "100"}]


def at(day: str, ctx):
    return replace(ctx, now=datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC))


@pytest.fixture
def ctx(store, tmp_path: Path):
    return make_ctx(store, outbox=tmp_path / "outbox", now=datetime(2026, 12, 1, 9, tzinfo=UTC))


@pytest.fixture
def ids(ctx):
    return seed(ctx)


def daily(ctx, day: str, outbox: Path):
    return run_daily(ctx.store, date.fromisoformat(day), {"mailer": OutboxMailer(outbox)})


def test_create_get_list_and_validation(ctx, ids) -> None:
    rec = act(
        ctx, "recurring.create", **ids, lines=LINES, interval="month", start_date="2027-01-31"
    )
    assert rec["object"] == "recurring" and rec["status"] == "active"
    assert rec["next_date"] == "2027-01-31" and rec["version"] == 1
    assert rec["total"] == "119.00" and rec["interval_count"] == 1
    assert "next_period" not in rec
    assert act(ctx, "recurring.get", recurring_id=rec["id"])["id"] == rec["id"]
    listed = act(ctx, "recurring.list", status="active", fields=["id", "next_date"])
    assert listed["items"] == [{"id": rec["id"], "next_date": "2027-01-31"}]

    spec_errors = [
        ({"lines": [{"description": "x", "quantity": "1"}]}, "lines[0].unit_price"),
        ({"lines": [{"description": "x", "unit_price": "1", "colour": "red"}]}, "lines[0].colour"),
        ({"end_date": "2026-01-01"}, "end_date"),
        ({"end_date": "2028-01-01", "count": 3}, "count"),
    ]
    from functions.services.recurring import RecurringCreate

    for extra, field in spec_errors:
        params = {**ids, "lines": LINES, "interval": "month", "start_date": "2027-01-31", **extra}
        with pytest.raises(ValidationFailed) as err:
            act(ctx, "recurring.create", **params)
        assert field in [d.field for d in err.value.details]
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as verr:
        RecurringCreate.model_validate(
            {**ids, "lines": LINES, "interval": "day", "start_date": "x"}
        )
    assert {e["loc"][0] for e in verr.value.errors()} == {"interval", "start_date"}
    assert act(ctx, "recurring.list")["total"] == 1  # nothing partial was written


def test_another_account_gets_404(ctx, ids) -> None:
    rec = act(ctx, "recurring.create", **ids, lines=LINES, interval="week", start_date="2027-01-04")
    other = replace(ctx, account_id=OTHER_ACCOUNT)
    for name in ("recurring.get", "recurring.pause", "recurring.cancel", "recurring.timeline"):
        with pytest.raises(NotFound):
            act(other, name, recurring_id=rec["id"])
    with pytest.raises(NotFound):
        act(other, "recurring.update", recurring_id=rec["id"], notes="x")
    with pytest.raises(NotFound):  # another account's client
        act(other, "recurring.create", **ids, lines=LINES, interval="week", start_date="2027-01-04")
    assert act(other, "recurring.list")["total"] == 0


def test_update_is_versioned_and_schedule_fixed_after_issue(ctx, ids, tmp_path) -> None:
    rec = act(
        ctx, "recurring.create", **ids, lines=LINES, interval="month", start_date="2026-12-01"
    )
    moved = act(ctx, "recurring.update", recurring_id=rec["id"], version=1, start_date="2026-12-05")
    assert moved["next_date"] == "2026-12-05" and moved["version"] == 2
    with pytest.raises(Conflict):
        act(ctx, "recurring.update", recurring_id=rec["id"], version=1, notes="stale")
    daily(ctx, "2026-12-05", tmp_path / "outbox")
    with pytest.raises(ValidationFailed) as err:
        act(ctx, "recurring.update", recurring_id=rec["id"], interval="week")
    assert [d.field for d in err.value.details] == ["interval"]
    updated = act(ctx, "recurring.update", recurring_id=rec["id"], notes="Thanks", count=2)
    assert updated["notes"] == "Thanks" and updated["next_date"] == "2027-01-05"
    daily(ctx, "2027-01-05", tmp_path / "outbox")
    final = act(ctx, "recurring.get", recurring_id=rec["id"])
    assert final["status"] == "ended" and final["next_date"] is None
    assert final["issued_count"] == 2
    invoice = act(ctx, "invoice.get", invoice_id=final["last_invoice_id"])
    assert invoice["notes"] == "Thanks" and invoice["recurring_id"] == rec["id"]
    assert invoice["period"] == {"start": "2027-01-05", "end": "2027-02-04"}
    with pytest.raises(InvalidState):
        act(ctx, "recurring.pause", recurring_id=rec["id"])


def test_daily_run_issues_each_period_once_and_auto_advance_sends(ctx, ids, tmp_path) -> None:
    outbox = tmp_path / "outbox"
    auto = act(
        ctx,
        "recurring.create",
        **ids,
        lines=LINES,
        interval="month",
        start_date="2026-12-01",
        auto_advance=True,
    )
    draft = act(
        ctx, "recurring.create", **ids, lines=LINES, interval="week", start_date="2026-12-07"
    )
    first = daily(ctx, "2026-12-01", outbox)
    assert first["jobs"]["recurring"]["issued"] == 1 and first["jobs"]["recurring"]["sent"] == 1
    again = daily(ctx, "2026-12-01", outbox)
    assert again["jobs"]["recurring"]["issued"] == 0
    # ten days of downtime: two weekly periods are caught up at once, not three
    late = daily(ctx, "2026-12-15", outbox)
    assert late["jobs"]["recurring"]["issued"] == 2
    invoices = act(ctx, "invoice.list", limit=100)["items"]
    by_schedule: dict[str, list] = {}
    for inv in invoices:
        by_schedule.setdefault(inv["recurring_id"], []).append(inv)
    sent = by_schedule[auto["id"]]
    assert [(i["status"], i["number"]) for i in sent] == [("sent", "INV-2026-0001")]
    assert sent[0]["period"] == {"start": "2026-12-01", "end": "2026-12-31"}
    weekly = sorted(by_schedule[draft["id"]], key=lambda i: i["period"]["start"])
    assert [i["period"]["start"] for i in weekly] == ["2026-12-07", "2026-12-14"]
    assert {i["status"] for i in weekly} == {"draft"}
    assert len(list(outbox.glob("*.eml"))) == 1
    events = act(ctx, "recurring.timeline", recurring_id=auto["id"])["events"]
    assert [e["type"] for e in events] == ["created", "invoice_issued"]


def test_pause_skips_periods_resume_and_cancel(ctx, ids, tmp_path) -> None:
    outbox = tmp_path / "outbox"
    rec = act(
        ctx, "recurring.create", **ids, lines=LINES, interval="month", start_date="2026-12-01"
    )
    daily(ctx, "2026-12-01", outbox)
    paused = act(at("2026-12-20", ctx), "recurring.pause", recurring_id=rec["id"])
    assert paused["status"] == "paused"
    assert daily(ctx, "2027-01-02", outbox)["jobs"]["recurring"]["issued"] == 0
    resumed = act(at("2027-02-10", ctx), "recurring.resume", recurring_id=rec["id"])
    assert resumed["status"] == "active" and resumed["next_date"] == "2027-03-01"
    assert daily(ctx, "2027-03-01", outbox)["jobs"]["recurring"]["issued"] == 1
    cancelled = act(ctx, "recurring.cancel", recurring_id=rec["id"])
    assert cancelled["status"] == "cancelled" and cancelled["next_date"] is None
    assert daily(ctx, "2027-04-01", outbox)["jobs"]["recurring"]["issued"] == 0
    with pytest.raises(InvalidState):
        act(ctx, "recurring.resume", recurring_id=rec["id"])
    types = [e["type"] for e in act(ctx, "recurring.timeline", recurring_id=rec["id"])["events"]]
    assert types == [
        "created",
        "invoice_issued",
        "paused",
        "resumed",
        "invoice_issued",
        "cancelled",
    ]


def test_webhook_events_are_staged_in_the_same_commit(ctx, ids) -> None:
    rec = act(ctx, "recurring.create", **ids, lines=LINES, interval="year", start_date="2027-01-01")
    act(ctx, "recurring.pause", recurring_id=rec["id"])
    events = ctx.store.query("webhook_events", account_id=ctx.account_id).items
    assert sorted(e.data["type"] for e in events) == ["recurring.created", "recurring.paused"]
    assert all(e.data["data"]["object"]["id"] == rec["id"] for e in events)


def test_a_period_that_cannot_be_issued_is_reported_and_retried(ctx, ids, tmp_path) -> None:
    outbox = tmp_path / "outbox"
    product = act(ctx, "product.create", name="Hosting", unit_price="30", currency="EUR")
    rec = act(
        ctx,
        "recurring.create",
        **ids,
        lines=[{"product_id": product["id"], "quantity": "2"}],
        interval="month",
        start_date="2026-12-01",
    )
    act(ctx, "product.archive", product_id=product["id"])
    for _ in range(2):  # reported once a day, however often the run is repeated
        result = daily(ctx, "2026-12-01", outbox)["jobs"]["recurring"]
        assert (result["issued"], result["errors"]) == (0, 1)
    failed = act(ctx, "recurring.get", recurring_id=rec["id"])
    assert failed["next_date"] == "2026-12-01" and failed["issued_count"] == 0
    assert failed["last_error"]["date"] == "2026-12-01"
    assert "lines[0].product_id" in failed["last_error"]["message"]
    events = act(ctx, "recurring.timeline", recurring_id=rec["id"])["events"]
    assert [e["type"] for e in events] == ["created", "issue_failed"]

    act(ctx, "recurring.update", recurring_id=rec["id"], lines=LINES)
    assert daily(ctx, "2026-12-02", outbox)["jobs"]["recurring"]["issued"] == 1
    fixed = act(ctx, "recurring.get", recurring_id=rec["id"])
    assert fixed["last_error"] is None and fixed["next_date"] == "2027-01-01"
    invoice = act(ctx, "invoice.get", invoice_id=fixed["last_invoice_id"])
    assert invoice["period"] == {"start": "2026-12-01", "end": "2026-12-31"}
