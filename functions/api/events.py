"""Building Lambda Function URL events (payload format 2.0) from plain HTTP requests.

Used by the local server (``infra/server.py``) and the tests, so that both drive the API
function exactly as AWS does.
"""

from __future__ import annotations

import base64
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any


def function_url_event(
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    query: str = "",
    domain: str = "127.0.0.1:8000",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """A Function URL request event. Header names are lower-cased, as Lambda does; a body
    that is not UTF-8 text is passed base64-encoded."""
    hdrs: dict[str, str] = {}
    for name, value in (headers or {}).items():
        key = name.lower()
        hdrs[key] = f"{hdrs[key]},{value}" if key in hdrs else value
    is_b64 = False
    text: str | None
    if body is None:
        text = None
    elif isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = base64.b64encode(body).decode()
            is_b64 = True
    else:
        text = body
    qs = dict(urllib.parse.parse_qsl(query, keep_blank_values=True)) if query else None
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": hdrs,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": hdrs.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if qs:
        event["queryStringParameters"] = qs
    if text is not None:
        event["body"] = text
    return event
