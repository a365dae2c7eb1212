"""The hosted invoice page through the API function (Function URL events → handler), on a
fresh SQLite store: headers, ``viewed`` once, the downloads, rotation, the mails' link, and
the same 404 for every unknown token, then 429."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from functions.api.events import function_url_event
from functions.api.handler import lambda_handler
from functions.hosted import tokens
from tests.invoices.support import CLIENT, SELLER
from tests.support.api import call, outbox_messages


def ok(action: str, key: str, **params) -> dict:
    status, body, _ = call(action, key=key, **params)
    assert status == 200, (action, status, body)
    return body


def get(
    path: str, ip: str = "192.0.2.10", method: str = "GET", **headers: str
) -> tuple[int, str, dict[str, str]]:
    event = function_url_event(method, path, headers=headers, source_ip=ip)
    result = lambda_handler(event, None)
    out = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return result["statusCode"], result.get("body") or "", out


@pytest.fixture
def invoice(key: str) -> dict:
    entity = ok(
        "entity.create", key, **{**SELLER, "bank": {**SELLER["bank"], "bic": "COBADEFFXXX"}}
    )
    client = ok("client.create", key, **{**CLIENT, "locale": "de"})
    draft = ok(
        "invoice.create",
        key,
        entity_id=entity["id"],
        client_id=client["id"],
        lines=[{"description": "Beratung", "quantity": "3", "unit_price": "100"}],
    )
    assert draft["hosted_invoice_url"] is None
    return ok("invoice.finalize", key, invoice_id=draft["id"])


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://app.test"
    return parts.path


def test_the_page_in_the_buyers_language_with_its_headers(key, invoice):
    status, body, headers = get(path_of(invoice["hosted_invoice_url"]), **{"Accept-Language": "en"})
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert headers["x-robots-tag"].startswith("noindex")
    assert headers["referrer-policy"] == "no-referrer"
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "<script" not in body
    assert f"Rechnung {invoice['number']} von Acme GmbH" in body  # the buyer's language
    assert "<svg" in body  # the EPC QR code


def test_the_first_view_is_recorded_once(key, invoice):
    path = path_of(invoice["hosted_invoice_url"])
    assert get(path, **{"Sec-Purpose": "prefetch"})[0] == 200  # a prefetch is no view
    assert get(path, method="HEAD")[0] == 200  # nor a HEAD (a link checker)
    assert ok("invoice.get", key, invoice_id=invoice["id"])["viewed_at"] is None
    assert get(path)[0] == 200
    seen = ok("invoice.get", key, invoice_id=invoice["id"])
    assert seen["viewed_at"] and seen["version"] == invoice["version"] + 1
    assert get(path)[0] == 200
    again = ok("invoice.get", key, invoice_id=invoice["id"])
    assert (again["viewed_at"], again["version"]) == (seen["viewed_at"], seen["version"])
    events = ok("invoice.timeline", key, invoice_id=invoice["id"])["events"]
    viewed = [e for e in events if e["type"] == "viewed"]
    assert len(viewed) == 1 and viewed[0]["actor"] == "customer"


def test_downloads_are_signed_links(key, invoice, api_env: Path):
    path = path_of(invoice["hosted_invoice_url"])
    for part, content in (("pdf", b"%PDF"), ("einvoice", b"<?xml")):
        status, _, headers = get(f"{path}/{part}")
        assert status == 302 and headers["referrer-policy"] == "no-referrer"
        link = urlsplit(headers["location"])
        assert link.path.startswith("/blobs/") and "sig=" in link.query
        from infra.web import blob_response

        answer = blob_response(link.path, link.query)
        assert answer.status == 200 and answer.body.startswith(content)


def test_rotated_random_and_malformed_tokens_are_the_same_404_then_429(key, invoice):
    old = path_of(invoice["hosted_invoice_url"])
    rotated = ok("invoice.rotate_link", key, invoice_id=invoice["id"])
    new = path_of(rotated["hosted_invoice_url"])
    ip = "198.51.100.20"
    bodies = set()
    for path in (old, f"{old}/pdf", f"/i/{tokens.new_token()}", "/i/not-a-token"):
        status, body, headers = get(path, ip=ip)
        assert status == 404 and headers["x-robots-tag"].startswith("noindex")
        bodies.add(body)
    assert len(bodies) == 1
    assert get(new, ip="203.0.113.5")[0] == 200
    for _ in range(tokens.MISSES_PER_WINDOW - 3):
        assert get(f"/i/{tokens.new_token()}", ip=ip)[0] == 404
    status, _, headers = get(new, ip=ip)
    assert status == 429 and int(headers["retry-after"]) > 0


def test_another_account_cannot_rotate(key, other_key, invoice):
    status, body, _ = call("invoice.rotate_link", key=other_key, invoice_id=invoice["id"])
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body, _ = call("invoice.rotate_link", key=key, invoice_id=invoice["id"], bogus=1)
    assert status == 422 and body["error"]["details"][0]["field"] == "bogus"


def test_the_invoice_mail_links_to_the_page(key, invoice, api_env: Path):
    ok("invoice.send", key, invoice_id=invoice["id"])
    mail = outbox_messages(api_env)[-1]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert invoice["hosted_invoice_url"] in text and invoice["hosted_invoice_url"] in html
    assert "Rechnung online ansehen" in text


def test_an_idempotent_replay_keeps_no_token_in_the_store(key, api_env: Path):
    """The idempotency record keeps ``hosted_invoice_url`` as null (the token is stored only
    hashed); a replay answers the link derived again."""
    import sqlite3

    entity = ok("entity.create", key, **SELLER)
    client = ok("client.create", key, **CLIENT)
    draft = ok(
        "invoice.create",
        key,
        entity_id=entity["id"],
        client_id=client["id"],
        lines=[{"description": "Beratung", "quantity": "1", "unit_price": "100"}],
    )
    status, first, _ = call("invoice.finalize", key=key, idem="fin-1", invoice_id=draft["id"])
    assert status == 200 and first["hosted_invoice_url"]
    status, replay, _ = call("invoice.finalize", key=key, idem="fin-1", invoice_id=draft["id"])
    assert status == 200 and replay == first
    token = first["hosted_invoice_url"].rsplit("/", 1)[1]
    with sqlite3.connect(api_env / "billow.db") as db:
        dump = "\n".join(db.iterdump())
    assert "fin-1" in dump or "idempot" in dump.lower()  # the record is there ...
    assert token not in dump  # ... without the token


def test_behind_cloudfront_the_viewer_counts_only_with_the_edge_secret(key, invoice, monkeypatch):
    monkeypatch.setenv("BILLOW_EDGE_SECRET", "edge-5ecret-for-this-test")
    page = path_of(invoice["hosted_invoice_url"])
    edge = "203.0.113.50"  # one CloudFront edge, many customers behind it
    signed = {"X-Billow-Edge": "edge-5ecret-for-this-test"}
    for _ in range(tokens.MISSES_PER_WINDOW):
        miss = get(
            f"/i/{tokens.new_token()}",
            ip=edge,
            **signed,
            **{"CloudFront-Viewer-Address": "198.51.100.1:4431"},
        )
        assert miss[0] == 404
    prober = {**signed, "CloudFront-Viewer-Address": "198.51.100.1:5000"}
    assert get(page, ip=edge, **prober)[0] == 429  # the prober, whatever its port
    customer = {**signed, "CloudFront-Viewer-Address": "2001:db8::7:443"}
    assert get(page, ip=edge, **customer)[0] == 200  # another viewer of the same edge
    # without the secret the viewer header is anybody's to forge: the connection counts
    forged = {"X-Billow-Edge": "guess", "CloudFront-Viewer-Address": "192.0.2.200:1"}
    for _ in range(tokens.MISSES_PER_WINDOW):
        assert get(f"/i/{tokens.new_token()}", ip="203.0.113.60", **forged)[0] == 404
    other = {"CloudFront-Viewer-Address": "192.0.2.201:1"}
    assert get(page, ip="203.0.113.60", **other)[0] == 429
