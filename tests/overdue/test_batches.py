"""The overdue run commits a batch of invoices per transaction: what must still hold.

A user's edit racing with a batch is kept and costs the other invoices nothing; DynamoDB's
batches stay under its 100-item transaction limit; a batch of outbox mails that cannot be made
durable counts as not sent (and is sent the next day).
"""

from __future__ import annotations

from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from functions.mail.transport import OutboxMailer
from functions.overdue.job import batch_size, run_overdue
from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import act, draft, make_ctx, seed
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401

REMINDER_DAY = date(2026, 12, 12)  # due 2026-12-05 + 7: overdue and reminder level 1


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteStore(tmp_path / "data" / "billow.db")
    yield s
    s.close()


def _mails(outbox: Path) -> list:
    files = sorted(outbox.glob("*.eml")) if outbox.is_dir() else []
    return [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]


def _open_invoices(ctx: Any, n: int) -> list[dict]:
    ids = seed(ctx)
    return [act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"]) for _ in range(n)]


def _types(ctx: Any, invoice_id: str) -> list[str]:
    return [e["type"] for e in act(ctx, "invoice.timeline", invoice_id=invoice_id)["events"]]


class _Counting:
    """The store, counting the run's transactions (the user's edits go to the inner store)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.transactions = 0

    def transaction(self, fn: Any, **kwargs: Any) -> Any:
        self.transactions += 1
        return self.inner.transaction(fn, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _assert_all_reminded_once(ctx: Any, invoices: list[dict], outbox: Path) -> None:
    assert len(_mails(outbox)) == len(invoices)
    for inv in invoices:
        got = act(ctx, "invoice.get", invoice_id=inv["id"])
        assert got["status"] == "overdue" and got["reminder_level"] == 1, inv["id"]
        types = _types(ctx, inv["id"])
        assert types.count("overdue") == 1 and types.count("reminder_sent") == 1, inv["id"]


def test_edit_that_beats_the_batch_is_kept_and_the_rest_goes_on(store, tmp_path):
    """The batch read one invoice before a user's payment committed (as an optimistic backend
    can): the store's own version check rejects the batch's write of it. The run sets that
    invoice apart, redoes it on a fresh read, and commits the other invoices in one go."""
    from storage_adapter.sqlite import _SqliteTx

    ctx = make_ctx(store, outbox=tmp_path / "sent")
    invoices = _open_invoices(ctx, 6)
    target = invoices[2]["id"]

    class ReadBeforeThePayment(_Counting):
        """The first transaction sees the target invoice as it was before the payment."""

        def transaction(self, fn: Any, **kwargs: Any) -> Any:
            self.transactions += 1
            if self.transactions > 1:
                return self.inner.transaction(fn, **kwargs)
            stale = self.inner.get("invoices", target)
            act(ctx, "invoice.record_payment", invoice_id=target, amount="100")

            def with_stale_read(tx: _SqliteTx) -> Any:
                real_read = tx._read
                tx._read = lambda c, k: stale if (c, k) == ("invoices", target) else real_read(c, k)
                return fn(tx)

            return self.inner.transaction(with_stale_read, **kwargs)

    outbox = tmp_path / "outbox"
    racing = ReadBeforeThePayment(store)
    counts = run_overdue(racing, REMINDER_DAY, {"mailer": OutboxMailer(outbox)})

    assert counts["retried"] == 1 and "errors" not in counts
    assert counts["marked_overdue"] == 6 and counts["reminders_sent"] == 6
    # claim batch (rejected), the five others together, the target alone, then one record batch
    assert racing.transactions == 4
    paid = act(ctx, "invoice.get", invoice_id=target)
    assert paid["amount_paid"] == "100.00"
    assert paid["amount_due"] == "1149.49"  # the reminder asks for what is left
    assert _types(ctx, target).count("payment_recorded") == 1
    _assert_all_reminded_once(ctx, invoices, outbox)
    reminder = next(m for m in _mails(outbox) if m["X-Billow-Invoice"] == target)
    assert "1,149.49" in reminder.get_body(("plain",)).get_content().replace("\u00a0", " ")


def test_concurrent_edit_on_dynamodb_batch_keeps_it_and_stays_under_the_item_limit(
    dynamo_store,  # noqa: F811
    tmp_path,
):
    """On DynamoDB a user's payment commits while the run's batch is being staged (between
    its reads and its TransactWriteItems). The batch's version check fails, the batch is
    redone on fresh reads, and the payment survives. 40 invoices take two claim and two
    record transactions: batches sized to DynamoDB's 100-item limit, none split further."""
    assert batch_size(dynamo_store) == 25  # 4 items an invoice: record, timeline, outbox, spare
    ctx = make_ctx(dynamo_store)
    invoices = _open_invoices(ctx, 40)
    target = invoices[5]["id"]

    class PaysDuringTheFirstBatch(_Counting):
        def transaction(self, fn: Any, **kwargs: Any) -> Any:
            self.transactions += 1
            if self.transactions > 1:
                return self.inner.transaction(fn, **kwargs)
            paid = []

            def then_pay(tx: Any) -> Any:
                result = fn(tx)  # the batch has read every invoice and staged its writes
                if not paid:
                    paid.append(act(ctx, "invoice.record_payment", invoice_id=target, amount="100"))
                return result

            return self.inner.transaction(then_pay, **kwargs)

    outbox = tmp_path / "outbox"
    racing = PaysDuringTheFirstBatch(dynamo_store)
    counts = run_overdue(racing, REMINDER_DAY, {"mailer": OutboxMailer(outbox)})

    assert "errors" not in counts
    assert counts["marked_overdue"] == 40 and counts["reminders_sent"] == 40
    assert racing.transactions == 4  # 25 + 15 invoices, claimed and recorded
    got = act(ctx, "invoice.get", invoice_id=target)
    assert got["amount_paid"] == "100.00" and got["amount_due"] == "1149.49"
    _assert_all_reminded_once(ctx, invoices, outbox)
    again = run_overdue(dynamo_store, REMINDER_DAY, {"mailer": OutboxMailer(outbox)})
    assert again["marked_overdue"] == 0 and again["reminders_sent"] == 0
    assert len(_mails(outbox)) == 40


def test_outbox_batch_that_cannot_be_synced_counts_as_not_sent(store, tmp_path):
    """If the outbox cannot make a batch's mails durable, it removes them and none of them
    is recorded as sent: each keeps today's claim and goes out the next day, once."""

    class LosesAFile(OutboxMailer):
        def _sync(self, files: list[Path]) -> None:
            files[0].unlink()  # e.g. removed by hand before it reached the disk
            super()._sync(files)

    ctx = make_ctx(store)
    invoices = _open_invoices(ctx, 3)
    outbox = tmp_path / "outbox"
    counts = run_overdue(store, REMINDER_DAY, {"mailer": LosesAFile(outbox)})
    assert counts["marked_overdue"] == 3
    assert counts["reminders_sent"] == 0 and counts["reminders_failed"] == 3
    assert _mails(outbox) == []
    for inv in invoices:
        got = act(ctx, "invoice.get", invoice_id=inv["id"])
        assert got["status"] == "overdue" and got.get("reminder_level") is None
        assert _types(ctx, inv["id"])[-1] == "reminder_failed"

    same_day = run_overdue(store, REMINDER_DAY, {"mailer": OutboxMailer(outbox)})
    assert same_day["reminders_sent"] == 0 and _mails(outbox) == []
    next_day = run_overdue(store, date(2026, 12, 13), {"mailer": OutboxMailer(outbox)})
    assert next_day["reminders_sent"] == 3
    _assert_all_reminded_once(ctx, invoices, outbox)


def test_outbox_batch_writes_every_mail(tmp_path):
    """Mails sent inside ``batch()`` are all in the folder, complete, once the block ends."""
    from functions.mail.messages import reminder_message

    outbox = OutboxMailer(tmp_path / "outbox")
    invoice = {
        "id": "inv_1",
        "number": "INV-2026-0001",
        "currency": "EUR",
        "amount_due": "10.00",
        "due_date": "2026-12-05",
        "issue_date": "2026-11-21",
        "seller": {"name": "Acme GmbH"},
        "buyer": {"name": "Kunde AG", "email": "ap@kunde.example"},
    }
    with outbox.batch():
        ids = [
            outbox.send(reminder_message(invoice, level, 7, None, "ap@kunde.example"))
            for level in (1, 2, 3)
        ]
    mails = _mails(tmp_path / "outbox")
    assert [m["Message-ID"] for m in mails] == ids
    assert [m["X-Billow-Reminder-Level"] for m in mails] == ["1", "2", "3"]
    assert not list((tmp_path / "outbox").glob(".tmp-*"))
