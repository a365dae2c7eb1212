"""``billow serve`` (uvicorn, several worker processes) as a client on the network sees it:
stalled clients do not stop others, requests that do not arrive in time are cut off, only the
allowed Host names are answered, forwarded headers count only from a trusted proxy, and the
port cannot be taken twice."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.hardening.support import LINES, Serve, billow_command
from tests.support.params import client_params, entity_params

pytestmark = pytest.mark.slow

STALLED_HEADERS = 200
STALLED_BODIES = 100


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    # a long receipt deadline: the stalled connections must still be stalled while we test
    server = Serve(tmp_path / "data", tmp_path, extra_env={"BILLOW_REQUEST_TIMEOUT": "600"})
    try:
        yield server
    finally:
        server.stop()


def _run_async(coro: Any) -> None:
    """``asyncio.run`` in a thread of its own: a test before this one in the same process
    (Playwright's sync API) may have left an event loop running in the main thread."""
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _still_open(sock: socket.socket) -> bool:
    """No answer yet and not closed: reading would block."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def test_300_stalled_connections_do_not_stop_health_and_the_api(serve: Serve) -> None:
    host, port = _address(serve.url)
    stalled: list[socket.socket] = []
    try:
        for _ in range(STALLED_HEADERS):  # a request line and half a header, then nothing
            s = socket.create_connection((host, port), timeout=30)
            s.sendall(f"GET /health HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: ".encode())
            stalled.append(s)
        for _ in range(STALLED_BODIES):  # headers done, 10 bytes of a 100-byte body
            s = socket.create_connection((host, port), timeout=30)
            s.sendall(
                f"POST /api HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f'Content-Length: 100\r\n\r\n{{"action":'.encode()
            )
            stalled.append(s)

        health = requests.get(f"{serve.url}/health", timeout=60)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        key = serve.sign_in("owner@example.com")
        entity = serve.ok("entity.create", key, **entity_params())
        client = serve.ok("client.create", key, **client_params(vat_number=None))
        drafts = [
            serve.ok(
                "invoice.create",
                key,
                entity_id=entity["id"],
                client_id=client["id"],
                lines=LINES,
            )["id"]
            for _ in range(3)
        ]
        numbers = [serve.ok("invoice.finalize", key, invoice_id=d)["number"] for d in drafts]
        assert [n[-4:] for n in numbers] == ["0001", "0002", "0003"]
        assert serve.ok("invoice.list", key)["total"] == 3
        # the stalled clients are still there, unanswered: the test measured what it claims
        assert all(_still_open(s) for s in stalled)
    finally:
        for s in stalled:
            s.close()


def test_a_request_that_does_not_arrive_in_time_gets_408(tmp_path: Path) -> None:
    server = Serve(tmp_path / "data", tmp_path, extra_env={"BILLOW_REQUEST_TIMEOUT": "1"})
    try:
        host, port = _address(server.url)
        with socket.create_connection((host, port), timeout=60) as s:
            s.sendall(f"GET /health HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: a".encode())
            answer = b""
            while chunk := s.recv(65536):  # ends when the server closes the connection
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert (
            b'"request_timeout"' in answer and b"x-content-type-options: nosniff" in answer.lower()
        )
        # trickling does not extend the deadline: one byte a while never completes a request
        with socket.create_connection((host, port), timeout=60) as s:
            s.sendall(b"GET /health HTTP/1.1\r\n")
            closed = False
            for _ in range(40):
                try:
                    s.sendall(b"X")
                    if s.recv(65536, socket.MSG_DONTWAIT) is not None:
                        closed = True
                        break
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
                    break
                time.sleep(0.25)
            assert closed
        # an idle connection that never sends anything is closed too
        with socket.create_connection((host, port), timeout=60) as s:
            assert s.recv(65536).startswith(b"HTTP/1.1 408")
        assert requests.get(f"{server.url}/health", timeout=30).status_code == 200
    finally:
        server.stop()


def _raw(url: str, request: bytes) -> bytes:
    host, port = _address(url)
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_only_allowed_host_names_are_answered(serve: Serve, tmp_path: Path) -> None:
    _, port = _address(serve.url)
    for name in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        answer = _raw(
            serve.url, f"GET /health HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode()
        )
        assert answer.startswith(b"HTTP/1.1 200"), (name, answer[:100])
    for name in ("evil.example", f"evil.example:{port}", "127.0.0.1.nip.io"):
        answer = _raw(
            serve.url, f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode()
        )
        assert answer.startswith(b"HTTP/1.1 400"), (name, answer[:100])
        assert b"BILLOW_ALLOWED_HOSTS" in answer and b"content-security-policy" in answer.lower()
    no_host = _raw(serve.url, b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert no_host.startswith(b"HTTP/1.1 400")

    named = Serve(
        tmp_path / "named",
        tmp_path,
        extra_env={"BILLOW_ALLOWED_HOSTS": "billing.example.com,.example.org"},
    )
    try:

        def status(name: str) -> bytes:
            return _raw(
                named.url,
                f"GET /health HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode(),
            )[:12]

        assert status("billing.example.com") == b"HTTP/1.1 200"
        assert status("BILLING.example.com.:443") == b"HTTP/1.1 200"
        assert status("a.example.org") == b"HTTP/1.1 200"
        assert status("example.org") == b"HTTP/1.1 200"
        assert status("badexample.org") == b"HTTP/1.1 400"
        assert status("127.0.0.1") == b"HTTP/1.1 400"
    finally:
        named.stop()


def test_the_port_cannot_be_taken_twice(serve: Serve, tmp_path: Path) -> None:
    """No SO_REUSEPORT: a second server on the same port fails instead of silently taking
    half of the connections."""
    _, port = _address(serve.url)
    res = subprocess.run(
        [*billow_command(), "serve", "--port", str(port), "--data-dir", str(tmp_path / "other")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in res.stdout + res.stderr
    assert requests.get(f"{serve.url}/health", timeout=30).status_code == 200


def test_workers_are_processes_and_the_supervisor_holds_no_database(serve: Serve) -> None:
    import os

    children = (
        Path(f"/proc/{serve.process.pid}/task/{serve.process.pid}/children").read_text().split()
    )
    workers = [int(c) for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    assert len(workers) == len(os.sched_getaffinity(0))
    seen = set()
    for _ in range(40):
        res = requests.get(f"{serve.url}/health", timeout=30)
        seen.add(res.status_code)
    assert seen == {200}
    fds = [
        os.readlink(f"/proc/{serve.process.pid}/fd/{fd}")
        for fd in os.listdir(f"/proc/{serve.process.pid}/fd")
    ]
    assert not [fd for fd in fds if "billow.db" in fd], fds
    worker_fds = [
        os.readlink(f"/proc/{workers[0]}/fd/{fd}") for fd in os.listdir(f"/proc/{workers[0]}/fd")
    ]
    assert [fd for fd in worker_fds if fd.endswith("billow.db")]


def _forwarded(app: Any, peer: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """Run one request through the ASGI app in-process; what the API function was given."""
    from infra import web

    seen: dict[str, Any] = {}

    def fake_call_api(method, path, query, pairs, body, *, domain, source_ip):
        seen.update(domain=domain, source_ip=source_ip, headers=dict(pairs))
        return web.Response(200, b"{}", [("Content-Type", "application/json")])

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api",
        "raw_path": b"/api",
        "query_string": b"",
        "headers": headers,
        "client": (peer, 5000),
        "scheme": "http",
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    original = web.call_api
    web.call_api = fake_call_api
    try:
        _run_async(app(scope, receive, send))
    finally:
        web.call_api = original
    seen["status"] = sent[0]["status"]
    return seen


def test_forwarded_headers_count_only_from_a_trusted_proxy(monkeypatch: pytest.MonkeyPatch):
    from infra.asgi import BillowApp

    monkeypatch.setenv("BILLOW_TRUSTED_PROXIES", "10.0.0.5,192.168.7.0/24")
    monkeypatch.setenv("BILLOW_ALLOWED_HOSTS", "billing.example.com")
    app = BillowApp()
    spoof = [
        (b"host", b"billing.example.com"),
        (b"x-forwarded-for", b"6.6.6.6, 203.0.113.9, 192.168.7.2"),
        (b"x-forwarded-proto", b"https"),
        (b"x-forwarded-host", b"evil.example"),
    ]
    # from a stranger: the headers are ignored, the peer is the client
    seen = _forwarded(app, "198.51.100.1", spoof)
    assert seen["status"] == 200 and seen["source_ip"] == "198.51.100.1"
    assert seen["headers"]["x-forwarded-for"] == "198.51.100.1"
    assert seen["headers"]["x-forwarded-proto"] == "http"
    assert seen["domain"] == "billing.example.com"
    # from the proxy: the right-most address that is not a proxy; the host must be allowed
    seen = _forwarded(app, "10.0.0.5", spoof)
    assert seen["status"] == 400  # evil.example is not an allowed host
    honest = [*spoof[:3], (b"x-forwarded-host", b"billing.example.com")]
    seen = _forwarded(app, "10.0.0.5", honest)
    assert seen["status"] == 200 and seen["source_ip"] == "203.0.113.9"
    assert seen["headers"]["x-forwarded-proto"] == "https"
    assert seen["domain"] == "billing.example.com"
    app.executor.shutdown()


def test_responses_leave_in_one_write_on_a_no_delay_socket() -> None:
    """The old server's keep-alive responses waited ~40 ms each: head and body in two small
    segments, Nagle holding the second until the client's delayed ACK. The bound socket's
    connections get TCP_NODELAY, and a response's writes in one loop turn are one send."""
    from infra.production import CoalescingTransport, bind

    sock = bind("127.0.0.1", 0)
    seen: dict[str, Any] = {}

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            raw = transport.get_extra_info("socket")
            seen["nodelay"] = raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            writes: list[bytes] = []

            class Recorder:
                def write(self, data: bytes) -> None:
                    writes.append(data)

                def is_closing(self) -> bool:
                    return False

            coalescing = CoalescingTransport(Recorder(), asyncio.get_running_loop())
            coalescing.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
            coalescing.write(b"ok")
            seen["writes"] = writes
            asyncio.get_running_loop().call_soon(lambda: seen.setdefault("after", list(writes)))
            transport.close()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        host, port = sock.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        for _ in range(100):
            if "after" in seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    _run_async(main())
    assert seen["nodelay"] != 0
    assert seen["after"] == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
