"""One delivery attempt against a real receiver on loopback (signatures checked with
``standardwebhooks``), and every way it can fail: refused, 500, hanging, dripping, redirecting,
oversized, TLS for the wrong name, a name rebound to loopback between save and delivery."""

from __future__ import annotations

import json
import ssl

import pytest

from functions.webhooks import delivery, ssrf
from functions.webhooks.events import event_body
from tests.webhooks.conftest import (
    FixedResolver,
    SlowResolver,
    event_json,
    free_refusing_socket,
    make_receiver,
    self_signed,
)

PUBLIC_V4 = "93.184.215.14"


def send(url, secret, *, body=None, **kw):
    body = body if body is not None else event_body(event_json())
    kw.setdefault("allow_local", True)
    return delivery.deliver(url, event_id="evt_01test", body=body, secret=secret, **kw)


def test_a_signed_event_arrives_and_verifies(receiver, secret):
    body = event_body(event_json(data={"object": {"id": "inv_1", "notes": "Grüße <b>"}}))
    result = send(receiver.url(), secret, body=body)
    assert result.ok and result.status_code == 200 and result.error is None
    assert result.duration_ms >= 0 and result.address == "127.0.0.1"
    (got,) = receiver.requests
    assert got.verified
    assert got.body.decode() == body
    assert got.path == "/hooks/billow"
    assert got.headers["webhook-id"] == "evt_01test"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert json.loads(got.body)["data"]["object"]["notes"] == "Grüße <b>"


def test_the_name_is_resolved_once_and_sent_as_host(receiver, secret):
    # A second lookup would answer a private address: the attempt must not make one.
    resolver = FixedResolver(["127.0.0.1"], ["10.9.8.7"])
    result = send(receiver.url("hooks.example.test"), secret, resolver=resolver)
    assert result.ok, result.error
    assert resolver.calls == [("hooks.example.test", receiver.port)]
    assert receiver.requests[0].headers["host"] == f"hooks.example.test:{receiver.port}"


def test_rebinding_between_save_and_delivery_is_refused_at_delivery(receiver, secret):
    """Saved while the name pointed to a public address; at delivery it points to loopback,
    where a service of ours listens: the attempt is refused and nothing connects."""
    resolver = FixedResolver([PUBLIC_V4], ["127.0.0.1"])
    url = f"https://hooks.example.com:{receiver.port}/hooks/billow"
    ssrf.check_webhook_url(url, resolver=resolver, allow_local=False)  # accepted when saved
    result = send(url, secret, resolver=resolver, allow_local=False)
    assert not result.ok and result.status_code is None
    assert result.error == "refused: hooks.example.com resolves to 127.0.0.1 is a loopback address"
    assert receiver.requests == []
    assert len(resolver.calls) == 2  # once at save, once at delivery


@pytest.mark.parametrize("answer", ["169.254.169.254", "10.0.0.8", "fd00:ec2::254", "100.64.1.1"])
def test_delivery_refuses_forbidden_answers_even_with_allow_local(receiver, secret, answer):
    result = send(receiver.url("hooks.example.test"), secret, resolver=FixedResolver([answer]))
    assert not result.ok and result.error.startswith("refused: ")
    assert receiver.requests == []


def test_a_url_saved_under_allow_local_is_refused_once_it_is_off(receiver, secret):
    result = send(receiver.url(), secret, allow_local=False)
    assert result.error == "refused: the URL must start with https://"
    assert receiver.requests == []


def test_connection_refused(secret):
    sock = free_refusing_socket()
    try:
        port = sock.getsockname()[1]
        result = send(f"http://127.0.0.1:{port}/h", secret)
    finally:
        sock.close()
    assert not result.ok and result.status_code is None
    assert result.error == f"connection refused by 127.0.0.1:{port}"


def test_an_error_answer(receiver, secret):
    receiver.script = ["500"]
    result = send(receiver.url(), secret)
    assert (result.ok, result.status_code, result.error) == (False, 500, "HTTP 500")
    assert result.response_excerpt == '{"error": "boom"}'


def test_a_receiver_that_never_answers_times_out(receiver, secret):
    receiver.script = ["hang"]
    result = send(receiver.url(), secret, timeout=0.5)
    assert (result.ok, result.status_code) == (False, None)
    assert result.error == "no answer within 0.5 s"
    assert len(receiver.requests) == 1  # the request did arrive


def test_a_receiver_dripping_bytes_is_cut_at_the_deadline(receiver, secret):
    """Each byte comes well within any per-read timeout; only a deadline for the whole
    attempt ends it."""
    receiver.script = ["drip"]
    result = send(receiver.url(), secret, timeout=0.6)
    assert not result.ok and result.error == "no answer within 0.6 s"


def test_redirects_are_not_followed(receiver, secret):
    receiver.script = ["redirect"]
    result = send(receiver.url(), secret)
    assert not result.ok and result.status_code == 302
    assert result.error == "redirect not followed (HTTP 302 to /elsewhere)"
    assert [r.path for r in receiver.requests] == ["/hooks/billow"]


def test_a_large_answer_is_read_only_up_to_the_limit(receiver, secret):
    receiver.script = ["big"]
    result = send(receiver.url(), secret)
    assert result.ok and result.truncated
    assert len(result.response_excerpt) == delivery.MAX_RESPONSE_BYTES
    small = send(receiver.url(), secret, max_response=100)
    assert small.truncated and len(small.response_excerpt) == 100


def test_a_hanging_dns_lookup_counts_against_the_deadline(receiver, secret):
    result = send(receiver.url("slow.example.test"), secret, resolver=SlowResolver(3), timeout=0.3)
    assert not result.ok
    assert result.error == "DNS: slow.example.test did not resolve within 0.3 s"
    assert receiver.requests == []


def test_a_name_that_does_not_resolve(secret):
    def nothing(host, port):
        raise ssrf.ResolveError(f"{host} does not resolve")

    result = send("https://nx.example.com/h", secret, resolver=nothing, allow_local=False)
    assert result.error == "DNS: nx.example.com does not resolve"


@pytest.fixture
def tls_receiver(tmp_path, secret):
    cert, key = self_signed(tmp_path, "hooks.example.test")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    rec = make_receiver(secret, tls=server_ctx)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    try:
        yield rec, client_ctx
    finally:
        rec.release.set()
        rec.server.shutdown()
        rec.server.server_close()


def test_https_to_the_checked_address_with_sni_and_certificate_of_the_name(tls_receiver, secret):
    rec, client_ctx = tls_receiver
    resolver = FixedResolver(["127.0.0.1"])
    result = send(rec.url("hooks.example.test"), secret, resolver=resolver, tls_context=client_ctx)
    assert result.ok, result.error
    (got,) = rec.requests
    assert got.verified
    assert got.sni == "hooks.example.test"
    assert got.headers["host"] == f"hooks.example.test:{rec.port}"


def test_https_checks_the_certificate_against_the_name(tls_receiver, secret):
    rec, client_ctx = tls_receiver
    result = send(
        rec.url("other.example.test"),
        secret,
        resolver=FixedResolver(["127.0.0.1"]),
        tls_context=client_ctx,
    )
    assert not result.ok and result.status_code is None
    assert result.error.startswith("TLS: ") and "other.example.test" in result.error
    assert rec.requests == []
    untrusted = send(rec.url("hooks.example.test"), secret, resolver=FixedResolver(["127.0.0.1"]))
    assert untrusted.error.startswith("TLS: ")  # the default context does not trust it
