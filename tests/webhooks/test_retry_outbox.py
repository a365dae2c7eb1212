"""The retry schedule, the disable decision, and the life of a delivery from attempt to
attempt against a real receiver that refuses, fails, hangs and then recovers."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from functions.webhooks import outbox, retry
from functions.webhooks.delivery import AttemptResult, deliver
from functions.webhooks.events import build_event, event_body, timestamp
from tests.webhooks.conftest import make_receiver

T0 = datetime(2026, 11, 21, 7, 0, 0, tzinfo=UTC)


def test_schedule_grows_and_covers_three_days():
    offsets = retry.schedule()
    delays = [b - a for a, b in itertools.pairwise(offsets)]
    assert delays[:5] == [
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
    ]
    assert all(d == timedelta(hours=10) for d in delays[5:])
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert offsets[-2] < retry.RETRY_FOR <= offsets[-1]
    assert retry.MAX_ATTEMPTS == len(offsets) == 13


def test_jitter_only_ever_lengthens_a_delay():
    rng = random.Random(7)
    for attempts in range(1, 12):
        at = retry.next_attempt_at(
            first_attempt_at=T0, last_attempt_at=T0, attempts=attempts, rng=rng
        )
        base = retry.delay_before(attempts)
        assert T0 + base <= at <= T0 + base * (1 + retry.JITTER)


def test_following_the_schedule_with_jitter_gives_up_after_three_days():
    rng = random.Random(3)
    at, attempts = T0, 1
    while True:
        following = retry.next_attempt_at(
            first_attempt_at=T0, last_attempt_at=at, attempts=attempts, rng=rng
        )
        if following is None:
            break
        at, attempts = following, attempts + 1
    assert at - T0 >= retry.RETRY_FOR
    assert attempts == retry.MAX_ATTEMPTS


def A(hours: float, ok: bool) -> retry.Attempt:
    return retry.Attempt(T0 + timedelta(hours=hours), ok)


@pytest.mark.parametrize(
    ("history", "disable"),
    [
        ([], False),
        ([A(0, False)], False),
        ([A(0, False), A(71.9, False)], False),
        ([A(0, False), A(72, False)], True),
        ([A(0, False), A(30, True), A(40, False), A(100, False)], False),  # 60 h since success
        ([A(0, False), A(30, True), A(40, False), A(112, False)], True),
        ([A(0, False), A(80, False), A(81, True)], False),  # recovered
        ([A(80, False), A(0, False)], True),  # order of the log does not matter
    ],
)
def test_disable_after_three_days_of_failures(history, disable):
    assert retry.should_disable(history) is disable


def hook(id_="wh_1", **kw):
    return {
        "id": id_,
        "account_id": "acct_1",
        "status": "enabled",
        "events": ["*"],
        "created_at": "2026-11-01T00:00:00Z",
        **kw,
    }


def test_fan_out_to_enabled_subscribed_webhooks_that_existed_then():
    event = build_event(
        event_id="evt_1",
        event_type="invoice.paid",
        account_id="acct_1",
        record={"id": "inv_1"},
        created_at=T0,
    )
    planned = outbox.plan_deliveries(
        event,
        [
            hook("wh_all"),
            hook("wh_paid", events=["invoice.paid"]),
            hook("wh_sent", events=["invoice.sent"]),
            hook("wh_off", status="disabled"),
            hook("wh_later", created_at="2026-11-22T00:00:00Z"),
            hook("wh_other", account_id="acct_2"),
        ],
        now=T0,
    )
    assert [d["webhook_id"] for d in planned] == ["wh_all", "wh_paid"]
    first = planned[0]
    assert first["status"] == "pending" and outbox.due_at(first) == "2026-11-21T07:00:00Z"
    assert outbox.delivery_key("evt_1", "wh_all") == "evt_1.wh_all"


def fail(code=500):
    return AttemptResult(False, code, f"HTTP {code}", 12)


def test_attempts_follow_the_schedule_then_fail_and_a_redelivery_settles_it():
    rng = random.Random(1)
    (delivery,) = outbox.plan_deliveries(
        {
            "id": "evt_1",
            "type": "invoice.paid",
            "account_id": "acct_1",
            "created_at": "2026-11-21T07:00:00Z",
        },
        [hook()],
        now=T0,
    )
    at, log = T0, []
    while outbox.due_at(delivery) is not None:
        at = outbox.parse_time(outbox.due_at(delivery))
        delivery, entry = outbox.record_attempt(
            delivery, fail(), at=at, attempt_id=f"att_{len(log)}", rng=rng
        )
        log.append(entry)
    assert delivery["status"] == "failed" and delivery["attempts"] == retry.MAX_ATTEMPTS
    assert at - T0 >= timedelta(days=3)
    assert log[0] == {
        "id": "att_0",
        "event_id": "evt_1",
        "event_type": "invoice.paid",
        "attempt": 1,
        "status_code": 500,
        "error": "HTTP 500",
        "duration_ms": 12,
        "at": "2026-11-21T07:00:00Z",
        "next_attempt_at": log[1]["at"],
    }
    assert log[-1]["next_attempt_at"] is None
    # the endpoint has failed for 3 days: disable it
    decision = outbox.disable_decision(hook(), log)
    assert decision == {
        "status": "disabled",
        "disabled_reason": "failing",
        "failing_since": "2026-11-21T07:00:00Z",
    }
    assert outbox.disable_decision(hook(status="disabled"), log) is None
    # a redelivery by hand: due at once, one attempt, success settles it
    later = at + timedelta(days=1)
    asked = outbox.redeliver(delivery, now=later)
    assert outbox.due_at(asked) == timestamp(later)
    assert outbox.is_manual(asked, later)
    failed_again, _ = outbox.record_attempt(
        asked, fail(502), at=later, attempt_id="m1", manual=True
    )
    assert failed_again["status"] == "failed" and outbox.due_at(failed_again) is None
    ok = AttemptResult(True, 200, None, 5)
    settled, entry = outbox.record_attempt(asked, ok, at=later, attempt_id="m2", manual=True)
    assert settled["status"] == "delivered" and entry["attempt"] == retry.MAX_ATTEMPTS + 1
    assert outbox.due_at(settled) is None


def test_a_redelivery_does_not_shift_the_retry_schedule():
    (d,) = outbox.plan_deliveries(
        {
            "id": "evt_1",
            "type": "invoice.paid",
            "account_id": "acct_1",
            "created_at": "2026-11-21T07:00:00Z",
        },
        [hook()],
        now=T0,
    )
    d, _ = outbox.record_attempt(d, fail(), at=T0, attempt_id="a1", rng=random.Random(0))
    scheduled = d["next_attempt_at"]
    d = outbox.redeliver(d, now=T0 + timedelta(seconds=1))
    d, _ = outbox.record_attempt(
        d, fail(), at=T0 + timedelta(seconds=1), attempt_id="a2", manual=True
    )
    assert d["next_attempt_at"] == scheduled and d["scheduled_attempts"] == 1
    assert d["status"] == "retrying"


def test_a_cancelled_delivery_is_never_due():
    (d,) = outbox.plan_deliveries(
        {
            "id": "evt_1",
            "type": "invoice.paid",
            "account_id": "acct_1",
            "created_at": "2026-11-21T07:00:00Z",
        },
        [hook()],
        now=T0,
    )
    assert outbox.due_at(outbox.cancel(d, "webhook disabled")) is None


def test_retried_until_the_receiver_recovers_with_the_same_webhook_id(secret):
    """Refusing connections, then answering 500, then hanging, then fine: four attempts on
    the schedule, every one with the same ``webhook-id`` and a valid signature; the body
    arrives once it recovers and the delivery is settled."""
    receiver = make_receiver(secret, listen=False)  # refuses connections at first
    try:
        event = build_event(
            event_id="evt_01life",
            event_type="invoice.paid",
            account_id="acct_1",
            record={"id": "inv_1", "status": "paid"},
            created_at=T0,
        )
        body = event_body(event)
        webhook = hook(url=receiver.url())
        (delivery,) = outbox.plan_deliveries(event, [webhook], now=T0)
        rng = random.Random(5)
        log = []

        def attempt(delivery):
            at = outbox.parse_time(outbox.due_at(delivery))
            result = deliver(
                webhook["url"],
                event_id=event["id"],
                body=body,
                secret=secret,
                allow_local=True,
                timeout=2.0,  # the hang costs this; the answers get it as margin
            )
            return outbox.record_attempt(
                delivery, result, at=at, attempt_id=f"att_{len(log)}", rng=rng
            )

        delivery, entry = attempt(delivery)
        log.append(entry)
        assert entry["error"].startswith("connection refused")
        receiver.script = ["500", "hang", "ok"]
        receiver.listen()
        for _ in range(3):
            delivery, entry = attempt(delivery)
            log.append(entry)
        assert [e["status_code"] for e in log] == [None, 500, None, 200]
        assert [e["error"] for e in log] == [
            log[0]["error"],
            "HTTP 500",
            "no answer within 2 s",
            None,
        ]
        assert delivery["status"] == "delivered" and outbox.due_at(delivery) is None
        assert receiver.ids() == ["evt_01life"] * 3
        assert all(r.verified for r in receiver.requests)
        assert {r.body.decode() for r in receiver.requests} == {body}
        # attempts were made on the schedule: 5 s, then 5 min after the previous one
        times = [outbox.parse_time(e["at"]) for e in log]
        assert timedelta(seconds=5) <= times[1] - times[0] <= timedelta(seconds=5.5)
        assert timedelta(minutes=5) <= times[2] - times[1] <= timedelta(minutes=5.5)
    finally:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()
