"""A VIES look-alike: a real HTTP server on 127.0.0.1 (free port) that plays scripted answers.

Each request is recorded (path and JSON body). Answers are taken from ``script`` in order; the
last one repeats. An answer is ``(status, body)`` where body is a dict (sent as JSON), a str
(sent as is), or the ``HANG`` marker: the server then holds the request until the test ends.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

HANG = object()
CHECK_PATH = "/taxation_customs/vies/rest-api/check-vat-number"


def valid_answer(country: str, number: str, **extra: Any) -> dict[str, Any]:
    body = {
        "countryCode": country,
        "vatNumber": number,
        "requestDate": "2026-11-21T07:00:00.000Z",
        "valid": True,
        "requestIdentifier": "",
        "name": "ACME GMBH",
        "address": "HAUPTSTR. 1\n10115 BERLIN",
        "traderName": "",
        "traderStreet": "",
        "traderPostalCode": "",
        "traderCity": "",
        "traderCompanyType": "",
        "traderNameMatch": "NOT_PROCESSED",
        "traderStreetMatch": "NOT_PROCESSED",
        "traderPostalCodeMatch": "NOT_PROCESSED",
        "traderCityMatch": "NOT_PROCESSED",
        "traderCompanyTypeMatch": "NOT_PROCESSED",
        "userError": "VALID",
    }
    body.update(extra)
    return body


def invalid_answer(country: str, number: str) -> dict[str, Any]:
    return valid_answer(
        country, number, valid=False, name="---", address="---", userError="INVALID"
    )


def error_wrapper(code: str) -> dict[str, Any]:
    return {
        "actionSucceed": False,
        "errorWrappers": [{"error": code, "message": f"{code}: please re-submit later"}],
    }


@dataclass
class ViesLookalike:
    url: str
    script: list[tuple[int, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_with(self, *answers: tuple[int, Any]) -> None:
        self.script = list(answers)

    def next_answer(self) -> tuple[int, Any]:
        with self.lock:
            if not self.script:
                return 500, "no scripted answer"
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@pytest.fixture
def vies() -> Iterator[ViesLookalike]:
    state: ViesLookalike

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            with state.lock:
                state.requests.append({"path": self.path, "body": body})
            status, answer = state.next_answer()
            if answer is HANG:
                state.release.wait(timeout=30)
                return
            if isinstance(answer, str):
                payload, ctype = answer.encode(), "text/html"
            else:
                payload, ctype = json.dumps(answer).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    state = ViesLookalike(url=f"http://{host}:{port}{CHECK_PATH}")
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def pauses() -> list[float]:
    """Back-off pauses the checker asked for; passed as its ``sleep`` so tests never wait."""
    return []
