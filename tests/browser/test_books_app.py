"""Self-billing and the books in the app: a supplier agreement on the client page, a
self-billed invoice issued to that supplier from the editor, the aging report on the
dashboard, and the Books page with its entries and an export downloaded.
Screenshots: tests/artifacts/screenshots/7x-*.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import BillowServer
from .test_app_e2e import fill_line, nav, new_email, save_state, set_up_entity, shot, sign_in


def _supplier_with_agreement(page: Page, name: str) -> None:
    nav(page, "Clients")
    page.get_by_role("button", name="New client").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Email").fill("rechnung@lieferant.example")
    dialog.get_by_label("VAT number").fill("DE811907980")
    dialog.get_by_label("Street and number").fill("Industriestraße 9")
    dialog.get_by_label("Postal code").fill("70173")
    dialog.get_by_label("City").fill("Stuttgart")
    dialog.get_by_label("Country").select_option("DE")
    dialog.get_by_label("Agreement reference").fill("SBA-2026-07")
    dialog.get_by_label("Agreement valid from").fill("2026-01-01")
    dialog.get_by_role("button", name="Create client").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def _client(page: Page, name: str) -> None:
    nav(page, "Clients")
    page.get_by_role("button", name="New client").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Street and number").fill("Ring 5")
    dialog.get_by_label("Postal code").fill("80331")
    dialog.get_by_label("City").fill("München")
    dialog.get_by_label("Country").select_option("DE")
    dialog.get_by_role("button", name="Create client").click()
    expect(dialog).to_be_hidden()


def test_self_billed_invoice_books_page_and_aging(
    page: Page, billow_server: BillowServer, screenshots: Path
) -> None:
    sign_in(page, billow_server, new_email("books"))
    set_up_entity(page)

    _supplier_with_agreement(page, "Lieferant GmbH")
    expect(page.get_by_label("Agreement reference")).to_have_value("SBA-2026-07")
    expect(page.get_by_label("Agreement valid from")).to_have_value("2026-01-01")
    shot(page, screenshots, "70-client-supplier-agreement")

    # the editor's self-billed path: only suppliers with an agreement are offered
    _client(page, "Kunde ohne Vereinbarung")
    page.get_by_role("link", name="New invoice").first.click()
    page.get_by_label("Document").select_option("self_billed_invoice")
    supplier = page.get_by_label("Supplier (seller)")
    expect(supplier.locator("option")).to_have_count(2)  # the prompt and Lieferant GmbH
    supplier.select_option(label="Lieferant GmbH")
    fill_line(page, 1, "Rohstofflieferung November", "12", "150.00")
    expect(save_state(page)).to_contain_text("Saved")
    shot(page, screenshots, "71-editor-self-billed")
    page.get_by_role("button", name="Finalize").click()
    heading = page.get_by_role("heading", name="Self-billed invoice SB-2026-0001")
    expect(heading).to_be_visible()
    expect(page.locator(".doc")).to_contain_text("Seller (supplier)")
    expect(page.locator(".doc")).to_contain_text("Lieferant GmbH")
    expect(page.locator(".doc")).to_contain_text("Self-billing")
    shot(page, screenshots, "72-self-billed-invoice")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download PDF").click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")

    # an ordinary invoice, still open: the aging report on the dashboard shows it
    page.get_by_role("link", name="New invoice").first.click()
    page.get_by_label("Bill to").select_option(label="Kunde ohne Vereinbarung")
    fill_line(page, 1, "Beratung", "2", "500.00")
    expect(save_state(page)).to_contain_text("Saved")
    page.get_by_role("button", name="Finalize").click()
    expect(page.get_by_role("heading", name="Invoice INV-2026-0001", exact=False)).to_be_visible()
    nav(page, "Dashboard")
    # the self-billed invoice is owed by the company: not outstanding, not aged
    expect(page.get_by_role("region", name="Summary")).to_contain_text("1,190.00")
    latest = page.get_by_role("table").first
    expect(latest.get_by_role("row").filter(has_text="SB-2026-0001")).to_contain_text(
        "Lieferant GmbH"
    )
    aging = page.get_by_role("region", name="Receivables aging")
    expect(aging).to_contain_text("Kunde ohne Vereinbarung")
    expect(aging.locator("tfoot")).to_contain_text("1,190.00")
    shot(page, screenshots, "73-dashboard-aging")

    # the Books page: both documents posted, exports downloaded
    nav(page, "Books")
    expect(page.get_by_role("heading", name="Books", exact=True)).to_be_visible()
    table = page.get_by_role("table", name="Journal entries")
    expect(table).to_contain_text("SB-2026-0001")
    expect(table).to_contain_text("INV-2026-0001")
    expect(table).to_contain_text("1410")  # SKR03 receivables (ohne Kontokorrent)
    expect(page.get_by_text("2 entries")).to_be_visible()
    shot(page, screenshots, "74-books-page")
    exports = page.get_by_role("group", name="Ledger exports")
    with page.expect_download() as info:
        exports.get_by_role("button", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text("utf-8"))))
    assert {r["document_number"] for r in rows} == {"SB-2026-0001", "INV-2026-0001"}
    assert sum(float(r["debit"]) for r in rows) == sum(float(r["credit"]) for r in rows)
    with page.expect_download() as info:
        exports.get_by_role("button", name="DATEV").click()
    assert info.value.suggested_filename.startswith("EXTF_Buchungsstapel_")
    datev = Path(info.value.path()).read_bytes().decode("cp1252")
    assert datev.startswith('"EXTF";700;21;"Buchungsstapel"')
    shot(page, screenshots, "75-books-exported")
