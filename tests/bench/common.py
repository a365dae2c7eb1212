"""What the benchmarks share: the :class:`Row` every ``bench_*.py`` module's ``rows()``
returns, timing and formatting helpers, the one table printer, and the subprocess entry that
``python -m tests.bench`` runs per module (so that no bench's imports or environment leak into
another's numbers).

    .venv/bin/python -m tests.bench.common bench_list      # the rows of one bench, as JSON
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MARK = "BENCH-ROW "


@dataclass
class Row:
    """One line of the table. Times are in seconds; ``unit`` is how to show them."""

    group: str
    name: str
    median: float | None
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""
    unit: str = "ms"  # "ms", "s", "µs", "/s" (a rate: median is per second) or "items"

    def __post_init__(self) -> None:
        if self.ratio is None and self.median and self.baseline:
            self.ratio = self.median / self.baseline


def fmt_time(seconds: float | None, unit: str = "ms") -> str:
    if seconds is None:
        return "—"
    if unit == "/s":
        return f"{seconds:,.0f}/s"
    if unit == "items":  # a count (DynamoDB items read), not a time
        return f"{seconds:,.0f} items"
    if unit == "s" or seconds >= 1:
        return f"{seconds:.2f} s"
    if unit == "µs" or seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1000:.2f} ms"


def fmt_ratio(ratio: float | None) -> str:
    if not ratio:
        return ""
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    if ratio >= 10:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def machine() -> str:
    """CPU model, CPUs, Python, OS and load average: a figure means little without them."""
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


def table(rows: list[Row], markdown: bool = False) -> str:
    """The rows as one aligned text (or Markdown) table."""
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


def report(rows: list[Row], markdown: bool = False, header: bool = True) -> int:
    """Print the machine and the table of ``rows``; 1 when a row missed its target or failed.

    Every ``main()`` (``python tests/bench/bench_X.py``) and ``python -m tests.bench`` end here.
    """
    if header:
        print(f"Billow benchmarks — {machine()}\n")
    print(table(rows, markdown))
    failed = [r for r in rows if r.ok is False]
    if failed:
        print(f"\n{len(failed)} row(s) missed their target or failed.")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Subprocess entry: print the rows of bench modules as ``BENCH-ROW {json}`` lines.
    ``--quick`` is passed on to the ``rows()`` that take it."""
    args = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in args
    sys.path.insert(0, str(REPO))
    real_stdout = sys.stdout
    for name in (a for a in args if not a.startswith("--")):
        module = importlib.import_module(f"tests.bench.{name}")
        takes_quick = "quick" in inspect.signature(module.rows).parameters
        with contextlib.redirect_stdout(io.StringIO()):
            rows = module.rows(quick=quick) if takes_quick else module.rows()
        for row in rows:
            real_stdout.write(MARK + json.dumps(asdict(row)) + "\n")
        real_stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
