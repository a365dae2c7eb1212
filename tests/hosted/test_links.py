"""Hosted links through the services, on SQLite and on DynamoDB (moto server over HTTP):
the link made in the finalize (and credit) commit, stored only as a hash; ``rotate_link``;
the lookup of tokens (random ones rate limited); ``viewed`` once, also when two first views
race."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from functions.domain.errors import InvalidState, NotFound, RateLimited, ValidationFailed
from functions.hosted import tokens
from functions.services import hosted
from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import OTHER_ACCOUNT, act, draft, make_ctx, seed
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401

LINK_KEY = bytes(range(32))


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)])
def backend(request, tmp_path: Path):
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "data" / "billow.db")
        yield store
        store.close()
    else:
        yield request.getfixturevalue("dynamo_store")


@pytest.fixture
def ctx(backend, tmp_path: Path):
    c = make_ctx(backend, outbox=tmp_path / "outbox")
    c.services["link_key"] = LINK_KEY
    return c


def token_of(url: str) -> str:
    prefix = "http://127.0.0.1:8000/i/"
    assert url.startswith(prefix), url
    return url[len(prefix) :]


def timeline(ctx, invoice_id: str) -> list[str]:
    return [e["type"] for e in act(ctx, "invoice.timeline", invoice_id=invoice_id)["events"]]


def test_a_finalized_document_has_a_link_stored_only_as_a_hash(ctx, backend):
    ids = seed(ctx)
    created = draft(ctx, ids)
    assert created["hosted_invoice_url"] is None and created["viewed_at"] is None
    final = act(ctx, "invoice.finalize", invoice_id=created["id"])
    token = token_of(final["hosted_invoice_url"])
    assert tokens.is_token(token)  # 256 bits
    assert (
        act(ctx, "invoice.get", invoice_id=final["id"])["hosted_invoice_url"]
        == (final["hosted_invoice_url"])
    )
    listed = act(ctx, "invoice.list", fields=["id", "hosted_invoice_url"])["items"]
    assert listed == [{"id": final["id"], "hosted_invoice_url": final["hosted_invoice_url"]}]
    link = backend.get("hosted_links", tokens.token_hash(token))
    assert link.account_id == ctx.account_id and link.data["invoice_id"] == final["id"]
    stored = backend.get("invoices", final["id"])
    assert token not in json.dumps(stored.data) and token not in json.dumps(link.data)
    assert "hosted_link_version" not in final  # bookkeeping, not representation
    assert hosted.find_by_token(backend, token, "192.0.2.1").key == final["id"]


def test_rotate_link_replaces_it_and_the_old_one_is_unknown(ctx, backend):
    ids = seed(ctx)
    final = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    old = token_of(final["hosted_invoice_url"])
    rotated = act(ctx, "invoice.rotate_link", invoice_id=final["id"])
    new = token_of(rotated["hosted_invoice_url"])
    assert new != old and rotated["version"] == final["version"] + 1
    with pytest.raises(NotFound):
        hosted.find_by_token(backend, old, "192.0.2.2")
    assert backend.get("hosted_links", tokens.token_hash(old)) is None
    assert hosted.find_by_token(backend, new, "192.0.2.2").key == final["id"]
    assert timeline(ctx, final["id"])[-1] == "link_rotated"


def test_rotate_link_refuses_drafts_others_and_unknown_fields(ctx, backend):
    ids = seed(ctx)
    created = draft(ctx, ids)
    with pytest.raises(InvalidState):
        act(ctx, "invoice.rotate_link", invoice_id=created["id"])
    final = act(ctx, "invoice.finalize", invoice_id=created["id"])
    other = make_ctx(backend, account_id=OTHER_ACCOUNT)
    other.services["link_key"] = LINK_KEY
    with pytest.raises(NotFound):
        act(other, "invoice.rotate_link", invoice_id=final["id"])
    with pytest.raises(Exception) as caught:
        act(ctx, "invoice.rotate_link", invoice_id=final["id"], version=1)
    assert "version" in str(caught.value)
    assert act(ctx, "invoice.get", invoice_id=final["id"])["version"] == final["version"]


def test_a_credit_note_gets_its_own_link(ctx, backend):
    ids = seed(ctx)
    final = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    note = act(ctx, "invoice.credit", invoice_id=final["id"], reason="returned")
    token = token_of(note["hosted_invoice_url"])
    assert note["hosted_invoice_url"] != final["hosted_invoice_url"]
    assert hosted.find_by_token(backend, token, "192.0.2.3").key == note["id"]


def test_viewed_is_recorded_once(ctx, backend):
    ids = seed(ctx)
    final = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    first = hosted.record_view(ctx, final["id"])
    assert first.data["viewed_at"] == ctx.timestamp
    again = hosted.record_view(ctx, final["id"])
    assert again.version == first.version
    assert timeline(ctx, final["id"]).count("viewed") == 1
    assert act(ctx, "invoice.get", invoice_id=final["id"])["viewed_at"] == ctx.timestamp


def test_two_first_views_at_once_record_one(ctx, backend):
    ids = seed(ctx)
    final = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def view() -> None:
        try:
            barrier.wait()
            hosted.record_view(ctx, final["id"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=view) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert timeline(ctx, final["id"]).count("viewed") == 1


def test_random_tokens_are_not_found_then_rate_limited(ctx, backend):
    ids = seed(ctx)
    final = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    real = token_of(final["hosted_invoice_url"])
    for _ in range(tokens.MISSES_PER_WINDOW):
        with pytest.raises(NotFound):
            hosted.find_by_token(backend, tokens.new_token(), "198.51.100.7")
    with pytest.raises(RateLimited) as limited:
        hosted.find_by_token(backend, tokens.new_token(), "198.51.100.7")
    assert 0 < limited.value.retry_after <= tokens.MISS_WINDOW_S
    with pytest.raises(RateLimited):  # found or not, for the rest of the window
        hosted.find_by_token(backend, real, "198.51.100.7")
    # another client is not affected, and a hit costs no write
    assert hosted.find_by_token(backend, real, "203.0.113.9").key == final["id"]
    assert backend.get("hosted_rate", tokens.client_bucket("203.0.113.9")) is None


def test_a_draft_opens_no_page_even_with_a_link_record(ctx, backend):
    ids = seed(ctx)
    created = draft(ctx, ids)
    token = hosted.link_token(ctx, created["id"], 1)
    backend.put(
        "hosted_links",
        tokens.token_hash(token),
        {"invoice_id": created["id"], "version": 1},
        account_id=ctx.account_id,
        expected_version=0,
    )
    with pytest.raises(NotFound):
        hosted.find_by_token(backend, token, "192.0.2.4")


def test_the_link_key_file_is_made_once_beside_the_database(tmp_path: Path, monkeypatch):
    for name in ("BILLOW_LINK_KEY", "BILLOW_LINK_KEY_PARAMETER"):
        monkeypatch.delenv(name, raising=False)
    store = SqliteStore(tmp_path / "d" / "billow.db")
    try:
        key = hosted.link_key(store)
        path = tmp_path / "d" / "link.key"
        assert path.read_bytes() == key and len(key) == 32
        assert path.stat().st_mode & 0o777 == 0o600
        assert hosted.link_key(store) == key
    finally:
        store.close()
    monkeypatch.setenv("BILLOW_LINK_KEY", "c2hvcnQ")
    with pytest.raises(hosted.LinkKeyError):
        hosted.link_key(store)


def test_bad_ids_are_422_or_404(ctx):
    with pytest.raises(NotFound):
        act(ctx, "invoice.rotate_link", invoice_id="inv_nope")
    with pytest.raises((ValidationFailed, Exception)) as caught:
        act(ctx, "invoice.rotate_link")
    assert "invoice_id" in str(caught.value)


def test_the_reminder_links_to_the_page(tmp_path: Path, monkeypatch):
    """The daily run (outside any request) makes the same link as ``invoice.get``."""
    from datetime import date
    from email import policy
    from email.parser import BytesParser

    from functions.mail.transport import OutboxMailer
    from functions.overdue.job import run_overdue

    for name in ("BILLOW_LINK_KEY", "BILLOW_LINK_KEY_PARAMETER", "BILLOW_HOSTED_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BILLOW_PUBLIC_URL", "http://127.0.0.1:8000")
    store = SqliteStore(tmp_path / "d" / "billow.db")
    try:
        ctx = make_ctx(store)  # the link key file beside the database, as billow serve has it
        final = act(ctx, "invoice.finalize", invoice_id=draft(ctx, seed(ctx))["id"])
        outbox = tmp_path / "outbox"
        counts = run_overdue(store, date(2026, 12, 12), {"mailer": OutboxMailer(outbox)})
        assert counts["reminders_sent"] == 1
        (path,) = outbox.glob("*.eml")
        mail = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert final["hosted_invoice_url"] in mail.get_body(("plain",)).get_content()
    finally:
        store.close()


@pytest.mark.aws
def test_the_link_key_from_an_ssm_securestring(moto_endpoint, monkeypatch):  # noqa: F811
    """On AWS the key is an SSM SecureString read once per process (moto over HTTP here)."""
    import base64
    import uuid

    import boto3

    from functions.hosted import keys
    from tests.support.moto_server import REGION, set_dummy_aws_env

    set_dummy_aws_env()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv("BILLOW_LINK_KEY", raising=False)
    name = f"/billow-{uuid.uuid4().hex[:8]}/link-key"
    secret = bytes(range(100, 132))
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=moto_endpoint)
    ssm.put_parameter(
        Name=name, Type="SecureString", Value=base64.urlsafe_b64encode(secret).decode() + "\n"
    )
    monkeypatch.setenv("BILLOW_LINK_KEY_PARAMETER", name)
    assert keys.link_key(object()) == secret
    ssm.put_parameter(Name=name, Type="SecureString", Value="changed", Overwrite=True)
    assert keys.link_key(object()) == secret  # read once: no call per request


def test_a_document_finalized_before_links_gets_one_by_rotating(ctx, backend):
    ids = seed(ctx)
    final = act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])
    rec = backend.get("invoices", final["id"])
    old_hash = tokens.token_hash(token_of(final["hosted_invoice_url"]))
    backend.transaction(
        lambda tx: (
            tx.put(
                "invoices",
                rec.key,
                {k: v for k, v in rec.data.items() if k != "hosted_link_version"},
                account_id=rec.account_id,
                expected_version=rec.version,
            ),
            tx.delete("hosted_links", old_hash, expected_version=1),
        )
    )
    assert act(ctx, "invoice.get", invoice_id=final["id"])["hosted_invoice_url"] is None
    rotated = act(ctx, "invoice.rotate_link", invoice_id=final["id"])
    token = token_of(rotated["hosted_invoice_url"])
    assert hosted.find_by_token(backend, token, "192.0.2.5").key == final["id"]
