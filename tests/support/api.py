"""Drive the API function in-process, exactly as a Function URL would.

Usage in a test (see ``tests/api/conftest.py`` for the ``api_env`` fixture that points the
handler at a fresh SQLite store under ``tmp_path``)::

    status, body, headers = call("entity.create", key=key, name="Acme", ...)
    key = sign_in("ann@example.com", data_dir)
"""

from __future__ import annotations

import email
import json
import re
from decimal import Decimal
from email import policy
from pathlib import Path
from typing import Any

from functions.api.events import function_url_event
from functions.api.handler import lambda_handler


def use_tmp_store(data_dir: Path, monkeypatch: Any, public_url: str = "http://app.test") -> Path:
    """Point the API function (store, outbox) at ``data_dir`` for one test (``monkeypatch``
    is pytest's fixture). Returns ``data_dir``; sign-in mails land in ``data_dir/outbox``."""
    monkeypatch.setenv("BILLOW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BILLOW_STORE_URL", f"sqlite:///{Path(data_dir) / 'billow.db'}")
    monkeypatch.setenv("BILLOW_PUBLIC_URL", public_url)
    monkeypatch.setenv("BILLOW_MAIL_TRANSPORT", "outbox")
    for name in ("BILLOW_SMTP_URL", "BILLOW_VIES_FUNCTION", "BILLOW_PDF_FUNCTION"):
        monkeypatch.delenv(name, raising=False)
    return Path(data_dir)


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return str(o)
    raise TypeError(type(o).__name__)


def request(
    method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str]]:
    """One raw request through ``lambda_handler``; the body is decoded if it is JSON."""
    result = lambda_handler(function_url_event(method, path, body=body, headers=headers), None)
    text = result.get("body") or ""
    try:
        payload: Any = json.loads(text) if text else None
    except ValueError:
        payload = text
    headers_out = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return result["statusCode"], payload, headers_out


def call(
    action: str, key: str | None = None, idem: str | None = None, **params: Any
) -> tuple[int, Any, dict[str, str]]:
    """POST ``{"action": action, **params}`` to ``/api`` with an optional Bearer key and
    Idempotency-Key; returns ``(status, body, headers)``."""
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if idem:
        headers["Idempotency-Key"] = idem
    body = json.dumps({"action": action, **params}, default=_default)
    return request("POST", "/api", body, headers)


_LINK = re.compile(r"https?://[^\s\"'<>]+[?&]token=([A-Za-z0-9_\-]+)")


def outbox_messages(data_dir: str | Path) -> list[email.message.EmailMessage]:
    """The mails written to ``<data_dir>/outbox``, oldest first."""
    folder = Path(data_dir) / "outbox"
    files = sorted(folder.glob("*.eml")) if folder.is_dir() else []
    return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]


def _text(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def last_sign_in_token(data_dir: str | Path, to: str) -> str:
    """The token of the newest sign-in link mailed to ``to``."""
    for message in reversed(outbox_messages(data_dir)):
        if to.lower() in str(message["To"]).lower():
            match = _LINK.search(_text(message))
            if match:
                return match.group(1)
    raise AssertionError(f"no sign-in mail to {to} in {data_dir}/outbox")


def sign_in(email_address: str, data_dir: str | Path) -> str:
    """Full magic-link sign-in through the handler; returns the session key."""
    status, body, _ = call("auth.login", email=email_address)
    assert status == 200, body
    token = last_sign_in_token(data_dir, email_address)
    status, body, _ = call("auth.verify", token=token)
    assert status == 200, body
    return body["key"]
