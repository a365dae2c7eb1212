"""``billow serve`` under load: uvicorn with its default workers against the old standard-library
server (``billow serve --server stdlib``), the same run, the same machine.

    .venv/bin/python -m tests.bench.bench_serve [--seconds 60] [--clients 200]

For each server: a fresh data folder, one account, 50 invoices seeded; then 200 keep-alive
clients on one asyncio loop (aiohttp, ``tests/bench/loadgen.py``, in a process of its own) mix
list (40 %), get (30 %), create (20 %) and finalize (10 %) for 60 s. Afterwards every
acknowledged write is read back (each created invoice exists, each finalized one has the number
it was given) and the numbers are checked to be 1..N without a gap. Rows: throughput
(requests/s), p50 and p99 latency, and the median latency of one keep-alive client asking
``/health`` 200 times in a row (the old server wrote headers and body apart and met the
client's delayed ACK). The note says what limited the figure: the CPU seconds of the server
processes and of the load generator, against the run's wall time × CPUs. With closed-loop
clients the mean latency is clients ÷ throughput whatever the server; the median and p99 show
how fairly it is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.bench.common import Row, report  # noqa: E402

LINES = [{"description": "Consulting", "quantity": "2", "unit_price": "100.00"}]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Server:
    def __init__(self, kind: str, data: Path) -> None:
        self.data = data
        keep = ("BILLOW_WORKERS", "BILLOW_THREADS")  # to try other settings by hand
        env = {k: v for k, v in os.environ.items() if not k.startswith("BILLOW_") or k in keep}
        env.update({"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"})
        env["BILLOW_MAIL_TRANSPORT"] = "outbox"
        billow = Path(sys.executable).with_name("billow")
        self.log = open(data.parent / f"{kind}.log", "w")
        self.process = subprocess.Popen(
            [
                str(billow),
                "serve",
                "--port",
                "0",
                "--quiet",
                "--server",
                kind,
                "--data-dir",
                str(data),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=data.parent,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        text = ""
        while time.monotonic() < deadline:
            text = Path(self.log.name).read_text()
            found = re.search(r"running at (http://\S+?)/?\s", text)
            if found:
                self.url = found.group(1).rstrip("/")
                return
            time.sleep(0.05)
        raise RuntimeError(f"billow serve --server {kind} did not start:\n{text}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def _api(http: Any, url: str, action: str, key: str | None = None, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    res = http.post(f"{url}/api", json={"action": action, **params}, headers=headers, timeout=120)
    if res.status_code != 200:
        raise RuntimeError(f"{action}: {res.status_code} {res.text[:300]}")
    return res.json()


def _setup(server: Server) -> tuple[str, str, str, list[str]]:
    import requests

    from tests.support.api import last_sign_in_token
    from tests.support.params import client_params, entity_params

    http = requests.Session()
    _api(http, server.url, "auth.login", email="owner@example.com")
    token = last_sign_in_token(server.data, "owner@example.com")
    key = _api(http, server.url, "auth.verify", token=token)["key"]
    entity = _api(http, server.url, "entity.create", key, **entity_params())["id"]
    client = _api(http, server.url, "client.create", key, **client_params(vat_number=None))["id"]
    seeded = []
    for i in range(50):
        inv = _api(
            http, server.url, "invoice.create", key, entity_id=entity, client_id=client, lines=LINES
        )["id"]
        if i % 3 == 0:
            _api(http, server.url, "invoice.finalize", key, invoice_id=inv)
        seeded.append(inv)
    return key, entity, client, seeded


def _keepalive_latency(url: str, count: int = 200) -> float:
    import requests

    http = requests.Session()
    http.get(f"{url}/health", timeout=30)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        http.get(f"{url}/health", timeout=30).raise_for_status()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _read_back(url: str, key: str, result: dict[str, Any]) -> tuple[int, list[str], list[int]]:
    """(writes checked, problems, all finalized sequence numbers)."""
    import requests

    http = requests.Session()
    problems: list[str] = []

    def check(invoice_id: str) -> None:
        got = _api(http, url, "invoice.get", key, invoice_id=invoice_id)
        number = result["finalized"].get(invoice_id)
        if number is not None and got["number"] != number:
            problems.append(f"{invoice_id}: number {got['number']} != acknowledged {number}")

    ids = sorted(set(result["created"]) | set(result["finalized"]))
    with ThreadPoolExecutor(8) as pool:
        for invoice_id, outcome in zip(ids, pool.map(_safe(check), ids), strict=True):
            if outcome:
                problems.append(f"{invoice_id}: {outcome}")
    numbers, page = [], 1
    while True:
        body = _api(
            http,
            url,
            "invoice.list",
            key,
            limit=100,
            page=page,
            status=["open", "paid", "void", "uncollectible"],
        )
        numbers += [int(item["number"][-4:]) for item in body["items"] if item["number"]]
        if page >= body["pages"]:
            return len(ids), problems, sorted(numbers)
        page += 1


def _safe(fn: Any) -> Any:
    def wrapped(arg: Any) -> str | None:
        try:
            fn(arg)
        except Exception as exc:
            return str(exc)[:200]
        return None

    return wrapped


def _run(kind: str, seconds: float, clients: int, tmp: Path) -> dict[str, Any]:
    data = tmp / kind / "data"
    data.mkdir(parents=True)
    server = Server(kind, data)
    try:
        key, entity, client, seeded = _setup(server)
        keepalive = _keepalive_latency(server.url)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.bench.loadgen",
                server.url,
                key,
                entity,
                client,
                "--seeded",
                ",".join(seeded),
                "--seconds",
                str(seconds),
                "--clients",
                str(clients),
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        if proc.returncode != 0:
            raise RuntimeError(f"load generator failed: {proc.stderr[-2000:]}")
        result = json.loads(proc.stdout)
        cpu1 = _children_cpu()  # the load generator is reaped: only the server from here
        checked, problems, numbers = _read_back(server.url, key, result)
    finally:
        server.stop()
    cpu2 = _children_cpu()
    return {
        **result,
        "keepalive": keepalive,
        "checked": checked,
        "problems": problems,
        "gapless": numbers == list(range(1, len(numbers) + 1)),
        "numbers": len(numbers),
        "loadgen_cpu": result["cpu_seconds"],
        # the server (supervisor and the workers it waited for) is a child reaped at stop
        "server_cpu": cpu2 - cpu1,
    }


def rows(quick: bool = False, seconds: float | None = None, clients: int = 200) -> list[Row]:
    seconds = seconds or (10.0 if quick else 60.0)
    tmp = Path(tempfile.mkdtemp(prefix="billow-bench-serve-"))
    cpus = len(os.sched_getaffinity(0))
    runs = {kind: _run(kind, seconds, clients, tmp) for kind in ("stdlib", "uvicorn")}
    old, new = runs["stdlib"], runs["uvicorn"]

    def note(r: dict[str, Any]) -> str:
        errors = sum(r["errors"].values())
        kinds = "; ".join(f"{k} ×{v}" for k, v in sorted(r["errors"].items())[:3])
        writes = len(r["created"]) + len(r["finalized"])
        return (
            f"{r['requests']:,} answered, {errors} errors{f' ({kinds})' if kinds else ''}; "
            f"{writes} acknowledged writes read back: {len(r['problems'])} wrong; "
            f"{r['numbers']} numbers {'gapless' if r['gapless'] else 'WITH GAPS'}; "
            f"CPU s: server {r['server_cpu']:.0f}, load generator {r['loadgen_cpu']:.0f}, "
            f"of {r['elapsed'] * cpus:.0f} available"
        )

    good = not new["errors"] and not new["problems"] and new["gapless"]
    label = f"{clients} keep-alive clients, {seconds:.0f} s"
    return [
        Row(
            "serve",
            f"{label}: stdlib (old)",
            old["requests"] / old["elapsed"],
            unit="/s",
            note="baseline; " + note(old),
        ),
        Row(
            "serve",
            f"{label}: uvicorn, {cpus} workers",
            new["requests"] / new["elapsed"],
            old["requests"] / old["elapsed"],
            "stdlib",
            unit="/s",
            ok=good,
            target="0 errors",
            note=note(new),
        ),
        Row("serve", "  p50 latency: stdlib (old)", old["p50"]),
        Row("serve", "  p50 latency: uvicorn", new["p50"], old["p50"], "stdlib"),
        Row("serve", "  p99 latency: stdlib (old)", old["p99"], note=f"max {old['max']:.2f} s"),
        Row(
            "serve",
            "  p99 latency: uvicorn",
            new["p99"],
            old["p99"],
            "stdlib",
            note=f"max {new['max']:.2f} s",
        ),
        Row(
            "serve",
            "one keep-alive client, /health: stdlib (old)",
            old["keepalive"],
            note="median of 200 in a row",
        ),
        Row(
            "serve",
            "one keep-alive client, /health: uvicorn",
            new["keepalive"],
            old["keepalive"],
            "stdlib",
            note="median of 200 in a row",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=200)
    args = parser.parse_args(argv)
    return report(rows(seconds=args.seconds, clients=args.clients))


if __name__ == "__main__":
    raise SystemExit(main())
