"""``make bench``: run every ``tests/bench/bench_*.py`` and print one table.

    .venv/bin/python -m tests.bench [--quick] [--only list,pdf] [--markdown] [--scale [SIZES]]

(``make bench SCALE=1`` passes ``--scale``: bench_list adds its rows at 10k, 100k and 1M.)

Each bench module runs in its own subprocess (``python -m tests.bench.common NAME``), one
after the other, so that none pays for another's imports, threads or environment. The table
has, per row: the median, the baseline measured in the same run and the ratio to it, the
target where the project sets one, and whether it is met. The machine (CPU model, CPUs,
Python, load average) is printed above it — a figure means little without it.

Exits 1 when a target is missed or a bench fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.common import MARK, REPO, Row, machine, report

HERE = Path(__file__).resolve().parent

#: Table order; benches not listed here come after, alphabetically.
ORDER = ["bench_store", "bench_list", "bench_finalize", "bench_pdf", "bench_api", "bench_overdue"]


def discover() -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def run_one(name: str, quick: bool) -> tuple[list[Row], float]:
    """Rows of one bench module and its wall time."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.common", name, *(["--quick"] if quick else [])],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    rows = [
        Row(**json.loads(line[len(MARK) :]))
        for line in proc.stdout.splitlines()
        if line.startswith(MARK)
    ]
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        rows.append(Row(name.removeprefix("bench_"), f"{name} FAILED", None, ok=False, note=tail))
    return rows, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions where supported")
    parser.add_argument("--only", default="", help="comma-separated names, e.g. list,pdf")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table (for README)")
    parser.add_argument(
        "--scale",
        nargs="?",
        const="10000,100000,1000000",
        default="",
        help="also bench_list's rows at large sizes (SQLite; default 10k,100k,1M invoices)",
    )
    args = parser.parse_args(argv)
    if args.scale:
        os.environ["BILLOW_BENCH_SCALE"] = args.scale
    names = discover()
    if args.only:
        wanted = {f"bench_{n.removeprefix('bench_')}" for n in args.only.split(",") if n}
        names = [n for n in names if n in wanted]
    print(f"Billow benchmarks — {machine()}", flush=True)
    rows: list[Row] = []
    for name in names:
        print(f"  running {name} ...", end="", flush=True, file=sys.stderr)
        got, elapsed = run_one(name, args.quick)
        print(f" {elapsed:.0f} s", file=sys.stderr, flush=True)
        rows += got
    print()
    return report(rows, args.markdown, header=False)


if __name__ == "__main__":
    raise SystemExit(main())
