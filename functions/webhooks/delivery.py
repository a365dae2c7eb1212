"""One delivery attempt: POST the signed event to the checked address, read a little, report.

:func:`deliver` never raises for anything the receiver or the network does; it returns an
:class:`AttemptResult` (``ok``, ``status_code``, ``error``, ``duration_ms``) that the outbox
records and schedules the next attempt from. What it guarantees:

- the URL is parsed and its name resolved *once*, every address checked by :mod:`.ssrf`, and
  the connection made to a checked address — never to a second lookup of the name (DNS
  rebinding). TLS still verifies the certificate for the *name* (SNI and hostname check), and
  the ``Host`` header carries the name;
- a hard deadline for the whole attempt (default 10 s: resolving, connecting, TLS, sending,
  status line, headers and the body read): a watchdog shuts the socket down when it passes, so
  a receiver dripping one byte a second cannot hold a worker;
- no redirect is followed (a 3xx is a failed attempt saying where it pointed);
- at most ``max_response`` bytes (4 KiB) of the answer are read, then the connection closes.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from . import ssrf
from .signing import signature_headers

TIMEOUT_S = 10.0
MAX_RESPONSE_BYTES = 4096
#: Addresses of one name tried in turn (each within the same deadline).
MAX_ADDRESSES = 3
USER_AGENT = "Billow-Webhooks/1.0"


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int
    #: The first bytes of the answer (at most ``max_response``), decoded leniently.
    response_excerpt: str = ""
    #: Whether the answer was longer than what was read.
    truncated: bool = False
    #: The address connected to (for the deliveries log), if any.
    address: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


class _Deadline:
    """Time left of one attempt, and a watchdog that shuts the socket down when it passes."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._end = clock() + seconds
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        remaining = self._end - self._clock()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        return remaining

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                self._shutdown()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed
                self._sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a fixed address; ``host`` (the name) still fills ``Host``."""

    def __init__(self, host: str, port: int, address: str, deadline: _Deadline) -> None:
        super().__init__(host, port, timeout=deadline.left())
        self._address = address
        self._deadline = deadline

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), self._deadline.left())
        self._deadline.watch(sock)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def connect(self) -> None:
        self.sock = self._open()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """HTTPS to a fixed address, with SNI and certificate checked for the name."""

    def __init__(
        self, host: str, port: int, address: str, deadline: _Deadline, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, address, deadline)
        self._tls = context

    def connect(self) -> None:
        sock = self._open()
        sock.settimeout(self._deadline.left())
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def default_tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _excerpt(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def deliver(
    url: str,
    *,
    event_id: str,
    body: str,
    secret: str,
    resolver: ssrf.Resolver = ssrf.system_resolver,
    allow_local: bool | None = None,
    timeout: float = TIMEOUT_S,
    max_response: int = MAX_RESPONSE_BYTES,
    tls_context: ssl.SSLContext | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    clock: Callable[[], float] = time.monotonic,
) -> AttemptResult:
    """Make one attempt to deliver ``body`` (the stored event text) to ``url``."""
    local = ssrf.allow_local_from_env() if allow_local is None else allow_local
    started = clock()

    def result(ok: bool, status: int | None, error: str | None, **more: object) -> AttemptResult:
        duration = max(0, int((clock() - started) * 1000))
        return AttemptResult(ok, status, error, duration, **more)  # type: ignore[arg-type]

    try:
        target = ssrf.parse_url(url, allow_local=local)
    except ssrf.UnsafeURL as exc:
        return result(False, None, f"refused: the URL {exc.reason}")

    deadline = _Deadline(timeout, clock)
    try:
        return _attempt(
            target,
            event_id,
            body,
            secret,
            resolver,
            local,
            deadline,
            tls_context,
            max_response,
            now,
            result,
            timeout,
        )
    finally:
        deadline.cancel()


def _attempt(
    target: ssrf.Target,
    event_id: str,
    body: str,
    secret: str,
    resolver: ssrf.Resolver,
    local: bool,
    deadline: _Deadline,
    tls_context: ssl.SSLContext | None,
    max_response: int,
    now: Callable[[], datetime],
    result: Callable[..., AttemptResult],
    timeout: float,
) -> AttemptResult:
    timed_out = f"no answer within {timeout:g} s"
    try:
        addresses = _resolve_within(target, resolver, local, deadline)
    except ssrf.UnsafeURL as exc:
        return result(False, None, f"refused: {exc.reason}")
    except ssrf.ResolveError as exc:
        return result(False, None, f"DNS: {exc}")
    except TimeoutError:
        return result(False, None, f"DNS: {target.host} did not resolve within {timeout:g} s")

    payload = body.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Connection": "close",
        **signature_headers(secret, event_id, body, now()),
    }
    error = "no address to connect to"
    for address in addresses[:MAX_ADDRESSES]:
        ip = str(address)
        conn: _PinnedHTTPConnection
        try:
            if target.scheme == "https":
                context = tls_context or default_tls_context()
                conn = _PinnedHTTPSConnection(target.host, target.port, ip, deadline, context)
            else:
                conn = _PinnedHTTPConnection(target.host, target.port, ip, deadline)
        except TimeoutError:
            return result(False, None, timed_out, address=ip)
        try:
            conn.connect()
        except TimeoutError:
            conn.close()
            return result(False, None, timed_out, address=ip)
        except ConnectionRefusedError:
            error = f"connection refused by {_show(address)}:{target.port}"
            conn.close()
            continue
        except ssl.SSLCertVerificationError as exc:
            conn.close()
            return result(False, None, f"TLS: {exc.verify_message or exc}", address=ip)
        except (ssl.SSLError, OSError) as exc:
            conn.close()
            if deadline.expired:
                return result(False, None, timed_out, address=ip)
            error = f"cannot connect to {_show(address)}:{target.port} ({_reason(exc)})"
            continue
        try:
            return _exchange(
                conn, target, payload, headers, deadline, max_response, result, ip, timed_out
            )
        finally:
            conn.close()
    return result(False, None, error)


def _exchange(
    conn: _PinnedHTTPConnection,
    target: ssrf.Target,
    payload: bytes,
    headers: dict[str, str],
    deadline: _Deadline,
    max_response: int,
    result: Callable[..., AttemptResult],
    ip: str,
    timed_out: str,
) -> AttemptResult:
    sock = conn.sock  # the response takes the socket over once the answer says "close"
    try:
        sock.settimeout(deadline.left())
        conn.request("POST", target.path, body=payload, headers=headers)
        sock.settimeout(deadline.left())
        response = conn.getresponse()
        status = response.status
        location = response.getheader("Location") or ""
        data = b""
        while len(data) <= max_response:
            sock.settimeout(deadline.left())
            chunk = response.read1(max_response + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        return result(False, None, timed_out, address=ip)
    except (http.client.HTTPException, ssl.SSLError, OSError) as exc:
        if deadline.expired:
            return result(False, None, timed_out, address=ip)
        if isinstance(exc, http.client.HTTPException):
            return result(False, None, f"invalid HTTP answer ({type(exc).__name__})", address=ip)
        return result(False, None, f"connection lost ({_reason(exc)})", address=ip)
    if deadline.expired:  # the watchdog's shutdown ends reads early: what was read is partial
        return result(False, None, timed_out, address=ip)
    truncated = len(data) > max_response
    excerpt = _excerpt(data[:max_response])
    more = {"response_excerpt": excerpt, "truncated": truncated, "address": ip}
    if 200 <= status < 300:
        return result(True, status, None, **more)
    if 300 <= status < 400:
        where = f" to {location[:200]}" if location else ""
        return result(False, status, f"redirect not followed (HTTP {status}{where})", **more)
    return result(False, status, f"HTTP {status}", **more)


def _resolve_within(
    target: ssrf.Target, resolver: ssrf.Resolver, local: bool, deadline: _Deadline
) -> list[ssrf.IPAddress]:
    """:func:`ssrf.resolve_checked` bounded by the deadline (a system lookup may hang)."""
    if target.literal is not None:
        return ssrf.resolve_checked(target, resolver=resolver, allow_local=local)
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = ssrf.resolve_checked(target, resolver=resolver, allow_local=local)
        except Exception as exc:  # handed to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=run, name="webhook-resolve", daemon=True)
    worker.start()
    worker.join(deadline.left())
    if worker.is_alive():
        raise TimeoutError("resolving took too long")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def _show(address: ssrf.IPAddress) -> str:
    return f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__
