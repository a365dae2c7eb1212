"""``billow serve``: the local development server.

A threaded stdlib HTTP server that turns each request into a Lambda Function URL event
(payload format 2.0) and calls the very ``lambda_handler`` that runs in AWS, so local and
cloud share one code path. Besides the API it serves the browser app (``frontend/``, with
``index.html`` for unknown non-API paths), signed blob links (``/blobs/<key>?expires&filename&
sig``, checked with the store's ``verify_blob_link``), and runs the daily run
(``functions.daily``) when it starts and every day at 07:00 UTC, in a background thread.
Mail goes to ``<data-dir>/outbox/`` unless ``BILLOW_SMTP_URL`` is set.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import sys
import threading
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY = 1024 * 1024
FRONTEND_DIR = Path(__file__).resolve().parent.parent / "frontend"
OVERDUE_HOUR_UTC = 7

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

log = logging.getLogger("billow.server")


def configure_environment(data_dir: str | os.PathLike[str] | None) -> Path:
    """Point every part (store, mail outbox) at ``data_dir``; return it resolved.

    An explicit ``--data-dir`` wins over ``BILLOW_STORE_URL``; without one, an existing
    ``BILLOW_STORE_URL`` is kept (e.g. a DynamoDB store).
    """
    chosen = Path(data_dir or os.environ.get("BILLOW_DATA_DIR") or ".billow").resolve()
    chosen.mkdir(parents=True, exist_ok=True)
    os.environ["BILLOW_DATA_DIR"] = str(chosen)
    if data_dir is not None or not os.environ.get("BILLOW_STORE_URL"):
        os.environ["BILLOW_STORE_URL"] = f"sqlite:///{chosen / 'billow.db'}"
    return chosen


class BillowRequestHandler(BaseHTTPRequestHandler):
    server_version = "billow"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    # --- plumbing ----------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        if self.server.quiet:  # type: ignore[attr-defined]
            return
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        sent = {k.lower() for k in (headers or {})}
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        for name, value in SECURITY_HEADERS.items():
            if name.lower() not in sent:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error_json(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
        self._send(status, body, {"Content-Type": "application/json"})

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own errors (bad request line, unsupported method, header too long ...)
        in the API's error shape and with the security headers, not as its bare HTML page."""
        self.close_connection = True
        name = {400: "bad_request", 404: "not_found", 413: "payload_too_large"}.get(code)
        if name is None:
            name = "bad_request" if code < 500 else "not_implemented"
        self._send_error_json(code, name, message or "the request could not be handled")

    # --- routing -----------------------------------------------------------------------------
    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path in ("/api", "/health", "/docs") or path.startswith(("/api/", "/docs/")):
            self._invoke_lambda()
            return
        try:
            if path.startswith("/blobs/"):
                self._serve_blob()
            else:
                self._serve_static(path)
        except Exception:  # an answer (with headers, no trace) instead of a dropped connection
            log.exception("serving %s failed", path)
            self.close_connection = True
            self._send_error_json(500, "internal_error", "something went wrong on our side")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        self._invoke_lambda()

    do_PUT = do_POST
    do_PATCH = do_POST
    do_DELETE = do_POST

    def do_OPTIONS(self) -> None:
        self._invoke_lambda()

    # --- API ---------------------------------------------------------------------------------
    def _read_body(self) -> bytes | None:
        """The request body, or ``None`` after answering 413 (over 1 MiB) or 400 (a body
        without ``Content-Length``: left unread, it would be parsed as the next request)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send_error_json(
                400, "bad_request", "send the body with Content-Length, not Transfer-Encoding"
            )
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._send_error_json(413, "payload_too_large", "the request body is larger than 1 MiB")
            return None
        return self.rfile.read(length) if length else b""

    def _invoke_lambda(self) -> None:
        from functions.api.events import function_url_event
        from functions.api.handler import LocalContext, lambda_handler

        body = self._read_body()
        if body is None:
            return
        split = urllib.parse.urlsplit(self.path)
        headers = {name: value for name, value in self.headers.items()}
        event = function_url_event(
            self.command,
            split.path,
            body=body if body else None,
            headers=headers,
            query=split.query,
            domain=self.headers.get("Host") or self.server.origin_host,  # type: ignore[attr-defined]
            source_ip=self.client_address[0],
        )
        context = LocalContext(event["requestContext"]["requestId"])
        try:
            result = lambda_handler(event, context)
        except Exception:
            log.exception("the API function failed")
            self._send_error_json(500, "internal_error", "something went wrong on our side")
            return
        self._send_lambda_result(result)

    def _send_lambda_result(self, result: dict[str, Any]) -> None:
        import base64

        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        self.send_response(int(result.get("statusCode", 200)))
        for cookie in result.get("cookies") or []:
            self.send_header("Set-Cookie", cookie)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, str(value))
        for name, value in SECURITY_HEADERS.items():
            if name.lower() not in {h.lower() for h in headers}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    # --- blobs -------------------------------------------------------------------------------
    def _serve_blob(self) -> None:
        from functions.api import runtime

        split = urllib.parse.urlsplit(self.path)
        key = urllib.parse.unquote(split.path[len("/blobs/") :])
        query = dict(urllib.parse.parse_qsl(split.query))
        store = runtime.get_store()
        verify = getattr(store, "verify_blob_link", None)
        filename = query.get("filename", "")
        if verify is None or not verify(
            key, query.get("expires", ""), filename, query.get("sig", "")
        ):
            self._send_error_json(403, "forbidden", "the link is invalid or has expired")
            return
        blob = store.get_blob(key)
        if blob is None:
            self._send_error_json(404, "not_found", "no such file")
            return
        # header values go out as Latin-1: the plain name keeps ASCII only, the full name
        # travels percent-encoded in filename*
        safe = "".join(c for c in filename if c.isascii() and (c.isalnum() or c in "._- "))
        safe = safe or "download"
        quoted = urllib.parse.quote(filename)
        disposition = f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quoted}"
        self._send(
            200,
            blob.data,
            {
                "Content-Type": blob.content_type or "application/pdf",
                "Content-Disposition": disposition,
                "Cache-Control": "private, no-store",
            },
        )

    # --- the browser app ---------------------------------------------------------------------
    def _serve_static(self, path: str) -> None:
        root: Path = self.server.frontend_dir  # type: ignore[attr-defined]
        rel = urllib.parse.unquote(path).lstrip("/")
        target = root / "index.html"
        if rel and "\x00" not in rel:  # a NUL byte makes resolve() raise: unknown path
            found = (root / rel).resolve()
            if found.is_relative_to(root.resolve()) and found.is_file():
                target = found
        if not target.is_file():
            self._send_error_json(404, "not_found", "no such page")
            return
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix in {".js", ".mjs"}:
            ctype = "text/javascript"
        if ctype.startswith("text/") or ctype in {"application/json", "image/svg+xml"}:
            ctype += "; charset=utf-8"
        cache = "no-cache" if target.name == "index.html" else "public, max-age=300"
        self._send(200, target.read_bytes(), {"Content-Type": ctype, "Cache-Control": cache})


class BillowServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: with more clients connecting at once while
    # the accept loop waits for the GIL (a PDF render), the kernel resets the excess connections
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], frontend_dir: Path, quiet: bool = False):
        super().__init__(address, BillowRequestHandler)
        self.frontend_dir = frontend_dir
        self.quiet = quiet
        host, port = self.server_address[:2]
        self.origin_host = f"{host}:{port}"


def next_run(now: datetime, hour: int = OVERDUE_HOUR_UTC) -> datetime:
    """The next ``hour``:00 UTC strictly after ``now``."""
    candidate = now.astimezone(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate <= now:
        candidate += timedelta(days=1)
    return candidate


def run_daily_job(today: date | None = None) -> dict[str, Any]:
    """The daily run (``functions.daily``) once on the configured store: the scheduler's and
    ``billow daily``'s (alias ``billow overdue``)."""
    from functions.api import runtime
    from functions.daily.run import run_daily

    return run_daily(runtime.get_store(), today or datetime.now(UTC).date(), runtime.services())


def _scheduler(stop: threading.Event) -> None:
    """Run the daily run now (a server started late, or after days of downtime, catches up at
    once), then every day at 07:00 UTC. The run is idempotent, so a start after today's 07:00
    run, or a second server on the same data, sends nothing twice."""
    first = True
    while not stop.is_set():
        if not first:
            now = datetime.now(UTC)
            if stop.wait((next_run(now) - now).total_seconds()):
                return
        first = False
        try:
            result = run_daily_job()
            log.info("daily run: %s", result)
        except Exception:
            log.exception("the daily run failed")


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: str | None = None,
    *,
    frontend_dir: Path | None = None,
    quiet: bool = False,
) -> None:
    """Run until interrupted."""
    chosen = configure_environment(data_dir)
    server = BillowServer((host, port), frontend_dir or FRONTEND_DIR, quiet=quiet)
    bound_host, bound_port = server.server_address[:2]
    url = f"http://{bound_host}:{bound_port}"
    os.environ.setdefault("BILLOW_PUBLIC_URL", url)
    stop = threading.Event()
    threading.Thread(target=_scheduler, args=(stop,), name="daily", daemon=True).start()
    print(f"Billow is running at {url}/  (data: {chosen}; mail: {chosen / 'outbox'})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
