"""API function benchmarks: cold-start import cost and ``invoice.list`` on 10,000 invoices.

Run: ``.venv/bin/python tests/bench/bench_api.py`` (from the repository root).

1. Import time of ``functions.api.handler`` in a fresh interpreter, against ``import boto3``
   alone measured the same way in the same run (medians of 7 runs each, interleaved). Target:
   ratio ≤ 1.5. Also checks that importing the handler does not import reportlab.
2. ``invoice.list`` (``q`` + ``status`` filter + sort by ``total``) through the whole handler
   on an account with 10,000 invoices in the local SQLite store. Target: median ≤ 50 ms.

Prints a table; exits non-zero when a target is missed. ``python -m tests.bench`` takes only
the import rows (``bench_list`` times ``invoice.list`` through the service).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
RUNS = 7

from tests.bench.common import Row, report  # noqa: E402

_PROBE = """
import sys, time
t = time.perf_counter()
import {module}
elapsed = time.perf_counter() - t
print(elapsed, int("reportlab" in sys.modules), int("boto3" in sys.modules))
"""


def _import_once(module: str) -> tuple[float, bool, bool]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "0"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), out[1] == "1", out[2] == "1"


def bench_imports() -> list[Row]:
    _import_once("functions.api.handler")  # warm the bytecode caches once
    _import_once("boto3")
    handler, baseline = [], []
    reportlab_loaded = boto3_loaded = False
    for _ in range(RUNS):
        seconds, reportlab, boto3 = _import_once("functions.api.handler")
        handler.append(seconds)
        reportlab_loaded |= reportlab
        boto3_loaded |= boto3
        baseline.append(_import_once("boto3")[0])
    h, b = statistics.median(handler), statistics.median(baseline)
    # the assertion the test suite must not make (a timed one) lives here, in the bench
    assert not reportlab_loaded, "importing functions.api.handler imported reportlab"
    return [
        Row("api", "import boto3 (baseline)", b, ratio=1.0, note="baseline"),
        Row(
            "api",
            "import functions.api.handler",
            h,
            b,
            "import boto3",
            target="≤ 1.5x",
            ok=h / b <= 1.5 and not reportlab_loaded,
            note=(
                f"cold start: fresh interpreter, median of {RUNS}; reportlab imported: "
                f"{reportlab_loaded} must be False, boto3 imported: {boto3_loaded}"
            ),
        ),
    ]


def bench_invoice_list(count: int = 10_000) -> list[Row]:
    tmp = Path(tempfile.mkdtemp(prefix="billow-bench-"))
    os.environ.update(
        BILLOW_DATA_DIR=str(tmp),
        BILLOW_STORE_URL=f"sqlite:///{tmp / 'billow.db'}",
        BILLOW_PUBLIC_URL="http://bench.test",
        BILLOW_MAIL_TRANSPORT="outbox",
    )
    from functions.api import runtime
    from functions.services.common import new_id
    from tests.support.api import call, sign_in

    key = sign_in("bench@example.com", tmp)
    entity = call(
        "entity.create",
        key=key,
        name="Bench GmbH",
        address={"line1": "A 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
        default_vat_rate="19",
    )[1]
    clients = [
        call(
            "client.create",
            key=key,
            name=name,
            email=f"ap@{name.split()[0].lower()}.example",
            address={"country": "DE", "city": "Bonn", "line1": "B 2", "postal_code": "53111"},
        )[1]
        for name in ("Acme AG", "Globex GmbH", "Initech KG", "Umbrella SE", "Hooli GmbH")
    ]
    status, template, _ = call(
        "invoice.create",
        key=key,
        entity_id=entity["id"],
        client_id=clients[0]["id"],
        lines=[{"description": "Work", "quantity": "1", "unit_price": "100.00"}],
    )
    assert status == 200, template
    store = runtime.get_store()
    rec = store.get("invoices", template["id"])
    assert rec is not None, "invoice.create stores into the 'invoices' collection"
    statuses = ["draft", "open", "sent", "overdue", "paid", "void"]

    def seed(tx) -> None:
        for i in range(count):
            inv_id = new_id("inv")
            client = clients[i % len(clients)]
            status = statuses[i % len(statuses)]
            total = Decimal(i % 997) * Decimal("13.37")
            data = {
                **rec.data,
                "id": inv_id,
                "client_id": client["id"],
                "client_name": client["name"],
                "client_email": client["email"],
                "status": status,
                "number": None if status == "draft" else f"INV-2026-{i:05d}",
                "total": str(total),
                "amount_due": str(total),
            }
            tx.put("invoices", inv_id, data, account_id=rec.account_id, expected_version=0)

    started = time.perf_counter()
    store.transaction(seed)
    seeded = time.perf_counter() - started

    params = {"q": "acme", "status": ["open", "overdue"], "sort_by": "total", "limit": 20}
    status, first, _ = call("invoice.list", key=key, **params)
    assert status == 200, first
    assert first["total"] > 0 and all(i["status"] in ("open", "overdue") for i in first["items"])
    totals = [Decimal(i["total"]) for i in first["items"]]
    assert totals == sorted(totals, reverse=True)
    times = []
    for _ in range(15):
        t = time.perf_counter()
        call("invoice.list", key=key, **params)
        times.append(time.perf_counter() - t)
    median = statistics.median(times)
    return [
        Row("api", f"seed {count} invoices (one transaction)", seeded),
        Row(
            "api",
            "invoice.list q+status+sort total (handler)",
            median,
            target="≤ 50 ms",
            ok=median <= 0.050,
            note=f"{first['total']} matches",
        ),
    ]


def rows(invoice_list: bool = False) -> list[Row]:
    """The import rows; with ``invoice_list`` (standalone ``main()``), also ``invoice.list``
    through the handler (``bench_list`` times it through the service for the table)."""
    out = bench_imports()
    if not invoice_list:
        return out
    try:
        from functions.services.registry import load_all

        has_list = "invoice.list" in load_all() and "invoice.create" in load_all()
    except Exception:
        has_list = False
    if has_list:
        out += bench_invoice_list()
    else:
        out.append(Row("api", "invoice.list", None, note="skipped: invoice actions not available"))
    return out


def main() -> int:
    return report(rows(invoice_list=True))


if __name__ == "__main__":
    raise SystemExit(main())
