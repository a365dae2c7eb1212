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
    expect(page.locator("form.editor")).to_contain_text("BT-10")
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


UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def _download(page: Page, downloads, name: str) -> bytes:
    with page.expect_download() as info:
        downloads.get_by_role("button", name=name).click()
    return Path(info.value.path()).read_bytes()


def test_line_unit_code_period_and_attributes_reach_the_e_invoices(
    page: Page, billow_server: BillowServer, screenshots: Path
) -> None:
    """In the editor: a line's unit code (typed, or derived from the unit), its period and its
    attributes, and the invoice's buyer reference and period; a bad unit code is shown on its
    field; after finalizing, the Peppol UBL and the Factur-X XML carry every value."""
    from lxml import etree

    sign_in(page, billow_server, new_email("einvoice-lines"))
    set_up_entity(page)
    # the company's electronic address (BT-34), needed for Peppol
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.locator(".entity-card").first.click()
    page.get_by_label("Electronic address scheme").select_option("9930")
    page.get_by_label("Electronic address", exact=True).fill("DE136695976")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Settings saved")).to_be_visible()

    _client(page, "Stadt Leipzig", fmt="peppol")
    page.get_by_role("link", name="New invoice").first.click()
    page.get_by_label("Bill to").select_option(label="Stadt Leipzig")
    page.get_by_label("Buyer reference").fill("04011000-1234512345-06")
    page.get_by_label("Period from", exact=True).fill("2026-11-01")
    page.get_by_label("Period to", exact=True).fill("2026-11-30")
    fill_line(page, 1, "Wartung November", "10", "95.00")
    page.get_by_label("Line 1 unit", exact=True).fill("hour")
    expect(save_state(page)).to_contain_text("Saved")
    page.get_by_role("button", name="Add line").click()
    fill_line(page, 2, "Hosting", "1", "49.00")
    line2 = page.locator(".line").nth(1)
    line2.locator("summary").click()
    page.get_by_label("Line 2 unit code").fill("QQQ")  # not a Rec. 20 code
    page.get_by_label("Line 2 period from").fill("2026-11-01")
    page.get_by_label("Line 2 period to").fill("2026-11-30")
    page.get_by_label("Line 2 attributes").fill("ticket: T-42\nFarbe: Blau")
    expect(save_state(page)).to_contain_text("Not saved")
    expect(page.get_by_label("Line 2 unit code")).to_have_attribute("aria-invalid", "true")
    expect(line2.locator(".line-error")).to_contain_text("unit code")
    page.get_by_label("Line 2 unit code").fill("mon")
    expect(save_state(page)).to_contain_text("Saved")
    # line 1's code was derived from its unit; line 2's summary names what is set
    page.locator(".line").nth(0).locator("summary").click()
    expect(page.get_by_label("Line 1 unit code")).to_have_value("HUR")
    expect(line2.locator("summary")).to_contain_text("Unit MON")
    expect(line2.locator("summary")).to_contain_text("2 attributes")
    shot(page, screenshots, "33-editor-line-einvoice-details")

    page.get_by_role("button", name="Finalize").click()
    expect(page.get_by_role("heading", name="Invoice INV-2026-0001", exact=False)).to_be_visible()
    downloads = page.get_by_role("group", name="E-invoice downloads")

    ubl = etree.fromstring(_download(page, downloads, "Peppol UBL"))
    lines = ubl.findall("cac:InvoiceLine", UBL_NS)
    assert [q.get("unitCode") for q in ubl.iterfind(".//cbc:InvoicedQuantity", UBL_NS)] == [
        "HUR",
        "MON",
    ]
    assert lines[0].find("cac:InvoicePeriod", UBL_NS) is None
    period = lines[1].find("cac:InvoicePeriod", UBL_NS)
    assert period.findtext("cbc:StartDate", namespaces=UBL_NS) == "2026-11-01"
    assert period.findtext("cbc:EndDate", namespaces=UBL_NS) == "2026-11-30"
    props = {
        p.findtext("cbc:Name", namespaces=UBL_NS): p.findtext("cbc:Value", namespaces=UBL_NS)
        for p in lines[1].iterfind("cac:Item/cac:AdditionalItemProperty", UBL_NS)
    }
    assert props == {"ticket": "T-42", "Farbe": "Blau"}
    assert ubl.findtext("cbc:BuyerReference", namespaces=UBL_NS) == "04011000-1234512345-06"
    assert ubl.findtext("cac:InvoicePeriod/cbc:EndDate", namespaces=UBL_NS) == "2026-11-30"

    cii = etree.fromstring(_download(page, downloads, "Factur-X XML"))
    items = cii.findall(".//ram:IncludedSupplyChainTradeLineItem", CII_NS)
    assert [q.get("unitCode") for q in cii.iterfind(".//ram:BilledQuantity", CII_NS)] == [
        "HUR",
        "MON",
    ]
    start = items[1].findtext(
        ".//ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString", namespaces=CII_NS
    )
    assert start == "20261101"
    chars = {
        c.findtext("ram:Description", namespaces=CII_NS): c.findtext("ram:Value", namespaces=CII_NS)
        for c in items[1].iterfind(".//ram:ApplicableProductCharacteristic", CII_NS)
    }
    assert chars == {"ticket": "T-42", "Farbe": "Blau"}
    assert cii.findtext(".//ram:BuyerReference", namespaces=CII_NS) == "04011000-1234512345-06"
