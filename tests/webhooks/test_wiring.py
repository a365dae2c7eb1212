"""The outbox wired into the services, on SQLite and on DynamoDB (moto server): every invoice
change commits its webhook event with it, the worker delivers them signed (verified by a
``standardwebhooks`` receiver on loopback), retries with the same ``webhook-id`` until the
receiver recovers, refuses an address that changed to a private one after the URL was saved,
and renders the PDFs that finalize could not."""

from __future__ import annotations

import functools
import json
import os
from datetime import timedelta
from typing import Any

import pydantic
import pytest

from functions.domain.errors import InvalidState, NotFound, ValidationFailed
from functions.pdf.store import render_and_store
from functions.services.common import new_id
from functions.webhooks import jobs, outbox, runner, worker
from functions.webhooks.delivery import deliver
from functions.webhooks.scan import scan_due
from functions.webhooks.sealing import LocalSealer
from tests.invoices.support import OTHER_ACCOUNT, act, draft, make_ctx, seed
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401
from tests.webhooks.conftest import FixedResolver, make_receiver


class Clock:
    def __init__(self, at) -> None:
        self.at = at

    def __call__(self):
        return self.at


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)])
def store(request, tmp_path):
    if request.param == "sqlite":
        from storage_adapter.sqlite import SqliteStore

        s = SqliteStore(tmp_path / "data" / "billow.db")
        yield s
        s.close()
    else:
        yield request.getfixturevalue("dynamo_store")


@pytest.fixture
def sealer():
    return LocalSealer(os.urandom(32))


@pytest.fixture
def local(monkeypatch):
    monkeypatch.setenv("BILLOW_WEBHOOKS_ALLOW_LOCAL", "1")


@pytest.fixture
def ctx(store, sealer, tmp_path):
    c = make_ctx(store, outbox=tmp_path / "outbox")
    c.services["sealer"] = sealer
    return c


@pytest.fixture
def receiver():
    rec = make_receiver("whsec_placeholder")
    yield rec
    rec.release.set()
    rec.server.shutdown()
    rec.server.server_close()


def hook_for(ctx, rec, **extra) -> dict[str, Any]:
    created = act(ctx, "webhook.create", url=rec.url(), events=["*"], **extra)
    rec.secret = created["secret"]
    return created


def new_worker(ctx, clock=None, **send_kw) -> worker.Worker:
    send = functools.partial(deliver, **{"allow_local": True, "timeout": 10.0, **send_kw})
    clock = clock or Clock(ctx.now + timedelta(minutes=1))
    return worker.Worker(
        ctx.store, ctx.services["sealer"], new_id, send=send, now=clock, due=scan_due(ctx.store)
    )


def delivered_events(rec) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in rec.requests]


def test_the_life_of_an_invoice_arrives_signed(ctx, receiver, local):
    hook = hook_for(ctx, receiver)
    ids = seed(ctx)
    a = draft(ctx, ids)
    act(ctx, "invoice.update", invoice_id=a["id"], notes="Thanks")
    act(ctx, "invoice.finalize", invoice_id=a["id"])
    act(ctx, "invoice.send", invoice_id=a["id"])
    act(ctx, "invoice.record_payment", invoice_id=a["id"], amount="100")
    act(ctx, "invoice.record_payment", invoice_id=a["id"], amount="1149.49")
    b = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    act(ctx, "invoice.void", invoice_id=b["id"], reason="wrong client")
    c = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    note = act(ctx, "invoice.credit", invoice_id=c["id"], reason="returned")
    d = draft(ctx, ids)
    act(ctx, "invoice.delete", invoice_id=d["id"])

    counts = runner.run_pass(ctx.store, ctx.services, worker=new_worker(ctx))
    assert counts["dispatched"] == counts["delivered"] == len(receiver.requests) == 17
    assert all(r.verified for r in receiver.requests)
    assert len(set(receiver.ids())) == 17  # one webhook-id per event
    events = delivered_events(receiver)
    assert [e["id"] for e in events] == receiver.ids()

    def life(invoice_id: str) -> list[tuple[str, str]]:
        return [
            (e["type"], e["data"]["object"]["status"])
            for e in events
            if e["data"]["object"]["id"] == invoice_id
        ]

    assert life(a["id"]) == [
        ("invoice.created", "draft"),
        ("invoice.updated", "draft"),
        ("invoice.finalized", "open"),
        ("invoice.sent", "sent"),
        ("invoice.payment_recorded", "sent"),
        ("invoice.payment_recorded", "paid"),
        ("invoice.paid", "paid"),
    ]
    assert life(b["id"])[-1] == ("invoice.voided", "void")
    assert life(c["id"])[-1] == ("invoice.credited", "credited")
    assert life(note["id"]) == [("invoice.created", "open"), ("invoice.finalized", "open")]
    assert life(d["id"]) == [("invoice.created", "draft"), ("invoice.deleted", "draft")]
    paid = next(e for e in events if e["type"] == "invoice.paid")
    assert paid["account_id"] == ctx.account_id and paid["data"]["object"]["amount_due"] == "0.00"
    assert "blob_key" not in json.dumps(events)  # the representation, not the stored record

    log = act(ctx, "webhook.deliveries", webhook_id=hook["id"], limit=100)
    assert log["total"] == 17 and all(a["status_code"] == 200 for a in log["items"])
    assert [a["event_id"] for a in log["items"]] == list(reversed(receiver.ids()))
    assert set(log["items"][0]) == set(
        [
            "id",
            "event_id",
            "event_type",
            "attempt",
            "status_code",
            "error",
            "duration_ms",
            "at",
            "next_attempt_at",
        ]
    )
    again = runner.run_pass(ctx.store, ctx.services, worker=new_worker(ctx))
    assert again["dispatched"] == again["attempted"] == 0  # nothing is sent twice


@pytest.mark.parametrize("failure", ["refuse", "500", "hang"])
def test_a_failing_receiver_gets_the_event_once_it_recovers(ctx, failure, local, request):
    rec = make_receiver("whsec_placeholder", listen=failure != "refuse")
    request.addfinalizer(lambda: (rec.release.set(), rec.server.server_close()))
    rec.script = {"refuse": ["ok"], "500": ["500", "ok"], "hang": ["hang", "ok"]}[failure]
    hook = hook_for(ctx, rec)
    ids = seed(ctx)
    created = draft(ctx, ids)
    clock = Clock(ctx.now + timedelta(minutes=1))
    work = new_worker(ctx, clock, timeout=2.0)  # a hang costs 2 s; answers get it as margin

    first = runner.run_pass(ctx.store, ctx.services, worker=work)
    assert first["attempted"] == 1 and first["delivered"] == 0
    key = outbox.delivery_key(rec.ids()[0] if rec.requests else _only_event(ctx), hook["id"])
    state = ctx.store.get(worker.DELIVERIES, key).data
    assert state["status"] == "retrying" and state["next_attempt_at"] > outbox.timestamp(clock.at)

    if failure == "refuse":
        rec.listen()
    clock.at += timedelta(seconds=4)  # not due yet: the first retry waits 5 s
    assert runner.run_pass(ctx.store, ctx.services, worker=work)["attempted"] == 0
    clock.at += timedelta(seconds=10)
    second = runner.run_pass(ctx.store, ctx.services, worker=work)
    assert second["delivered"] == 1
    assert ctx.store.get(worker.DELIVERIES, key).data["status"] == "delivered"
    ok = [r for r in rec.requests if r.verified]
    assert ok and json.loads(ok[-1].body)["data"]["object"]["id"] == created["id"]
    assert set(rec.ids()) == {key.split(".")[0]}  # every try under the same webhook-id
    log = act(ctx, "webhook.deliveries", webhook_id=hook["id"])["items"]
    assert [a["attempt"] for a in log] == [2, 1]
    assert log[0]["status_code"] == 200 and log[1]["error"]
    assert log[1]["next_attempt_at"] is not None


def _only_event(ctx) -> str:
    events = ctx.store.query(worker.EVENTS, account_id=ctx.account_id).items
    assert len(events) == 1
    return events[0].key


def test_a_name_that_turns_private_after_saving_is_refused_at_delivery(ctx, receiver):
    resolver = FixedResolver(["93.184.216.34"], ["127.0.0.1"])
    ctx.services["resolver"] = resolver
    hook = act(ctx, "webhook.create", url="https://hooks.example.com/billow", events=["*"])
    assert resolver.calls == [("hooks.example.com", 443)]
    created = draft(ctx, seed(ctx))
    work = new_worker(ctx, allow_local=False, resolver=resolver)
    counts = runner.run_pass(ctx.store, ctx.services, worker=work)
    assert counts["attempted"] == 1 and counts["delivered"] == 0
    assert len(resolver.calls) == 2  # resolved again at delivery, and checked
    assert receiver.requests == []
    [attempt] = act(ctx, "webhook.deliveries", webhook_id=hook["id"])["items"]
    assert attempt["error"].startswith("refused:") and "loopback" in attempt["error"]
    assert attempt["status_code"] is None and attempt["event_type"] == "invoice.created"
    assert created["id"]

    for address in ("10.1.2.3", "169.254.169.254", "127.0.0.1", "::1"):
        ctx.services["resolver"] = FixedResolver([address])
        with pytest.raises(ValidationFailed) as refused:
            act(ctx, "webhook.create", url="https://hooks.example.com/billow", events=["*"])
        assert [d.field for d in refused.value.details] == ["url"]


def test_webhook_actions_check_input_and_keep_the_secret_sealed(ctx, local, receiver, store):
    created = hook_for(ctx, receiver, description="ERP")
    assert created["secret"].startswith("whsec_") and created["status"] == "enabled"
    assert created["object"] == "webhook" and created["version"] == 1
    stored = store.get("webhooks", created["id"])
    assert created["secret"] not in json.dumps(stored.data)
    assert stored.data["secret_sealed"].startswith("v1.local.")
    got = act(ctx, "webhook.get", webhook_id=created["id"])
    listed = act(ctx, "webhook.list")
    assert "secret" not in got and "secret_sealed" not in got
    assert listed["total"] == 1 and "secret_sealed" not in listed["items"][0]
    assert got == {k: v for k, v in created.items() if k != "secret"}

    with pytest.raises(ValidationFailed) as bad:
        act(ctx, "webhook.create", url=receiver.url(), events=["invoice.paid", "invoice.nope"])
    assert [d.field for d in bad.value.details] == ["events[1]"]
    with pytest.raises(ValidationFailed) as bad:
        act(ctx, "webhook.create", url="ftp://example.com/x", events=["*"])
    assert [d.field for d in bad.value.details] == ["url"]
    with pytest.raises(pydantic.ValidationError):  # the API answers 422 naming "secret"
        act(ctx, "webhook.create", url=receiver.url(), events=["*"], secret="mine")
    assert act(ctx, "webhook.list")["total"] == 1  # nothing written by a refused create

    updated = act(
        ctx,
        "webhook.update",
        webhook_id=created["id"],
        version=1,
        status="disabled",
        events=["invoice.paid"],
    )
    assert updated["status"] == "disabled" and updated["events"] == ["invoice.paid"]
    with pytest.raises(InvalidState):
        act(ctx, "webhook.redeliver", webhook_id=created["id"], event_id="evt_x")

    other = make_ctx(store, account_id=OTHER_ACCOUNT)
    other.services["sealer"] = ctx.services["sealer"]
    for name, params in (
        ("webhook.get", {}),
        ("webhook.update", {"status": "enabled"}),
        ("webhook.deliveries", {}),
        ("webhook.redeliver", {"event_id": "evt_x"}),
        ("webhook.delete", {}),
    ):
        with pytest.raises(NotFound):
            act(other, name, webhook_id=created["id"], **params)
    assert act(other, "webhook.list")["total"] == 0
    assert act(ctx, "webhook.delete", webhook_id=created["id"]) == {"ok": True}
    with pytest.raises(NotFound):
        act(ctx, "webhook.get", webhook_id=created["id"])


def test_redeliver_sends_the_same_event_again_under_its_id(ctx, receiver, local):
    hook = hook_for(ctx, receiver)
    draft(ctx, seed(ctx))
    work = new_worker(ctx)
    runner.run_pass(ctx.store, ctx.services, worker=work)
    [first] = receiver.requests
    event_id = first.headers["webhook-id"]
    assert act(ctx, "webhook.redeliver", webhook_id=hook["id"], event_id=event_id) == {"ok": True}
    assert runner.run_pass(ctx.store, ctx.services, worker=work)["delivered"] == 1
    assert receiver.ids() == [event_id, event_id]
    assert receiver.requests[1].body == first.body and receiver.requests[1].verified
    with pytest.raises(NotFound):
        act(ctx, "webhook.redeliver", webhook_id=hook["id"], event_id="evt_unknown")


def test_pdf_left_behind_by_a_failed_render_is_made_by_the_worker(ctx, local):
    def broken(store, invoice):
        raise RuntimeError("renderer down")

    ctx.services["pdf"] = broken
    ids = seed(ctx)
    inv = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    note = act(ctx, "invoice.credit", invoice_id=inv["id"], reason="all")
    assert inv["pdf"] is None and note["pdf"] is None
    keys = {r.key for r in ctx.store.query(jobs.JOBS, account_id=None).items}
    assert keys == {f"pdf:{inv['id']}", f"pdf:{note['id']}"}

    later = Clock(ctx.now + jobs.GRACE + timedelta(seconds=1))
    services = {**ctx.services, "pdf": render_and_store}
    early = runner.run_pass(ctx.store, services, worker=new_worker(ctx, later), now=Clock(ctx.now))
    assert early["pdfs_rendered"] == 0  # within the grace the request may still render it
    counts = runner.run_pass(ctx.store, services, worker=new_worker(ctx, later), now=later)
    assert counts["pdfs_rendered"] == 2
    assert ctx.store.query(jobs.JOBS, account_id=None).items == []
    for doc in (inv, note):
        assert act(ctx, "invoice.get", invoice_id=doc["id"])["pdf"]["sha256"]
        types = [e["type"] for e in act(ctx, "invoice.timeline", invoice_id=doc["id"])["events"]]
        assert types.count("pdf_rendered") == 1


def test_billow_daily_makes_one_outbox_pass(store, tmp_path, monkeypatch, receiver, local):
    import base64
    from datetime import date

    from functions.daily.run import run_daily

    monkeypatch.setenv("BILLOW_WEBHOOK_SEAL_KEY", base64.b64encode(os.urandom(32)).decode())
    c = make_ctx(store, outbox=tmp_path / "outbox")  # the sealer of the environment
    hook_for(c, receiver)
    draft(c, seed(c))
    result = run_daily(store, date(2026, 11, 22), {**c.services, "outbox_pass": runner.run_pass})
    assert result["errors"] == []
    assert result["jobs"]["webhooks"]["delivered"] == 1 and receiver.requests[0].verified


def test_an_endpoint_failing_for_3_days_is_disabled_and_its_owner_mailed(ctx, local, tmp_path):
    rec = make_receiver("whsec_placeholder")
    rec.script = ["500"]
    try:
        ctx.store.put(
            "accounts",
            ctx.account_id,
            {"email": "owner@example.com"},
            account_id=ctx.account_id,
            expected_version=0,
        )
        hook = hook_for(ctx, rec)
        draft(ctx, seed(ctx))
        clock = Clock(ctx.now + timedelta(minutes=1))
        work = new_worker(ctx, clock)
        key = outbox.delivery_key(_only_event(ctx), hook["id"])
        mailed = 0
        for _ in range(20):
            counts = runner.run_pass(ctx.store, ctx.services, worker=work)
            mailed += counts["owners_mailed"]
            state = ctx.store.get(worker.DELIVERIES, key).data
            if state["status"] != "retrying":
                break
            clock.at = outbox.parse_time(state["next_attempt_at"]) + timedelta(seconds=1)
        got = act(ctx, "webhook.get", webhook_id=hook["id"])
        assert got["status"] == "disabled" and got["disabled_reason"] == "failing"
        assert mailed == 1
        [mail] = list((tmp_path / "outbox").glob("*.eml"))
        text = mail.read_text()
        assert "owner@example.com" in text and rec.url() in text
        assert len(set(rec.ids())) == 1 and len(rec.ids()) >= 12  # every try, one webhook-id
    finally:
        rec.server.shutdown()
        rec.server.server_close()
