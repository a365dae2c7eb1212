"""The newcomer's audit in the browser (issue 16): the API reference at /docs under the app's
CSP, the VAT rate warning, the draft PDF preview, "Sending failed" with the mail server down,
and numbering that restarts every day."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from .conftest import REPO, _billow_command
from .test_app_e2e import (
    add_client,
    nav,
    new_email,
    new_invoice_with_three_lines,
    save_state,
    set_up_entity,
    shot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_docs_is_an_interactive_reference_under_the_csp(page: Page, billow_server, screenshots):
    page.goto(f"{billow_server.url}/docs")
    expect(page.get_by_role("heading", name=re.compile("Billow action API"))).to_be_visible(
        timeout=20_000
    )
    page.locator(".opblock-summary").first.click()
    examples = page.locator(".examples-select select").first
    expect(examples).to_be_visible()
    examples.select_option("invoice.create")
    expect(page.locator(".opblock-body")).to_contain_text('"action": "invoice.create"')
    expect(page.locator(".opblock-description-wrapper").first).to_contain_text("invoice.finalize")
    # every asset came from this origin; nothing was blocked by the CSP or failed
    assert not page.console_errors, page.console_errors
    shot(page, screenshots, "30-api-reference", full_page=False)


def test_an_unusual_vat_rate_is_warned_about_not_refused(page: Page, billow_server, screenshots):
    sign_in(page, billow_server, new_email("rates"))
    set_up_entity(page, name="Quarter Percent GmbH")
    add_client(page, "Rate Check AG")
    new_invoice_with_three_lines(page, "Rate Check AG")
    expect(save_state(page)).to_contain_text("Saved")
    page.get_by_label("Line 1 VAT percent").fill("0.25")
    warning = page.locator(".line-warning").first
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("0.25 % is not a VAT rate of Germany (19 %, 7 %)")
    expect(save_state(page)).to_contain_text("Saved")  # stored as typed all the same
    shot(page, screenshots, "31-vat-rate-warning", full_page=False)
    page.get_by_label("Line 1 VAT percent").fill("7")
    expect(warning).to_be_hidden()
    assert not page.console_errors, page.console_errors


def test_a_draft_previews_as_a_branded_draft_pdf(page: Page, billow_server, screenshots):
    sign_in(page, billow_server, new_email("preview"))
    set_up_entity(page, name="Preview Works GmbH")
    add_client(page, "Preview Client AG")
    new_invoice_with_three_lines(page, "Preview Client AG")
    expect(save_state(page)).to_contain_text("Saved")
    page.get_by_role("link", name="Preview").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Preview PDF").click()
    assert info.value.suggested_filename.startswith("DRAFT-")
    pdf = Path(info.value.path()).read_bytes()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for expected in ("DRAFT", "Preview Works GmbH", "Torstraße 1", "Preview Client AG", "80331"):
        assert expected in text, expected
    shot(page, screenshots, "32-draft-preview", full_page=False)
    assert not page.console_errors, page.console_errors


def test_numbers_restart_every_day(page: Page, billow_server) -> None:
    sign_in(page, billow_server, new_email("daily"))
    set_up_entity(page, name="Daily Numbers GmbH")
    nav(page, "Settings")
    page.locator(".entity-card").first.click()
    page.get_by_label("Restart numbering").select_option("daily")
    page.get_by_label("Invoice number pattern").fill("ORD42-{YY}{MM}{DD}-myboutique-{SEQ:4}")
    page.get_by_label("Credit note pattern").fill("CN-{YY}{MM}{DD}-{SEQ:4}")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Settings saved")).to_be_visible()
    nav(page, "Settings")
    expect(page.locator(".entity-card").first).to_contain_text(
        re.compile(r"numbers like ORD42-\d{6}-myboutique-0001")
    )
    add_client(page, "Daily Client AG")
    new_invoice_with_three_lines(page, "Daily Client AG")
    expect(save_state(page)).to_contain_text("Saved")
    page.get_by_role("button", name="Finalize").click()
    heading = page.get_by_role("heading", name=re.compile(r"^Invoice \S+"))
    expect(heading).to_have_text(re.compile(r"Invoice ORD42-\d{6}-myboutique-0001"))


# --- the mail server goes down ------------------------------------------------------------------


@pytest.fixture
def smtp_app(tmp_path: Path, vies_url: str):
    """``billow serve`` mailing through an SMTP server on loopback that can be stopped."""
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.original_content or envelope.content)
            return "250 OK"

    class Loopback(Controller):
        def __init__(self, handler) -> None:
            self._sock = socket.socket()
            self._sock.bind(("127.0.0.1", 0))
            super().__init__(handler, hostname="127.0.0.1", port=self._sock.getsockname()[1])

        def _create_server(self):
            return self.loop.create_server(self._factory_invoker, sock=self._sock)

    smtp = Loopback(Handler())
    smtp.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLOW_")}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "BILLOW_VIES_URL": vies_url,
            "BILLOW_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
            "BILLOW_MAIL_TRANSPORT": "smtp",
        }
    )
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                *_billow_command(),
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(tmp_path / "d"),
                "--quiet",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + 30
    url = None
    while url is None and time.monotonic() < deadline:
        found = re.search(r"(http://127\.0\.0\.1:\d+)", log.read_text())
        url = found.group(1) if found else time.sleep(0.1)
    assert url, log.read_text()
    try:
        yield url, smtp, received
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        try:
            smtp.stop()
        except Exception:
            pass


def test_sending_with_the_mail_server_down_says_so(page: Page, smtp_app, screenshots) -> None:
    url, smtp, received = smtp_app
    address = new_email("smtp")
    page.goto(f"{url}/")
    page.get_by_label("Work email").fill(address)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your mail", exact=True)).to_be_visible(
        timeout=30_000
    )
    deadline = time.monotonic() + 15
    while not received and time.monotonic() < deadline:
        time.sleep(0.1)
    import email as email_lib
    import email.policy

    msg = email_lib.message_from_bytes(received[-1], policy=email.policy.default)
    body = "\n".join(p.get_content() for p in msg.walk() if p.get_content_maintype() == "text")
    page.goto(re.search(r"https?://\S+[?&]token=[A-Za-z0-9_\-]+", body).group(0))
    set_up_entity(page, name="Offline Mail GmbH")
    add_client(page, "Mailbox AG")
    new_invoice_with_three_lines(page, "Mailbox AG")
    expect(save_state(page)).to_contain_text("Saved")
    page.get_by_role("button", name="Finalize").click()
    expect(page.locator(".page-head .badge")).to_have_text("Open")

    smtp.stop()  # the mail server goes down
    page.get_by_role("button", name="Send", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Send", exact=True).click()
    alert = dialog.get_by_role("alert").first
    expect(alert).to_contain_text("Sending failed")
    expect(alert).to_contain_text("nothing was sent")
    shot(page, screenshots, "33-sending-failed", full_page=False)
    dialog.get_by_role("button", name="Cancel").click()
    page.reload()
    expect(page.locator(".page-head .badge")).to_have_text("Open")  # not "Sent"
    expect(page.locator(".timeline")).to_contain_text("Sending failed")
