"""``billow serve --server stdlib``: the standard library's threaded HTTP server.

Kept as a baseline for ``make bench`` (the production server is uvicorn, see
:mod:`infra.production`) and as a fallback. It answers exactly like the production server,
through the same functions (:mod:`infra.web`): each API request becomes a Lambda Function URL
event (payload format 2.0) for the very ``lambda_handler`` that runs in AWS; signed blob links
(``/blobs/<key>?expires&filename&sig``) and the browser app (``frontend/``, ``index.html`` for
unknown non-API paths) besides. It runs the daily run (``functions.daily``) when it starts and
every day at 07:00 UTC, in a background thread. Mail goes to ``<data-dir>/outbox/`` unless
``BILLOW_SMTP_URL`` is set. What it lacks: one process only, a thread per connection (a slow
client holds one), no Host check, no request deadline, no graceful shutdown.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.web import (
    FRONTEND_DIR,
    MAX_BODY,
    SECURITY_HEADERS,
    Response,
    call_api,
    is_api_path,
    json_error,
    serve_file_or_blob,
)

__all__ = ["FRONTEND_DIR", "MAX_BODY", "SECURITY_HEADERS", "configure_environment", "serve"]

OVERDUE_HOUR_UTC = 7

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

    def _respond(self, response: Response) -> None:
        if response.close:
            self.close_connection = True
        self.send_response(response.status)
        for name, value in response.final_headers():
            if name.lower() != "connection":
                self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own errors (bad request line, unsupported method, header too long ...)
        in the API's error shape and with the security headers, not as its bare HTML page."""
        self.close_connection = True
        name = {400: "bad_request", 404: "not_found", 413: "payload_too_large"}.get(code)
        if name is None:
            name = "bad_request" if code < 500 else "not_implemented"
        self._respond(json_error(code, name, message or "the request could not be handled"))

    # --- routing -----------------------------------------------------------------------------
    def do_GET(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        if is_api_path(split.path):
            self._invoke_lambda()
            return
        self._respond(serve_file_or_blob(self.server.frontend_dir, split.path, split.query))  # type: ignore[attr-defined]

    do_HEAD = do_GET

    def do_POST(self) -> None:
        self._invoke_lambda()

    do_PUT = do_POST
    do_PATCH = do_POST
    do_DELETE = do_POST
    do_OPTIONS = do_POST

    # --- API ---------------------------------------------------------------------------------
    def _read_body(self) -> bytes | None:
        """The request body, or ``None`` after answering 413 (over 1 MiB) or 400 (a body
        without ``Content-Length``: left unread, it would be parsed as the next request)."""
        if self.headers.get("Transfer-Encoding"):
            self._respond(
                json_error(
                    400,
                    "bad_request",
                    "send the body with Content-Length, not Transfer-Encoding",
                    close=True,
                )
            )
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._respond(
                json_error(
                    413, "payload_too_large", "the request body is larger than 1 MiB", close=True
                )
            )
            return None
        return self.rfile.read(length) if length else b""

    def _invoke_lambda(self) -> None:
        body = self._read_body()
        if body is None:
            return
        split = urllib.parse.urlsplit(self.path)
        self._respond(
            call_api(
                self.command,
                split.path,
                split.query,
                dict(self.headers.items()),
                body,
                domain=self.headers.get("Host") or self.server.origin_host,  # type: ignore[attr-defined]
                source_ip=self.client_address[0],
            )
        )


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
    from functions.webhooks.runner import run_pass

    services = {**runtime.services(), "outbox_pass": run_pass}  # webhook retries, PDF jobs
    return run_daily(runtime.get_store(), today or datetime.now(UTC).date(), services)


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
