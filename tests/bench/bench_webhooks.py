"""Webhooks and the hosted page: what each costs beside a baseline measured in the same run.

    .venv/bin/python tests/bench/bench_webhooks.py [--quick]

- ``commit + outbox event``: one SQLite commit of an invoice change with its timeline event,
  plus the outbox event (the envelope with the invoice, as the wiring will write it in the same
  commit) — against the same commit without it;
- ``sign one event``: ``standardwebhooks`` headers for a 3 KB body — against a bare HMAC-SHA256;
- ``deliveries per second``: one worker thread calling :func:`deliver` (parse, resolve, SSRF
  check, pinned connection, signature, 4 KiB read) to a receiver on loopback — against a bare
  ``http.client`` POST of the same body to the same receiver;
- ``hosted page``: rendering the invoice page from ``invoice.get`` JSON — against the PDF of
  the same invoice.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from functions.hosted.pages import render_invoice_page
from functions.pdf.render import render_invoice_pdf
from functions.webhooks.delivery import deliver
from functions.webhooks.events import build_event, event_body
from functions.webhooks.scan import scan_due
from functions.webhooks.signing import new_secret, signature_headers
from storage_adapter.sqlite import SqliteStore
from tests.bench.common import Row, report
from tests.pdf.samples import make_invoice


def median_of(fn, n: int) -> float:
    times = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def commit_rows(n: int) -> list[Row]:
    invoice = make_invoice(5)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "billow.db")
        try:

            def change(i: int, with_event: bool) -> None:
                key = f"inv_{'e' if with_event else 'p'}{i:06d}"

                def run(tx) -> None:
                    tx.put("invoices", key, invoice, account_id="acct_1", expected_version=0)
                    tx.append(f"timeline:{key}", {"type": "paid", "at": "2026-11-21T07:00:00Z"})
                    if with_event:
                        event = build_event(
                            event_id=f"evt_{i:06d}",
                            event_type="invoice.paid",
                            account_id="acct_1",
                            record=invoice,
                            created_at=datetime(2026, 11, 21, 7, tzinfo=UTC),
                        )
                        tx.put(
                            "webhook_events",
                            event["id"],
                            {**event, "body": event_body(event)},
                            account_id="acct_1",
                            expected_version=0,
                        )

                store.transaction(run)

            for i in range(20):  # warm up
                change(100000 + i, True)
                change(100000 + i, False)
            plain = median_of(lambda i: change(i, False), n)
            evented = median_of(lambda i: change(i, True), n)
        finally:
            store.close()
    return [
        Row(
            "webhooks",
            "commit + outbox event (SQLite)",
            evented,
            plain,
            "same commit without the event",
            note="one more record in the same transaction",
        )
    ]


def service_commit_rows(n: int) -> list[Row]:
    """The real service path: ``invoice.record_payment`` (a finalized invoice: read, domain,
    versioned write, timeline event, and its ``invoice.payment_recorded`` outbox event with the
    whole invoice) — against the same action with the outbox staging switched off."""
    from functions.services import timeline
    from tests.invoices.support import act, draft, make_ctx, seed

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "billow.db")
        try:
            ctx = make_ctx(store)
            ids = seed(ctx)
            invoices = [
                act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"])["id"]
                for _ in range(4)
            ]
            staged = timeline.stage_event

            def pay(i: int) -> None:
                act(ctx, "invoice.record_payment", invoice_id=invoices[i % 4], amount="0.01")

            def without(i: int) -> None:
                timeline.stage_event = lambda *a, **k: None
                try:
                    pay(i)
                finally:
                    timeline.stage_event = staged

            for i in range(20):  # warm up
                pay(i)
                without(i)
            evented = median_of(pay, n)
            plain = median_of(without, n)
            events = len(store.query("webhook_events", account_id=None).items)
            assert events >= n  # the evented runs really staged their events
        finally:
            store.close()
    return [
        Row(
            "webhooks",
            "record_payment + outbox event (service, SQLite)",
            evented,
            plain,
            "same action, no outbox event",
            note="the event carries the whole invoice (JSON) in the same commit",
        )
    ]


def sign_rows(n: int) -> list[Row]:
    secret = new_secret()
    body = event_body(
        build_event(
            event_id="evt_1",
            event_type="invoice.paid",
            account_id="acct_1",
            record=make_invoice(5),
            created_at=datetime.now(UTC),
        )
    )
    key = hashlib.sha256(secret.encode()).digest()
    now = datetime.now(UTC)
    ours = median_of(lambda i: signature_headers(secret, f"evt_{i}", body, now), n)
    bare = median_of(
        lambda i: hmac.new(key, f"evt_{i}.1.{body}".encode(), hashlib.sha256).digest(), n
    )
    return [
        Row(
            "webhooks", f"sign one event ({len(body)} B)", ours, bare, "bare HMAC-SHA256", unit="µs"
        )
    ]


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


def delivery_rows(n: int, reps: int) -> list[Row]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    secret = new_secret()
    body = event_body(
        build_event(
            event_id="evt_1",
            event_type="invoice.paid",
            account_id="acct_1",
            record=make_invoice(5),
            created_at=datetime.now(UTC),
        )
    )
    url = f"http://127.0.0.1:{port}/hook"

    def ours() -> None:
        result = deliver(url, event_id="evt_1", body=body, secret=secret, allow_local=True)
        assert result.ok, result.error

    def bare() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/hook", body=body.encode(), headers={"Connection": "close"})
        conn.getresponse().read()
        conn.close()

    def rate(fn) -> float:
        runs = []
        for _ in range(reps):
            started = time.perf_counter()
            for _ in range(n):
                fn()
            runs.append(n / (time.perf_counter() - started))
        return statistics.median(runs)

    def through_worker() -> float:
        """Events committed to SQLite, then one worker pass: fan-out, claim, attempt, record."""
        import os
        import random

        from functions.services.common import new_id
        from functions.webhooks import worker
        from functions.webhooks.sealing import LocalSealer, webhook_context

        sealer = LocalSealer(os.urandom(32))
        with tempfile.TemporaryDirectory() as tmp:
            store = SqliteStore(Path(tmp) / "billow.db")
            try:
                store.put(
                    worker.WEBHOOKS,
                    "wh_1",
                    {
                        "url": url,
                        "events": ["*"],
                        "status": "enabled",
                        "created_at": "2026-01-01T00:00:00Z",
                        "secret_sealed": sealer.seal(
                            secret, context=webhook_context("acct_1", "wh_1")
                        ),
                    },
                    account_id="acct_1",
                    expected_version=0,
                )
                at = datetime.now(UTC)
                for i in range(n):

                    def commit(tx, i=i) -> None:
                        rec = tx.put(
                            "invoices",
                            f"inv_{i:06d}",
                            {"status": "paid"},
                            account_id="acct_1",
                            expected_version=0,
                        )
                        worker.stage_event(
                            tx,
                            event_id=f"evt_{i:06d}",
                            object_name="invoice",
                            timeline_type="paid",
                            record=rec,
                            representation=rec.data,
                            at=at,
                        )

                    store.transaction(commit)
                w = worker.Worker(
                    store,
                    sealer,
                    new_id,
                    send=lambda *a, **k: deliver(*a, allow_local=True, **k),
                    rng=random.Random(1),
                    due=scan_due(store),
                )
                started = time.perf_counter()
                summary = w.run_once()
                elapsed = time.perf_counter() - started
                assert summary.delivered == n, summary
            finally:
                store.close()
        return n / elapsed

    try:
        for _ in range(20):
            ours()
            bare()
        ours_rate, bare_rate = rate(ours), rate(bare)
        worker_rate = statistics.median(through_worker() for _ in range(reps))
    finally:
        server.shutdown()
        server.server_close()
    return [
        Row(
            "webhooks",
            "worker pass per delivery (SQLite, loopback)",
            worker_rate,
            ours_rate,
            "deliver() alone",
            ratio=ours_rate / worker_rate,
            note="fan-out + claim + attempt + record; ratio = time vs deliver() alone",
            unit="/s",
        ),
        Row(
            "webhooks",
            "deliveries per second (1 worker, loopback)",
            ours_rate,
            bare_rate,
            "bare http.client POST",
            ratio=bare_rate / ours_rate,
            note="ratio = time per delivery vs bare",
            unit="/s",
        ),
    ]


def hosted_rows(n: int) -> list[Row]:
    invoice = json.loads(json.dumps(make_invoice(5)))

    def variant(i: int) -> dict:
        return {**invoice, "number": f"INV-2026-{i:05d}", "amount_due": f"{7000 + i}.00"}

    render_invoice_page(variant(0))
    render_invoice_pdf(variant(0))
    page = median_of(lambda i: render_invoice_page(variant(i + 1)), n)
    pdf = median_of(lambda i: render_invoice_pdf(variant(i + 1)), max(10, n // 4))
    return [Row("hosted", "invoice page (5 lines, QR)", page, pdf, "PDF of the same invoice")]


def rows(quick: bool = False) -> list[Row]:
    n_commit, n_sign, n_deliver, reps, n_page = (
        (100, 500, 100, 1, 40) if quick else (400, 3000, 300, 3, 200)
    )
    return [
        *commit_rows(n_commit),
        *service_commit_rows(n_commit // 2),
        *sign_rows(n_sign),
        *delivery_rows(n_deliver, reps),
        *hosted_rows(n_page),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    return report(rows(args.quick))


if __name__ == "__main__":
    raise SystemExit(main())
