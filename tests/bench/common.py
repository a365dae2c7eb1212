"""What the benchmarks share: timing helpers, the :class:`Row` every bench reports, and the
runner that turns one ``bench_*.py`` module's results into rows (used by ``python -m
tests.bench`` in a subprocess per module, so that no bench's imports or environment leak into
another's numbers).

    .venv/bin/python -m tests.bench.common bench_list      # the rows of one bench, as JSON

The bench modules were written by different people with different shapes: ``rows()`` returning
dicts (``median_ms``/``median_s``, ``ratio``, ``note``), functions returning
``(ok, [(name, "12.3 ms", note)])``, or only a ``main()`` that prints its own table. The
adapters below read each of these; a module none of them understands is run through its
``main()`` and its printed output is kept as it is.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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
    unit: str = "ms"  # "ms", "s", "µs" or "/s" (a rate: median is per second)

    def __post_init__(self) -> None:
        if self.ratio is None and self.median and self.baseline:
            self.ratio = self.median / self.baseline


def median_seconds(fn: Callable[[], Any], runs: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``runs`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def fmt_time(seconds: float | None, unit: str = "ms") -> str:
    if seconds is None:
        return "—"
    if unit == "/s":
        return f"{seconds:,.0f}/s"
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


# --- adapters ----------------------------------------------------------------------------------

_TARGET = re.compile(r"target\s*(?:<=|≤)\s*([\d.]+)\s*(ms|s|x)", re.I)
_TIME = re.compile(r"^\s*([\d.,]+)\s*(ms|s|µs|us)\s*$")


def _seconds(value: float, unit: str) -> float:
    return value / {"s": 1, "ms": 1e3, "µs": 1e6, "us": 1e6}[unit]


def _target(note: str, median: float | None, ratio: float | None) -> tuple[str, bool | None]:
    match = _TARGET.search(note or "")
    if not match or median is None:
        return "", None
    limit, unit = float(match.group(1)), match.group(2)
    if unit == "x":
        return f"≤ {limit:g}x", None if ratio is None else ratio <= limit
    return f"≤ {limit:g} {unit}", median <= _seconds(limit, unit)


def rows_from_dicts(group: str, items: list[dict[str, Any]]) -> list[Row]:
    """``rows()`` results: dicts with ``name``, ``median_ms``/``median_s``, ``ratio``, ``note``;
    the row named or noted as baseline is every row's baseline."""

    def median_of(d: dict[str, Any]) -> float | None:
        for key, scale in (("median_s", 1), ("median_ms", 1e3), ("median_us", 1e6)):
            if d.get(key) is not None:
                return float(d[key]) / scale
        return float(d["median"]) if d.get("median") is not None else None

    base = next(
        (d for d in items if "baseline" in f"{d.get('name', '')} {d.get('note', '')}".lower()),
        None,
    )
    base_s = median_of(base) if base else None
    base_name = str(base["name"]).replace("(baseline)", "").strip() if base else ""
    out = []
    for d in items:
        median = median_of(d)
        is_base = d is base
        ratio = d.get("ratio")
        target, ok = _target(str(d.get("note", "")), median, ratio)
        out.append(
            Row(
                group,
                str(d["name"]),
                median,
                None if is_base or ratio is None else base_s,
                "" if is_base or ratio is None else base_name,
                1.0 if is_base else (float(ratio) if ratio is not None else None),
                target,
                ok,
                _TARGET.sub("", str(d.get("note", ""))).strip(" ;,"),
                "s" if "median_s" in d and (median or 0) >= 1 else "ms",
            )
        )
    return out


def rows_from_string_tuples(group: str, items: list[tuple[str, str, str]]) -> list[Row]:
    """``[(name, "12.3 ms", note)]`` rows (``bench_api``)."""
    out = []
    for name, value, note in items:
        match = _TIME.match(value)
        median = _seconds(float(match.group(1).replace(",", "")), match.group(2)) if match else None
        if median is None:
            out.append(Row(group, name.strip(), None, note=f"{value} {note}".strip()))
            continue
        out.append(Row(group, name.strip(), median, note=note))
    return out


def _adapt_api(module: Any) -> list[Row]:
    ok_imports, raw = module.bench_imports()
    rows = rows_from_string_tuples("api", raw)
    baseline = next(r for r in rows if "boto3" in r.name and r.median is not None)
    handler = next(r for r in rows if "handler" in r.name and r.median is not None)
    handler.baseline, handler.baseline_name = baseline.median, "import boto3"
    handler.ratio = handler.median / baseline.median  # type: ignore[operator]
    handler.target, handler.ok = "≤ 1.5x", ok_imports
    handler.note = "cold start: fresh interpreter, median of 7"
    baseline.ratio, baseline.note = 1.0, "baseline"
    flags = [r for r in rows if r.median is None]
    if flags:
        handler.note += "; " + ", ".join(f"{f.name}: {f.note}" for f in flags)
    return [baseline, handler]


def _adapt_store(items: list[dict[str, Any]]) -> list[Row]:
    """``{"metric", "sqlite", "dynamodb", "ratio"}`` rows (``bench_store``): SQLite is the
    baseline of the DynamoDB (moto) figure; ``/s`` metrics are rates, ``ms`` ones times."""
    out = []
    for d in items:
        metric = str(d["metric"])
        rate = "/s" in metric
        unit = "/s" if rate else "ms"

        def value(v: Any, rate: bool = rate) -> float | None:
            if v is None:
                return None
            return float(v) if rate else float(v) / 1000

        name = metric.replace(" /s", "").replace(" ms", "")
        sqlite = value(d.get("sqlite"))
        paired = d.get("dynamodb") is not None
        out.append(
            Row(
                "store",
                f"{name}, SQLite",
                sqlite,
                ratio=1.0 if paired else None,
                note="baseline" if paired else "",
                unit=unit,
            )
        )
        if paired:
            dyn = value(d["dynamodb"])
            out.append(
                Row(
                    "store",
                    f"{name}, DynamoDB (moto server)",
                    dyn,
                    sqlite,
                    "SQLite",
                    (dyn / sqlite) if dyn and sqlite else None,
                    note="moto over loopback HTTP, not AWS",
                    unit=unit,
                )
            )
    return out


_PDF_LINE = re.compile(
    r"^(?P<name>.+?)\s+(?P<v>[\d.]+)\s*(?P<u>ms|s)\s+(?P<f>[\d.]+)\s*(?:ms|s)\s+(?P<r>[\d.]+)x"
    r".*?≤\s*(?P<t>[\d.]+)\s*(?P<tu>ms|s)\s+(?P<ok>yes|NO)\s*$"
)


def _adapt_pdf(module: Any, quick: bool) -> list[Row]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main(["--quick"] if quick else [])
    rows = []
    for line in out.getvalue().splitlines():
        m = _PDF_LINE.match(line)
        if not m:
            continue
        unit = m.group("u")
        rows.append(
            Row(
                "pdf",
                m.group("name").strip(),
                _seconds(float(m.group("v")), unit),
                _seconds(float(m.group("f")), unit),
                "floor: raw canvas, same text",
                float(m.group("r")),
                f"≤ {m.group('t')} {m.group('tu')}",
                m.group("ok") == "yes",
                "",
                unit,
            )
        )
    if not rows:
        raise RuntimeError("could not read bench_pdf's table:\n" + out.getvalue())
    return rows


def collect(name: str, quick: bool = False) -> tuple[list[Row], str]:
    """The rows of ``tests/bench/<name>.py`` and any output that could not be tabled."""
    import importlib

    sys.path.insert(0, str(REPO))
    module = importlib.import_module(f"tests.bench.{name}")
    group = name.removeprefix("bench_")
    if name == "bench_api" and hasattr(module, "bench_imports"):
        return _adapt_api(module), ""
    if name == "bench_pdf" and not hasattr(module, "rows"):
        return _adapt_pdf(module, quick), ""
    rows_fn = getattr(module, "rows", None)
    if rows_fn is not None:
        result = rows_fn()
        if result and isinstance(result[0], dict) and {"metric", "sqlite"} <= set(result[0]):
            return _adapt_store(result), ""
        if result and type(result[0]).__name__ == "Row":  # ours, maybe under another module name
            return [Row(**asdict(r)) for r in result], ""
        if result and isinstance(result[0], dict):
            return rows_from_dicts(group, result), ""
        if result and isinstance(result[0], tuple):
            return rows_from_string_tuples(group, result), ""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main([] if not quick else ["--quick"]) if _takes_argv(module.main) else module.main()
    return [], out.getvalue()


def _takes_argv(fn: Callable[..., Any]) -> bool:
    import inspect

    return bool(inspect.signature(fn).parameters)


def main(argv: list[str] | None = None) -> int:
    """Subprocess entry: print the rows of one bench module as ``BENCH-ROW {json}`` lines."""
    args = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in args
    names = [a for a in args if not a.startswith("--")]
    real_stdout = sys.stdout
    for name in names:
        noise = io.StringIO()
        with contextlib.redirect_stdout(noise):
            rows, raw = collect(name, quick)
        for row in rows:
            real_stdout.write(MARK + json.dumps(asdict(row)) + "\n")
        if raw:
            real_stdout.write(MARK + json.dumps({"raw": raw, "group": name}) + "\n")
        real_stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
