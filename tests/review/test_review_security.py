"""Security review: sign-in, API keys, the local server's edges and error answers.

Each test names what a user or an attacker would notice. Through the handler on a fresh SQLite
store (``api_env``), and over real HTTP against ``billow serve`` (``serve``) where the server's
own code is what is under test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from functions.mail.messages import signin_message
from functions.mail.transport import MailDeliveryError, OutboxMailer
from storage_adapter import open_store
from tests.hardening.support import Serve
from tests.support.api import call, last_sign_in_token, outbox_messages, sign_in, use_tmp_store

CSP = "Content-Security-Policy"


@pytest.fixture
def api_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return use_tmp_store(tmp_path / "data", monkeypatch)


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    base = tmp_path_factory.mktemp("review-security")
    server = Serve(base / "data", base)
    try:
        yield server
    finally:
        server.stop()


def _stored_bytes(data_dir: Path) -> bytes:
    raw = (data_dir / "billow.db").read_bytes()
    wal = data_dir / "billow.db-wal"
    return raw + (wal.read_bytes() if wal.exists() else b"")


def _raw_exchange(url: str, request: bytes) -> bytes:
    """Send ``request`` on one connection and read until the server closes it."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except TimeoutError:
            pass
    return data


# --- API keys and Idempotency-Key ----------------------------------------------------------------


def test_api_key_created_with_idempotency_key_is_not_stored_in_plain_text(api_env: Path) -> None:
    """The idempotency record kept the whole first response, plain API key included."""
    session = sign_in("ann@example.com", api_env)
    status, first, _ = call("apikey.create", key=session, idem="mint-1", name="ci")
    assert status == 200 and first["key"].startswith("bk_")
    assert first["key"].encode() not in _stored_bytes(api_env)
    # a retry changes nothing and does not show the secret a second time
    status, again, _ = call("apikey.create", key=session, idem="mint-1", name="ci")
    assert status == 200 and again["id"] == first["id"] and again["key"] is None
    assert call("apikey.list", key=session)[1]["total"] == 1
    # the key shown once works
    assert call("auth.me", key=first["key"])[0] == 200


# --- sign-in -------------------------------------------------------------------------------------


def test_login_rate_limit_is_per_mailbox_not_per_spelling(api_env: Path) -> None:
    """``ann+1@`` and ``ann@example.com.`` reach ann's inbox: they must share her 5 mails."""
    for _ in range(5):
        assert call("auth.login", email="ann@example.com")[0] == 200
    for variant in (
        "ANN@Example.COM",
        "  ann@example.com ",
        "ann+promo@example.com",
        "Ann+x@EXAMPLE.com",
        "ann@example.com.",
    ):
        status, body, headers = call("auth.login", email=variant)
        assert (status, body["error"]["code"]) == (429, "rate_limited"), variant
        assert int(headers["retry-after"]) > 0
    assert len(outbox_messages(api_env)) == 5
    # another mailbox is not affected
    assert call("auth.login", email="bob@example.com")[0] == 200


def test_sign_in_on_a_casefold_twin_domain_does_not_reach_the_other_account(
    api_env: Path,
) -> None:
    """``straße.de`` (xn--strae-oqa.de) and ``strasse.de`` are different domains with
    different owners; casefolding the address made them one account: account takeover."""
    victim = sign_in("ceo@strasse.de", api_env)
    victim_account = call("auth.me", key=victim)[1]["account_id"]
    assert call("auth.login", email="ceo@straße.de")[0] == 200
    token = last_sign_in_token(api_env, "ceo@straße.de")
    status, body, _ = call("auth.verify", token=token)
    assert status == 200 and body["account_id"] != victim_account
    assert body["email"] == "ceo@straße.de"
    # case still does not matter where it means the same mailbox
    assert call("auth.login", email="CEO@Strasse.DE")[0] == 200
    again = call("auth.verify", token=last_sign_in_token(api_env, "ceo@strasse.de"))[1]
    assert again["account_id"] == victim_account


def test_login_takes_a_bare_address_only(api_env: Path) -> None:
    """``x<ann@example.com>`` mailed ann yet keyed its own account and rate bucket, so any
    prefix gave another 5 mails to ann's inbox."""
    for _ in range(5):
        assert call("auth.login", email="ann@example.com")[0] == 200
    for variant in (
        "x<ann@example.com>",
        "<ann@example.com>",
        "ann@example.com\x00",
        "a,ann@example.com",
    ):
        status, body, _ = call("auth.login", email=variant)
        assert status == 422, variant
        assert body["error"]["details"][0]["field"] == "email"
    assert len(outbox_messages(api_env)) == 5


def test_callback_url_tricks_are_refused(api_env: Path) -> None:
    bad = [
        "http://app.test@evil.example/",
        "http://app.test:80@evil.example/",
        "//evil.example/",
        "http://app.test.evil.example/",
        "http://app.test:8080/",
        "https://app.test/",
        "http://evil.example\\@app.test/",
        "http://app.test\\@evil.example/",
        "http://user@app.test/",
        "javascript:alert(1)//app.test/",
        "data:text/html,x",
        "http://app.test/#frag",
    ]
    for url in bad:
        status, body, _ = call("auth.login", email="ann@example.com", callback_url=url)
        assert status == 422, url
        assert body["error"]["details"][0]["field"] == "callback_url"
    assert outbox_messages(api_env) == []
    assert call("auth.login", email="ann@example.com", callback_url="http://app.test/x")[0] == 200


def test_one_token_verified_concurrently_gives_one_session(serve: Serve) -> None:
    serve.ok("auth.login", email="race@example.com")
    token = last_sign_in_token(serve.data_dir, "race@example.com")
    barrier = threading.Barrier(8)
    results: list[tuple[int, object]] = []

    def verify() -> None:
        barrier.wait()
        res = requests.post(
            f"{serve.url}/api", json={"action": "auth.verify", "token": token}, timeout=60
        )
        results.append((res.status_code, res.json()))

    threads = [threading.Thread(target=verify) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] + [401] * 7, results


# --- local server --------------------------------------------------------------------------------


def test_static_path_with_a_nul_byte_is_answered_with_headers(serve: Serve) -> None:
    """``/%00`` made ``Path.resolve`` raise: the connection dropped without an answer."""
    for path in ("/%00", "/js/app.js%00.png", "/..%2f..%2fetc%2fpasswd%00"):
        res = requests.get(serve.url + path, timeout=30)
        assert res.status_code == 200, path
        assert "<!doctype html>" in res.text.lower()  # the app shell, as for unknown paths
        assert CSP in res.headers and res.headers["X-Content-Type-Options"] == "nosniff"


def test_traversal_never_leaves_the_frontend_folder(serve: Serve) -> None:
    assert serve.call("auth.me", "bs_not-a-key")[0] == 401  # opens the store: secret.key exists
    secret = (serve.data_dir / "secret.key").read_bytes()
    for path in (
        "/../data/secret.key",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/js/..%2f..%2f..%2fetc%2fpasswd",
        "//etc/passwd",
        "/..%5c..%5cetc%5cpasswd",
        "/" + urllib.parse.quote(str(serve.data_dir / "secret.key")),
    ):
        parts = urllib.parse.urlsplit(serve.url)
        raw = _raw_exchange(
            serve.url,
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode(),
        )
        assert raw.startswith(b"HTTP/1.1 200"), (path, raw[:80])
        assert b"root:" not in raw and secret not in raw, path
        assert b"<!doctype html>" in raw.lower(), path


def test_stdlib_errors_carry_security_headers_and_the_error_shape(serve: Serve) -> None:
    """An unsupported method got http.server's bare HTML page without CSP or nosniff.
    (uvicorn's parser refuses a method it does not know as a malformed request: 400.)"""
    res = requests.request("BREW", f"{serve.url}/", timeout=30)
    assert res.status_code in (400, 501)
    assert CSP in res.headers and res.headers["X-Content-Type-Options"] == "nosniff"
    assert (
        res.json()["error"]["code"] == {400: "bad_request", 501: "not_implemented"}[res.status_code]
    )
    parts = urllib.parse.urlsplit(serve.url)
    long_header = "X-Long: " + "a" * 70_000
    raw = _raw_exchange(
        serve.url, f"GET / HTTP/1.1\r\nHost: {parts.netloc}\r\n{long_header}\r\n\r\n".encode()
    )
    head = raw.split(b"\r\n\r\n", 1)[0].decode().lower()
    assert head.startswith("http/1.1 431"), head
    assert "content-security-policy" in head and "x-content-type-options: nosniff" in head


def test_chunked_body_is_refused_not_run_as_a_second_request(serve: Serve) -> None:
    """Transfer-Encoding was ignored and Content-Length used: a proxy that honours the
    chunked encoding (as RFC 9112 says it must) sees one request where the server read only
    the chunk-size line and ran the chunk's content as a request of its own (TE.CL
    request smuggling)."""
    parts = urllib.parse.urlsplit(serve.url)
    inner = f"GET /health HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
    size_line = f"{len(inner):x}\r\n"
    chunked = f"{size_line}{inner}\r\n0\r\n\r\n"
    raw = _raw_exchange(
        serve.url,
        (
            f"POST /api HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(size_line)}\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"
        ).encode(),
    )
    assert raw.count(b"HTTP/1.1 ") == 1, raw
    assert raw.startswith(b"HTTP/1.1 400") and b'"status"' not in raw
    assert b"bad_request" in raw


def _blob_link(serve: Serve, filename: str) -> str:
    store = open_store(f"sqlite:///{serve.data_dir / 'billow.db'}")
    try:
        store.put_blob("pdf/review-test.pdf", b"%PDF-1.4 review", "application/pdf")
        url, _ = store.blob_url("pdf/review-test.pdf", filename=filename)
    finally:
        store.close()
    split = urllib.parse.urlsplit(url)
    return f"{serve.url}{split.path}?{split.query}"


def test_blob_filename_outside_latin_1_still_downloads(serve: Serve) -> None:
    """``Faktura-ł.pdf`` broke the Latin-1 header encoding: the connection dropped."""
    res = requests.get(_blob_link(serve, "Faktura-ł.pdf"), timeout=30)
    assert res.status_code == 200 and res.content == b"%PDF-1.4 review"
    disposition = res.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Faktura-.pdf"')
    assert "filename*=UTF-8''Faktura-%C5%82.pdf" in disposition
    assert CSP in res.headers


def test_blob_links_refuse_tampering_and_header_injection(serve: Serve) -> None:
    link = _blob_link(serve, 'INV-1.pdf";\r\nSet-Cookie: x=1')
    res = requests.get(link, timeout=30)
    assert res.status_code == 200
    assert "set-cookie" not in {k.lower() for k in res.headers}
    assert res.headers["Content-Disposition"].startswith(
        'attachment; filename="INV-1.pdfSet-Cookie x1"; '
    )
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query))
    base = link.split("?", 1)[0]
    for changed in (
        {"filename": "INV-2.pdf"},
        {"expires": str(int(query["expires"]) + 1)},
        {"sig": "0" * 64},
        {"sig": ""},
    ):
        res = requests.get(base, params={**query, **changed}, timeout=30)
        assert res.status_code == 403, changed
        assert CSP in res.headers
    other_key = base.replace("review-test", "review-other")
    assert requests.get(other_key, params=query, timeout=30).status_code == 403


# --- error answers -------------------------------------------------------------------------------


def test_outbox_failure_does_not_show_server_paths(
    api_env: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 502 named the server's outbox folder (and the OS error with the file's path)."""
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(MailDeliveryError) as err:
        OutboxMailer(blocker).send(signin_message("a@example.com", "https://app.test/?token=t"))
    assert str(tmp_path) not in err.value.message and "outbox" in err.value.message
    assert str(blocker) in caplog.text  # the operator still finds it in the log

    api_env.mkdir(parents=True, exist_ok=True)
    (api_env / "outbox").write_text("not a folder")
    status, body, _ = call("auth.login", email="ann@example.com")
    assert (status, body["error"]["code"]) == (502, "mail_delivery_failed")
    text = json.dumps(body)
    assert str(api_env) not in text and "Traceback" not in text


_TRACED_SIGN_IN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tests.support.api import call, sign_in

    session = sign_in("ann@example.com", Path(sys.argv[1]))
    status, body, _ = call("apikey.create", key=session, name="ci")
    assert status == 200, body
    print("SECRET", session)
    print("SECRET", body["key"])
    """
)


def test_secrets_in_responses_do_not_go_to_xray_traces(tmp_path: Path) -> None:
    """In Lambda with tracing on, the handler's response (session key of auth.verify, API
    key of apikey.create) was recorded as X-Ray metadata of every traced request."""
    repo = Path(__file__).resolve().parents[2]
    data_dir = tmp_path / "data"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BILLOW_", "POWERTOOLS_"))}
        env.update(
            {
                "PYTHONPATH": str(repo),
                "LAMBDA_TASK_ROOT": str(tmp_path),
                "AWS_LAMBDA_FUNCTION_NAME": "billow-api",
                "AWS_REGION": "eu-central-1",
                "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
                "_X_AMZN_TRACE_ID": (
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
                ),
                "BILLOW_DATA_DIR": str(data_dir),
                "BILLOW_STORE_URL": f"sqlite:///{data_dir / 'billow.db'}",
                "BILLOW_PUBLIC_URL": "http://app.test",
                "BILLOW_MAIL_TRANSPORT": "outbox",
            }
        )
        done = subprocess.run(
            [sys.executable, "-c", _TRACED_SIGN_IN, str(data_dir)],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        secrets = [ln.split()[1] for ln in done.stdout.splitlines() if ln.startswith("SECRET ")]
        daemon.settimeout(0.5)
        sent = b""
        try:
            while True:
                sent += daemon.recv(65536)
        except TimeoutError:
            pass
    assert b"## _handle" in sent, sent[:3000]  # tracing was on: the handler segments arrived
    assert len(secrets) == 2
    for secret in secrets:
        assert secret.encode() not in sent
