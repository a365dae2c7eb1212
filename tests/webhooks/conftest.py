"""A webhook receiver on loopback: a real HTTP(S) server that verifies Standard Webhooks
signatures with the ``standardwebhooks`` library and plays scripted answers.

``Receiver.script`` holds one behaviour per request (the last one repeats):

- ``"ok"`` — 200 after verifying the signature (401 if it does not verify);
- ``"500"`` — 500 ``{"error": "boom"}``;
- ``"hang"`` — hold the request until the test ends (no answer);
- ``"drip"`` — status line then one header byte every 50 ms, forever (slow loris);
- ``"redirect"`` — 302 to ``/elsewhere`` (which answers 200 and is recorded if ever called);
- ``"big"`` — 200 with a 64 KiB body.

``refusing()`` makes the port refuse connections (bound, not listening) until ``listen()``.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401  (moto server)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    sni: str | None = None


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    secret: str
    scheme: str = "http"
    script: list[str] = field(default_factory=lambda: ["ok"])
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    served: int = 0
    last_sni: str | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, host: str = "127.0.0.1", path: str = "/hooks/billow") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def next_behaviour(self) -> str:
        with self.lock:
            behaviour = self.script[min(self.served, len(self.script) - 1)]
            self.served += 1
            return behaviour

    def listen(self) -> None:
        """Start accepting connections (after ``refusing``)."""
        self.server.server_activate()
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def ids(self) -> list[str]:
        return [r.headers.get("webhook-id", "") for r in self.requests]


def _handler(receiver_ref: list[Receiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            receiver = receiver_ref[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                Webhook(receiver.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
            sni = getattr(self.connection, "billow_sni", None)
            with receiver.lock:
                receiver.requests.append(Received(self.path, headers, body, verified, sni))
            if self.path == "/elsewhere":
                self._answer(200, b"{}")
                return
            behaviour = receiver.next_behaviour()
            if behaviour == "ok":
                self._answer(200 if verified else 401, b'{"received": true}')
            elif behaviour == "500":
                self._answer(500, b'{"error": "boom"}')
            elif behaviour == "hang":
                receiver.release.wait(30)
            elif behaviour == "drip":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                self.wfile.flush()
                while not receiver.release.wait(0.05):
                    try:
                        self.wfile.write(b"a")
                        self.wfile.flush()
                    except OSError:
                        return
            elif behaviour == "redirect":
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif behaviour == "big":
                self._answer(200, b"x" * 65536)
            else:
                raise AssertionError(f"unknown behaviour {behaviour}")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def make_receiver(
    secret: str, *, listen: bool = True, tls: ssl.SSLContext | None = None
) -> Receiver:
    ref: list[Receiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref), bind_and_activate=False)
    server.daemon_threads = True
    server.server_bind()
    if tls is not None:

        def remember_sni(sock: ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
            sock.billow_sni = name  # type: ignore[attr-defined]
            receiver.last_sni = name

        tls.sni_callback = remember_sni
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver = Receiver(server=server, secret=secret, scheme="https" if tls else "http")
    ref.append(receiver)
    if listen:
        receiver.listen()
    return receiver


@pytest.fixture
def secret() -> str:
    from functions.webhooks.signing import new_secret

    return new_secret()


@pytest.fixture
def receiver(secret: str) -> Iterator[Receiver]:
    rec = make_receiver(secret)
    try:
        yield rec
    finally:
        rec.release.set()
        rec.server.shutdown()
        rec.server.server_close()


def self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    """A certificate for ``name`` (and only that name) and its key, written under ``tmp``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = tmp / f"{name}.pem"
    key_path = tmp / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class FixedResolver:
    """A resolver with scripted answers per call (the last repeats), counting its calls."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


class SlowResolver:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, host: str, port: int) -> list[str]:
        time.sleep(self.seconds)
        return ["127.0.0.1"]


def free_refusing_socket() -> socket.socket:
    """A socket bound to a loopback port and never listening: connecting is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def event_json(**overrides: Any) -> dict[str, Any]:
    event = {
        "id": "evt_01test",
        "type": "invoice.paid",
        "created_at": "2026-11-21T07:00:00Z",
        "account_id": "acct_1",
        "data": {"object": {"id": "inv_1", "object": "invoice", "total": "119.00"}},
    }
    event.update(overrides)
    return json.loads(json.dumps(event))
