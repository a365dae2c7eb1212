"""The search in the app: the shell's search box finds an invoice by its PO number, the search
page finds documents over an amount and a payment by its bank reference, and each result opens
its record. Screenshots: tests/artifacts/screenshots/5x-search-*.png."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import BillowServer
from .test_app_e2e import add_client, new_email, set_up_entity, shot, sign_in

SEED = """async () => {
  const { call } = await import(new URL("js/api.js", location.href).href);
  const [entity] = (await call("entity.list")).items;
  const [client] = (await call("client.list")).items;
  const parties = { entity_id: entity.id, client_id: client.id };
  const lines = [{ description: "Dock crane inspection", quantity: "2", unit_price: "950" }];
  const inv = await call("invoice.create", { ...parties, lines, po_number: "PO-4711" });
  const fin = await call("invoice.finalize", { invoice_id: inv.id });
  await call("invoice.record_payment", {
    invoice_id: inv.id, amount: "500.00", reference: "BANK-77",
  });
  await call("quote.create", { ...parties, lines: [{ ...lines[0], quantity: "3" }] });
  await call("invoice.create", {
    ...parties, lines: [{ description: "Rope", quantity: "1", unit_price: "40" }],
  });
  return fin.number;
}"""


def test_search_finds_records_by_identifier_amount_and_reference(
    page: Page, billow_server: BillowServer, screenshots: Path
) -> None:
    sign_in(page, billow_server, new_email("search"))
    set_up_entity(page)
    add_client(page, "Kranich Werft GmbH")
    number = page.evaluate(SEED)

    box = page.get_by_label("Search everything")
    box.fill("po-4711")
    box.press("Enter")
    expect(page.get_by_role("heading", name="Search", exact=True)).to_be_visible()
    rows = page.locator(".search-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-type", "invoice")
    expect(rows.first).to_contain_text(number)
    expect(rows.first).to_contain_text("PO-4711")
    shot(page, screenshots, "51-search-by-po-number")

    page.get_by_label("Text").fill("")
    page.get_by_label("From").first.fill("1000")
    page.get_by_label("Which amount").select_option("total")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="records")).to_have_text("2 records")
    expect(rows).to_have_count(2)  # the invoice (2,261.00) and the quote; not the 47.60 one
    expect(rows.nth(0)).to_have_attribute("data-type", "invoice")
    expect(rows.nth(1)).to_have_attribute("data-type", "quote")
    shot(page, screenshots, "52-search-by-amount")

    page.get_by_label("From").first.fill("")
    page.get_by_label("Which amount").select_option("")
    page.get_by_label("Exactly").fill("bank-77")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-type", "payment")
    expect(rows.first).to_contain_text("500.00")
    shot(page, screenshots, "53-search-payment")
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name=number, exact=False)).to_be_visible()

    # a condition the API refuses is shown next to its field
    page.get_by_label("Search everything").press("Enter")
    page.get_by_label("Currency").fill("EURO")
    page.get_by_label("From").first.fill("1")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_label("Currency")).to_have_attribute("aria-invalid", "true")
