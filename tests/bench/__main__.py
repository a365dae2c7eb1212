"""``make bench``: run every ``tests/bench/bench_*.py`` and print one table.

    .venv/bin/python -m tests.bench [--quick] [--only list,pdf] [--markdown]

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
import platform
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.common import MARK, REPO, Row, fmt_ratio, fmt_time

HERE = Path(__file__).resolve().parent

#: Table order; benches not listed here come after, alphabetically.
ORDER = ["bench_store", "bench_list", "bench_finalize", "bench_pdf", "bench_api", "bench_overdue"]


def discover() -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{model}, {cpus} CPUs (nproc), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average {load:.1f}"
    )


def run_one(name: str, quick: bool) -> tuple[list[Row], list[str], float]:
    """Rows of one bench module, raw outputs it could not table, and its wall time."""
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
    rows, raws = [], []
    for line in proc.stdout.splitlines():
        if not line.startswith(MARK):
            continue
        item = json.loads(line[len(MARK) :])
        if "raw" in item:
            raws.append(item["raw"])
        else:
            rows.append(Row(**item))
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        rows.append(Row(name.removeprefix("bench_"), f"{name} FAILED", None, ok=False, note=tail))
    return rows, raws, elapsed


def table(rows: list[Row], markdown: bool) -> str:
    head = ["group", "benchmark", "median", "baseline", "ratio", "target", "ok", "note"]
    body = []
    for r in rows:
        baseline = ""
        if r.baseline is not None:
            shown = fmt_time(r.baseline, "/s" if r.unit == "/s" else "ms")
            baseline = f"{shown} ({r.baseline_name})" if r.baseline_name else shown
        body.append(
            [
                r.group,
                r.name,
                fmt_time(r.median, r.unit),
                baseline,
                fmt_ratio(r.ratio),
                r.target,
                {True: "yes", False: "NO", None: ""}[r.ok],
                r.note.replace("\n", " ")[:140],
            ]
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(head)]
    widths[-1] = len(head[-1])
    fmt = "  ".join(f"{{:{'>' if i in (2, 4) else '<'}{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*head).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*row).rstrip() for row in body]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions where supported")
    parser.add_argument("--only", default="", help="comma-separated names, e.g. list,pdf")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table (for README)")
    args = parser.parse_args(argv)
    names = discover()
    if args.only:
        wanted = {f"bench_{n.removeprefix('bench_')}" for n in args.only.split(",") if n}
        names = [n for n in names if n in wanted]
    print(f"Billow benchmarks — {machine()}", flush=True)
    rows: list[Row] = []
    raws: list[tuple[str, str]] = []
    for name in names:
        print(f"  running {name} ...", end="", flush=True, file=sys.stderr)
        got, raw, elapsed = run_one(name, args.quick)
        print(f" {elapsed:.0f} s", file=sys.stderr, flush=True)
        rows += got
        raws += [(name, text) for text in raw]
    print()
    print(table(rows, args.markdown))
    for name, text in raws:
        print(f"\n{name} (its own output):\n{text.rstrip()}")
    failed = [r for r in rows if r.ok is False]
    if failed:
        print(f"\n{len(failed)} row(s) missed their target or failed.")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
