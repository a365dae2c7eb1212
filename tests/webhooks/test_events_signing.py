"""Event types, the envelope, secrets, signatures and how a secret is kept at rest."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from functions.domain.errors import ValidationFailed
from functions.domain.models import EVENT_TYPES as TIMELINE_TYPES
from functions.webhooks import events, sealing, signing

AT = datetime(2026, 11, 21, 7, 0, 0, tzinfo=UTC)


def test_every_contract_event_type_is_published_and_nothing_else():
    invoice_types = tuple(t for t in events.EVENT_TYPES if t.startswith("invoice."))
    others = {t for t in events.EVENT_TYPES if not t.startswith("invoice.")}
    assert others <= {
        f"{o}.{t}"
        for o, m in events.PUBLISHED.items()
        for t in [v.split(".", 1)[1] for v in m.values()]
        if o in ("quote", "recurring")
    }
    assert invoice_types == (
        "invoice.created",
        "invoice.updated",
        "invoice.deleted",
        "invoice.finalized",
        "invoice.sent",
        "invoice.viewed",
        "invoice.payment_recorded",
        "invoice.paid",
        "invoice.overdue",
        "invoice.reminder_sent",
        "invoice.voided",
        "invoice.marked_uncollectible",
        "invoice.credited",
        "invoice.refund_recorded",
    )
    # quote.* and recurring.* "as those exist"
    assert tuple(t for t in events.EVENT_TYPES if t.startswith("quote.")) == (
        "quote.created",
        "quote.updated",
        "quote.finalized",
        "quote.sent",
        "quote.accepted",
        "quote.declined",
        "quote.expired",
        "quote.converted",
    )
    assert {t.split(".")[0] for t in events.EVENT_TYPES} <= {"invoice", "quote", "recurring"}
    assert len(set(events.EVENT_TYPES)) == len(events.EVENT_TYPES)


def test_timeline_events_map_to_webhook_types():
    published = {t: events.webhook_type("invoice", t) for t in TIMELINE_TYPES}
    assert published["finalized"] == "invoice.finalized"
    assert published["payment_recorded"] == "invoice.payment_recorded"
    assert published["marked_uncollectible"] == "invoice.marked_uncollectible"
    # bookkeeping of the document itself stays internal
    assert published["pdf_rendered"] is None
    assert published["send_failed"] is None
    assert published["duplicated"] is None
    # every other timeline type of today's model is published under its own name
    for timeline, webhook in published.items():
        if webhook is not None:
            assert webhook == f"invoice.{timeline}"
    # types the issue adds to the timeline
    for later in ("viewed", "deleted", "refund_recorded"):
        assert events.webhook_type("invoice", later) == f"invoice.{later}"
    assert events.webhook_type("quote", "accepted") == "quote.accepted"
    assert events.webhook_type("quote", "pdf_rendered") is None


def test_subscription_check_names_each_bad_entry():
    assert events.check_subscription(["*"]) == ["*"]
    assert events.check_subscription(["invoice.paid", "invoice.sent"]) == [
        "invoice.paid",
        "invoice.sent",
    ]
    with pytest.raises(ValidationFailed) as err:
        events.check_subscription(["invoice.paid", "invoice.payed", 7, "invoice.paid"])
    assert [d.field for d in err.value.details] == ["events[1]", "events[2]", "events[3]"]
    for bad in ([], "invoice.paid", None, ["*", "invoice.paid"]):
        with pytest.raises(ValidationFailed):
            events.check_subscription(bad)
    assert events.subscribed(["*"], "invoice.voided")
    assert events.subscribed(["invoice.voided"], "invoice.voided")
    assert not events.subscribed(["invoice.paid"], "invoice.voided")


def test_envelope_and_body():
    record = {"id": "inv_1", "object": "invoice", "total": Decimal("119.00"), "notes": "Grüße"}
    event = events.build_event(
        event_id="evt_01abc",
        event_type="invoice.paid",
        account_id="acct_1",
        record=record,
        created_at=AT,
    )
    assert event == {
        "id": "evt_01abc",
        "type": "invoice.paid",
        "created_at": "2026-11-21T07:00:00Z",
        "account_id": "acct_1",
        "data": {"object": record},
    }
    body = events.event_body(event)
    assert '"total":"119.00"' in body and "Grüße" in body  # amounts stay strings, UTF-8 kept
    assert json.loads(body)["data"]["object"]["id"] == "inv_1"
    assert events.event_body(event) == body  # the same text every time
    with pytest.raises(ValueError):
        events.build_event(
            event_id="inv_1", event_type="invoice.paid", account_id="a", record={}, created_at=AT
        )
    with pytest.raises(ValueError):
        events.build_event(
            event_id="evt_1", event_type="invoice.payed", account_id="a", record={}, created_at=AT
        )


def test_secrets_have_256_bits_and_differ():
    made = {signing.new_secret() for _ in range(200)}
    assert len(made) == 200
    for secret in made:
        assert secret.startswith("whsec_") and signing.is_secret(secret)
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert not signing.is_secret("whsec_short")
    assert not signing.is_secret("sk_" + "A" * 44)


def test_signature_verifies_with_the_library_and_fails_when_tampered():
    secret = signing.new_secret()
    body = '{"id":"evt_1","type":"invoice.paid"}'
    now = datetime.now(UTC)
    headers = signing.signature_headers(secret, "evt_1", body, now)
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("paid", "void"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "evt_2"})


# --- sealing -------------------------------------------------------------------------------


def test_local_sealer_round_trip_bound_to_its_webhook():
    sealer = sealing.LocalSealer(os.urandom(32))
    secret = signing.new_secret()
    ctx = sealing.webhook_context("acct_1", "wh_1")
    sealed = sealer.seal(secret, context=ctx)
    assert secret not in sealed and secret.removeprefix("whsec_") not in sealed
    assert sealed.startswith("v1.local.")
    assert sealer.open(sealed, context=ctx) == secret
    assert sealer.seal(secret, context=ctx) != sealed  # a fresh nonce each time
    with pytest.raises(sealing.SealError):  # copied onto another webhook
        sealer.open(sealed, context=sealing.webhook_context("acct_1", "wh_2"))
    with pytest.raises(sealing.SealError):  # another account
        sealer.open(sealed, context=sealing.webhook_context("acct_2", "wh_1"))
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(sealing.SealError):
        sealer.open(tampered, context=ctx)
    with pytest.raises(sealing.SealError):  # another key
        sealing.LocalSealer(os.urandom(32)).open(sealed, context=ctx)


def test_local_key_rotation_keeps_old_secrets_readable():
    old, new = os.urandom(32), os.urandom(32)
    ctx = sealing.webhook_context("acct_1", "wh_1")
    sealed_old = sealing.LocalSealer(old).seal("whsec_x", context=ctx)
    rotated = sealing.LocalSealer(new, older=(old,))
    assert rotated.open(sealed_old, context=ctx) == "whsec_x"
    assert rotated.seal("whsec_y", context=ctx).split(".")[2] == sealing.LocalSealer.key_id(new)


def test_key_file_is_created_once_private_and_shared(tmp_path):
    env = {"BILLOW_DATA_DIR": str(tmp_path)}
    first = sealing.sealer_from_env(env)
    second = sealing.sealer_from_env(env)
    ctx = sealing.webhook_context("acct_1", "wh_1")
    assert second.open(first.seal("whsec_z", context=ctx), context=ctx) == "whsec_z"
    mode = stat.S_IMODE((tmp_path / sealing.KEY_FILE).stat().st_mode)
    assert mode == 0o600
    explicit = base64.b64encode(os.urandom(32)).decode()
    from_env = sealing.sealer_from_env({**env, "BILLOW_WEBHOOK_SEAL_KEY": explicit})
    with pytest.raises(sealing.SealError):
        from_env.open(first.seal("whsec_z", context=ctx), context=ctx)


@pytest.mark.aws
def test_kms_sealer_on_moto_server(moto_endpoint):
    import boto3

    kms = boto3.client("kms", endpoint_url=moto_endpoint)
    key_id = kms.create_key(Description="billow webhook secrets")["KeyMetadata"]["KeyId"]
    sealer = sealing.KmsSealer(kms, key_id)
    ctx = sealing.webhook_context("acct_1", "wh_1")
    secret = signing.new_secret()
    sealed = sealer.seal(secret, context=ctx)
    assert sealed.startswith("v1.kms.") and secret not in sealed
    assert sealer.open(sealed, context=ctx) == secret
    with pytest.raises(sealing.SealError):
        sealer.open(sealed, context=sealing.webhook_context("acct_1", "wh_2"))
