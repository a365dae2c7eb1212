"""Start ``billow serve`` as a real subprocess on a free port, with its own data dir."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen


def _billow() -> list[str]:
    script = Path(sys.executable).parent / "billow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "infra.cli"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLOW_")}
    env["BILLOW_MAIL_TRANSPORT"] = "outbox"
    env["PYTHONPATH"] = str(REPO)  # the checkout under test, whatever is installed
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [*_billow(), "serve", "--port", "0", "--data-dir", str(data_dir), "--quiet"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    url = None
    seen = []
    try:
        while url is None:
            try:
                line = lines.get(timeout=30)
            except queue.Empty:
                break
            seen.append(line)
            if "running at " in line:
                url = line.split("running at ", 1)[1].split()[0].rstrip("/")
        assert url, "billow serve did not start:\n" + "".join(seen)
        yield Server(url, data_dir, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
