"""``billow pdf render`` (item 3): the logo comes from the store (``--data-dir``), and an
entity's stored documents of a period render in one command, on several processes, with a
progress bar and every failure reported in the answer and the exit code."""

from __future__ import annotations

import io
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader

from storage_adapter.sqlite import SqliteStore
from tests.hardening.support import REPO, billow_command
from tests.invoices.support import CLIENT, SELLER, act, draft, make_ctx
from tests.invoices.test_logos import data_url, image_sizes, png


def _billow(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLOW_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [*billow_command(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _seed(data_dir: Path) -> dict[str, object]:
    """An entity with a logo; documents issued in October, November (three invoices and a
    credit note) and December; a November draft; another entity's November invoice."""
    store = SqliteStore(data_dir / "billow.db", data_dir / "blobs")
    ctx = make_ctx(store, now=datetime(2026, 10, 30, 9, tzinfo=UTC))
    entity = act(ctx, "entity.create", **SELLER, logo=data_url(png(300, 100)))
    other = act(ctx, "entity.create", **{**SELLER, "name": "Other GmbH"})
    client = act(ctx, "client.create", **CLIENT)
    ids = {"entity_id": entity["id"], "client_id": client["id"]}
    made: dict[str, list[dict]] = {"oct": [], "nov": [], "dec": []}
    for month, day, count in (
        ("oct", datetime(2026, 10, 30, 9, tzinfo=UTC), 1),
        ("nov", datetime(2026, 11, 12, 9, tzinfo=UTC), 3),
        ("dec", datetime(2026, 12, 1, 9, tzinfo=UTC), 1),
    ):
        ctx = make_ctx(store, now=day)
        for _ in range(count):
            made[month].append(act(ctx, "invoice.finalize", invoice_id=draft(ctx, ids)["id"]))
    ctx = make_ctx(store, now=datetime(2026, 11, 20, 9, tzinfo=UTC))
    made["nov"].append(act(ctx, "invoice.credit", invoice_id=made["nov"][0]["id"], reason="r"))
    draft(ctx, ids)
    foreign = draft(ctx, {"entity_id": other["id"], "client_id": client["id"]})
    act(ctx, "invoice.finalize", invoice_id=foreign["id"])
    store.close()
    return {"entity": entity, "made": made}


def test_a_json_file_renders_with_the_logo_from_the_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    seeded = _seed(data_dir)
    invoice = seeded["made"]["oct"][0]
    source = tmp_path / "invoice.json"
    source.write_text(json.dumps(invoice), encoding="utf-8")
    out = tmp_path / "out"
    done = _billow(
        "pdf",
        "render",
        str(source),
        "--data-dir",
        str(data_dir),
        "--out-dir",
        str(out),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    pdf = (out / f"{invoice['number']}.pdf").read_bytes()
    assert (300, 100) in image_sizes(pdf)


def test_an_entitys_documents_of_a_month_render_from_the_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    seeded = _seed(data_dir)
    out = tmp_path / "november"
    done = _billow(
        "pdf",
        "render",
        "--entity",
        seeded["entity"]["id"],
        "--issued-from",
        "2026-11-01",
        "--issued-to",
        "2026-11-30",
        "--data-dir",
        str(data_dir),
        "--out-dir",
        str(out),
        "--jobs",
        "2",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    expected = sorted(f"{d['number']}.pdf" for d in seeded["made"]["nov"])
    assert sorted(p.name for p in out.iterdir()) == expected
    assert "CN-2026-0001.pdf" in expected
    for name in expected:
        pdf = (out / name).read_bytes()
        assert (300, 100) in image_sizes(pdf), name
        assert name.removesuffix(".pdf") in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "4/4" in done.stderr  # the progress bar
    assert "4 rendered, 0 failed" in done.stderr


def test_failures_are_reported_and_set_the_exit_code(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    seeded = _seed(data_dir)
    store = SqliteStore(data_dir / "billow.db", data_dir / "blobs")
    broken = seeded["made"]["nov"][1]
    rec = store.get("invoices", broken["id"])
    store.transaction(
        lambda tx: tx.put(
            "invoices",
            rec.key,
            {**rec.data, "seller": "not an object"},
            account_id=rec.account_id,
            expected_version=rec.version,
        )
    )
    store.close()
    out = tmp_path / "out"
    done = _billow(
        "pdf",
        "render",
        "--entity",
        seeded["entity"]["id"],
        "--issued-from",
        "2026-11-01",
        "--issued-to",
        "2026-11-30",
        "--data-dir",
        str(data_dir),
        "--out-dir",
        str(out),
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert f"FAILED {broken['number']}" in done.stderr
    assert "3 rendered, 1 failed" in done.stderr
    assert len(list(out.iterdir())) == 3


def test_usage_errors(tmp_path: Path) -> None:
    assert _billow("pdf", "render", "--out-dir", str(tmp_path), cwd=tmp_path).returncode == 2
    nowhere = _billow(
        "pdf", "render", "--entity", "ent_x", "--data-dir", str(tmp_path / "none"), cwd=tmp_path
    )
    assert nowhere.returncode == 2 and "no store" in nowhere.stderr
