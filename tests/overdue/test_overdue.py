"""The daily overdue run over simulated days, with a real outbox (one .eml per mail)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from functions.mail.transport import OutboxMailer, SmtpMailer
from functions.overdue.handler import lambda_handler, today_from_event
from functions.overdue.job import plan_for, run_overdue
from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import act, draft, make_ctx, seed

DUE = date(2026, 12, 5)  # issued 2026-11-21 with 14 days' terms


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteStore(tmp_path / "data" / "billow.db")
    yield s
    s.close()


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def ctx(store, outbox):
    return make_ctx(store, outbox=outbox)


def _mails(outbox: Path) -> list:
    files = sorted(outbox.glob("*.eml")) if outbox.is_dir() else []
    return [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]


def _open_invoice(ctx, ids) -> dict:
    return act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])


def _types(ctx, invoice_id: str) -> list[str]:
    return [e["type"] for e in act(ctx, "invoice.timeline", invoice_id=invoice_id)["events"]]


def test_reminders_over_simulated_days(ctx, store, outbox):
    ids = seed(ctx)
    inv = _open_invoice(ctx, ids)
    act(ctx, "invoice.send", invoice_id=inv["id"])
    assert len(_mails(outbox)) == 1  # the invoice itself
    services = {"mailer": OutboxMailer(outbox)}

    expected = [
        # day, status after, reminder mails in total, reminder level
        (DUE, "sent", 0, None),
        (date(2026, 12, 6), "overdue", 0, None),
        (date(2026, 12, 12), "overdue", 1, 1),  # due + 7
        (date(2026, 12, 13), "overdue", 1, 1),
        (date(2026, 12, 19), "overdue", 2, 2),  # due + 14
        (date(2027, 1, 4), "overdue", 3, 3),  # due + 30
        (date(2027, 2, 1), "overdue", 3, 3),  # no fourth level
    ]
    for day, status, reminders, level in expected:
        first = run_overdue(store, day, services)
        count_after_first = len(_mails(outbox))
        second = run_overdue(store, day, services)  # the same day again: nothing new
        assert len(_mails(outbox)) == count_after_first, day
        assert second["marked_overdue"] == 0 and second["reminders_sent"] == 0, day
        got = act(ctx, "invoice.get", invoice_id=inv["id"])
        assert got["status"] == status, day
        assert got.get("reminder_level") == level, day
        assert len(_mails(outbox)) == 1 + reminders, day
        assert first["reminders_failed"] == 0

    reminders = _mails(outbox)[1:]
    assert [m["X-Billow-Reminder-Level"] for m in reminders] == ["1", "2", "3"]
    assert all(m["To"] == "ap@kunde.example" for m in reminders)
    assert all("INV-2026-0001" in m["Subject"] for m in reminders)
    # The stored PDF goes with the reminder.
    assert [p.get_filename() for p in reminders[0].iter_attachments()] == ["INV-2026-0001.pdf"]

    events = act(ctx, "invoice.timeline", invoice_id=inv["id"])["events"]
    types = [e["type"] for e in events]
    assert types.count("overdue") == 1
    sent = [e for e in events if e["type"] == "reminder_sent"]
    assert [e["data"]["level"] for e in sent] == [1, 2, 3]
    assert [e["data"]["days_overdue"] for e in sent] == [7, 14, 30]
    assert sent[0]["actor"] == "system:overdue" and sent[0]["at"].startswith("2026-12-12")


def test_only_the_highest_due_level_is_sent(ctx, store, outbox):
    inv = _open_invoice(ctx, seed(ctx))
    counts = run_overdue(store, date(2026, 12, 25), {"mailer": OutboxMailer(outbox)})  # +20
    assert counts == {
        "date": "2026-12-25",
        "checked": 1,
        "marked_overdue": 1,
        "reminders_sent": 1,
        "reminders_failed": 0,
        "skipped_no_email": 0,
        "retried": 0,
    }
    assert [m["X-Billow-Reminder-Level"] for m in _mails(outbox)] == ["2"]
    run_overdue(store, date(2027, 1, 4), {"mailer": OutboxMailer(outbox)})
    assert [m["X-Billow-Reminder-Level"] for m in _mails(outbox)] == ["2", "3"]
    assert act(ctx, "invoice.get", invoice_id=inv["id"])["reminder_level"] == 3


def test_settled_drafts_and_credit_notes_are_left_alone(ctx, store, outbox):
    ids = seed(ctx)
    paid = _open_invoice(ctx, ids)
    act(ctx, "invoice.record_payment", invoice_id=paid["id"], amount=paid["total"])
    partly = _open_invoice(ctx, ids)
    act(ctx, "invoice.record_payment", invoice_id=partly["id"], amount="1")
    credited = _open_invoice(ctx, ids)
    note = act(ctx, "invoice.credit", invoice_id=credited["id"], reason="cancelled")
    voided = act(ctx, "invoice.void", invoice_id=_open_invoice(ctx, ids)["id"])
    still_draft = draft(ctx, ids, due_date="2026-11-30")
    versions = {
        i["id"]: act(ctx, "invoice.get", invoice_id=i["id"])["version"]
        for i in (paid, credited, note, voided, still_draft)
    }
    counts = run_overdue(store, date(2026, 12, 12), {"mailer": OutboxMailer(outbox)})
    assert counts["marked_overdue"] == 1 and counts["reminders_sent"] == 1
    assert act(ctx, "invoice.get", invoice_id=partly["id"])["status"] == "overdue"
    for invoice_id, version in versions.items():
        assert act(ctx, "invoice.get", invoice_id=invoice_id)["version"] == version


def test_entity_reminder_days_and_missing_email(ctx, store, outbox):
    ids = seed(
        ctx,
        client={
            "name": "No Mail GmbH",
            "address": {"line1": "Weg 2", "postal_code": "50667", "city": "Köln", "country": "DE"},
        },
    )
    act(ctx, "entity.update", entity_id=ids["entity_id"], reminder_days=[3])
    inv = _open_invoice(ctx, ids)
    counts = run_overdue(store, date(2026, 12, 8), {"mailer": OutboxMailer(outbox)})
    assert counts["marked_overdue"] == 1 and counts["skipped_no_email"] == 1
    assert _mails(outbox) == []
    act(ctx, "client.update", client_id=ids["client_id"], email="late@nomail.example")
    counts = run_overdue(store, date(2026, 12, 9), {"mailer": OutboxMailer(outbox)})
    assert counts["reminders_sent"] == 1
    assert [m["To"] for m in _mails(outbox)] == ["late@nomail.example"]
    assert act(ctx, "invoice.get", invoice_id=inv["id"])["reminder_level"] == 1


def test_smtp_down_sends_nothing_that_day_and_retries_next_day(ctx, store, outbox):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inv = _open_invoice(ctx, seed(ctx))
    down = {"mailer": SmtpMailer(f"smtp://127.0.0.1:{port}?timeout=5")}
    counts = run_overdue(store, date(2026, 12, 12), down)
    assert counts["marked_overdue"] == 1 and counts["reminders_failed"] == 1
    assert counts["reminders_sent"] == 0
    got = act(ctx, "invoice.get", invoice_id=inv["id"])
    assert got["status"] == "overdue" and got.get("reminder_level") is None
    assert _types(ctx, inv["id"])[-1] == "reminder_failed"
    again = run_overdue(store, date(2026, 12, 12), {"mailer": OutboxMailer(outbox)})
    assert again["reminders_sent"] == 0 and _mails(outbox) == []
    nxt = run_overdue(store, date(2026, 12, 13), {"mailer": OutboxMailer(outbox)})
    assert nxt["reminders_sent"] == 1 and len(_mails(outbox)) == 1
    assert act(ctx, "invoice.get", invoice_id=inv["id"])["reminder_level"] == 1


def test_user_payment_between_query_and_update_is_respected(ctx, store, outbox):
    """A payment that lands after the run listed the invoice but before it changes it: the
    run re-reads the invoice in its transaction and leaves the paid invoice alone."""
    inv = _open_invoice(ctx, seed(ctx))

    class PayAfterQuery:
        def __init__(self, inner):
            self.inner = inner

        def due(self, *args, **kwargs):  # the run lists what falls due with store.due
            items = self.inner.due(*args, **kwargs)
            if items:
                act(ctx, "invoice.record_payment", invoice_id=inv["id"], amount=inv["total"])
            return items

        def __getattr__(self, name):
            return getattr(self.inner, name)

    counts = run_overdue(PayAfterQuery(store), date(2026, 12, 12), {"mailer": OutboxMailer(outbox)})
    assert counts["checked"] == 1 and counts["marked_overdue"] == 0
    assert counts["reminders_sent"] == 0 and _mails(outbox) == []
    got = act(ctx, "invoice.get", invoice_id=inv["id"])
    assert got["status"] == "paid" and "overdue" not in _types(ctx, inv["id"])


def test_two_runs_at_once_send_each_reminder_once(ctx, store, outbox):
    ids = seed(ctx)
    invoices = [_open_invoice(ctx, ids) for _ in range(12)]
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        barrier.wait()
        results.append(run_overdue(store, date(2026, 12, 12), {"mailer": OutboxMailer(outbox)}))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["reminders_sent"] for r in results) == 12
    assert sum(r["marked_overdue"] for r in results) == 12
    assert len(_mails(outbox)) == 12
    for inv in invoices:
        assert _types(ctx, inv["id"]).count("reminder_sent") == 1


def test_plan_for_is_pure():
    data = {"kind": "invoice", "status": "open", "amount_due": "10.00", "due_date": "2026-12-05"}
    assert not plan_for(data, date(2026, 12, 5), [7])
    p = plan_for(data, date(2026, 12, 12), [7, 14])
    assert (p.mark_overdue, p.reminder_level, p.days_overdue) == (True, 1, 7)
    assert not plan_for({**data, "amount_due": "0.00"}, date(2027, 1, 1), [7])
    assert not plan_for({**data, "kind": "credit_note"}, date(2027, 1, 1), [7])


def test_today_from_event():
    assert today_from_event({"time": "2026-12-12T07:00:00Z"}) == date(2026, 12, 12)
    assert today_from_event({"today": "2027-01-04"}) == date(2027, 1, 4)
    now = datetime(2026, 5, 1, 23, 59, tzinfo=UTC)
    assert today_from_event({}, now=now) == date(2026, 5, 1)


def test_lambda_handler_runs_on_the_configured_store(ctx, store, tmp_path, monkeypatch):
    inv = _open_invoice(ctx, seed(ctx))
    data_dir = tmp_path / "data"
    monkeypatch.setenv("BILLOW_STORE_URL", f"sqlite:///{data_dir / 'billow.db'}")
    monkeypatch.setenv("BILLOW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BILLOW_MAIL_TRANSPORT", "outbox")
    monkeypatch.delenv("BILLOW_SMTP_URL", raising=False)
    context = SimpleNamespace(
        function_name="billow-overdue",
        memory_limit_in_mb=256,
        invoked_function_arn="arn:aws:lambda:eu-central-1:000000000000:function:billow-overdue",
        aws_request_id="req-1",
    )
    result = lambda_handler({"time": "2026-12-12T07:00:00Z"}, context)
    counts = result["jobs"]["overdue"]  # the daily run's overdue job
    assert counts["marked_overdue"] == 1 and counts["reminders_sent"] == 1
    assert len(_mails(data_dir / "outbox")) == 1
    assert act(ctx, "invoice.get", invoice_id=inv["id"])["status"] == "overdue"


def test_lost_optimistic_race_is_retried_for_that_invoice(ctx, store, outbox):
    """On an optimistic backend a user's edit can commit between the run's read and its
    commit; the commit then fails with VersionConflict. The run retries that invoice on the
    fresh record, keeping the user's change."""
    from storage_adapter import VersionConflict

    inv = _open_invoice(ctx, seed(ctx))

    class LosesFirstRace:
        def __init__(self, inner):
            self.inner = inner
            self.raced = False

        def transaction(self, fn, **kwargs):
            if not self.raced:
                self.raced = True
                act(ctx, "invoice.record_payment", invoice_id=inv["id"], amount="100")
                raise VersionConflict("invoices", inv["id"], 3, 4)
            return self.inner.transaction(fn, **kwargs)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    counts = run_overdue(
        LosesFirstRace(store), date(2026, 12, 12), {"mailer": OutboxMailer(outbox)}
    )
    assert counts["retried"] == 1
    assert counts["marked_overdue"] == 1 and counts["reminders_sent"] == 1
    got = act(ctx, "invoice.get", invoice_id=inv["id"])
    assert got["status"] == "overdue" and got["amount_paid"] == "100.00"
    assert got["amount_due"] == "1149.49" and got["reminder_level"] == 1
    assert len(_mails(outbox)) == 1


def test_pages_through_every_account(store, outbox, monkeypatch):
    """More candidates than one page, over two accounts: each is handled exactly once."""
    import functions.overdue.job as job

    monkeypatch.setattr(job, "PAGE_SIZE", 3)
    ids_by_account = {}
    for account in ("acct_01pagingaaaaaaaaaaaaaaaaaa", "acct_01pagingbbbbbbbbbbbbbbbbbb"):
        ctx = make_ctx(store, account_id=account)
        ids = seed(ctx)
        ids_by_account[account] = [_open_invoice(ctx, ids)["id"] for _ in range(4)]
    counts = run_overdue(store, date(2026, 12, 12), {"mailer": OutboxMailer(outbox)})
    assert counts["checked"] == 8 and counts["marked_overdue"] == 8
    assert counts["reminders_sent"] == 8 and len(_mails(outbox)) == 8
    for account, invoice_ids in ids_by_account.items():
        ctx = make_ctx(store, account_id=account)
        for invoice_id in invoice_ids:
            assert _types(ctx, invoice_id).count("reminder_sent") == 1
