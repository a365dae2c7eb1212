"""What the books cost: posting an entry beside each change, and the exports of a year.

    .venv/bin/python -m tests.bench.bench_ledger [--quick]

Rows (medians; the baseline, measured in the same run, is ``calc.compute`` of the same
3-line invoice — the one calculation every finalize already pays):

- ``post_finalize`` of that invoice from its ``invoice.get`` JSON (what the finalize commit
  will add), and ``post_payment``;
- the CSV, DATEV and SIE exports of a year of entries (per entry, and the whole file).
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.bench.common import Row, report  # noqa: E402


def _median(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def rows(quick: bool = False) -> list[Row]:
    from functions.domain.calc import compute
    from functions.ledger.entries import post_finalize, post_payment
    from functions.ledger.export_csv import export_csv
    from functions.ledger.export_datev import export_datev
    from functions.ledger.export_sie import SieSettings, export_sie
    from tests.ledger.lives import Life

    life = Life.start("DE", None)
    lines = [
        {"description": "Beratung", "quantity": "10", "unit_price": "120"},
        {
            "description": "Buch",
            "quantity": "3",
            "unit_price": "9.99",
            "vat_category": "S",
            "vat_rate": "7",
        },
        {"description": "Hosting", "quantity": "1", "unit_price": "49.50"},
    ]
    invoice = life.issue("cli_home", lines, "EUR")
    paid = life.pay(invoice.id, Decimal("100"))
    doc = paid.model_dump(mode="json")
    books = life.books
    runs = 300 if quick else 2000

    base = _median(lambda: compute(invoice), runs)
    finalize = _median(lambda: post_finalize(doc, books), runs)
    payment = _median(lambda: post_payment(doc, paid.payments[0].id, books), runs)

    count = 1_000 if quick else 10_000
    entries = []
    for i in range(count // 2):
        entry = post_finalize({**doc, "id": f"inv_{i}", "number": f"INV-{i}"}, books)
        entries.append(entry)
        entries.append(post_payment({**doc, "id": f"inv_{i}"}, paid.payments[0].id, books))
    created = datetime(2027, 1, 2, tzinfo=UTC)
    year = {"period_from": date(2026, 1, 1), "period_to": date(2026, 12, 31)}
    export_runs = 3
    csv_time = _median(lambda: export_csv(entries, books), export_runs)
    datev_time = _median(
        lambda: export_datev(entries, books, created_at=created, **year), export_runs
    )
    se = Life.start("SE", None)
    sie_time = _median(
        lambda: export_sie(
            entries,
            se.books,
            created_at=created,
            settings=SieSettings(company_name="Bench AB"),
            currency="EUR",
            **year,
        ),
        export_runs,
    )
    base_name = "calc.compute, 3-line invoice"
    return [
        Row("ledger", base_name, base, ratio=1.0, note="baseline", unit="µs"),
        Row("ledger", "post_finalize from invoice.get JSON", finalize, base, base_name, unit="µs"),
        Row("ledger", "post_payment", payment, base, base_name, unit="µs"),
        Row(
            "ledger",
            f"CSV export, {count} entries",
            csv_time,
            note=f"{csv_time / count * 1e6:.0f} µs per entry",
        ),
        Row(
            "ledger",
            f"DATEV export, {count} entries",
            datev_time,
            csv_time,
            "CSV export",
            note=f"{datev_time / count * 1e6:.0f} µs per entry",
        ),
        Row(
            "ledger",
            f"SIE export, {count} entries",
            sie_time,
            csv_time,
            "CSV export",
            note=f"{sie_time / count * 1e6:.0f} µs per entry",
        ),
    ]


if __name__ == "__main__":
    sys.exit(report(rows(quick="--quick" in sys.argv)))
