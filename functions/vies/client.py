"""One way for services to ask for a VAT check, wherever the checker runs.

Locally the checker is called in-process; in AWS it is its own Lambda function (it is the
only code that talks to VIES, and its slow, retried calls should not hold the API function),
invoked synchronously. ``get_verifier()`` picks by environment: ``BILLOW_VIES_FUNCTION`` set
means "invoke that function".
"""

from __future__ import annotations

import json
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from functions.domain.errors import FieldError, ValidationFailed
from functions.vies.checker import DEFAULT_BACKOFF, VatCheckResult, check_vat, split_vat_number
from functions.vies.checker import utc_timestamp as _utc_timestamp

VIES_FUNCTION_ENV = "BILLOW_VIES_FUNCTION"


class VatVerifier(ABC):
    """Checks one VAT number; raises ValidationFailed for a malformed one (nothing sent)."""

    @abstractmethod
    def check(self, vat_number: str, requester_vat: str | None) -> VatCheckResult: ...


class DirectVatVerifier(VatVerifier):
    """Calls the checker in this process (local server, tests)."""

    def __init__(
        self,
        *,
        url: str | None = None,
        timeout: float = 10.0,
        backoff: Sequence[float] = DEFAULT_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.backoff = tuple(backoff)
        self.sleep = sleep

    def check(self, vat_number: str, requester_vat: str | None) -> VatCheckResult:
        return check_vat(
            vat_number,
            requester_vat,
            url=self.url,
            timeout=self.timeout,
            backoff=self.backoff,
            sleep=self.sleep,
        )


class LambdaVatVerifier(VatVerifier):
    """Invokes the VIES function (``functions.vies.handler``) with boto3.

    The offline check runs here first, so a malformed number costs no invocation. A failed
    invocation (the function crashed or timed out) is reported as ``unavailable``.
    """

    def __init__(self, function_name: str, *, lambda_client: Any | None = None) -> None:
        self.function_name = function_name
        self._lambda = lambda_client

    def _client(self) -> Any:
        if self._lambda is None:
            import boto3  # heavy: paid only when a check is actually invoked in AWS

            self._lambda = boto3.client("lambda")
        return self._lambda

    def check(self, vat_number: str, requester_vat: str | None) -> VatCheckResult:
        country, national = split_vat_number(vat_number, field="vat_number")
        if requester_vat:
            split_vat_number(requester_vat, field="requester_vat")
        response = self._client().invoke(
            FunctionName=self.function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps({"vat_number": vat_number, "requester_vat": requester_vat}),
        )
        raw = response["Payload"].read()
        if response.get("FunctionError"):
            return VatCheckResult(
                "unavailable",
                _utc_timestamp(),
                country,
                national,
                error=f"FUNCTION_ERROR: {response['FunctionError']}",
            )
        body = json.loads(raw)
        refused = body.get("refused") if isinstance(body, dict) else None
        if isinstance(refused, dict):
            details = [FieldError(d["field"], d["message"]) for d in refused.get("details", [])]
            raise ValidationFailed(details, refused.get("message", ""))
        if not isinstance(body, dict) or "status" not in body:
            return VatCheckResult(
                "unavailable",
                _utc_timestamp(),
                country,
                national,
                error="FUNCTION_ERROR: unexpected answer from the VIES function",
            )
        return VatCheckResult.from_dict(body)


def get_verifier() -> VatVerifier:
    """The verifier for this environment: Lambda invoke if BILLOW_VIES_FUNCTION is set."""
    function_name = os.environ.get(VIES_FUNCTION_ENV)
    if function_name:
        return LambdaVatVerifier(function_name)
    return DirectVatVerifier()
