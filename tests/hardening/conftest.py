from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hardening.support import Account, seed_account
from tests.support.api import use_tmp_store
from tests.support.moto_server import moto_endpoint  # noqa: F401  (session fixture)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The API function on a fresh SQLite store; VIES points at a closed loopback port, so a
    VAT check answers ``503 vies_unavailable`` at once instead of leaving the machine."""
    monkeypatch.setenv("BILLOW_VIES_URL", f"http://127.0.0.1:{closed_port()}/check-vat-number")
    # webhook endpoints on loopback (never called: nothing delivers in these tests)
    monkeypatch.setenv("BILLOW_WEBHOOKS_ALLOW_LOCAL", "1")
    return use_tmp_store(tmp_path / "data", monkeypatch)


@dataclass
class World:
    data_dir: Path
    ann: Account
    bob: Account


@pytest.fixture
def world(data_dir: Path) -> World:
    """Two accounts (ann and bob), each with a record of every kind."""
    return World(
        data_dir,
        seed_account("ann@example.com", data_dir),
        seed_account("bob@example.org", data_dir),
    )
