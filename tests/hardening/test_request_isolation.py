"""Every request of ``billow serve`` is its own (issue 13).

Two accounts drive one ``billow serve`` from 40 threads at once: list, get, create, update,
finalize and idempotent retries, several thousand calls. Each record carries its owner's tag
(in ``metadata``) and each write a marker unique to that call, so an answer holding the other
account's record, another request's record or another request's stored idempotent response is
caught, as is any status other than the one expected.

The server used to keep the current request in process-wide state (Powertools' router class
attribute, the Logger's keys, the idempotency layer's config): under load one thread read
another's body, Authorization or Idempotency-Key header.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.hardening.support import Serve
from tests.support.moto_server import create_bucket, create_table, store_url
from tests.support.params import client_params, entity_params

pytestmark = pytest.mark.slow

THREADS = 40
CALLS_PER_THREAD = 80  # 3,200 calls, plus the retries of idempotent writes
LINES = [{"description": "Work", "quantity": "2", "unit_price": "50.00"}]


@dataclass
class Account:
    tag: str
    key: str
    entity_id: str
    client_id: str
    invoice_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def known(self) -> list[str]:
        with self.lock:
            return list(self.invoice_ids)

    def add(self, invoice_id: str) -> None:
        with self.lock:
            self.invoice_ids.append(invoice_id)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    server = Serve(tmp_path / "data", tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def serve_dynamodb(tmp_path: Path, moto_endpoint: str) -> Iterator[Serve]:
    url = store_url(moto_endpoint, create_table(moto_endpoint), create_bucket(moto_endpoint))
    server = Serve(tmp_path / "data", tmp_path, store_url=url)
    try:
        yield server
    finally:
        server.stop()


def _account(serve: Serve, tag: str) -> Account:
    key = serve.sign_in(f"{tag}@example.com")
    entity = serve.ok("entity.create", key, **entity_params(name=f"Seller {tag}"))
    client = serve.ok("client.create", key, **client_params(name=f"Buyer {tag}", vat_number=None))
    account = Account(tag, key, entity["id"], client["id"])
    for i in range(10):
        draft = serve.ok(
            "invoice.create",
            key,
            entity_id=entity["id"],
            client_id=client["id"],
            lines=LINES,
            metadata={"owner": tag},
            notes=f"{tag}-seed-{i}",
        )
        account.add(draft["id"])
    return account


class Worker:
    """One client thread of one account; records every wrong answer it sees."""

    def __init__(
        self,
        serve: Serve,
        account: Account,
        other: Account,
        n: int,
        calls: int,
        request_timeout: float = 120,
    ) -> None:
        self.url = f"{serve.url}/api"
        self.request_timeout = request_timeout
        self.calls_to_make = calls
        self.account = account
        self.other = other
        self.n = n
        self.rng = random.Random(n)
        self.http = requests.Session()
        self.drafts: list[tuple[str, int]] = []  # this thread's own drafts: (id, version)
        self.problems: list[str] = []
        self.calls = 0

    def post(
        self, action: str, idempotency_key: str | None = None, **params: Any
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.account.key}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        res = self.http.post(
            self.url,
            json={"action": action, **params},
            headers=headers,
            timeout=self.request_timeout,
        )
        self.calls += 1
        return res.status_code, res.json()

    def expect(self, what: str, ok: bool, body: Any) -> None:
        if not ok:
            self.problems.append(f"{self.account.tag}#{self.n} {what}: {json.dumps(body)[:400]}")

    def check_record(self, what: str, body: Any, invoice_id: str | None = None) -> None:
        """A record of this account (owner tag, entity) and, if given, the one asked for."""
        owner = (body.get("metadata") or {}).get("owner") if isinstance(body, dict) else None
        self.expect(f"{what}: owner", owner == self.account.tag, body)
        self.expect(f"{what}: entity", body.get("entity_id") == self.account.entity_id, body)
        if body.get("id") in self.other.known():
            self.problems.append(f"{what}: answered the other account's {body.get('id')}")
        if invoice_id is not None:
            self.expect(f"{what}: id", body.get("id") == invoice_id, body)

    # --- operations -------------------------------------------------------------------------
    def create(self, idempotent: bool = False) -> None:
        marker = f"{self.account.tag}-{self.n}-{uuid.uuid4().hex}"
        params = {
            "entity_id": self.account.entity_id,
            "client_id": self.account.client_id,
            "lines": LINES,
            "metadata": {"owner": self.account.tag},
            "notes": marker,
        }
        key = uuid.uuid4().hex if idempotent else None
        status, body = self.post("invoice.create", key, **params)
        self.expect("create: status", status == 200, body)
        if status != 200:
            return
        self.check_record("create", body)
        self.expect("create: marker", body.get("notes") == marker, body)
        self.account.add(body["id"])
        self.drafts.append((body["id"], body["version"]))
        if idempotent:  # the retry answers the first response, whatever ran in between
            status2, again = self.post("invoice.create", key, **params)
            self.expect("retry: status", status2 == 200, again)
            self.expect("retry: same response", again == body, {"first": body, "retry": again})

    def update(self) -> None:
        if not self.drafts:
            return self.create()
        i = self.rng.randrange(len(self.drafts))
        invoice_id, version = self.drafts[i]
        marker = f"{self.account.tag}-{self.n}-upd-{uuid.uuid4().hex}"
        status, body = self.post(
            "invoice.update", invoice_id=invoice_id, version=version, notes=marker
        )
        self.expect("update: status", status == 200, body)
        if status == 200:
            self.check_record("update", body, invoice_id)
            self.expect("update: marker", body.get("notes") == marker, body)
            self.expect("update: version", body.get("version") == version + 1, body)
            self.drafts[i] = (invoice_id, body.get("version", version + 1))

    def finalize(self) -> None:
        if not self.drafts:
            return self.create()
        invoice_id, _ = self.drafts.pop(self.rng.randrange(len(self.drafts)))
        status, body = self.post("invoice.finalize", invoice_id=invoice_id)
        self.expect("finalize: status", status == 200, body)
        if status == 200:
            self.check_record("finalize", body, invoice_id)
            self.expect("finalize: open", body.get("status") == "open", body)
            self.expect("finalize: number", bool(body.get("number")), body)

    def get(self) -> None:
        invoice_id = self.rng.choice(self.account.known())
        status, body = self.post("invoice.get", invoice_id=invoice_id)
        self.expect("get: status", status == 200, body)
        if status == 200:
            self.check_record("get", body, invoice_id)

    def list(self) -> None:
        status, body = self.post("invoice.list", limit=100)
        self.expect("list: status", status == 200, body)
        if status == 200:
            for item in body["items"]:
                self.check_record("list item", item)

    def run(self, start: threading.Barrier) -> None:
        ops = [self.list, self.get, self.get, self.create, self.update, self.finalize]
        start.wait(timeout=120)
        try:
            for _ in range(self.calls_to_make):
                op = self.rng.choice([*ops, lambda: self.create(idempotent=True)])
                op()
        except Exception as exc:  # a dropped connection or a non-JSON answer is a failure too
            self.problems.append(f"{self.account.tag}#{self.n} crashed: {exc!r}")
        finally:
            self.http.close()


def test_two_accounts_under_concurrent_load_only_ever_see_their_own(serve: Serve) -> None:
    _hammer(serve, CALLS_PER_THREAD)


def test_the_same_on_dynamodb(serve_dynamodb: Serve) -> None:
    """The same kind of load, smaller (moto serves one request at a time, and each of its
    transactions copies the whole table), on DynamoDB + S3: the store's shared boto3 clients
    carry every thread's calls. 16 clients: since every commit also writes its index, aggregate,
    ledger and outbox items, a finalize queued behind 31 others on moto's one lock was seen to
    wait over 120 s on a loaded machine; the wait bound is a bound, not a measurement."""
    _hammer(serve_dynamodb, 10, clients=16, request_timeout=400)


def _hammer(
    serve: Serve, calls_per_thread: int, clients: int = THREADS, request_timeout: float = 120
) -> None:
    a, b = _account(serve, "alpha"), _account(serve, "bravo")
    workers = [
        Worker(
            serve,
            a if n % 2 == 0 else b,
            b if n % 2 == 0 else a,
            n,
            calls_per_thread,
            request_timeout,
        )
        for n in range(clients)
    ]
    start = threading.Barrier(clients)
    threads = [threading.Thread(target=w.run, args=(start,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=1200)
    problems = [p for w in workers for p in w.problems]
    calls = sum(w.calls for w in workers)
    assert calls >= clients * calls_per_thread
    kinds = Counter(p.split(" ", 1)[1].split(":", 1)[0] for p in problems)
    assert not problems, f"{len(problems)} wrong answers in {calls} calls {dict(kinds)}:\n" + (
        "\n".join(problems[:20])
    )

    # every finalize took its own number: per account the numbers are 1..n, once each
    for account in (a, b):
        items, page_no, pages = [], 1, 1
        while page_no <= pages:
            page = serve.ok("invoice.list", account.key, status="open", limit=100, page=page_no)
            items += page["items"]
            pages, page_no = page["pages"], page_no + 1
        numbers = [item["number"] for item in items]
        assert len(numbers) == page["total"] > 0
        assert sorted(int(n[-4:]) for n in numbers) == list(range(1, len(numbers) + 1))
        assert {item["metadata"]["owner"] for item in items} == {account.tag}


def test_concurrent_retries_with_their_own_idempotency_keys_get_their_own_responses(
    serve: Serve,
) -> None:
    """Many writes with distinct Idempotency-Keys at the same moment, each retried at once:
    every retry answers its own first response (never another key's stored one), and each key
    created exactly one invoice."""
    a, b = _account(serve, "alpha"), _account(serve, "bravo")
    rounds, problems = 15, []
    created: Counter[str] = Counter()
    lock = threading.Lock()

    def client(n: int, start: threading.Barrier) -> None:
        account = a if n % 2 == 0 else b
        http = requests.Session()
        for r in range(rounds):
            key = f"{account.tag}-{n}-{r}-{uuid.uuid4().hex}"
            body = {
                "action": "invoice.create",
                "entity_id": account.entity_id,
                "client_id": account.client_id,
                "lines": LINES,
                "metadata": {"owner": account.tag},
                "notes": key,
            }
            headers = {"Authorization": f"Bearer {account.key}", "Idempotency-Key": key}
            if r == 0:
                start.wait(timeout=120)
            answers = [
                http.post(f"{serve.url}/api", json=body, headers=headers, timeout=120)
                for _ in range(2)
            ]
            for res in answers:
                data = res.json()
                if res.status_code != 200 or data.get("notes") != key:
                    with lock:
                        problems.append(f"{key}: {res.status_code} {json.dumps(data)[:300]}")
            ids = {res.json().get("id") for res in answers}
            if len(ids) != 1:
                with lock:
                    problems.append(f"{key}: the retry answered another invoice: {ids}")
            with lock:
                created.update(i for i in ids if i)
        http.close()

    start = threading.Barrier(32)
    threads = [threading.Thread(target=client, args=(n, start)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not problems, "\n".join(problems[:20])
    # one invoice per key: 32 clients x rounds, and every stored one is its key's
    for account in (a, b):
        status, page = serve.call("invoice.list", account.key, limit=100, page=1)
        assert status == 200
        total = page["total"]
        assert total == 10 + 16 * rounds, total  # 10 seeded drafts + one per key


def test_log_lines_of_concurrent_requests_carry_their_own_correlation_ids(serve: Serve) -> None:
    """The request log line of each call carries the correlation id that its answer names in
    ``X-Request-Id``, with that call's own action and account."""
    a, b = _account(serve, "alpha"), _account(serve, "bravo")
    answers: list[tuple[str, str, str]] = []  # (request id, action, account tag)
    lock = threading.Lock()
    accounts_by_key = {a.key: a, b.key: b}

    def client(n: int, start: threading.Barrier) -> None:
        account = a if n % 2 == 0 else b
        http = requests.Session()
        start.wait(timeout=120)
        for i in range(20):
            action = ("invoice.list", "invoice.get", "auth.me")[(n + i) % 3]
            params: dict[str, Any] = {}
            if action == "invoice.get":
                params["invoice_id"] = account.invoice_ids[i % len(account.invoice_ids)]
            res = http.post(
                f"{serve.url}/api",
                json={"action": action, **params},
                headers={"Authorization": f"Bearer {account.key}"},
                timeout=120,
            )
            assert res.status_code == 200, res.text
            with lock:
                answers.append((res.headers["X-Request-Id"], action, account.tag))
        http.close()

    start = threading.Barrier(32)
    threads = [threading.Thread(target=client, args=(n, start)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert len(answers) == 32 * 20
    account_ids = {
        serve.ok("auth.me", key)["account_id"]: acct.tag for key, acct in accounts_by_key.items()
    }
    lines: dict[str, list[dict[str, Any]]] = {}
    for raw in serve.log_path.read_text().splitlines():
        if not raw.startswith("{"):
            continue
        line = json.loads(raw)
        if line.get("message") == "request handled":
            lines.setdefault(line.get("correlation_id"), []).append(line)
    wrong = []
    for request_id, action, tag in answers:
        logged = lines.get(request_id, [])
        if len(logged) != 1:
            wrong.append(f"{request_id}: {len(logged)} log lines")
            continue
        line = logged[0]
        if line.get("action") != action or account_ids.get(line.get("account_id")) != tag:
            wrong.append(f"{request_id} ({action}, {tag}) logged as {line}")
    assert not wrong, f"{len(wrong)} of {len(answers)}:\n" + "\n".join(wrong[:10])
