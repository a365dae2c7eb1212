"""`billow pdf render INVOICE.json... --out-dir DIR` (functions.pdf.cli.main)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from pypdf import PdfReader

from functions.pdf.cli import main
from tests.pdf.samples import make_invoice

FIXTURES = Path(__file__).parent / "fixtures"


def test_batch_render_on_several_processes(tmp_path, capsys):
    files = []
    for i in range(6):
        invoice = make_invoice(3, number=f"INV-2026-{i + 1:04d}")
        path = tmp_path / f"in{i}.json"
        path.write_text(json.dumps(invoice), encoding="utf-8")
        files.append(str(path))
    out_dir = tmp_path / "out"
    code = main(["render", *files, "--out-dir", str(out_dir), "--jobs", "2"])
    assert code == 0
    produced = sorted(p.name for p in out_dir.iterdir())
    assert produced == [f"INV-2026-{i:04d}.pdf" for i in range(1, 7)]
    for i in range(1, 7):
        text = PdfReader(io.BytesIO((out_dir / f"INV-2026-{i:04d}.pdf").read_bytes())).pages[0]
        assert f"INV-2026-{i:04d}" in text.extract_text()
    assert "6 rendered, 0 failed" in capsys.readouterr().err


def test_fixtures_render_and_bad_files_are_reported(tmp_path, capsys):
    for name in ("invoice.json", "credit_note.json", "invoice_domestic.json"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    inputs = [str(p) for p in sorted(tmp_path.glob("*.json"))]
    code = main([*inputs, "--out-dir", str(tmp_path / "out")])  # "render" may be omitted
    assert code == 1
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["CN-2026-0007.pdf", "INV-2026-0042.pdf", "INV-2026-0043.pdf"]
    err = capsys.readouterr().err
    assert "FAILED" in err and "broken.json" in err
    assert "3 rendered, 1 failed" in err


def test_a_list_page_renders_each_item(tmp_path):
    page = {"items": [make_invoice(1, number="A-1"), make_invoice(1, number="A-2")], "total": 2}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    assert main(["render", str(path), "--out-dir", str(tmp_path / "o"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["A-1.pdf", "A-2.pdf"]


def test_a_finalized_document_renders_as_the_factur_x_the_app_stores(tmp_path):
    from facturx import get_facturx_xml_from_pdf

    from functions.pdf.facturx import facturx_xml
    from functions.pdf.store import render_and_store
    from storage_adapter.sqlite import SqliteStore
    from tests.einvoice import factory

    lines = [{"description": "Wartung", "quantity": "3", "unit": "hour", "unit_price": "95"}]
    document = factory.finalized(lines).model_dump(mode="json")
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert main(["render", str(path), "--out-dir", str(tmp_path / "o"), "--quiet"]) == 0
    pdf = (tmp_path / "o" / f"{document['number']}.pdf").read_bytes()
    assert get_facturx_xml_from_pdf(pdf, check_xsd=False)[1] == facturx_xml(document)

    store = SqliteStore(tmp_path / "data" / "billow.db")
    reference = render_and_store(store, document)
    assert pdf == store.get_blob(reference["blob_key"]).data  # the PDF the app offers, exactly
    store.close()
