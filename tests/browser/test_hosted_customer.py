"""The hosted invoice page end to end, through a real ``billow serve`` and headless Chromium:
the owner finalizes an invoice in the app and copies the customer link; the customer (another
browser context, not signed in) opens it — no console error, the EPC QR code decodes from a
screenshot, the PDF and the e-invoice download; the owner then sees the Viewed badge, and
``viewed`` is on the timeline once however often the customer comes back. A replaced link is a
404, and so are random tokens — until a client has asked for too many, then 429 (on a server
of its own: the rate-limit bucket is the client's address, shared by every test on one server).

Screenshots: tests/artifacts/screenshots/hosted-app-*.png.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from functions.hosted import tokens

from .conftest import REPO, BillowServer, _billow_command
from .test_app_e2e import (
    add_client,
    more,
    new_email,
    new_invoice_with_three_lines,
    set_up_entity,
    shot,
    sign_in,
)

pytestmark = [pytest.mark.browser]

LINK = re.compile(r"^http://127\.0\.0\.1:\d+/i/[A-Za-z0-9_-]{43}$")


def customer(browser: Browser, **options) -> tuple[Page, list[str]]:
    """A fresh browser context (no session) that records every console error and warning."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, **options
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    return page, problems


def copy_link(page: Page) -> str:
    page.get_by_role("button", name="Copy customer link").click()
    expect(page.get_by_text("Customer link copied")).to_be_visible()
    url = page.evaluate("navigator.clipboard.readText()")
    assert LINK.match(url), url
    return url


def viewed_events(page: Page) -> int:
    return page.locator(".timeline .event-viewed").count()


def test_the_customer_opens_pays_by_qr_and_downloads(
    page: Page, browser: Browser, billow_server: BillowServer, screenshots: Path, tmp_path: Path
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=billow_server.url)
    sign_in(page, billow_server, new_email("hosted"))
    set_up_entity(page)
    add_client(page, "Kunde AG", "ap@kunde.example")
    new_invoice_with_three_lines(page, "Kunde AG")
    page.get_by_role("button", name="Finalize").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Invoice INV-"))).to_be_visible()
    expect(page.locator("[data-badge=viewed]")).to_have_count(0)
    url = copy_link(page)

    # --- the customer
    cust, problems = customer(browser, locale="de-DE")
    try:
        response = cust.goto(url)
        assert response.status == 200
        headers = response.headers
        assert headers["x-robots-tag"].startswith("noindex")
        assert headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in headers["content-security-policy"]
        assert cust.locator("script").count() == 0
        expect(cust.locator("h1")).to_contain_text("Nordlicht Studio GmbH")
        cust.screenshot(path=str(screenshots / "hosted-app-customer.png"), full_page=True)
        png = cust.locator("svg.qr").screenshot()
        reference = cust.locator("section.pay").inner_text()
        with cust.expect_download() as pdf_info:
            cust.get_by_role("link", name=re.compile("PDF")).click()
        pdf = tmp_path / pdf_info.value.suggested_filename
        pdf_info.value.save_as(pdf)
        with cust.expect_download() as xml_info:
            cust.get_by_role("link", name=re.compile("XML")).click()
        xml = Path(xml_info.value.path()).read_bytes()
        for _ in range(2):  # coming back records nothing more
            assert cust.goto(url).status == 200
    finally:
        cust.context.close()
    assert problems == []
    assert pdf.name.startswith("INV-") and pdf.read_bytes().startswith(b"%PDF")
    assert b"urn:cen.eu:en16931:2017" in xml and b"Design workshop" in xml
    found = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(png)).convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert len(found) == 1
    epc = found[0].text.split("\n")
    assert epc[:3] == ["BCD", "002", "1"] and epc[3] == "SCT"
    assert epc[5:7] == ["Nordlicht Studio GmbH", "DE89370400440532013000"]
    assert epc[7].startswith("EUR") and epc[9] in reference  # amount, and the reference shown

    # --- the owner sees it was opened, once
    page.reload()
    badge = page.locator("[data-badge=viewed]")
    expect(badge).to_have_text("Viewed")
    expect(page.locator(".timeline .event-viewed")).to_have_count(1)
    shot(page, screenshots, "hosted-app-viewed")

    # --- a replaced link is a 404; the new one works
    more(page, "Replace customer link")
    page.get_by_role("dialog").get_by_role("button", name="Replace link").click()
    expect(page.get_by_role("status").get_by_text("Customer link replaced")).to_be_visible()
    new_url = copy_link(page)
    assert new_url != url
    cust, problems = customer(browser)
    try:
        gone = cust.goto(url)
        assert gone.status == 404
        gone_body = gone.body()
        expect(cust.locator("h1")).to_have_text("Page not found")
        random = cust.goto(url.rsplit("/", 1)[0] + "/" + tokens.new_token())
        assert random.status == 404 and random.body() == gone_body
        assert cust.goto(new_url).status == 200
    finally:
        cust.context.close()
    assert [p for p in problems if "404" not in p] == []  # the browser logs the 404 itself
    page.reload()
    expect(page.locator(".timeline .event-viewed")).to_have_count(1)


# --- rate limiting, on a server of its own ------------------------------------------------------


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLOW_")}
    env["PYTHONUNBUFFERED"] = "1"
    cmd = [*_billow_command(), "serve", "--host", "127.0.0.1", "--port", "0"]
    cmd += ["--data-dir", str(tmp_path / "data"), "--quiet", "--workers", "1"]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    url = None
    for line in proc.stdout:
        found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if found:
            url = found.group(1)
            break
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    try:
        assert url, "billow serve did not start"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_random_tokens_are_404_then_rate_limited(browser: Browser, own_server: str, screenshots):
    cust, problems = customer(browser, locale="fr-FR")
    try:
        for _ in range(tokens.MISSES_PER_WINDOW):
            assert cust.goto(f"{own_server}/i/{tokens.new_token()}").status == 404
        limited = cust.goto(f"{own_server}/i/{tokens.new_token()}")
        assert limited.status == 429 and int(limited.headers["retry-after"]) > 0
        assert limited.headers["x-robots-tag"].startswith("noindex")
        expect(cust.locator("h1")).to_have_text("Trop de requêtes")
        cust.screenshot(path=str(screenshots / "hosted-app-429.png"))
    finally:
        cust.context.close()
    assert [p for p in problems if "404" not in p and "429" not in p] == []
