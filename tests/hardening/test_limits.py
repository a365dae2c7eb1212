"""Limits and headers at the edges, over real HTTP against ``billow serve`` and through the
handler: the 1 MiB body limit at its exact boundary (and with a lying ``Content-Length``), the
512 KiB logo limit at its boundary, list ``limit`` 1–100 on every list action, the login mail
rate limit with ``Retry-After``, and the security headers on every kind of response."""

from __future__ import annotations

import base64
import json
import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from functions.services.registry import load_all
from tests.hardening.support import Serve, check_error_shape
from tests.support.api import call, outbox_messages, request
from tests.support.params import client_params, entity_params

MIB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    base = tmp_path_factory.mktemp("limits")
    server = Serve(base / "data", base)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def key(serve: Serve) -> str:
    return serve.sign_in("limits@example.com")


def _padded_body(size: int) -> bytes:
    """A valid ``auth.me`` request of exactly ``size`` bytes (padding in a JSON string)."""
    head, tail = b'{"action": "auth.me", "pad": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_body_limit_is_exactly_one_mebibyte_over_http(serve: Serve, key: str) -> None:
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    at_limit = requests.post(f"{serve.url}/api", data=_padded_body(MIB), headers=auth, timeout=60)
    # exactly 1 MiB is read and parsed: the unknown "pad" field is a 422, not a 413
    assert at_limit.status_code == 422, at_limit.text
    assert at_limit.json()["error"]["details"][0]["field"] == "pad"
    over = requests.post(f"{serve.url}/api", data=_padded_body(MIB + 1), headers=auth, timeout=60)
    assert over.status_code == 413
    check_error_shape(413, over.json())


def test_a_lying_content_length_is_refused_before_reading(serve: Serve) -> None:
    """A client announcing 1 GiB is answered 413 at once; the server never waits for it."""
    host, port = urllib.parse.urlsplit(serve.url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1073741824\r\n\r\n{"
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_body_limit_in_the_function_itself_also_for_binary_bodies(data_dir: Path) -> None:
    """In AWS there is no local server in front: the function checks the size itself, also
    for a body that arrives base64-encoded."""
    status, body, _ = request("POST", "/api", _padded_body(MIB + 1))
    assert status == 413 and check_error_shape(status, body) == "payload_too_large"
    binary = b"\xff" * (MIB + 1)
    status, body, _ = request("POST", "/api", binary)
    assert status == 413 and check_error_shape(status, body) == "payload_too_large"


def _logo(size: int) -> str:
    return "data:image/png;base64," + base64.b64encode(PNG + b"\0" * (size - len(PNG))).decode()


def test_logo_limit_is_512_kib(serve: Serve, key: str) -> None:
    status, body = serve.call("entity.create", key, **entity_params(logo=_logo(512 * 1024 + 1)))
    assert status == 422
    assert [d["field"] for d in body["error"]["details"]] == ["logo"]
    assert "512 KiB" in body["error"]["details"][0]["message"]
    entity = serve.ok("entity.create", key, **entity_params(logo=_logo(512 * 1024)))
    assert entity["logo"].startswith("data:image/png;base64,")
    status, body = serve.call(
        "entity.update",
        key,
        entity_id=entity["id"],
        version=entity["version"],
        logo=_logo(600 * 1024),
    )
    assert status == 422 and body["error"]["details"][0]["field"] == "logo"
    assert serve.ok("entity.get", key, entity_id=entity["id"])["version"] == entity["version"]
    # not an image at all, or a JPEG that says it is a PNG
    for logo in ("data:image/gif;base64,R0lGOD", _logo(100).replace("png", "jpeg", 1)):
        status, body = serve.call("entity.create", key, **entity_params(logo=logo))
        assert status == 422 and body["error"]["details"][0]["field"] == "logo"


LIST_ACTIONS = sorted(
    n for n, s in load_all().items() if n.endswith(".list") and "limit" in s.params.model_fields
)


def test_every_list_action_takes_limit_1_to_100(serve: Serve, key: str) -> None:
    assert {"entity.list", "client.list", "product.list", "invoice.list"} <= set(LIST_ACTIONS)
    for _ in range(3):
        serve.ok("client.create", key, **client_params(vat_number=None))
    for name in LIST_ACTIONS:
        for bad in (0, -1, 101, 10**9, "many", 2.5, None, [], {}):
            status, body = serve.call(name, key, limit=bad)
            assert status == 422, (name, bad, body)
            assert "limit" in [d["field"] for d in body["error"]["details"]], (name, bad)
        for good in (1, 100):
            page = serve.ok(name, key, limit=good)
            assert page["limit"] == good and len(page["items"]) <= good
        assert serve.ok(name, key)["limit"] == 20
        assert serve.ok(name, key, page=2**63)["items"] == []  # far past the end: empty
        for bad_page in (0, -3, "x"):
            status, body = serve.call(name, key, page=bad_page)
            assert status == 422 and body["error"]["details"][0]["field"] == "page"
    page = serve.ok("client.list", key, limit=1, page=2)
    assert len(page["items"]) == 1 and page["pages"] == page["total"] >= 3
    assert serve.ok("client.list", key, limit=1, page=10_000)["items"] == []


def test_login_mail_rate_limit_over_http(serve: Serve) -> None:
    address = "rate@example.com"
    before = len(outbox_messages(serve.data_dir))
    for _ in range(5):
        serve.ok("auth.login", email=address)
    res = serve.http.post(
        f"{serve.url}/api", json={"action": "auth.login", "email": address.upper()}, timeout=60
    )
    assert res.status_code == 429
    assert check_error_shape(429, res.json(), {"retry-after": res.headers["Retry-After"]}) == (
        "rate_limited"
    )
    assert 0 < int(res.headers["Retry-After"]) <= 15 * 60
    assert len(outbox_messages(serve.data_dir)) == before + 5  # no sixth mail
    assert serve.ok("auth.login", email="someone-else@example.com") == {"sent": True}


def _check_security_headers(res: requests.Response, what: str) -> None:
    csp = res.headers.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert "frame-ancestors 'none'" in directives.get("frame-ancestors", ""), (what, csp)
    assert directives.get("default-src") == "default-src 'self'", (what, csp)
    script = directives.get("script-src", directives["default-src"])
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, (what, csp)
    assert res.headers.get("X-Content-Type-Options") == "nosniff", what
    assert res.headers.get("Referrer-Policy") in ("no-referrer", "same-origin"), what


def test_security_headers_on_every_kind_of_response(serve: Serve, key: str) -> None:
    url = serve.url
    entity = serve.ok("entity.create", key, **entity_params())
    client = serve.ok("client.create", key, **client_params(vat_number=None))
    draft = serve.ok(
        "invoice.create",
        key,
        entity_id=entity["id"],
        client_id=client["id"],
        lines=[{"description": "x", "quantity": "1", "unit_price": "1"}],
    )
    link = serve.ok("invoice.pdf", key, invoice_id=draft["id"])["url"]
    auth = {"Authorization": f"Bearer {key}"}
    responses = {
        "app": requests.get(f"{url}/", timeout=30),
        "deep link": requests.get(f"{url}/invoices/inv_x", timeout=30),
        "static js": requests.get(f"{url}/js/" + _some_js(), timeout=30),
        "health": requests.get(f"{url}/health", timeout=30),
        "schema": requests.get(f"{url}/api/schema.json", timeout=30),
        "api ok": requests.post(f"{url}/api", json={"action": "auth.me"}, headers=auth, timeout=30),
        "api 401": requests.post(f"{url}/api", json={"action": "auth.me"}, timeout=30),
        "api 400": requests.post(f"{url}/api", data=b"{", timeout=30),
        "api 413": requests.post(f"{url}/api", data=_padded_body(MIB + 1), timeout=60),
        "pdf": requests.get(link, timeout=60),
        "forged blob": requests.get(link.replace("sig=", "sig=00"), timeout=30),
    }
    for what, res in responses.items():
        _check_security_headers(res, what)
    assert responses["pdf"].headers["Content-Type"] == "application/pdf"
    assert responses["schema"].json()["openapi"].startswith("3.1")
    assert responses["api 401"].status_code == 401


def _some_js() -> str:
    js = sorted((Path(__file__).resolve().parents[2] / "frontend" / "js").glob("*.js"))
    assert js
    return js[0].name


def test_schema_is_served_without_authentication(data_dir: Path) -> None:
    status, doc, _ = request("GET", "/api/schema.json")
    assert status == 200
    actions = doc["paths"]["/api"]["post"]["requestBody"]["content"]["application/json"]
    assert len(actions["schema"]["oneOf"]) == len(load_all())
    assert json.dumps(doc).count("x-billow-auth") == len(load_all())
    assert call("auth.me")[0] == 401  # while the actions themselves need a key
