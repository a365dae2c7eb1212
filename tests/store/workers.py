"""Code run in child processes by the concurrency and crash tests (importable under spawn)."""

from __future__ import annotations

from typing import Any

from storage_adapter import Transaction, VersionConflict, open_store

ACC = "acc-1"
BIG_KEYS = [f"part-{i:02d}" for i in range(12)]


def count(url: str, worker: int, rounds: int, barrier: Any, audit: bool = True) -> None:
    """``rounds`` commits, each taking the next invoice number, recording it in this worker's
    tally record and (``audit``) appending it to a shared audit stream — all in one
    transaction."""
    store = open_store(url)

    def take(tx: Transaction) -> int:
        n = tx.next_number("invoice-2026")
        rec = tx.get("tally", f"w{worker}")
        numbers = (rec.data["numbers"] if rec else []) + [n]
        tx.put(
            "tally",
            f"w{worker}",
            {"numbers": numbers},
            account_id=ACC,
            expected_version=rec.version if rec else 0,
        )
        if audit:
            tx.append("audit", {"n": n, "worker": worker})
        return n

    barrier.wait()
    for _ in range(rounds):
        store.transaction(take, retries=10_000)
    store.close()


def race(url: str, name: str, rounds: int, barrier: Any, results: Any) -> None:
    """Each round: wait for the rival, then update record ``race-N`` from version 1."""
    store = open_store(url)
    for i in range(rounds):
        barrier.wait()
        try:
            store.put(
                "invoices",
                f"race-{i}",
                {"winner": name},
                account_id=ACC,
                expected_version=1,
            )
            results.put((i, name, "won"))
        except VersionConflict:
            results.put((i, name, "conflict"))
    store.close()


def big_writer(url: str, started: Any, payload: int) -> None:
    """Commit generation after generation of several large records, a counter and an event, in
    one transaction each, until killed. ``started`` is set after the first commit."""
    store = open_store(url)

    def write(tx: Transaction) -> None:
        gen = tx.next_number("generation")
        for key in BIG_KEYS:
            rec = tx.get("parts", key)
            tx.put(
                "parts",
                key,
                {"gen": gen, "fill": f"{gen:08d}" * (payload // 8)},
                account_id=ACC,
                expected_version=rec.version if rec else 0,
            )
        tx.append("generations", {"gen": gen})

    store.transaction(write)
    started.set()
    while True:
        store.transaction(write)
