"""``billow backup`` while the server takes a write burst, then ``billow restore`` into a new
folder that serves: every write acknowledged before the backup began is there, and numbering
continues without a gap. ``billow verify-backup`` catches a damaged backup; ``restore`` does
not overwrite a data folder unless told."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.hardening.support import REPO, Serve
from tests.selfhost.burst import Burst

pytestmark = pytest.mark.slow


def billow(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def test_backup_during_a_write_burst_restores_and_serves(tmp_path: Path) -> None:
    data = tmp_path / "data"
    serve = Serve(data, tmp_path)
    try:
        burst = Burst.prepare(serve, threads=8)
        burst.start()
        burst.wait_for(finalized=15)
        began = time.monotonic()
        made = billow("backup", str(tmp_path / "backup"), "--data-dir", str(data), cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        burst.wait_for(finalized=len([a for a in burst.acks if a.action == "finalize"]) + 10)
        burst.finish()
    finally:
        serve.stop()
    before = [a for a in burst.acks if a.at < began]
    after_count = len(burst.acks) - len(before)
    assert before and after_count, "the burst ran on both sides of the backup"

    checked = billow("verify-backup", str(tmp_path / "backup"), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    restored = tmp_path / "restored"
    res = billow("restore", str(tmp_path / "backup"), "--data-dir", str(restored), cwd=tmp_path)
    assert res.returncode == 0, res.stderr

    db = sqlite3.connect(restored / "billow.db")
    rows = {
        key: json.loads(raw)
        for key, raw in db.execute("SELECT key, data FROM records WHERE collection = 'invoices'")
    }
    for ack in before:
        assert ack.invoice_id in rows, (
            f"{ack.action} of {ack.invoice_id} acknowledged before the backup is lost"
        )
        if ack.action == "finalize":
            assert rows[ack.invoice_id]["number"] == ack.number
    numbers = sorted(int(inv["number"][-4:]) for inv in rows.values() if inv["number"])
    assert numbers == list(range(1, len(numbers) + 1))
    db.close()

    again = Serve(restored, tmp_path)
    try:
        drafts = [k for k, inv in rows.items() if inv["status"] == "draft"]
        fresh = again.ok(
            "invoice.create",
            burst.key,
            entity_id=burst.entity_id,
            client_id=burst.client_id,
            lines=[{"description": "After the restore", "quantity": "1", "unit_price": "5"}],
        )
        done = again.ok("invoice.finalize", burst.key, invoice_id=fresh["id"])
        assert int(done["number"][-4:]) == len(numbers) + 1, "numbering continues without a gap"
        if drafts:
            more = again.ok("invoice.finalize", burst.key, invoice_id=drafts[0])
            assert int(more["number"][-4:]) == len(numbers) + 2
        # PDFs rendered before the backup come back, signed links and all
        pdf_acks = [a for a in before if a.action == "finalize"][:3]
        for ack in pdf_acks:
            link = again.ok("invoice.pdf", burst.key, invoice_id=ack.invoice_id)
            assert requests.get(link["url"], timeout=60).content.startswith(b"%PDF")
    finally:
        again.stop()


def test_verify_backup_finds_damage_and_restore_does_not_overwrite(tmp_path: Path) -> None:
    data = tmp_path / "data"
    serve = Serve(data, tmp_path)
    try:
        burst = Burst.prepare(serve, threads=2)
        burst.start()
        burst.wait_for(finalized=3)
        burst.finish()
    finally:
        serve.stop()
    backup = tmp_path / "backup"
    assert billow("backup", str(backup), "--data-dir", str(data), cwd=tmp_path).returncode == 0
    manifest = json.loads((backup / "manifest.json").read_text())
    paths = {f["path"] for f in manifest["files"]}
    assert "billow.db" in paths and "secret.key" in paths
    assert any(p.startswith("blobs/pdf/") and p.endswith(".pdf") for p in paths)
    # a second backup into the same (non-empty) folder is refused
    twice = billow("backup", str(backup), "--data-dir", str(data), cwd=tmp_path)
    assert twice.returncode == 1 and "not empty" in twice.stderr

    # restore refuses a non-empty folder, and --force moves its content aside
    refused = billow("restore", str(backup), "--data-dir", str(data), cwd=tmp_path)
    assert refused.returncode == 1 and "not empty" in refused.stderr
    forced = billow("restore", str(backup), "--data-dir", str(data), "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    aside = json.loads(forced.stdout)["moved_aside"]
    assert aside and (Path(aside) / "billow.db").is_file()

    # one byte of one PDF changed, then a file removed: both named
    pdf = next(backup.joinpath(p) for p in sorted(paths) if p.endswith(".pdf"))
    raw = bytearray(pdf.read_bytes())
    raw[len(raw) // 2] ^= 1
    pdf.write_bytes(bytes(raw))
    damaged = billow("verify-backup", str(backup), cwd=tmp_path)
    assert damaged.returncode == 1
    assert f"changed: {pdf.relative_to(backup).as_posix()}" in damaged.stderr
    (backup / "secret.key").unlink()
    damaged = billow("verify-backup", str(backup), cwd=tmp_path)
    assert "missing: secret.key" in damaged.stderr
    not_restored = billow("restore", str(backup), "--data-dir", str(tmp_path / "new"), cwd=tmp_path)
    assert not_restored.returncode == 1 and not (tmp_path / "new").exists()
