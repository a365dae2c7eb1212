"""What every HTTP front of ``billow serve`` answers the same way, whatever server runs it.

The production server (:mod:`infra.asgi` on uvicorn) and the old standard-library server
(:mod:`infra.server`, kept as ``billow serve --server stdlib`` for comparison) both call these
functions: a request for the API becomes the Lambda Function URL event that
``functions.api.handler.lambda_handler`` takes (the code path AWS runs), signed ``/blobs/...``
links are checked with the store, anything else is the browser app. Responses are plain
:class:`Response` values that the front writes out in one piece.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import mimetypes
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_BODY = 1024 * 1024
FRONTEND_DIR = Path(__file__).resolve().parent.parent / "frontend"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

log = logging.getLogger("billow.server")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: close the connection after this answer (an error that leaves the stream unreliable)
    close: bool = False

    def final_headers(self, head: bool = False) -> list[tuple[str, str]]:
        """The headers as sent: the security headers unless set, and Content-Length."""
        names = {name.lower() for name, _ in self.headers}
        out = [(n, v) for n, v in self.headers if n.lower() != "content-length"]
        out += [(n, v) for n, v in SECURITY_HEADERS.items() if n.lower() not in names]
        out.append(("Content-Length", str(len(self.body))))
        if self.close:
            out.append(("Connection", "close"))
        return out


def json_error(status: int, code: str, message: str, *, close: bool = False) -> Response:
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    return Response(status, body, [("Content-Type", "application/json")], close=close)


def is_api_path(path: str) -> bool:
    """Paths the API function answers (everything else is the app or a blob link)."""
    if path.startswith("/q/"):  # the customer's quote page (functions/hosted/quote_routes.py)
        return True
    return path in ("/api", "/health", "/docs") or path.startswith(("/api/", "/docs/", "/i/"))


# --- the API ---------------------------------------------------------------------------------


def call_api(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    *,
    domain: str,
    source_ip: str,
) -> Response:
    """One request through ``lambda_handler``, as a Function URL event."""
    from functions.api.events import function_url_event
    from functions.api.handler import LocalContext, lambda_handler

    pairs = headers.items() if isinstance(headers, Mapping) else headers
    event = function_url_event(
        method,
        path,
        body=body if body else None,
        headers=dict(pairs) if isinstance(headers, Mapping) else _joined(pairs),
        query=query,
        domain=domain,
        source_ip=source_ip,
    )
    context = LocalContext(event["requestContext"]["requestId"])
    try:
        result = lambda_handler(event, context)
    except Exception:
        log.exception("the API function failed")
        return json_error(500, "internal_error", "something went wrong on our side")
    return lambda_response(result)


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs:
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


def lambda_response(result: Mapping[str, Any]) -> Response:
    """A Function URL result (``statusCode``, ``headers``, ``cookies``, ``body``) as a Response."""
    raw = result.get("body") or ""
    payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
    headers: list[tuple[str, str]] = [
        (str(name), str(value)) for name, value in (result.get("headers") or {}).items()
    ]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.append((name, ", ".join(values)))
    headers += [("Set-Cookie", cookie) for cookie in result.get("cookies") or []]
    return Response(int(result.get("statusCode", 200)), payload, headers)


# --- signed blob links -------------------------------------------------------------------------


def blob_response(path: str, query: str) -> Response:
    """``/blobs/<key>?expires&filename&sig``: the blob as an attachment, if the link is valid."""
    from functions.api import runtime

    key = urllib.parse.unquote(path[len("/blobs/") :])
    params = dict(urllib.parse.parse_qsl(query))
    store = runtime.get_store()
    verify = getattr(store, "verify_blob_link", None)
    filename = params.get("filename", "")
    if verify is None or not verify(
        key, params.get("expires", ""), filename, params.get("sig", "")
    ):
        return json_error(403, "forbidden", "the link is invalid or has expired")
    blob = store.get_blob(key)
    if blob is None:
        return json_error(404, "not_found", "no such file")
    # header values go out as Latin-1: the plain name keeps ASCII only, the full name travels
    # percent-encoded in filename*
    safe = "".join(c for c in filename if c.isascii() and (c.isalnum() or c in "._- "))
    safe = safe or "download"
    quoted = urllib.parse.quote(filename)
    return Response(
        200,
        blob.data,
        [
            ("Content-Type", blob.content_type or "application/pdf"),
            ("Content-Disposition", f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quoted}"),
            ("Cache-Control", "private, no-store"),
        ],
    )


# --- the browser app -------------------------------------------------------------------------


def static_response(root: Path, path: str) -> Response:
    """A file of the app; ``index.html`` for any path that names none (client-side routes)."""
    rel = urllib.parse.unquote(path).lstrip("/")
    target = root / "index.html"
    if rel and "\x00" not in rel:  # a NUL byte makes resolve() raise: unknown path
        found = (root / rel).resolve()
        if found.is_relative_to(root.resolve()) and found.is_file():
            target = found
    if not target.is_file():
        return json_error(404, "not_found", "no such page")
    ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if target.suffix in {".js", ".mjs"}:
        ctype = "text/javascript"
    if ctype.startswith("text/") or ctype in {"application/json", "image/svg+xml"}:
        ctype += "; charset=utf-8"
    cache = "no-cache" if target.name == "index.html" else "public, max-age=300"
    return Response(200, target.read_bytes(), [("Content-Type", ctype), ("Cache-Control", cache)])


def serve_file_or_blob(root: Path, path: str, query: str) -> Response:
    """A GET that is not for the API: a blob link or the app (an answer, never a dropped
    connection, when something fails)."""
    try:
        if path.startswith("/blobs/"):
            return blob_response(path, query)
        return static_response(root, path)
    except Exception:
        log.exception("serving %s failed", path)
        return json_error(500, "internal_error", "something went wrong on our side", close=True)


# --- who is asking: allowed hosts and trusted proxies ---------------------------------------


def _host_only(value: str) -> str:
    """``Example.COM:8000`` → ``example.com``; ``[::1]:80`` → ``::1``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


@dataclass(frozen=True)
class Gate:
    """Which ``Host`` names this server answers for, and whose ``X-Forwarded-*`` it believes.

    ``BILLOW_ALLOWED_HOSTS``: comma-separated names (``*`` = any; ``.example.com`` = the domain
    and its subdomains). Default: the bound host, ``localhost``, ``127.0.0.1``, ``::1`` and the
    host of ``BILLOW_PUBLIC_URL``. A request naming another host is refused (400): a DNS
    rebinding page cannot talk to a Billow bound to localhost.

    ``BILLOW_TRUSTED_PROXIES``: comma-separated addresses or networks (``127.0.0.1``,
    ``10.0.0.0/8``). Only a connection from one of them may set the client address
    (``X-Forwarded-For``, the right-most address not itself a trusted proxy), the scheme
    (``X-Forwarded-Proto``) and the host (``X-Forwarded-Host``). Default: none.
    """

    allowed_hosts: frozenset[str]
    any_host: bool
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def from_env(cls, bound_host: str = "127.0.0.1") -> Gate:
        raw = os.environ.get("BILLOW_ALLOWED_HOSTS", "").strip()
        if raw:
            names = {
                _host_only(n) if not n.strip().startswith(".") else n.strip().lower()
                for n in raw.split(",")
                if n.strip()
            }
        else:
            names = {"localhost", "127.0.0.1", "::1", _host_only(bound_host)}
            public = os.environ.get("BILLOW_PUBLIC_URL")
            if public:
                names.add(_host_only(urllib.parse.urlsplit(public).netloc))
            names -= {"0.0.0.0", "::", ""}  # noqa: S104 - a wildcard bind names no host
        proxies = []
        for item in os.environ.get("BILLOW_TRUSTED_PROXIES", "").split(","):
            if item.strip():
                proxies.append(ipaddress.ip_network(item.strip(), strict=False))
        return cls(frozenset(names - {"*"}), "*" in names, tuple(proxies))

    def host_allowed(self, host: str) -> bool:
        if self.any_host:
            return True
        name = _host_only(host)
        if not name:
            return False
        if name in self.allowed_hosts:
            return True
        return any(
            allowed.startswith(".") and (name == allowed[1:] or name.endswith(allowed))
            for allowed in self.allowed_hosts
        )

    def is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def client(
        self, peer: str, scheme: str, host: str, headers: Mapping[str, str]
    ) -> tuple[str, str, str]:
        """``(client address, scheme, host)`` after honouring a trusted proxy's headers."""
        if not self.trusted or not self.is_trusted(peer):
            return peer, scheme, host
        forwarded = [a.strip() for a in headers.get("x-forwarded-for", "").split(",") if a.strip()]
        client = peer
        for address in reversed(forwarded):
            client = address
            if not self.is_trusted(address):
                break
        proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            scheme = proto
        fwd_host = headers.get("x-forwarded-host", "").split(",")[0].strip()
        return client, scheme, fwd_host or host
