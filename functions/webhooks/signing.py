"""Signing secrets and Standard Webhooks headers, with the ``standardwebhooks`` library.

A secret is ``whsec_`` + base64 of 32 random bytes (256 bits; the Standard Webhooks
specification asks for 24 to 64). Each attempt is signed anew with its own
``webhook-timestamp`` (receivers refuse timestamps older than five minutes), over the stored
body and under the event's id::

    webhook-id: evt_…                      (the same on every retry and redelivery)
    webhook-timestamp: 1795762800          (Unix seconds of this attempt)
    webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix, not a secret
SECRET_BYTES = 32

#: Headers of every delivery, lower case (HTTP header names are case-insensitive).
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


def new_secret() -> str:
    """A fresh signing secret (``whsec_`` + base64 of 32 bytes from the OS CSPRNG)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def is_secret(value: object) -> bool:
    """Whether ``value`` has the shape :func:`new_secret` gives (for sealed-secret checks)."""
    if not isinstance(value, str) or not value.startswith(SECRET_PREFIX):
        return False
    try:
        raw = base64.b64decode(value[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        return False
    return 24 <= len(raw) <= 64


def signature_headers(secret: str, event_id: str, body: str, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt made at ``at``."""
    if at.tzinfo is None:
        raise ValueError("the signing time must be timezone-aware")
    at = at.astimezone(UTC)
    signature = Webhook(secret).sign(msg_id=event_id, timestamp=at, data=body)
    return {
        ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(int(at.timestamp())),
        SIGNATURE_HEADER: signature,
    }
