"""End-to-end tests of the browser app in headless Chromium against a real ``billow serve``.

Each test signs in with its own address (so its own account) through the link mailed to the
server's outbox. Screenshots of each main screen go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import re
import struct
import time
import uuid
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import VIES_CONSULTATION, BillowServer, find_mail, mail_link, mail_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

XSS_NAME = "<img src=x onerror=alert(1)>"


def png_bytes(width: int = 64, height: int = 24, filler: bytes = b"") -> bytes:
    """A valid PNG (solid blue); ``filler`` pads it with an ancillary chunk to grow the file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x2f\x5b\xea" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    extra = chunk(b"tEXt", b"pad\x00" + filler) if filler else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + extra
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def shot(page: Page, screenshots: Path, name: str, full_page: bool = True) -> None:
    page.wait_for_load_state("networkidle")
    # transient toasts would cover the screen being documented
    page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())")
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=full_page)


def new_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def sign_in(
    page: Page, server: BillowServer, address: str, screenshots: Path | None = None
) -> None:
    page.goto(f"{server.url}/")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    if screenshots:
        shot(page, screenshots, "01-sign-in")
    page.get_by_label("Work email").fill(address)
    before = time.time() - 2
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your mail", exact=True)).to_be_visible()
    if screenshots:
        shot(page, screenshots, "02-check-your-mail")
    link = mail_link(server.outbox, address, before)
    page.goto(link)
    # the token is consumed and removed from the address bar
    expect(page.get_by_role("heading", name="Set up your company", exact=True)).to_be_visible()
    assert "token=" not in page.url


def set_up_entity(
    page: Page,
    name: str = "Nordlicht Studio GmbH",
    screenshots: Path | None = None,
    vat_number: str = "DE136695976",
) -> None:
    expect(page.get_by_role("heading", name="Set up your company", exact=True)).to_be_visible()
    page.get_by_label("Company name", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill("billing@nordlicht.example")
    page.get_by_label("Street and number").fill("Torstraße 1")
    page.get_by_label("Postal code").fill("10119")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Country").select_option("DE")
    page.get_by_label("VAT number").fill(vat_number)
    page.get_by_label("Default VAT rate (%)").fill("19")
    page.get_by_label("Account holder").fill(name)
    page.get_by_label("IBAN").fill("DE89370400440532013000")
    page.get_by_label("BIC").fill("COBADEFFXXX")
    if screenshots:
        shot(page, screenshots, "03-setup")
    page.get_by_role("button", name="Create company and continue").click()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()


def add_client(
    page: Page, name: str, email_addr: str = "ap@client.example", country: str = "DE"
) -> None:
    nav(page, "Clients")
    expect(page.get_by_role("heading", name="Clients", exact=True)).to_be_visible()
    page.get_by_role("button", name="New client").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Email").fill(email_addr)
    dialog.get_by_label("Street and number").fill("Hauptstraße 5")
    dialog.get_by_label("Postal code").fill("80331")
    dialog.get_by_label("City").fill("München")
    dialog.get_by_label("Country").select_option(country)
    dialog.get_by_role("button", name="Create client").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def fill_line(
    page: Page, n: int, description: str, quantity: str, price: str, discount: str = ""
) -> None:
    page.get_by_label(f"Line {n} description").fill(description)
    page.get_by_label(f"Line {n} quantity").fill(quantity)
    page.get_by_label(f"Line {n} unit price").fill(price)
    if discount:
        page.get_by_label(f"Line {n} discount percent").fill(discount)


def new_invoice_with_three_lines(page: Page, client: str) -> None:
    page.get_by_role("link", name="New invoice").first.click()
    expect(page.get_by_role("heading", name="New invoice", exact=True)).to_be_visible()
    page.get_by_label("Bill to").select_option(label=client)
    fill_line(page, 1, "Design workshop", "10", "85.00")
    page.get_by_role("button", name="Add line").click()
    fill_line(page, 2, "Brand guidelines", "1", "1200.00", discount="10")
    page.get_by_role("button", name="Add line").click()
    fill_line(page, 3, "Hosting, monthly", "3", "19.99")


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def more(page: Page, action: str) -> None:
    """Click an action that lives in the invoice page's "More" menu."""
    page.get_by_role("button", name="More", exact=True).click()
    page.get_by_role("group", name="More actions").get_by_role("button", name=action).click()


def save_state(page: Page):
    return page.locator(".save-state")


def test_sign_in_set_up_invoice_pay_and_pdf(
    page: Page, billow_server: BillowServer, screenshots: Path
) -> None:
    sign_in(page, billow_server, new_email("owner"), screenshots)
    set_up_entity(page, screenshots=screenshots)
    shot(page, screenshots, "04-dashboard-empty")

    add_client(page, "Acme Bavaria AG")
    shot(page, screenshots, "05-client")

    # ---- invoice with three lines, autosaved
    new_invoice_with_three_lines(page, "Acme Bavaria AG")
    expect(save_state(page)).to_contain_text("Saved")
    # 10 × 85.00 + 1200.00 − 10 % + 3 × 19.99 = 1989.97 net; 19 % VAT once = 378.09
    totals = page.locator(".totals")
    expect(totals).to_contain_text("€1,989.97")
    expect(totals).to_contain_text("€378.09")
    expect(totals.locator("[data-total=total]")).to_have_text("€2,368.06")
    expect(page.get_by_label("Line 2 amount")).to_have_text("€1,080.00")
    assert "/edit" in page.url and "inv_" in page.url, "the new draft's id is in the address"
    shot(page, screenshots, "06-invoice-editor")

    # the draft survives a reload: autosave really stored it
    page.reload()
    expect(page.get_by_label("Line 3 description")).to_have_value("Hosting, monthly")
    expect(page.locator(".totals [data-total=total]")).to_have_text("€2,368.06")

    # ---- finalize
    page.get_by_role("button", name="Finalize").click()
    heading = page.get_by_role("heading", name=re.compile(r"^Invoice \S+"))
    expect(heading).to_be_visible()
    number = heading.inner_text().removeprefix("Invoice ").strip()
    assert number and number != "(draft)"
    expect(page.locator(".page-head .badge")).to_have_text("Open")
    expect(page.locator(".timeline")).to_contain_text("Finalized")

    # ---- send it with a message: the mail carries the PDF
    page.get_by_role("button", name="Send", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("To", exact=True)).to_have_value("ap@client.example")
    dialog.get_by_label("Message").fill("Thank you for the workshop week!")
    sent_after = time.time() - 2
    dialog.get_by_role("button", name="Send", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".page-head .badge")).to_have_text("Sent")
    expect(page.locator(".timeline")).to_contain_text("Sent")
    mail = find_mail(billow_server.outbox, "ap@client.example", sent_after)
    assert "Thank you for the workshop week!" in mail_text(mail)
    attachments = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert attachments and attachments[0].get_content().startswith(b"%PDF")

    # ---- download the PDF: a real PDF arrives
    with page.expect_download() as info:
        page.get_by_role("button", name="Download PDF").click()
    download = info.value
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF"), data[:20]
    assert download.suggested_filename.endswith(".pdf")

    # ---- partial payment, then the rest
    page.get_by_role("button", name="Record payment").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label(re.compile(r"^Amount")).fill("1000.00")
    shot(page, screenshots, "21-payment-dialog", full_page=False)
    dialog.get_by_role("button", name="Record payment").click()
    expect(dialog).to_be_hidden()
    due = page.locator(".amount-card", has_text="Amount due")
    expect(due).to_contain_text("€1,368.06")
    expect(page.locator(".page-head .badge")).to_have_text("Sent")
    expect(page.locator(".payments li")).to_have_count(1)

    page.get_by_role("button", name="Record payment").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label(re.compile(r"^Amount"))).to_have_value("1368.06")
    dialog.get_by_role("button", name="Record payment").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".page-head .badge")).to_have_text("Paid")
    expect(page.locator(".payments li")).to_have_count(2)
    expect(page.locator(".timeline")).to_contain_text("Paid in full")
    shot(page, screenshots, "07-invoice-paid")

    nav(page, "Dashboard")
    expect(page.locator(".stat", has_text="Paid in the last 30 days")).to_contain_text("€2,368.06")
    shot(page, screenshots, "08-dashboard")
    assert not page.dialogs
    # no script error, no CSP violation, no failed request anywhere in the flow
    assert not page.console_errors, page.console_errors


def test_credit_note_and_search(page: Page, billow_server: BillowServer, screenshots: Path) -> None:
    sign_in(page, billow_server, new_email("credit"))
    set_up_entity(page, name="Fjord Consulting GmbH")
    add_client(page, "Kestrel Logistics GmbH", "ap@kestrel.example")
    add_client(page, "Osprey Media GmbH", "ap@osprey.example")

    numbers = {}
    for client in ("Kestrel Logistics GmbH", "Osprey Media GmbH"):
        new_invoice_with_three_lines(page, client)
        expect(save_state(page)).to_contain_text("Saved")
        page.get_by_role("button", name="Finalize").click()
        heading = page.get_by_role("heading", name=re.compile(r"^Invoice \S+"))
        expect(heading).to_be_visible()
        numbers[client] = heading.inner_text().removeprefix("Invoice ").strip()

    # ---- a full credit note on the Osprey invoice
    more(page, "Credit note")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason").fill("Project cancelled")
    dialog.get_by_role("button", name="Issue credit note").click()
    expect(dialog).to_be_hidden()
    cn_heading = page.get_by_role("heading", name=re.compile(r"^Credit note \S+"))
    expect(cn_heading).to_be_visible()
    cn_number = cn_heading.inner_text().removeprefix("Credit note ").strip()
    assert cn_number not in numbers.values()
    expect(page.locator(".amount-card", has_text="Total")).to_contain_text("-€2,368.06")
    shot(page, screenshots, "09-credit-note")
    page.locator("[data-link=original]").click()
    expect(page.locator(".page-head .badge")).to_have_text("Credited")

    # ---- the list: search, status tabs, sorting
    nav(page, "Invoices")
    rows = page.locator(".invoices-table tbody tr")
    expect(rows).to_have_count(3)
    search = page.get_by_label("Search invoices")
    search.fill(numbers["Kestrel Logistics GmbH"])
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Kestrel Logistics GmbH")
    search.fill("osprey")
    expect(rows).to_have_count(2)  # the invoice and its credit note
    search.fill("")
    expect(rows).to_have_count(3)
    page.get_by_role("navigation", name="Filter by status").get_by_role(
        "link", name="Credited"
    ).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(numbers["Osprey Media GmbH"])
    page.get_by_role("navigation", name="Filter by status").get_by_role("link", name="All").click()
    expect(rows).to_have_count(3)
    page.get_by_role("button", name="Filters").click()
    page.get_by_label("Client", exact=True).select_option(label="Kestrel Logistics GmbH")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(numbers["Kestrel Logistics GmbH"])
    shot(page, screenshots, "10b-invoices-filtered", full_page=False)
    page.get_by_role("button", name="Clear filters").click()
    expect(rows).to_have_count(3)
    page.get_by_label("Min total").fill("0")
    expect(rows).to_have_count(2)  # the credit note's total is negative
    page.get_by_role("button", name="Clear filters").click()
    expect(rows).to_have_count(3)
    page.get_by_role("button", name="Total").click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Total")
    expect(rows.last).to_contain_text(cn_number)  # the negative credit note sorts last
    shot(page, screenshots, "10-invoices-list")

    # ---- a partial credit: two of the ten workshop hours on the Kestrel invoice
    rows.filter(has_text=numbers["Kestrel Logistics GmbH"]).get_by_role("link").click()
    more(page, "Credit note")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason").fill("Two hours not delivered")
    dialog.get_by_label("Selected quantities").check()
    dialog.get_by_label(re.compile(r"^Quantity to credit of line 1")).fill("2")
    dialog.get_by_label(re.compile(r"^Quantity to credit of line 2")).fill("0")
    dialog.get_by_label(re.compile(r"^Quantity to credit of line 3")).fill("0")
    dialog.get_by_role("button", name="Issue credit note").click()
    expect(dialog).to_be_hidden()
    # 2 × 85.00 = 170.00 net, 32.30 VAT
    expect(page.locator(".amount-card", has_text="Total")).to_contain_text("-€202.30")
    expect(page.locator(".page-head .badge")).to_have_text("Issued")  # a credit note owes nothing
    page.locator("[data-link=original]").click()
    expect(page.locator(".page-head .badge")).to_have_text("Open")
    expect(page.locator(".amount-card", has_text="Credited")).to_contain_text("€202.30")
    expect(page.locator(".amount-card", has_text="Amount due")).to_contain_text("€2,165.76")


def test_client_name_is_text_never_markup(
    page: Page, billow_server: BillowServer, screenshots: Path
) -> None:
    sign_in(page, billow_server, new_email("xss"))
    set_up_entity(page, name="Safe Pages GmbH")
    add_client(page, XSS_NAME, "x@evil.example")
    # the heading shows the name literally
    expect(page.get_by_role("heading", name=XSS_NAME, exact=True)).to_be_visible()
    nav(page, "Clients")
    expect(page.get_by_role("link", name=XSS_NAME, exact=True)).to_be_visible()
    shot(page, screenshots, "11-clients-list-xss")

    new_invoice_with_three_lines(page, XSS_NAME)
    expect(save_state(page)).to_contain_text("Saved")
    nav(page, "Invoices")
    expect(page.locator(".invoices-table")).to_contain_text(XSS_NAME)
    nav(page, "Dashboard")
    expect(page.locator(".invoices-table")).to_contain_text(XSS_NAME)

    assert page.locator("img[src='x']").count() == 0
    assert page.dialogs == [], f"a dialog fired: {page.dialogs}"


def test_autosave_conflict_is_reported(
    page: Page, context, billow_server: BillowServer, screenshots: Path
) -> None:
    sign_in(page, billow_server, new_email("conflict"))
    set_up_entity(page, name="Twin Tabs GmbH")
    add_client(page, "Parallel GmbH")
    new_invoice_with_three_lines(page, "Parallel GmbH")
    expect(save_state(page)).to_contain_text("Saved")
    edit_url = page.url

    other = context.new_page()  # a second tab, same session
    other.goto(edit_url)
    expect(other.get_by_label("Line 1 description")).to_have_value("Design workshop")

    page.get_by_label("Notes").fill("Changed in the first tab")
    expect(save_state(page)).to_contain_text("Saved")

    other.get_by_label("Notes").fill("Changed in the second tab")
    expect(
        other.get_by_role("alert").filter(has_text="Someone else changed this draft")
    ).to_be_visible()
    expect(other.locator(".save-state")).to_contain_text("Not saved")
    shot(other, screenshots, "19-editor-conflict", full_page=False)

    # "Load the latest version" shows the other tab's text
    other.get_by_role("button", name="Load the latest version").click()
    expect(other.get_by_label("Notes")).to_have_value("Changed in the first tab")
    expect(other.locator(".save-state")).to_contain_text("Saved")


def test_api_errors_show_next_to_their_field(
    page: Page, billow_server: BillowServer, screenshots: Path
) -> None:
    sign_in(page, billow_server, new_email("errors"))
    page.get_by_label("Company name", exact=True).fill("Typo GmbH")
    page.get_by_label("Street and number").fill("Torstraße 1")
    page.get_by_label("Postal code").fill("10119")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Country").select_option("DE")
    iban = page.get_by_label("IBAN")
    iban.fill("DE00 1234 5678")
    page.get_by_role("button", name="Create company and continue").click()
    expect(iban).to_have_attribute("aria-invalid", "true")
    error = page.locator(".field", has=iban).locator(".field-error")
    expect(error).to_be_visible()
    assert error.inner_text().strip()
    iban.scroll_into_view_if_needed()
    shot(page, screenshots, "20-field-error", full_page=False)
    # still on the setup page: nothing was created
    expect(page.get_by_role("heading", name="Set up your company", exact=True)).to_be_visible()
    iban.fill("DE89370400440532013000")
    page.get_by_role("button", name="Create company and continue").click()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()


def test_screens_settings_products_and_phone(
    page: Page, context, billow_server: BillowServer, screenshots: Path
) -> None:
    sign_in(page, billow_server, new_email("screens"))
    set_up_entity(page, name="Atelier Blau GmbH")

    # products: the catalogue, then used from the editor's product picker
    nav(page, "Products")
    page.get_by_role("button", name="New product").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill("Consulting hour")
    dialog.get_by_label("Unit price").fill("120.00")
    dialog.get_by_label("Unit", exact=True).fill("hour")
    dialog.get_by_role("button", name="Create product").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("table")).to_contain_text("Consulting hour")
    expect(page.locator("table")).to_contain_text("€120.00")
    shot(page, screenshots, "12-products")

    add_client(page, "Heron Labs GmbH")
    page.get_by_role("link", name="New invoice").first.click()
    page.get_by_label("Bill to").select_option(label="Heron Labs GmbH")
    page.get_by_label("Line 1 product").select_option(label="Consulting hour")
    expect(page.get_by_label("Line 1 unit price")).to_have_value("120.00")
    page.get_by_label("Line 1 quantity").fill("2")
    expect(save_state(page)).to_contain_text("Saved")
    expect(page.locator(".totals [data-total=total]")).to_have_text("€285.60")

    # settings: companies, API key shown once
    nav(page, "Settings")
    expect(page.locator(".entity-card")).to_contain_text("Atelier Blau GmbH")
    shot(page, screenshots, "13-settings-companies")
    page.locator(".entity-card").first.click()
    expect(page.get_by_label("Reminder days")).to_have_value("7, 14, 30")
    shot(page, screenshots, "14-settings-company-edit", full_page=False)
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("button", name="Create API key").click()
    page.get_by_role("dialog").get_by_label("Name").fill("Accounting sync")
    page.get_by_role("dialog").get_by_role("button", name="Create key").click()
    key_box = page.get_by_label("New API key")
    expect(key_box).to_be_visible()
    assert len(key_box.input_value()) > 16
    shot(page, screenshots, "15-api-key-once", full_page=False)
    page.get_by_role("dialog").get_by_role("button", name="Done").click()
    expect(page.locator("table")).to_contain_text("Accounting sync")
    assert page.get_by_label("New API key").count() == 0

    # phone width: no sideways scrolling, the menu opens
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{billow_server.url}/#/dashboard")
    expect(phone.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    shot(phone, screenshots, "16-phone-dashboard")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.get_by_role("button", name="Menu").click()
    nav(phone, "Invoices")
    expect(phone.get_by_role("heading", name="Invoices", exact=True)).to_be_visible()
    phone.locator(".invoices-table tbody tr").first.click()
    expect(phone.get_by_label("Line 1 description")).to_be_visible()
    shot(phone, screenshots, "17-phone-editor")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_keyboard_only_sign_in_form(page: Page, billow_server: BillowServer) -> None:
    page.goto(f"{billow_server.url}/")
    expect(page.get_by_label("Work email")).to_be_focused()
    page.keyboard.type(new_email("keys"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Check your mail", exact=True)).to_be_visible()


def test_csp_header_forbids_inline_script(page: Page, billow_server: BillowServer) -> None:
    response = page.goto(f"{billow_server.url}/")
    assert response is not None
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    assert not page.console_errors, page.console_errors


def test_verify_vat_and_reverse_charge(
    page: Page, billow_server: BillowServer, screenshots: Path
) -> None:
    sign_in(page, billow_server, new_email("vat"))
    set_up_entity(page, name="Grenzenlos GmbH")
    nav(page, "Clients")
    page.get_by_role("button", name="New client").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill("Société Exemple SA")
    dialog.get_by_label("Email").fill("compta@exemple.example")
    dialog.get_by_label("Street and number").fill("12 rue de la Paix")
    dialog.get_by_label("Postal code").fill("75002")
    dialog.get_by_label("City").fill("Paris")
    dialog.get_by_label("Country").select_option("FR")
    dialog.get_by_label("VAT number").fill("FR40303265045")
    dialog.get_by_role("button", name="Create client").click()
    expect(dialog).to_be_hidden()

    expect(page.locator(".vat-box")).to_contain_text("Not verified yet")
    page.get_by_role("button", name="Verify VAT").click()
    evidence = page.locator(".vat-evidence")
    expect(evidence).to_contain_text("Valid")
    expect(evidence).to_contain_text(VIES_CONSULTATION)
    expect(evidence).to_contain_text("SOCIETE EXEMPLE SA")
    expect(evidence).to_contain_text("Checked on")
    shot(page, screenshots, "18-client-vat-verified")

    # services to a verified EU business elsewhere: reverse charge, no VAT
    page.get_by_role("link", name="New invoice").last.click()
    expect(page.get_by_label("Bill to")).to_have_value(re.compile(r"^cli_"))
    fill_line(page, 1, "Localisation audit", "4", "250.00")
    expect(save_state(page)).to_contain_text("Saved")
    expect(page.locator(".line-vatnote").first).to_have_text("Reverse charge")
    expect(page.locator(".totals [data-total=total]")).to_have_text("€1,000.00")


def test_logo_upload_checks_size_and_saves(
    page: Page, billow_server: BillowServer, tmp_path: Path
) -> None:
    sign_in(page, billow_server, new_email("logo"))
    set_up_entity(page, name="Pixel Werk GmbH")
    nav(page, "Settings")
    page.locator(".entity-card").first.click()
    big = tmp_path / "huge.png"
    big.write_bytes(png_bytes(filler=b"x" * (600 * 1024)))
    page.get_by_label("Logo").set_input_files(str(big))
    logo_field = page.locator(".field", has=page.get_by_label("Logo"))
    expect(logo_field.locator(".field-error")).to_contain_text("512 KiB")
    expect(page.locator(".logo-preview")).to_be_hidden()

    small = tmp_path / "logo.png"
    small.write_bytes(png_bytes())
    page.get_by_label("Logo").set_input_files(str(small))
    expect(page.locator(".logo-preview")).to_be_visible()
    assert page.locator(".logo-preview").get_attribute("src").startswith("data:image/png;base64,")
    page.get_by_label("Brand colour").fill("#0f7a55")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".toast").filter(has_text="Settings saved")).to_be_visible()
    page.get_by_role("link", name="Companies").first.click()
    card = page.locator(".entity-card").first
    expect(card.locator("img.entity-logo")).to_be_visible()


def test_void_then_duplicate(page: Page, billow_server: BillowServer) -> None:
    sign_in(page, billow_server, new_email("void"))
    set_up_entity(page, name="Undo GmbH")
    add_client(page, "Mistake AG")
    new_invoice_with_three_lines(page, "Mistake AG")
    expect(save_state(page)).to_contain_text("Saved")
    page.get_by_role("button", name="Finalize").click()
    heading = page.get_by_role("heading", name=re.compile(r"^Invoice \S+"))
    expect(heading).to_be_visible()
    number = heading.inner_text().removeprefix("Invoice ").strip()

    more(page, "Void")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason").fill("Wrong client")
    dialog.get_by_role("button", name="Void invoice").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".page-head .badge")).to_have_text("Void")
    expect(page.locator(".timeline")).to_contain_text("Voided")
    # a void invoice can't take payments; its number stays used
    expect(page.get_by_role("button", name="Record payment")).to_have_count(0)
    expect(heading).to_have_text(f"Invoice {number}")

    more(page, "Duplicate")
    expect(page.get_by_role("heading", name="Draft invoice", exact=True)).to_be_visible()
    expect(page.get_by_label("Line 2 description")).to_have_value("Brand guidelines")
    expect(page.get_by_label("Bill to")).to_have_value(re.compile(r"^cli_"))
    expect(page.locator(".totals [data-total=total]")).to_have_text("€2,368.06")


def test_used_link_is_refused_and_sign_out_ends_the_session(
    page: Page, billow_server: BillowServer
) -> None:
    address = new_email("session")
    page.goto(f"{billow_server.url}/")
    page.get_by_label("Work email").fill(address)
    before = time.time() - 2
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your mail", exact=True)).to_be_visible()
    link = mail_link(billow_server.outbox, address, before)
    page.goto(link)
    expect(page.get_by_role("heading", name="Set up your company", exact=True)).to_be_visible()
    key = page.evaluate("localStorage.getItem('billow.key')")
    assert key

    # the same link a second time: a clear message, back on the sign-in form
    page.evaluate("localStorage.clear()")
    page.goto(link)
    expect(page.get_by_role("alert").filter(has_text="expired or was already used")).to_be_visible()
    expect(page.get_by_label("Work email")).to_be_visible()

    # sign in again, set up, then sign out: the key stops working at once
    page.evaluate(f"localStorage.setItem('billow.key', {key!r})")
    page.goto(f"{billow_server.url}/#/dashboard")
    set_up_entity(page, name="Session GmbH")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    res = page.request.post(
        f"{billow_server.url}/api",
        data={"action": "auth.me"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert res.status == 401


def test_finalize_lists_what_is_missing(
    page: Page, billow_server: BillowServer, screenshots: Path
) -> None:
    sign_in(page, billow_server, new_email("missing"))
    set_up_entity(page, name="Ohne Nummer GmbH", vat_number="")
    add_client(page, "Strict Buyer AG")
    new_invoice_with_three_lines(page, "Strict Buyer AG")
    expect(save_state(page)).to_contain_text("Saved")
    page.get_by_role("button", name="Finalize").click()
    banner = page.locator(".editor-bar .form-error")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Your company")
    expect(banner).to_contain_text("VAT number", ignore_case=True)
    shot(page, screenshots, "22-finalize-missing-fields", full_page=False)
    # still a draft, still editable; the banner links to the fix
    expect(page.get_by_role("heading", name="Draft invoice", exact=True)).to_be_visible()
    banner.get_by_role("link", name="Edit your company details").click()
    expect(page.get_by_label("VAT number")).to_be_visible()


def test_autosave_keeps_edits_while_offline(
    page: Page, context, billow_server: BillowServer
) -> None:
    sign_in(page, billow_server, new_email("offline"))
    set_up_entity(page, name="Funkloch GmbH")
    add_client(page, "Tunnel AG")
    new_invoice_with_three_lines(page, "Tunnel AG")
    expect(save_state(page)).to_contain_text("Saved")

    context.set_offline(True)
    page.get_by_label("Line 1 quantity").fill("12")
    expect(save_state(page)).to_contain_text("Not saved")
    expect(save_state(page)).to_contain_text("Retrying")
    context.set_offline(False)
    # the retry stores the edit without any further action
    expect(save_state(page)).to_contain_text("Saved", timeout=20_000)
    expect(page.get_by_label("Line 1 amount")).to_have_text("€1,020.00")
    page.reload()
    expect(page.get_by_label("Line 1 quantity")).to_have_value("12")


def test_setup_currency_and_vat_rate_follow_the_country_until_set(
    page: Page, billow_server: BillowServer
) -> None:
    """A Swedish company invoices in SEK at 25 % unless its owner says otherwise."""
    sign_in(page, billow_server, new_email("sweden"))
    page.get_by_label("Country").select_option("SE")
    expect(page.get_by_label("Currency")).to_have_value("SEK")
    expect(page.get_by_label("Default VAT rate (%)")).to_have_value("25")
    page.get_by_label("Currency").select_option("EUR")  # the owner's choice wins from now on
    page.get_by_label("Country").select_option("DK")
    expect(page.get_by_label("Currency")).to_have_value("EUR")
    expect(page.get_by_label("Default VAT rate (%)")).to_have_value("25")


def test_a_late_filter_never_takes_the_user_back_to_the_list(
    page: Page, billow_server: BillowServer
) -> None:
    """Issue 16.13, the CI flake of test_credit_note_and_search: a text filter fires 'change'
    when it loses focus, and the list's debounced filter ran ~350 ms later. When the user had
    clicked a row meanwhile, the late filter rewrote the hash back to the list, so the router
    rendered the list again instead of the invoice ('More' never appeared). A late search or
    filter of a list the user has left must now do nothing: no request, no URL change."""
    sign_in(page, billow_server, new_email("late"))
    set_up_entity(page, name="Heron Studio GmbH")
    add_client(page, "Kite Labs GmbH", "ap@kite.example")
    new_invoice_with_three_lines(page, "Kite Labs GmbH")
    expect(save_state(page)).to_contain_text("Saved")
    page.get_by_role("button", name="Finalize").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Invoice \S+"))).to_be_visible()
    invoice_url = page.evaluate("location.hash")

    nav(page, "Invoices")
    expect(page.locator(".invoices-table tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Filters").click()
    lists: list[str] = []
    page.on(
        "request",
        lambda r: lists.append(r.post_data or "") if "invoice.list" in (r.post_data or "") else 0,
    )
    # a filter edit is pending (debounced) when the address already names the invoice: the
    # state a row click leaves between changing the hash and the router's hashchange
    page.evaluate(
        """(target) => {
            const input = document.querySelector("input[name=min_total]");
            input.value = "1";
            input.dispatchEvent(new Event("change"));
            history.pushState(null, "", target);
        }""",
        invoice_url,
    )
    page.wait_for_timeout(1200)  # the debounce (350 ms) has long fired
    assert page.evaluate("location.hash") == invoice_url
    assert lists == []
    page.evaluate("window.dispatchEvent(new HashChangeEvent('hashchange'))")
    expect(page.get_by_role("button", name="More", exact=True)).to_be_visible()
