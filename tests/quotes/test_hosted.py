"""The hosted quote page through the API function (the Function URL path): the buyer views
the quote, downloads its PDF, accepts with a name or declines with a reason — plain form
posts, no cookie, no script; user text escaped; unknown tokens a plain 404."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from tests.support.api import call, request, sign_in, use_tmp_store
from tests.support.params import client_params, entity_params

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, str]]:
    data_dir = use_tmp_store(tmp_path / "data", monkeypatch)
    key = sign_in("owner@example.com", data_dir)
    entity = call("entity.create", key=key, **entity_params())[1]
    client = call(
        "client.create", key=key, **client_params(vat_number=None, name="<b>Evil & Co</b>")
    )[1]
    return key, {"entity_id": entity["id"], "client_id": client["id"]}


def _open_quote(key: str, ids: dict[str, str]) -> dict:
    status, quote, _ = call(
        "quote.create",
        key=key,
        lines=[{"description": "<script>alert(1)</script> Workshop", "unit_price": "900"}],
        **ids,
    )
    assert status == 200, quote
    status, quote, _ = call("quote.finalize", key=key, quote_id=quote["id"])
    assert status == 200, quote
    return quote


def _path(quote: dict) -> str:
    return urllib.parse.urlsplit(quote["hosted_quote_url"]).path


def test_the_buyer_accepts_on_the_page(owner):
    key, ids = owner
    quote = _open_quote(key, ids)
    path = _path(quote)
    status, html, headers = request("GET", path)
    assert status == 200 and quote["number"] in html
    assert headers["x-robots-tag"].startswith("noindex")
    assert headers["referrer-policy"] == "no-referrer" and "set-cookie" not in headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "<script>" not in html and "&lt;script&gt;" in html  # user text escaped
    assert "<b>Evil" not in html and "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in html
    assert f'action="{path}"' in html and 'name="decision" value="accept"' in html

    status, _, headers = request("GET", f"{path}/pdf")
    assert status == 303 and "/blobs/" in headers["location"]

    # a post from another site is refused; an empty name is a 422 naming it, nothing changes
    foreign = {**FORM, "Origin": "https://evil.example"}
    assert request("POST", path, "decision=accept&name=Eve", foreign)[0] == 403
    cross = {**FORM, "Sec-Fetch-Site": "cross-site"}
    assert request("POST", path, "decision=accept&name=Eve", cross)[0] == 403
    status, html, _ = request("POST", path, "decision=accept&name=", FORM)
    assert status == 422 and "name" in html
    assert call("quote.get", key=key, quote_id=quote["id"])[1]["status"] == "open"

    form = urllib.parse.urlencode({"decision": "accept", "name": "Erika <i>Muster</i>"})
    status, _, headers = request("POST", path, form, {**FORM, "Origin": "http://127.0.0.1:8000"})
    assert status == 303 and headers["location"] == path
    after = call("quote.get", key=key, quote_id=quote["id"])[1]
    assert (after["status"], after["accepted_by"]) == ("accepted", "Erika <i>Muster</i>")
    status, html, _ = request("GET", path)
    assert status == 200 and "Erika &lt;i&gt;Muster&lt;/i&gt;" in html
    assert 'value="accept"' not in html  # answered: no forms any more
    # a second answer changes nothing
    status, _, _ = request("POST", path, "decision=decline&reason=changed+my+mind", FORM)
    assert status == 409
    assert call("quote.get", key=key, quote_id=quote["id"])[1]["status"] == "accepted"
    events = call("quote.timeline", key=key, quote_id=quote["id"])[1]["events"]
    assert [e["type"] for e in events if e["type"] in ("accepted", "declined")] == ["accepted"]
    assert [e["actor"] for e in events if e["type"] == "accepted"] == [
        "customer:Erika <i>Muster</i>"
    ]


def test_the_buyer_declines_and_unknown_tokens_are_404(owner):
    key, ids = owner
    quote = _open_quote(key, ids)
    path = _path(quote)
    status, _, _ = request("POST", path, "decision=decline&reason=Too+expensive", FORM)
    assert status == 303
    after = call("quote.get", key=key, quote_id=quote["id"])[1]
    assert (after["status"], after["decline_reason"]) == ("declined", "Too expensive")
    status, _, _ = request("POST", path, "decision=decline&reason=x&extra=1", FORM)
    assert status in (409, 422)

    token = path.rsplit("/", 1)[1]
    other = ("A" if token[0] != "A" else "B") + token[1:]
    for unknown in (f"/q/{other}", "/q/short", f"/q/{other}/pdf"):
        status, html, _ = request("GET", unknown)
        assert status == 404 and quote["number"] not in html, unknown
    assert request("POST", f"/q/{other}", "decision=accept&name=X", FORM)[0] == 404
    # drafts have no page
    draft = call("quote.create", key=key, lines=[{"description": "x", "unit_price": "1"}], **ids)
    assert draft[1]["hosted_quote_url"] is None


def test_a_quote_past_its_validity_cannot_be_answered(owner):
    key, ids = owner
    status, quote, _ = call(
        "quote.create",
        key=key,
        lines=[{"description": "Old offer", "unit_price": "10"}],
        issue_date="2000-01-01",
        valid_until="2000-01-31",
        **ids,
    )
    assert status == 200, quote
    quote = call("quote.finalize", key=key, quote_id=quote["id"])[1]
    path = _path(quote)
    status, html, _ = request("GET", path)
    assert status == 200 and "expired" in html.lower() and 'value="accept"' not in html
    status, html, _ = request("POST", path, "decision=accept&name=Late+Larry", FORM)
    assert status == 409 and 'class="notice"' in html and "Expired" in html
    assert call("quote.get", key=key, quote_id=quote["id"])[1]["status"] == "open"
