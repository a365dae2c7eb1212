"""The outbox under ``billow serve`` (real processes, SIGKILL): a commit's webhook event is
delivered after the server that committed it was killed, and every document finalized during
a burst cut short by SIGKILL gets its PDF after the restart without anyone asking."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from storage_adapter.sqlite import SqliteStore
from tests.support.api import last_sign_in_token
from tests.support.params import entity_params
from tests.webhooks.conftest import make_receiver

REPO = Path(__file__).resolve().parents[2]
CLIENT = {
    "name": "Kunde GmbH",
    "email": "ap@kunde.example",
    "address": {"line1": "Markt 5", "postal_code": "80331", "city": "München", "country": "DE"},
}
LINES = [{"description": "Consulting", "quantity": "2", "unit_price": "100"}]


@dataclass
class Serve:
    url: str
    process: subprocess.Popen

    def kill(self) -> None:
        """SIGKILL the supervisor and its workers at once (no shutdown of any kind)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def start(data_dir: Path, cwd: Path, **env_extra: str) -> Serve:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLOW_")}
    env.update(
        BILLOW_MAIL_TRANSPORT="outbox",
        BILLOW_WEBHOOKS_ALLOW_LOCAL="1",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        **env_extra,
    )
    script = Path(sys.executable).parent / "billow"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "infra.cli"]
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", "0", "--data-dir", str(data_dir), "--quiet", "--workers", "2"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            break
        seen.append(line)
        if "running at " in line:
            url = line.split("running at ", 1)[1].split()[0].rstrip("/")
            return Serve(url, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("billow serve did not start:\n" + "".join(seen))


@pytest.fixture
def servers() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for s in started:
        if s.process.poll() is None:
            s.kill()


class Api:
    def __init__(self, url: str, data_dir: Path) -> None:
        self.url, self.data_dir = url, data_dir
        self.http = requests.Session()
        self.key: str | None = None

    def __call__(self, action: str, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        res = self.http.post(
            f"{self.url}/api", json={"action": action, **params}, headers=headers, timeout=60
        )
        assert res.status_code == 200, (action, res.status_code, res.text)
        return res.json()

    def sign_in(self, email: str) -> None:
        self("auth.login", email=email, callback_url=f"{self.url}/")
        token = last_sign_in_token(self.data_dir, email)
        self.key = self("auth.verify", token=token)["key"]


def wait_for(what: str, condition: Callable[[], bool], seconds: float = 120) -> None:
    """Wait until ``condition()`` holds (a bound for a hung test, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what}")
        time.sleep(0.1)


def test_the_event_of_a_commit_is_delivered_after_a_sigkill(tmp_path, servers):
    data_dir = tmp_path / "data"
    receiver = make_receiver("whsec_placeholder")
    try:
        # no background worker: the commit is made and nothing is delivered before the kill
        first = start(data_dir, tmp_path, BILLOW_BACKGROUND="0")
        servers.append(first)
        api = Api(first.url, data_dir)
        api.sign_in("owner@example.com")
        hook = api("webhook.create", url=receiver.url(), events=["invoice.finalized"])
        receiver.secret = hook["secret"]
        entity = api("entity.create", **entity_params())
        client = api("client.create", **CLIENT)
        draft = api("invoice.create", entity_id=entity["id"], client_id=client["id"], lines=LINES)
        final = api("invoice.finalize", invoice_id=draft["id"])
        first.kill()
        assert receiver.requests == []

        servers.append(start(data_dir, tmp_path))
        wait_for("the finalized event", lambda: len(receiver.requests) >= 1)
        [got] = receiver.requests
        assert got.verified
        body = json.loads(got.body)
        assert body["type"] == "invoice.finalized"
        assert body["data"]["object"]["number"] == final["number"]
        assert got.headers["webhook-id"] == body["id"]
    finally:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()


def test_every_document_finalized_in_a_killed_burst_gets_its_pdf(tmp_path, servers):
    data_dir = tmp_path / "data"
    first = start(data_dir, tmp_path)
    servers.append(first)
    api = Api(first.url, data_dir)
    api.sign_in("owner@example.com")
    entity = api("entity.create", **entity_params())
    client = api("client.create", **CLIENT)
    drafts = [
        api("invoice.create", entity_id=entity["id"], client_id=client["id"], lines=LINES)["id"]
        for _ in range(40)
    ]
    answered: list[str] = []
    killed = threading.Event()

    def finalize(invoice_id: str) -> None:
        if killed.is_set():
            return
        try:
            res = api.http.post(
                f"{first.url}/api",
                json={"action": "invoice.finalize", "invoice_id": invoice_id},
                headers={"Authorization": f"Bearer {api.key}"},
                timeout=60,
            )
        except requests.RequestException:
            return  # the server died under this request
        if res.status_code == 200:
            answered.append(invoice_id)
            if len(answered) == 10:
                killed.set()
                first.kill()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(finalize, drafts))
    assert killed.is_set() and first.process.poll() is not None

    db = data_dir / "billow.db"

    def finalized_without_pdf() -> tuple[int, int]:
        store = SqliteStore(db)
        try:
            docs = [
                r
                for r in store.query("invoices", account_id=None).items
                if r.data.get("status") != "draft"
            ]
            missing = [r for r in docs if not (r.data.get("pdf") or {}).get("sha256")]
            jobs_left = store.query("jobs", account_id=None).items
            return len(docs), len(missing) + len(jobs_left)
        finally:
            store.close()

    finalized, _left = finalized_without_pdf()
    assert finalized >= len(answered) >= 10

    servers.append(start(data_dir, tmp_path))
    wait_for("every PDF", lambda: finalized_without_pdf()[1] == 0)
    store = SqliteStore(db)
    try:
        for rec in store.query("invoices", account_id=None).items:
            if rec.data.get("status") == "draft":
                continue
            assert store.get_blob(rec.data["pdf"]["blob_key"]).data.startswith(b"%PDF")
            types = [e["type"] for e in store.events(f"timeline:{rec.key}")]
            assert types.count("pdf_rendered") == 1, rec.key
    finally:
        store.close()
