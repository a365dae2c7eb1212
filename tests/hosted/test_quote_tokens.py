"""The quote page's forms (no script), the strict parsing of their answers, hosted tokens,
their paths and the rate limit of unknown tokens."""

from __future__ import annotations

import hashlib

import pytest

from functions.domain.errors import ValidationFailed
from functions.hosted import forms, pages, tokens
from tests.hosted.test_pages import parse


def quote(docs, status="open", **extra):
    inv = docs.finalized("en")
    return {
        **inv,
        "object": "quote",
        "status": status,
        "number": "QUO-2026-0001",
        "valid_until": "2026-12-21",
        **extra,
    }


def test_open_quote_offers_accept_and_decline_forms(docs):
    q = quote(docs, pdf_url=None)
    page = pages.render_quote_page(q, accept_url="/q/TOKEN", decline_url="/q/TOKEN")
    t = parse(page.body)
    text = t.all_text()
    assert "Quote QUO-2026-0001 from Acme GmbH" in text
    assert "Valid until Dec 21, 2026" in text and "Status: Open" in text
    assert "Amount due" not in text  # a quote asks for no payment yet
    form_tags = [a for tag, a in t.tags if tag == "form"]
    assert form_tags == [
        {"class": "answer", "method": "post", "action": "/q/TOKEN"},
        {"class": "answer", "method": "post", "action": "/q/TOKEN"},
    ]
    inputs = [a for tag, a in t.tags if tag in ("input", "textarea")]
    assert {"type": "hidden", "name": "decision", "value": "accept"} in inputs
    name = next(a for a in inputs if a.get("name") == "name")
    assert "required" in name and name["maxlength"] == "200"
    labels = [a.get("for") for tag, a in t.tags if tag == "label"]
    assert labels == ["accept-name", "decline-reason"]  # every field has a label
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    assert "<script" not in page.body


def test_answered_quote_shows_the_answer_and_no_form(docs):
    q = quote(docs, "accepted", accepted_by="<b>Kim</b>", accepted_at="2026-11-30T10:00:00Z")
    page = pages.render_quote_page(q, accept_url="/q/T", decline_url="/q/T", notice="Thanks!")
    text = parse(page.body).all_text()
    assert "Accepted by <b>Kim</b> on Nov 30, 2026." in text and "<b>Kim" not in page.body
    assert "<form" not in page.body and "Thanks!" in text


def test_quote_answers_are_parsed_strictly():
    form = "application/x-www-form-urlencoded"
    assert forms.parse_quote_answer(b"decision=accept&name=Kim+Lee", form) == forms.QuoteAnswer(
        "accept", "Kim Lee"
    )
    assert forms.parse_quote_answer(
        b"decision=decline&reason=too+expensive", form + "; charset=utf-8"
    ) == forms.QuoteAnswer("decline", reason="too expensive")
    assert forms.parse_quote_answer(b"decision=decline&reason=", form).reason is None
    cases = {
        b"decision=accept&name=": ["name"],
        b"decision=accept&name=%20%20": ["name"],
        b"decision=accept&name=Kim&admin=1": ["admin"],
        b"decision=accept&name=Kim&name=Lee": ["name"],
        b"decision=decline&reason=x&name=Kim": ["name"],
        b"decision=maybe": ["decision"],
        b"": ["decision"],
        b"decision=accept&name=" + b"x" * 201: ["name"],
        b"decision=decline&reason=" + b"y" * 1001: ["reason"],
        b"decision=accept&name=%FF": ["body"],
        b"decision=accept&name=a%00b": ["name"],
    }
    for body, fields in cases.items():
        with pytest.raises(ValidationFailed) as err:
            forms.parse_quote_answer(body, form)
        assert [d.field for d in err.value.details] == fields, body
    with pytest.raises(ValidationFailed):
        forms.parse_quote_answer(b'{"decision": "accept"}', "application/json")
    with pytest.raises(ValidationFailed):
        forms.parse_quote_answer(b"decision=accept&name=" + b"x" * 9000, form)


def test_tokens_are_random_long_and_stored_as_their_hash():
    made = {tokens.new_token() for _ in range(500)}
    assert len(made) == 500
    for token in made:
        assert tokens.is_token(token) and len(token) == 43  # 256 bits
    token = next(iter(made))
    assert tokens.token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    from functions.services.common import hash_secret

    assert tokens.token_hash(token) == hash_secret(token)
    assert tokens.hosted_url("https://app.example/", token) == f"https://app.example/i/{token}"


def test_derived_tokens_change_with_the_link_version_and_key():
    key = bytes(range(32))
    first = tokens.derive_token(key, "inv_1", 1)
    assert tokens.is_token(first) and first == tokens.derive_token(key, "inv_1", 1)
    rotated = tokens.derive_token(key, "inv_1", 2)
    assert rotated != first and tokens.is_token(rotated)
    assert tokens.derive_token(key, "inv_2", 1) != first
    assert tokens.derive_token(bytes(32), "inv_1", 1) != first
    with pytest.raises(ValueError):
        tokens.derive_token(b"short", "inv_1", 1)


def test_paths():
    t = tokens.new_token()
    assert tokens.parse_path(f"/i/{t}") == tokens.HostedPath("invoice", t, "")
    assert tokens.parse_path(f"/i/{t}/pdf") == tokens.HostedPath("invoice", t, "pdf")
    assert tokens.parse_path(f"/i/{t}/einvoice") == tokens.HostedPath("invoice", t, "einvoice")
    assert tokens.parse_path(f"/q/{t}") == tokens.HostedPath("quote", t, "")
    for bad in (
        f"/i/{t}/x",
        f"/i/{t}/",
        f"/q/{t}/einvoice",
        "/i/short",
        f"/i/{t}x",
        "/i/",
        f"/x/{t}",
        f"/i/{t[:-1]}%",
        f"/i/../{t}",
    ):
        assert tokens.parse_path(bad) is None, bad


def test_misses_are_limited_per_client_network():
    assert tokens.client_bucket("2001:db8:1:2::1") == tokens.client_bucket("2001:db8:1:2:ffff::9")
    assert tokens.client_bucket("2001:db8:1:2::1") != tokens.client_bucket("2001:db8:1:3::1")
    assert tokens.client_bucket("::ffff:192.0.2.1") == tokens.client_bucket("192.0.2.1")
    assert tokens.client_bucket("192.0.2.1") != tokens.client_bucket("192.0.2.2")
    assert "192.0.2.1" not in tokens.client_bucket("192.0.2.1")
    misses: list[float] = []
    now = 1_000_000.0
    for i in range(tokens.MISSES_PER_WINDOW):
        assert tokens.check_misses(misses, now + i).allowed
        misses = tokens.record_miss(misses, now + i)
    decision = tokens.check_misses(misses, now + 30)
    assert not decision.allowed and decision.retry_after == tokens.MISS_WINDOW_S - 30 + 1
    assert tokens.check_misses(misses, now + tokens.MISS_WINDOW_S + 1).allowed  # window passed
    assert len(tokens.record_miss(misses * 5, now + 40)) == tokens.MISSES_PER_WINDOW
