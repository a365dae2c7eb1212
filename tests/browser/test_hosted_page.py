"""The hosted invoice page in headless Chromium, as the customer sees it.

The pages are rendered by ``functions.hosted`` from real ``invoice.get`` representations
(services on a real SQLite store) and served by a small loopback server with the exact
headers the page asks for — the CSP included, so a style the CSP did not allow would show as a
console error and an unstyled page. Until the routes are wired into ``billow serve`` (issue
17's second step), this server stands in for them. Screenshots (desktop and mobile) go to
tests/artifacts/screenshots/hosted-*.png.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page

from functions.hosted import forms, pages, tokens
from functions.pdf.epc_qr import epc_payload
from functions.pdf.render import filename_for, render_invoice_pdf
from tests.hosted.documents import HOSTILE, Documents

pytestmark = [pytest.mark.browser]

DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}


@dataclass
class Site:
    url: str
    open_token: str
    credited_token: str
    note_token: str
    quote_token: str
    open_invoice: dict
    note: dict
    requests: list[str]
    answers: list[object]

    def page_url(self, token: str) -> str:
        return f"{self.url}/i/{token}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    docs = Documents(tmp_path_factory.mktemp("hosted"))
    try:
        open_invoice = docs.finalized("de", name=HOSTILE)
        credited, note = docs.credit(docs.finalized("en", name="Globex BV"))
    finally:
        docs.close()
    t_open, t_credited, t_note = tokens.new_token(), tokens.new_token(), tokens.new_token()
    answers: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def add_page(token: str, page: pages.HostedPage) -> None:
        answers[f"/i/{token}"] = (page.status, page.headers, page.body_bytes)

    add_page(
        t_open,
        pages.render_invoice_page(
            open_invoice, pdf_url=f"/i/{t_open}/pdf", einvoice_url=f"/i/{t_open}/einvoice"
        ),
    )
    pdf = render_invoice_pdf(open_invoice)
    answers[f"/i/{t_open}/pdf"] = (
        200,
        {
            "Content-Type": "application/pdf",
            "Content-Disposition": f'attachment; filename="{filename_for(open_invoice)}"',
        },
        pdf,
    )
    add_page(
        t_credited,
        pages.render_invoice_page(
            credited,
            pdf_url=f"/i/{t_credited}/pdf",
            credit_notes=[(note["number"], f"/i/{t_note}")],
        ),
    )
    add_page(t_note, pages.render_invoice_page(note, original_url=f"/i/{t_credited}"))
    t_quote = tokens.new_token()
    quote = {
        **open_invoice,
        "object": "quote",
        "status": "open",
        "number": "QUO-2026-0001",
        "valid_until": "2026-12-21",
    }
    answers[f"/q/{t_quote}"] = (0, {}, b"")  # rendered per request: it shows the last answer
    seen: list[str] = []
    received: list[object] = []

    def quote_page(notice: str | None) -> pages.HostedPage:
        return pages.render_quote_page(
            quote, accept_url=f"/q/{t_quote}", decline_url=f"/q/{t_quote}", notice=notice
        )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            found = tokens.parse_path(self.path) and answers.get(self.path)
            if self.path == f"/q/{t_quote}":
                page = quote_page("Merci !" if received else None)
                found = (page.status, page.headers, page.body_bytes)
            if found:
                status, headers, body = found
            else:
                page = pages.render_not_found(self.headers.get("Accept-Language"))
                status, headers, body = page.status, page.headers, page.body_bytes
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            """The quote's answer, as the wiring of issue 20 will take it: parse, then 303."""
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(forms.parse_quote_answer(body, self.headers.get("Content-Type")))
            self.send_response(303)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        yield Site(
            f"http://127.0.0.1:{server.server_address[1]}",
            t_open,
            t_credited,
            t_note,
            t_quote,
            open_invoice,
            note,
            seen,
            received,
        )
    finally:
        server.shutdown()
        server.server_close()


def customer_page(browser: Browser, viewport: dict, **options) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport=viewport, accept_downloads=True, **options)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append(f"dialog {d.message}"), d.dismiss()))
    return page, problems


def test_the_invoice_page_on_desktop_and_mobile(browser, site, screenshots):
    for name, viewport, extra in (
        ("desktop", DESKTOP, {}),
        ("mobile", MOBILE, {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}),
    ):
        page, problems = customer_page(browser, viewport, locale="de-DE", **extra)
        try:
            response = page.goto(site.page_url(site.open_token))
            assert response.status == 200
            assert response.headers["x-robots-tag"] == "noindex, nofollow"
            page.screenshot(path=str(screenshots / f"hosted-invoice-{name}.png"), full_page=True)
            assert problems == []  # no CSP violation, no script error
            # the inline style sheet was allowed by the page's CSP: the brand bar is coloured
            bar = page.eval_on_selector(".masthead", "e => getComputedStyle(e).backgroundColor")
            assert bar != "rgba(0, 0, 0, 0)"
            assert page.locator("h1").inner_text() == "Rechnung INV-2026-0001 von Acme GmbH"
            assert page.locator(".status .badge").text_content() == "Status: Offen"
            assert "1.243,54\xa0€" in page.locator(".status .headline").inner_text()
            # the hostile buyer name is text on the page, nothing ran
            assert HOSTILE in page.locator(".party").nth(1).inner_text()
            if name == "mobile":  # nothing wider than the screen
                width = page.evaluate("document.scrollingElement.scrollWidth")
                assert width <= MOBILE["width"]
                assert page.locator("table.lines thead").bounding_box()["height"] <= 1
        finally:
            page.context.close()


def test_the_qr_code_decodes_from_a_screenshot(browser, site, screenshots):
    page, problems = customer_page(browser, DESKTOP)
    try:
        page.goto(site.page_url(site.open_token))
        png = page.locator("svg.qr").screenshot(path=str(screenshots / "hosted-qr.png"))
    finally:
        page.context.close()
    image = Image.open(io.BytesIO(png)).convert("L")
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    invoice = site.open_invoice
    expected = epc_payload(
        name="Acme GmbH",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        amount=Decimal(invoice["amount_due"]),
        reference=invoice["payment_reference"],
    )
    assert [b.text for b in found] == [expected]
    assert "EUR1243.54" in expected and problems == []


def test_the_pdf_downloads(browser, site, tmp_path):
    page, problems = customer_page(browser, DESKTOP, locale="de-DE")
    try:
        page.goto(site.page_url(site.open_token))
        with page.expect_download() as info:
            page.get_by_role("link", name="Rechnung als PDF").click()
        download = info.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
    finally:
        page.context.close()
    assert download.suggested_filename == "INV-2026-0001.pdf"
    assert saved.read_bytes().startswith(b"%PDF")
    assert problems == []


def test_a_credited_invoice_leads_to_its_credit_note_and_back(browser, site, screenshots):
    page, problems = customer_page(browser, DESKTOP)
    try:
        page.goto(site.page_url(site.credited_token))
        assert page.locator(".status .badge").text_content() == "Status: Credited"
        page.screenshot(path=str(screenshots / "hosted-credited.png"), full_page=True)
        page.get_by_role("link", name=site.note["number"]).click()
        page.wait_for_url(site.page_url(site.note_token))
        assert page.locator("h1").inner_text().startswith("Credit note CN-2026-0001")
        page.screenshot(path=str(screenshots / "hosted-credit-note.png"), full_page=True)
        page.get_by_role("link", name="INV-2026-0002").click()
        page.wait_for_url(site.page_url(site.credited_token))
    finally:
        page.context.close()
    assert problems == []


def test_random_and_replaced_tokens_are_the_same_404(browser, site, screenshots):
    page, problems = customer_page(browser, MOBILE)
    try:
        bodies = []
        for path in (f"/i/{tokens.new_token()}", f"/i/{tokens.new_token()}", "/i/not-a-token"):
            response = page.goto(site.url + path)
            assert response.status == 404
            bodies.append(response.body())
        page.screenshot(path=str(screenshots / "hosted-404.png"))
        assert page.locator("h1").inner_text() == "Page not found"
    finally:
        page.context.close()
    assert bodies[0] == bodies[1] == bodies[2]
    assert [p for p in problems if "404" not in p] == []  # the browser logs the 404 itself


def test_the_page_needs_no_javascript(browser, site):
    page, problems = customer_page(browser, DESKTOP, java_script_enabled=False)
    try:
        page.goto(site.page_url(site.open_token))
        assert page.locator("h1").inner_text() == "Rechnung INV-2026-0001 von Acme GmbH"
        assert page.locator("svg.qr").is_visible()
        assert page.locator("script").count() == 0
    finally:
        page.context.close()
    assert problems == []


def test_a_quote_is_accepted_with_a_plain_form(browser, site, screenshots):
    page, problems = customer_page(browser, DESKTOP, java_script_enabled=False)
    try:
        page.goto(f"{site.url}/q/{site.quote_token}")
        page.screenshot(path=str(screenshots / "hosted-quote.png"), full_page=True)
        page.get_by_label("Ihr Name").fill("Kim <Lee>")
        page.get_by_role("button", name="Angebot annehmen").click()
        page.wait_for_load_state()
        assert page.locator(".notice").inner_text() == "Merci !"
    finally:
        page.context.close()
    assert site.answers == [forms.QuoteAnswer("accept", "Kim <Lee>")]
    assert problems == []
