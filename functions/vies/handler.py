"""Lambda entry point of the VIES checker.

Event: ``{"vat_number": "DE136695976", "requester_vat": "ATU13585627" | null}``.
Returns the check result as a dict (``VatCheckResult.as_dict``), or
``{"refused": {"code": "validation_error", "message", "details"}}`` for a malformed number —
an expected outcome, not a function failure, so the caller can turn it into a 422. (Not
``error``: an ``unavailable`` result already has an ``error`` field saying why.)
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from functions.domain.errors import ValidationFailed
from functions.vies.checker import check_vat

logger = Logger(service="billow-vies")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    event = event or {}
    try:
        result = check_vat(event.get("vat_number") or "", event.get("requester_vat") or None)
    except ValidationFailed as exc:
        logger.info("VAT number refused offline", extra={"details": exc.message})
        return {
            "refused": {
                "code": exc.code,
                "message": exc.message,
                "details": [d.as_dict() for d in exc.details],
            }
        }
    logger.info(
        "VIES check",
        extra={"status": result.status, "country": result.country_code, "error": result.error},
    )
    return result.as_dict()
