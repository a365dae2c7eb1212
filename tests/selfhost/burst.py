"""A write burst against ``billow serve``: threads creating and finalizing invoices, each answer
recorded with when it arrived."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.hardening.support import LINES, Serve
from tests.support.params import client_params, entity_params


@dataclass
class Ack:
    action: str
    invoice_id: str
    number: str | None
    at: float  # time.monotonic() when the 2xx answer arrived


@dataclass
class Burst:
    serve: Serve
    key: str
    entity_id: str
    client_id: str
    threads: int = 12
    acks: list[Ack] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def prepare(cls, serve: Serve, **kw: Any) -> Burst:
        key = serve.sign_in("owner@example.com")
        entity = serve.ok("entity.create", key, **entity_params())
        client = serve.ok("client.create", key, **client_params(vat_number=None))
        return cls(serve, key, entity["id"], client["id"], **kw)

    def _post(self, http: requests.Session, action: str, **params: Any) -> dict[str, Any] | None:
        try:
            res = http.post(
                f"{self.serve.url}/api",
                json={"action": action, **params},
                headers={"Authorization": f"Bearer {self.key}"},
                timeout=60,
            )
        except requests.RequestException as exc:  # refused or cut: not acknowledged
            with self._lock:
                self.failures.append(f"{action}: {type(exc).__name__}")
            return None
        if res.status_code // 100 != 2:
            with self._lock:
                self.failures.append(f"{action}: {res.status_code}")
            return None
        return res.json()

    def _work(self) -> None:
        http = requests.Session()
        while not self.stop.is_set():
            draft = self._post(
                http,
                "invoice.create",
                entity_id=self.entity_id,
                client_id=self.client_id,
                lines=LINES,
            )
            if draft is None:
                if self.stop.wait(0.05):
                    return
                continue
            with self._lock:
                self.acks.append(Ack("create", draft["id"], None, time.monotonic()))
            done = self._post(http, "invoice.finalize", invoice_id=draft["id"])
            if done is not None:
                with self._lock:
                    self.acks.append(Ack("finalize", done["id"], done["number"], time.monotonic()))

    def start(self) -> None:
        for i in range(self.threads):
            t = threading.Thread(target=self._work, name=f"burst-{i}", daemon=True)
            t.start()
            self._workers.append(t)

    def wait_for(self, finalized: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if sum(a.action == "finalize" for a in self.acks) >= finalized:
                    return
            time.sleep(0.05)
        raise AssertionError(f"the burst did not reach {finalized} finalized invoices")

    def finish(self) -> None:
        self.stop.set()
        for t in self._workers:
            t.join(timeout=120)
