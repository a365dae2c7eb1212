"""``billow overdue`` and ``billow pdf render`` on the data of a running ``billow serve``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.http.conftest import REPO, Server, _billow
from tests.http.test_serve import CLIENT, ENTITY, Api


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLOW_")}
    env["PYTHONPATH"] = str(REPO)
    env["BILLOW_MAIL_TRANSPORT"] = "outbox"
    return subprocess.run(
        [*_billow(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_overdue_and_pdf_commands_work_on_the_served_data(server: Server, tmp_path: Path) -> None:
    api = Api(server)
    api.sign_in("owner@example.com")
    entity = api("entity.create", **ENTITY)
    client = api("client.create", **CLIENT)
    draft = api(
        "invoice.create",
        entity_id=entity["id"],
        client_id=client["id"],
        issue_date="2026-01-02",
        due_date="2026-02-01",
        lines=[{"description": "Consulting", "quantity": "1", "unit_price": "100.00"}],
    )
    inv = api("invoice.finalize", invoice_id=draft["id"])
    assert inv["status"] == "open"

    done = _run(
        "overdue", "--today", "2026-03-01", "--data-dir", str(server.data_dir), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["jobs"]["overdue"]["marked_overdue"] == 1
    assert api("invoice.get", invoice_id=inv["id"])["status"] == "overdue"
    again = _run(
        "overdue", "--today", "2026-03-01", "--data-dir", str(server.data_dir), cwd=tmp_path
    )
    assert json.loads(again.stdout)["jobs"]["overdue"]["marked_overdue"] == 0

    source = tmp_path / "invoice.json"
    source.write_text(json.dumps(api("invoice.get", invoice_id=inv["id"])))
    out = tmp_path / "pdfs"
    rendered = _run("pdf", "render", str(source), "--out-dir", str(out), cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    pdfs = list(out.glob("*.pdf"))
    assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF")


def test_bad_date_is_a_usage_error(tmp_path: Path) -> None:
    result = _run("overdue", "--today", "yesterday", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr
