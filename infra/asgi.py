"""The ASGI application ``billow serve`` runs on uvicorn: a thin adapter, no logic of its own.

Each HTTP request is read in full by the event loop (a slow client costs a coroutine, never a
thread), checked (Host allow-list, forwarded headers from trusted proxies only, 1 MiB body,
no ``Transfer-Encoding``), then handed to a thread of a bounded pool that runs the same code as
every other front (:mod:`infra.web`: the API through ``lambda_handler``, signed blob links, the
browser app). The answer goes back as one ``http.response.start`` + one body.

The lifespan of each worker process starts the background runner (:mod:`infra.background`:
jobs that run once across all workers, under a lease in the store) and a watchdog that shuts
the worker down gracefully when its parent (the supervisor) is gone.

Configuration comes from the environment, set by ``billow serve`` before it spawns workers:
``BILLOW_FRONTEND_DIR``, ``BILLOW_THREADS`` (threads per worker, default 8),
``BILLOW_BIND_HOST``, ``BILLOW_ALLOWED_HOSTS``, ``BILLOW_TRUSTED_PROXIES``,
``BILLOW_BACKGROUND`` (``0``: no background jobs in this server).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from infra import web

log = logging.getLogger("billow.server")

Scope = dict[str, Any]

_API_METHODS = {"POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class BillowApp:
    def __init__(self) -> None:
        self.frontend_dir = Path(os.environ.get("BILLOW_FRONTEND_DIR") or web.FRONTEND_DIR)
        self.gate = web.Gate.from_env(os.environ.get("BILLOW_BIND_HOST", "127.0.0.1"))
        threads = int(os.environ.get("BILLOW_THREADS") or 8)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="billow")
        self.runner: Any = None
        self._watchdog_stop = threading.Event()

    # --- ASGI -------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        response = await self._handle(scope, receive)
        if response is None:  # the client went away before its request was complete
            return
        head = scope["method"] == "HEAD"
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in response.final_headers()
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"" if head else response.body})

    async def _handle(self, scope: Scope, receive: Any) -> web.Response | None:
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        headers: dict[str, str] = {}
        for name, value in pairs:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        if "transfer-encoding" in headers:
            # Refused as before: one framing only (Content-Length), so a proxy in front and this
            # server can never disagree on where a request ends.
            return web.json_error(
                400,
                "bad_request",
                "send the body with Content-Length, not Transfer-Encoding",
                close=True,
            )
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            return web.json_error(400, "bad_request", "Content-Length is not a number", close=True)
        if length < 0 or length > web.MAX_BODY:
            return web.json_error(
                413, "payload_too_large", "the request body is larger than 1 MiB", close=True
            )
        peer = (scope.get("client") or ("127.0.0.1", 0))[0]
        source_ip, scheme, host = self.gate.client(
            peer, scope.get("scheme", "http"), headers.get("host", ""), headers
        )
        if not self.gate.host_allowed(host):
            return web.json_error(
                400,
                "bad_request",
                "the Host header names no host this server answers for (see BILLOW_ALLOWED_HOSTS)",
            )
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > web.MAX_BODY:
                return web.json_error(
                    413, "payload_too_large", "the request body is larger than 1 MiB", close=True
                )
        method = scope["method"]
        path = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        loop = asyncio.get_running_loop()
        if method in ("GET", "HEAD") and not web.is_api_path(path):
            return await loop.run_in_executor(
                self.executor, web.serve_file_or_blob, self.frontend_dir, path, query
            )
        if method in ("GET", "HEAD") or method in _API_METHODS:
            # as on AWS, the function sees the client's address and scheme in X-Forwarded-*
            # headers set by the front, never the ones a client sent
            pairs_for_api = [
                (k, v) for k, v in pairs if k != "host" and not k.startswith("x-forwarded-")
            ] + [("host", host), ("x-forwarded-for", source_ip), ("x-forwarded-proto", scheme)]
            return await loop.run_in_executor(
                self.executor,
                lambda: web.call_api(
                    method,
                    path,
                    query,
                    pairs_for_api,
                    bytes(body),
                    domain=host,
                    source_ip=source_ip,
                ),
            )
        return web.json_error(501, "not_implemented", f"method {method} is not supported")

    # --- lifespan ---------------------------------------------------------------------------
    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self._startup()
                except Exception as exc:
                    log.exception("worker startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self._shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _startup(self) -> None:
        parent = os.getppid()
        threading.Thread(
            target=self._watch_parent, args=(parent,), name="parent-watchdog", daemon=True
        ).start()
        if os.environ.get("BILLOW_BACKGROUND", "1") != "0":
            from infra.background import Runner
            from infra.jobs import registered_jobs

            self.runner = Runner(registered_jobs())
            self.runner.start()

    def _shutdown(self) -> None:
        """After the last in-flight request: stop background work at a safe point, release
        its leases, and let the request threads finish."""
        self._watchdog_stop.set()
        if self.runner is not None:
            self.runner.stop(timeout=float(os.environ.get("BILLOW_JOB_STOP_SECONDS") or 4))
        self.executor.shutdown(wait=True)

    def _watch_parent(self, parent: int) -> None:
        """A worker whose supervisor died (SIGKILL, OOM) shuts itself down gracefully instead of
        serving on, unsupervised, from an orphaned process."""
        while not self._watchdog_stop.wait(0.5):
            if os.getppid() != parent:
                log.warning("the supervisor %s is gone: shutting down", parent)
                os.kill(os.getpid(), signal.SIGTERM)
                return


app = BillowApp()
