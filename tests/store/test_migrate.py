"""A store written by the previous version (``fixtures/v1_store.sqlite``, made by main's code
before declared indexes, with ``fixtures/make_v1_store.py``) is upgraded in place — on open and
with ``billow migrate`` — and then answers exactly what the old code answered, nothing lost."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from functions.overdue.job import run_overdue
from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import act, make_ctx

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    db = tmp_path / "data" / "billow.db"
    db.parent.mkdir()
    shutil.copy(FIXTURES / "v1_store.sqlite", db)
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
    assert "records" in tables and "ix_invoices" not in tables  # really the old layout
    return db


def _answers_of(store: SqliteStore) -> dict:
    ctx = make_ctx(store, account_id="acct_test")
    expected = json.loads((FIXTURES / "v1_answers.json").read_text())
    lists = [[q, act(ctx, "invoice.list", **q)] for q, _ in expected["lists"]]
    return {"lists": lists, "summary": act(ctx, "report.summary")}, expected


def test_old_store_migrates_on_open_and_answers_the_same(old_store: Path):
    rows_before = sqlite3.connect(old_store).execute("SELECT count(*) FROM records").fetchone()
    store = SqliteStore(old_store)
    got, expected = _answers_of(store)
    assert got["lists"] == expected["lists"]
    assert got["summary"] == expected["summary"]
    due = [r.key for r in store.due("invoices", up_to="2026-12-31")]
    assert sorted(due) == expected["due_by_2026_12_31"]
    assert store.migrate() == {}  # idempotent: nothing left to do
    conn = sqlite3.connect(old_store)
    assert conn.execute("SELECT count(*) FROM records").fetchone() == rows_before
    assert conn.execute("SELECT count(*) FROM ix_invoices").fetchone()[0] == 26
    # the new filters work on migrated data
    ctx = make_ctx(store, account_id="acct_test")
    assert act(ctx, "invoice.list", metadata={"order": "1"})["total"] == 4
    # and the daily run finds the migrated open invoices through the due index
    counts = run_overdue(store, date(2027, 1, 2), {"mailer": _NoMail()})
    assert counts["checked"] == len(expected["due_by_2026_12_31"]) > 0
    store.close()


def test_billow_migrate_command(old_store: Path):
    data_dir = old_store.parent
    out = subprocess.run(
        [sys.executable, "-m", "infra.cli", "migrate", "--data-dir", str(data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    # quotes, recurring and clients are declared for the universal search's facet rows
    migrated = {"invoices": 26, "quotes": 0, "recurring": 0, "clients": 2}
    assert json.loads(out.stdout) == {"migrated": migrated}
    again = subprocess.run(
        [sys.executable, "-m", "infra.cli", "migrate", "--data-dir", str(data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(again.stdout) == {"migrated": {}}
    store = SqliteStore(old_store)
    got, expected = _answers_of(store)
    assert got == {"lists": expected["lists"], "summary": expected["summary"]}
    store.close()


class _NoMail:
    def send(self, message) -> str:
        return "<test@billow>"
