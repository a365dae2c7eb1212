"""``billow serve``: uvicorn worker processes behind one listening socket.

Why uvicorn (see the README, "Running Billow on your own machine"): its asyncio event loop
reads every request before the application sees it, so stalled clients (slowloris) cost a
coroutine each and never hold one of the threads that run the API; several worker processes
share one socket, bound here, in the supervisor, so ``--port 0`` tells the real port and a
second server on the same port fails loudly (no ``SO_REUSEPORT``); SIGTERM is a graceful
shutdown; a worker that dies is replaced. The workers are *spawned* (fresh interpreters, not
forked), so no SQLite connection, lock or thread ever crosses a ``fork()``; the supervisor
itself never opens the store.

What uvicorn lacks is a deadline for *receiving* a request: its keep-alive timer is reset by
every byte, so a client trickling one byte a second holds a connection for ever. The protocol
class below adds one: from the connection's first moment, and again from the first byte of each
request, the whole request (headers and body) must arrive within ``BILLOW_REQUEST_TIMEOUT``
seconds (default 20), or it gets a 408 and the connection is closed.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess

from infra.web import json_error

log = logging.getLogger("billow.server")

#: Pending connections the kernel queues while every worker is busy: 200 clients connecting
#: at once must not be reset (the kernel caps it at net.core.somaxconn, 4096 on current Linux).
BACKLOG = 2048
#: Seconds an idle keep-alive connection stays open (a reverse proxy in front keeps its own
#: pool of upstream connections; 75 s outlives nginx's and Caddy's idle defaults of 60 s).
KEEP_ALIVE_SECONDS = 75
#: Seconds in-flight requests get to finish after SIGTERM (``BILLOW_GRACEFUL_SECONDS``). A
#: burst of finalizes queues behind SQLite's one writer, each rendering its PDF: on a busy
#: machine the last of a dozen in-flight requests can need well over 8 s, and cutting it off
#: answers nothing to a client whose write may still commit. 25 s stays inside systemd's
#: TimeoutStopSec in the README's unit (40 s) and Docker's/Kubernetes' 30 s grace periods.
GRACEFUL_SECONDS = float(os.environ.get("BILLOW_GRACEFUL_SECONDS") or 25)


def default_workers() -> int:
    """One worker process per CPU this process may run on (PDF rendering is CPU-bound Python;
    SQLite serialises the writers whatever the count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


#: Most bytes of a request line and headers (the standard library server's line limit).
MAX_HEAD = 64 * 1024


class CoalescingTransport:
    """A transport whose writes within one turn of the event loop go out as one ``send``:
    uvicorn writes a response's head and body apart, and two small segments on a keep-alive
    connection are what met the client's delayed ACK in the old server (40 ms a response)."""

    def __init__(self, transport: Any, loop: Any) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def flush(self) -> None:
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for receiving each whole request, a limit
    on the size of its head, and its own refusals in the API's error shape with the security
    headers (uvicorn's are bare text)."""

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))
        self._receipt_timeout = float(os.environ.get("BILLOW_REQUEST_TIMEOUT") or 20)
        self._deadline: Any = None
        self._in_head = True
        self._head_bytes = 0
        self._raw_head = 0
        self._arm()  # a connection that never sends a request is closed too

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self._receipt_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` (unless a response is under way) and close the connection."""
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            response = json_error(status, code, message, close=True)
            head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
            head += [f"{name}: {value}" for name, value in response.final_headers()]
            self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode() + response.body)
        self.transport.close()

    def _too_slow(self) -> None:
        self._deadline = None
        self._refuse(408, "request_timeout", "the request did not arrive in time")

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "bad_request", "the request could not be parsed as HTTP/1.1")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        # a head still incomplete: count the bytes buffered, not only the parsed parts
        self._raw_head += len(data)
        if self._raw_head > 2 * MAX_HEAD:
            self._refuse(431, "bad_request", "the request line or headers are too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        self._raw_head = 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._head_bytes > MAX_HEAD:
            self._refuse(431, "bad_request", "the request line or headers are too large")
            return
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def bind(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """The listening socket, bound and listening before any worker starts (connections that
    arrive meanwhile wait in the backlog)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto named explicitly: asyncio sets TCP_NODELAY only on sockets whose proto is
    # IPPROTO_TCP, and accepted sockets inherit it from this one (0 would leave Nagle on)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"billow serve: cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, announcing the URL once the first worker answers."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], banner: str):
        super().__init__(config, sockets)
        self.banner = banner

    def init_processes(self) -> None:
        super().init_processes()
        for process in self.processes:
            if process.wait_until_ready(120, self.should_exit):
                break
        print(self.banner, flush=True)


def serve(
    host: str,
    port: int,
    data_dir: Path,
    *,
    workers: int | None = None,
    quiet: bool = False,
) -> None:
    """Run until SIGTERM or Ctrl-C, then shut down gracefully."""
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    url = f"http://{shown}:{bound_port}"
    os.environ.setdefault("BILLOW_PUBLIC_URL", url)
    os.environ["BILLOW_BIND_HOST"] = bound_host
    count = workers or int(os.environ.get("BILLOW_WORKERS") or 0) or default_workers()
    config = uvicorn.Config(
        "infra.asgi:app",
        workers=count,
        http=DeadlineProtocol,
        loop="asyncio",
        lifespan="on",
        backlog=BACKLOG,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=int(GRACEFUL_SECONDS),
        proxy_headers=False,  # forwarded headers are judged by infra.web.Gate
        server_header=False,
        date_header=True,
        access_log=not quiet,
        log_level="warning" if quiet else "info",
        h11_max_incomplete_event_size=16 * 1024,
    )
    banner = (
        f"Billow is running at {url}/  (data: {data_dir}; mail: {data_dir / 'outbox'}; "
        f"{count} worker{'s' if count != 1 else ''})"
    )
    try:
        _Supervisor(config, [sock], banner).run()
    finally:
        sock.close()
    sys.stdout.flush()
