"""``GET /docs`` (item 8): the interactive reference, served by the API function itself from
the swagger-ui-py package's files (no CDN), under the app's Content-Security-Policy; every
action has an example in the OpenAPI document. Chromium: tests/browser/test_audit_app.py."""

from __future__ import annotations

import re
import subprocess
import sys

import jsonschema
import pytest

from functions.api.schema import component_name, openapi_document
from functions.services.registry import load_all
from tests.support.api import request


def test_the_reference_page_and_its_files_are_served_from_this_origin(api_env) -> None:
    status, page, headers = request("GET", "/docs")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/docs/") for s in sources), sources
    assert "<script>" not in page  # no inline script: the CSP would block it
    for name, kind in (
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("init.js", "text/javascript"),
    ):
        status, body, headers = request("GET", f"/docs/{name}")
        assert status == 200 and headers["content-type"].startswith(kind), name
        assert len(body) > 100
    status, _, _ = request("GET", "/docs/../handler.py")
    assert status == 404
    status, _, _ = request("GET", "/docs/index.j2")
    assert status == 404
    _, init, _ = request("GET", "/docs/init.js")
    assert '"/api/schema.json"' in init and "validatorUrl: null" in init


@pytest.mark.parametrize("name", sorted(load_all()))
def test_every_action_has_a_valid_example(name: str) -> None:
    doc = openapi_document()
    schema = doc["components"]["schemas"][component_name(name)]
    (example,) = schema["examples"]
    resolver = {**schema, "components": doc["components"]}
    validator = jsonschema.Draft202012Validator(resolver)
    assert list(validator.iter_errors(example)) == [], example
    media = doc["paths"]["/api"]["post"]["requestBody"]["content"]["application/json"]
    assert media["examples"][name]["value"] == example


def test_the_api_function_does_not_load_the_reference_at_import() -> None:
    probe = "import sys, functions.api.handler; print('swagger_ui' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_the_error_table_lists_mail_delivery_failed() -> None:
    doc = openapi_document()
    assert "| 502 | `mail_delivery_failed` |" in doc["info"]["description"]
    responses = doc["paths"]["/api"]["post"]["responses"]
    assert "mail_delivery_failed" in responses["502"]["description"]
    codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
    assert "mail_delivery_failed" in codes["enum"]
    from functions.api.schema import ERROR_MEANINGS, ERROR_STATUS

    assert set(ERROR_MEANINGS) == set(ERROR_STATUS)  # every code explained
