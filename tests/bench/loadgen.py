"""The load generator of ``bench_serve``: N keep-alive clients on one asyncio loop (aiohttp),
in a process of its own, mixing list, get, create and finalize against a running server.

    python -m tests.bench.loadgen URL KEY ENTITY CLIENT --seconds 60 --clients 200

Prints one JSON object: requests, errors (by kind), latencies (p50, p99, max), the writes that
were acknowledged (ids created, id → number finalized), and the generator's own CPU seconds,
so that a figure limited by the generator can be told from one limited by the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import time
from collections import Counter
from typing import Any

import aiohttp

LINES = [{"description": "Consulting", "quantity": "2", "unit_price": "100.00"}]
#: The mix, per client step: mostly reads, as a working day is.
MIX = (("list", 40), ("get", 30), ("create", 20), ("finalize", 10))
TIMEOUT_S = 30


class Load:
    def __init__(self, url: str, key: str, entity: str, client: str, seeded: list[str]) -> None:
        self.url = url.rstrip("/") + "/api"
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.entity, self.client = entity, client
        self.known = list(seeded)
        self.latencies: list[float] = []
        self.by_action: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.created: list[str] = []
        self.finalized: dict[str, str] = {}

    async def call(self, http: aiohttp.ClientSession, action: str, **params: Any) -> Any:
        started = time.perf_counter()
        try:
            async with http.post(
                self.url, data=json.dumps({"action": action, **params}), headers=self.headers
            ) as res:
                body = await res.read()
                status = res.status
        except TimeoutError:
            self.errors[f"{action}: no answer in {TIMEOUT_S} s"] += 1
            return None
        except aiohttp.ClientError as exc:
            self.errors[f"{action}: {type(exc).__name__}"] += 1
            return None
        self.latencies.append(time.perf_counter() - started)
        self.by_action[action] += 1
        if status != 200:
            self.errors[f"{action}: HTTP {status}"] += 1
            return None
        return json.loads(body)

    async def client_loop(self, http: aiohttp.ClientSession, until: float, seed: int) -> None:
        rnd = random.Random(seed)
        names = [name for name, _ in MIX]
        weights = [w for _, w in MIX]
        drafts: list[str] = []
        while time.monotonic() < until:
            action = rnd.choices(names, weights)[0]
            if action == "finalize" and not drafts:
                action = "create"
            if action == "list":
                await self.call(http, "invoice.list", limit=20, page=rnd.randint(1, 3))
            elif action == "get":
                await self.call(http, "invoice.get", invoice_id=rnd.choice(self.known))
            elif action == "create":
                got = await self.call(
                    http,
                    "invoice.create",
                    entity_id=self.entity,
                    client_id=self.client,
                    lines=LINES,
                )
                if got is not None:
                    self.created.append(got["id"])
                    self.known.append(got["id"])
                    drafts.append(got["id"])
            else:
                draft = drafts.pop()
                got = await self.call(http, "invoice.finalize", invoice_id=draft)
                if got is not None:
                    self.finalized[got["id"]] = got["number"]

    async def run(self, seconds: float, clients: int) -> float:
        connector = aiohttp.TCPConnector(limit=clients, force_close=False)
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            started = time.monotonic()
            until = started + seconds
            await asyncio.gather(*(self.client_loop(http, until, i) for i in range(clients)))
            return time.monotonic() - started


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("entity")
    parser.add_argument("client")
    parser.add_argument("--seeded", default="")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=200)
    args = parser.parse_args()
    load = Load(args.url, args.key, args.entity, args.client, args.seeded.split(","))
    elapsed = asyncio.run(load.run(args.seconds, args.clients))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "elapsed": elapsed,
                "requests": len(load.latencies),
                "by_action": dict(load.by_action),
                "errors": dict(load.errors),
                "p50": _percentile(load.latencies, 0.50),
                "p99": _percentile(load.latencies, 0.99),
                "max": max(load.latencies, default=None),
                "created": load.created,
                "finalized": load.finalized,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            }
        )
    )


if __name__ == "__main__":
    main()
