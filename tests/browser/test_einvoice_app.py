"""E-invoicing in the app: a client set to XRechnung without a buyer reference cannot be
finalized and the editor says which fields (and BT ids) are missing; a finalized invoice offers
its e-invoice downloads. Screenshots: tests/artifacts/screenshots/3x-*.png."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import BillowServer
from .test_app_e2e import fill_line, nav, new_email, save_state, set_up_entity, shot, sign_in


def _client(page: Page, name: str, fmt: str | None = None) -> None:
    nav(page, "Clients")
    page.get_by_role("button", name="New client").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Email").fill("rechnung@stadt.example")
    dialog.get_by_label("Street and number").fill("Marktplatz 1")
    dialog.get_by_label("Postal code").fill("04109")
    dialog.get_by_label("City").fill("Leipzig")
    dialog.get_by_label("Country").select_option("DE")
    if fmt:
        dialog.get_by_label("E-invoice format").select_option(fmt)
        dialog.get_by_label("Electronic address scheme").select_option("0204")
        dialog.get_by_label("Electronic address", exact=True).fill("04011000-1234512345-06")
    dialog.get_by_role("button", name="Create client").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def _invoice(page: Page, client: str) -> None:
    page.get_by_role("link", name="New invoice").first.click()
    page.get_by_label("Bill to").select_option(label=client)
    fill_line(page, 1, "Wartung Oktober", "10", "95.00")
    expect(save_state(page)).to_contain_text("Saved")


def test_xrechnung_client_needs_a_buyer_reference_and_downloads(
    page: Page, billow_server: BillowServer, screenshots: Path
) -> None:
    sign_in(page, billow_server, new_email("einvoice"))
    set_up_entity(page)

    _client(page, "Stadt Leipzig", fmt="xrechnung")
    _invoice(page, "Stadt Leipzig")
    page.get_by_role("button", name="Finalize").click()
    banner = page.get_by_role("alert").filter(has_text="Your company")
    expect(banner).to_be_visible()
    buyer_ref = page.get_by_label("Buyer reference")
    expect(buyer_ref).to_have_attribute("aria-invalid", "true")
    expect(page.locator("form")).to_contain_text("BT-10")
    expect(banner).to_contain_text("BT-34")  # the company's electronic address
    shot(page, screenshots, "31-xrechnung-finalize-refused")
    assert "/edit" in page.url  # still a draft

    _client(page, "Kunde AG")
    _invoice(page, "Kunde AG")
    page.get_by_role("button", name="Finalize").click()
    expect(page.get_by_role("heading", name="Invoice INV-2026-0001", exact=False)).to_be_visible()
    downloads = page.get_by_role("group", name="E-invoice downloads")
    expect(downloads).to_be_visible()
    shot(page, screenshots, "32-invoice-einvoice-downloads")
    with page.expect_download() as info:
        downloads.get_by_role("button", name="Factur-X XML").click()
    download = info.value
    assert download.suggested_filename.endswith("-factur-x.xml")
    data = Path(download.path()).read_bytes()
    assert b"urn:cen.eu:en16931:2017" in data and b"Wartung Oktober" in data
