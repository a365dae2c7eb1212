"""auth.* and apikey.* through the API function on a real SQLite store."""

from __future__ import annotations

import time
from pathlib import Path

from storage_adapter import open_store
from tests.support.api import call, last_sign_in_token, outbox_messages, sign_in


def test_login_mails_a_single_use_link_to_the_public_url(api_env: Path) -> None:
    status, body, _ = call("auth.login", email="Ann@Example.com")
    assert (status, body) == (200, {"sent": True})
    messages = outbox_messages(api_env)
    assert len(messages) == 1
    assert messages[0]["To"] == "Ann@example.com"
    text = messages[0].get_body(preferencelist=("plain",)).get_content()
    token = last_sign_in_token(api_env, "ann@example.com")
    assert f"http://app.test/?token={token}" in text

    status, session, _ = call("auth.verify", token=token)
    assert status == 200
    assert session["email"] == "Ann@example.com"
    assert session["account_id"].startswith("acct_")
    assert session["expires_at"].endswith("Z")

    status, again, _ = call("auth.verify", token=token)
    assert status == 401 and again["error"]["code"] == "invalid_token"

    status, me, _ = call("auth.me", key=session["key"])
    assert (status, me) == (200, {"account_id": session["account_id"], "email": "Ann@example.com"})


def test_second_sign_in_reaches_the_same_account(api_env: Path) -> None:
    first = sign_in("ann@example.com", api_env)
    second = sign_in("ann@example.com", api_env)
    assert first != second
    a = call("auth.me", key=first)[1]["account_id"]
    b = call("auth.me", key=second)[1]["account_id"]
    assert a == b


def test_login_answer_does_not_reveal_whether_an_account_exists(api_env: Path) -> None:
    sign_in("known@example.com", api_env)
    known = call("auth.login", email="known@example.com")
    unknown = call("auth.login", email="nobody@example.com")
    assert known[0] == unknown[0] == 200
    assert known[1] == unknown[1] == {"sent": True}


def test_secrets_are_stored_only_as_hashes(api_env: Path) -> None:
    key = sign_in("ann@example.com", api_env)
    api_key = call("apikey.create", key=key, name="ci")[1]["key"]
    token_status = call("auth.login", email="ann@example.com")[0]
    assert token_status == 200
    token = last_sign_in_token(api_env, "ann@example.com")
    raw = (api_env / "billow.db").read_bytes()
    wal = api_env / "billow.db-wal"
    if wal.exists():
        raw += wal.read_bytes()
    for secret in (key, api_key, token):
        assert secret.encode() not in raw


def test_expired_token_is_refused(api_env: Path) -> None:
    call("auth.login", email="ann@example.com")
    token = last_sign_in_token(api_env, "ann@example.com")
    store = open_store()
    from functions.services.common import hash_secret

    rec = store.get("login_tokens", hash_secret(token))
    assert rec is not None and rec.expires_at is not None
    assert rec.expires_at <= time.time() + 15 * 60 + 1
    store.put(  # what the clock does 15 minutes later
        "login_tokens",
        rec.key,
        rec.data,
        account_id=None,
        expected_version=rec.version,
        expires_at=int(time.time()) - 1,
    )
    status, body, _ = call("auth.verify", token=token)
    assert status == 401 and body["error"]["code"] == "invalid_token"


def test_unknown_token_is_refused(api_env: Path) -> None:
    status, body, _ = call("auth.verify", token="not-a-token")
    assert status == 401 and body["error"]["code"] == "invalid_token"


def test_callback_url_must_be_on_the_app_origin(api_env: Path) -> None:
    status, body, _ = call(
        "auth.login", email="ann@example.com", callback_url="https://evil.example/steal"
    )
    assert status == 422
    assert body["error"]["details"][0]["field"] == "callback_url"
    assert outbox_messages(api_env) == []

    status, _, _ = call("auth.login", email="ann@example.com", callback_url="http://app.test/app/")
    assert status == 200
    token = last_sign_in_token(api_env, "ann@example.com")
    text = outbox_messages(api_env)[-1].get_body(preferencelist=("plain",)).get_content()
    assert f"http://app.test/app/?token={token}" in text


def test_five_mails_per_address_then_429(api_env: Path) -> None:
    for _ in range(5):
        assert call("auth.login", email="ann@example.com")[0] == 200
    status, body, headers = call("auth.login", email="ANN@example.com")
    assert status == 429
    assert body["error"]["code"] == "rate_limited"
    assert 0 < int(headers["retry-after"]) <= 15 * 60
    assert len(outbox_messages(api_env)) == 5
    assert call("auth.login", email="bob@example.com")[0] == 200


def test_invalid_email_is_422(api_env: Path) -> None:
    status, body, _ = call("auth.login", email="not an address")
    assert status == 422
    assert body["error"]["details"][0]["field"] == "email"


def test_missing_or_bad_key_is_401(api_env: Path) -> None:
    for key in (None, "bs_nonsense"):
        status, body, _ = call("auth.me", key=key)
        assert status == 401 and body["error"]["code"] == "unauthenticated"


def test_logout_stops_the_key_at_once(key: str) -> None:
    assert call("auth.logout", key=key)[1] == {"ok": True}
    status, body, _ = call("auth.me", key=key)
    assert status == 401 and body["error"]["code"] == "unauthenticated"


def test_api_keys_are_shown_once_listed_and_revocable(key: str) -> None:
    status, created, _ = call("apikey.create", key=key, name="Zapier")
    assert status == 200
    assert created["id"].startswith("key_") and created["key"]
    api_key = created["key"]

    listed = call("apikey.list", key=key)[1]["items"]
    assert [k["name"] for k in listed] == ["Zapier"]
    assert "key" not in listed[0] and "key_hash" not in listed[0]
    assert listed[0]["last_used_at"] is None

    status, me, _ = call("auth.me", key=api_key)
    assert status == 200 and me["email"] == "ann@example.com"
    listed = call("apikey.list", key=key)[1]["items"]
    assert listed[0]["last_used_at"] is not None

    assert call("apikey.revoke", key=key, apikey_id=created["id"])[1] == {"ok": True}
    assert call("auth.me", key=api_key)[0] == 401
    assert call("apikey.list", key=key)[1]["items"] == []
    assert call("auth.me", key=key)[0] == 200  # the session is untouched
