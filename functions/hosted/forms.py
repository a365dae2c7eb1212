"""The quote page's answers, posted by plain HTML forms (no script): parsed strictly.

``application/x-www-form-urlencoded`` bodies of at most 8 KiB with exactly the fields of one
of the two forms; anything else is a :class:`ValidationFailed` naming the field, as for the
JSON API (an unknown field is refused, never dropped).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from functions.domain.errors import FieldError, ValidationFailed

from .pages import MAX_NAME, MAX_REASON

MAX_FORM_BYTES = 8192
_FIELDS = {"accept": {"decision", "name"}, "decline": {"decision", "reason"}}


@dataclass(frozen=True)
class QuoteAnswer:
    decision: str  # accept | decline
    name: str | None = None
    reason: str | None = None


def parse_quote_answer(body: bytes, content_type: str | None) -> QuoteAnswer:
    """The answer posted by the accept or the decline form of a quote page."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise ValidationFailed.one("body", "must be a form (application/x-www-form-urlencoded)")
    if len(body) > MAX_FORM_BYTES:
        raise ValidationFailed.one("body", f"must be at most {MAX_FORM_BYTES} bytes")
    try:
        text = body.decode("utf-8")
        pairs = urllib.parse.parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            max_num_fields=10,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed.one("body", "is not a valid form") from None
    fields: dict[str, str] = {}
    details: list[FieldError] = []
    for key, value in pairs:
        if key in fields:
            details.append(FieldError(key, "is given twice"))
        fields[key] = value
    decision = fields.get("decision")
    if decision not in _FIELDS:
        raise ValidationFailed.one("decision", "must be accept or decline")
    for key in sorted(set(fields) - _FIELDS[decision]):
        details.append(FieldError(key[:40], "is not a field of this form"))
    name = reason = None
    if decision == "accept":
        name = " ".join(fields.get("name", "").split())
        if not name:
            details.append(FieldError("name", "is required to accept the quote"))
        elif len(name) > MAX_NAME:
            details.append(FieldError("name", f"must be at most {MAX_NAME} characters"))
    else:
        reason = fields.get("reason", "").strip() or None
        if reason and len(reason) > MAX_REASON:
            details.append(FieldError("reason", f"must be at most {MAX_REASON} characters"))
    if any(ord(c) < 0x20 and c not in "\n\r\t" for c in (name or "") + (reason or "")):
        details.append(FieldError("name" if name else "reason", "contains control characters"))
    if details:
        raise ValidationFailed(details)
    return QuoteAnswer(decision, name, reason)
