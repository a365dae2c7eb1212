"""Fixtures for the browser tests: a real ``billow serve`` and headless Debian Chromium.

The server runs as a subprocess on a free port with its own data directory, so tests can run
in parallel under pytest-xdist. Sign-in links are read from the server's outbox (``.eml``).
"""

from __future__ import annotations

import email
import email.message
import email.policy
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "tests" / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("BILLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_WAIT_S = 30.0
MAIL_WAIT_S = 15.0


@dataclass
class BillowServer:
    url: str
    data_dir: Path
    process: subprocess.Popen[str]

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox"


def _billow_available() -> str | None:
    """Why the server cannot be started, or None when it can."""
    for module in ("infra.cli", "infra.server", "functions.api.handler"):
        try:
            if importlib.util.find_spec(module) is None:
                return f"billow is not importable yet ({module} missing)"
        except ModuleNotFoundError:
            return f"billow is not importable yet ({module} missing)"
    return None


def _billow_command() -> list[str]:
    exe = Path(sys.executable).with_name("billow")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", "infra.cli"]


VIES_PATH = "/taxation_customs/vies/rest-api/check-vat-number"
VIES_CONSULTATION = "WAPIAAAAZ7Q2XK1"


@pytest.fixture(scope="session")
def vies_url() -> Iterator[str]:
    """A VIES look-alike on loopback: every well-formed number is valid, with evidence."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                asked = json.loads(raw)
            except ValueError:
                asked = {}
            body = json.dumps(
                {
                    "countryCode": asked.get("countryCode", ""),
                    "vatNumber": asked.get("vatNumber", ""),
                    "requestDate": "2026-11-21T07:00:00.000Z",
                    "valid": True,
                    "requestIdentifier": VIES_CONSULTATION,
                    "name": "SOCIETE EXEMPLE SA",
                    "address": "12 RUE DE LA PAIX\n75002 PARIS",
                    "userError": "VALID",
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}{VIES_PATH}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def billow_server(
    tmp_path_factory: pytest.TempPathFactory, vies_url: str
) -> Iterator[BillowServer]:
    external = os.environ.get("BILLOW_TEST_SERVER_URL")
    if external:  # run against an already running server (its data dir must be local)
        yield BillowServer(
            url=external.rstrip("/"),
            data_dir=Path(os.environ["BILLOW_TEST_DATA_DIR"]),
            process=None,
        )  # type: ignore[arg-type]
        return
    reason = _billow_available()
    if reason:
        pytest.skip(reason)
    data_dir = tmp_path_factory.mktemp("billow-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLOW_")}
    env["BILLOW_VIES_URL"] = vies_url
    yield from run_server(data_dir, env, ["--data-dir", str(data_dir)])


def run_server(data_dir: Path, env: dict[str, str], args: list[str]) -> Iterator[BillowServer]:
    """``billow serve`` on a free port with ``env`` (its store and mail: ``args`` or the
    environment), until the generator is closed."""
    env = {**env, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*_billow_command(), "serve", "--host", "127.0.0.1", "--port", "0", *args, "--quiet"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = None
    log: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        log.append(line)
        m = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if m:
            url = m.group(1)
            break
    if url is None:
        proc.wait()
        pytest.fail("billow serve did not start:\n" + "".join(log))
    # keep draining the output so the server never blocks on a full pipe
    threading.Thread(target=lambda: [log.append(x) for x in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + STARTUP_WAIT_S
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as res:
                if res.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("billow serve never answered /health:\n" + "".join(log))
        time.sleep(0.1)
    try:
        yield BillowServer(url=url, data_dir=data_dir, process=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    # Waits are bounds on conditions, never measurements: on a CI machine running two workers
    # (a PDF render, a mail, SQLite fsyncs behind each click) 5 s was seen to run out for a
    # sign-in mail. A generous bound costs nothing when the condition comes sooner.
    expect.set_options(timeout=30_000)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(
        viewport={"width": 1360, "height": 900}, accept_downloads=True, locale="en-US"
    )
    ctx.set_default_timeout(30_000)  # clicks and waits: the same bound as expect's
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context):
    """A page that records console errors and any JavaScript dialog (none may appear)."""
    pg = context.new_page()
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.dialogs = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))

    def on_dialog(dialog):
        pg.dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    return pg


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def find_mail(
    outbox: Path, to: str, after: float = 0.0, predicate=None
) -> email.message.EmailMessage:
    """The newest mail to ``to`` in the outbox written after ``after`` (waits for it)."""
    deadline = time.monotonic() + MAIL_WAIT_S
    while True:
        candidates = sorted(
            (p for p in outbox.glob("*.eml") if p.stat().st_mtime >= after),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for path in candidates:
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to.lower() not in str(msg.get("To", "")).lower():
                continue
            if predicate is None or predicate(msg):
                return msg
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {to} in {outbox}")
        time.sleep(0.1)


def mail_text(msg: email.message.EmailMessage) -> str:
    return "\n".join(p.get_content() for p in msg.walk() if p.get_content_maintype() == "text")


LINK = re.compile(r"https?://[^\s\"'<>]+[?&]token=[A-Za-z0-9_\-.~%]+")


def mail_link(outbox: Path, to: str, after: float = 0.0) -> str:
    """The sign-in link of the newest mail to ``to`` in the outbox (waits for it to arrive)."""
    msg = find_mail(outbox, to, after, lambda m: LINK.search(mail_text(m)) is not None)
    return LINK.search(mail_text(msg)).group(0)
