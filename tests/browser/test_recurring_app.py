"""Recurring invoices in the app: create a schedule (a missing price is shown next to its
field), see its next date in the list, let the daily run issue the period's invoice, then
pause, resume and cancel. Screenshots: tests/artifacts/screenshots/4x-recurring-*.png."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import BillowServer
from .test_app_e2e import add_client, nav, new_email, set_up_entity, shot, sign_in


def test_recurring_schedule_life(
    page: Page, billow_server: BillowServer, screenshots: Path
) -> None:
    sign_in(page, billow_server, new_email("recurring"))
    set_up_entity(page)
    add_client(page, "Hafen Logistik GmbH")

    nav(page, "Recurring")
    expect(page.get_by_role("heading", name="No recurring invoices yet")).to_be_visible()
    page.get_by_role("link", name="New schedule").first.click()
    expect(page.get_by_role("heading", name="New schedule", exact=True)).to_be_visible()
    page.get_by_label("Client").select_option(label="Hafen Logistik GmbH")
    page.get_by_label("Interval").select_option("month")
    today = datetime.now(UTC).date().isoformat()
    page.get_by_label("First period starts").fill(today)
    page.get_by_label("Ends").select_option("count")
    page.get_by_label("Number of invoices").fill("12")
    page.get_by_label("Line 1 description").fill("Warehouse space, monthly")
    page.get_by_role("button", name="Create schedule").click()
    price = page.get_by_label("Line 1 unit price")
    expect(price).to_have_attribute("aria-invalid", "true")  # the 422 names lines[0].unit_price
    shot(page, screenshots, "41-recurring-editor-error")

    price.fill("1200.00")
    page.get_by_role("button", name="Add line").click()
    page.get_by_label("Line 2 description").fill("Handling")
    page.get_by_label("Line 2 quantity").fill("3")
    page.get_by_label("Line 2 unit price").fill("45.50")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name="Hafen Logistik GmbH", exact=True)).to_be_visible()
    expect(page.locator('[data-meta="Next invoice"]')).not_to_have_text("—")
    expect(page.locator(".badge-rec-active")).to_have_text("Active")

    nav(page, "Recurring")
    row = page.locator("#recurring-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".next-date")).not_to_have_text("—")
    expect(row).to_contain_text("1,590.44")  # (1200 + 3 × 45.50) + 19 % VAT
    shot(page, screenshots, "42-recurring-list")

    # the daily run (as `billow daily` by hand, beside the running server) issues the period
    billow = Path(sys.executable).with_name("billow")
    cmd = [str(billow)] if billow.exists() else [sys.executable, "-m", "infra.cli"]
    subprocess.run(
        [*cmd, "daily", "--today", today, "--data-dir", str(billow_server.data_dir)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    row.get_by_role("link").click()
    issued = page.locator("#issued-periods li")
    expect(issued).to_have_count(1)
    expect(issued).to_contain_text("Draft")
    expect(page.locator('[data-meta="Invoices issued"]')).to_have_text("1")

    # once an invoice was issued the periods are fixed; lines and notes still change
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name="Edit schedule", exact=True)).to_be_visible()
    expect(page.get_by_label("First period starts")).to_be_disabled()
    page.get_by_label("Line 2 quantity").fill("4")
    page.get_by_label("Notes on each invoice").fill("Thank you for your business.")
    shot(page, screenshots, "44-recurring-edit-after-issue")
    page.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_role("heading", name="Hafen Logistik GmbH", exact=True)).to_be_visible()
    expect(page.get_by_text("Thank you for your business.")).to_be_visible()
    expect(page.locator("tfoot .num")).to_have_text("€1,644.58")  # (1200 + 4 × 45.50) × 1.19

    page.get_by_role("button", name="Pause").click()
    expect(page.locator(".badge-rec-paused")).to_have_text("Paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".badge-rec-active")).to_have_text("Active")
    shot(page, screenshots, "43-recurring-schedule")

    issued.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Draft", exact=False)).to_be_visible()
    expect(page.get_by_text("Warehouse space, monthly")).to_be_visible()
    page.go_back()

    page.get_by_role("button", name="Cancel schedule").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel schedule").click()
    expect(page.locator(".badge-rec-cancelled")).to_have_text("Cancelled")
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
