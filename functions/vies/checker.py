"""Check an EU VAT number: offline first (python-stdnum), then the VIES REST service.

Only ``valid: true`` / ``valid: false`` from VIES is an answer. Anything else — a busy member
state, an error wrapper delivered with HTTP 200, HTTP 5xx, a timeout, a body that is not the
expected JSON — is ``unavailable``: it says nothing about the number, and must never be
recorded as ``invalid``.

VIES REST ``check-vat-number`` (POST JSON) answers, when it works::

    {"countryCode": "DE", "vatNumber": "136695976", "requestDate": "2026-11-21T07:00:00.000Z",
     "valid": true, "requestIdentifier": "WAPIAAAAW...", "name": "---", "address": "---",
     "userError": "VALID", ...}

and when it does not, either with a 4xx/5xx status or with HTTP 200::

    {"actionSucceed": false, "errorWrappers": [{"error": "MS_MAX_CONCURRENT_REQ",
                                                "message": "..."}]}

It may also say ``"valid": false`` together with a ``userError`` that is an error code
(``MS_MAX_CONCURRENT_REQ`` ...) rather than ``VALID``/``INVALID``; that is not an answer either.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumValidationError

from functions.domain.errors import ValidationFailed

if TYPE_CHECKING:
    import requests

VIES_DEFAULT_URL = "https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number"
VIES_URL_ENV = "BILLOW_VIES_URL"

#: Error codes that mean "try again in a moment"; they are retried with a short back-off.
BUSY_CODES = frozenset(
    {
        "MS_MAX_CONCURRENT_REQ",
        "MS_MAX_CONCURRENT_REQ_TIME",
        "GLOBAL_MAX_CONCURRENT_REQ",
        "GLOBAL_MAX_CONCURRENT_REQ_TIME",
        "SERVICE_UNAVAILABLE",
        "MS_UNAVAILABLE",
        "TIMEOUT",
    }
)

#: Pauses before the 2nd and 3rd attempt: three attempts in all.
DEFAULT_BACKOFF: tuple[float, ...] = (0.2, 0.5)

#: VIES says "---" when a member state does not disclose the name or address.
_UNDISCLOSED = {"", "---"}

VatStatus = Literal["valid", "invalid", "unavailable"]


@dataclass(frozen=True)
class VatCheckResult:
    """The outcome of one check; ``error`` says why when ``status`` is ``unavailable``."""

    status: VatStatus
    checked_at: str
    country_code: str
    vat_number: str
    name: str | None = None
    address: str | None = None
    request_identifier: str | None = None
    error: str | None = None

    @property
    def is_answer(self) -> bool:
        return self.status in ("valid", "invalid")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VatCheckResult:
        status = data.get("status")
        if status not in ("valid", "invalid", "unavailable"):
            raise ValueError(f"not a VAT check result status: {status!r}")
        return cls(
            status=status,
            checked_at=str(data["checked_at"]),
            country_code=str(data.get("country_code") or ""),
            vat_number=str(data.get("vat_number") or ""),
            name=data.get("name"),
            address=data.get("address"),
            request_identifier=data.get("request_identifier"),
            error=data.get("error"),
        )

    def evidence(self) -> dict[str, Any]:
        """The ``vat_verification`` stored on a client (api-v1: clients)."""
        return {
            "status": self.status,
            "checked_at": self.checked_at,
            "name": self.name,
            "address": self.address,
            "request_identifier": self.request_identifier,
        }


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with a ``Z`` and whole seconds, as everywhere in the API."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_vat_number(raw: str | None, *, field: str = "vat_number") -> tuple[str, str]:
    """Check format and check digits offline; return (VIES country code, national part).

    Greece is ``EL`` in VIES (``GR`` is accepted and mapped), Northern Ireland ``XI``.
    A malformed number raises :class:`ValidationFailed` for ``field``.
    """
    if raw is None or not str(raw).strip():
        raise ValidationFailed.one(field, "a VAT number is required")
    try:
        number = eu_vat.validate(str(raw))
    except StdnumValidationError as exc:
        raise ValidationFailed.one(field, f"not a valid EU VAT number: {exc}") from exc
    country, national = number[:2].upper(), number[2:]
    if country == "GR":
        country = "EL"
    return country, national


def vies_url(url: str | None = None) -> str:
    return url or os.environ.get(VIES_URL_ENV) or VIES_DEFAULT_URL


def check_vat(
    vat_number: str,
    requester_vat: str | None,
    *,
    url: str | None = None,
    timeout: float = 10.0,
    backoff: Sequence[float] = DEFAULT_BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
    session: requests.Session | None = None,
) -> VatCheckResult:
    """Check ``vat_number`` (with its country prefix) offline, then with VIES.

    ``requester_vat`` is the entity's own VAT number; given, VIES returns a consultation
    number (``requestIdentifier``) that proves the check to an auditor. A malformed number
    (either one) raises :class:`ValidationFailed` and nothing is sent.

    Busy answers, HTTP 5xx and connection failures are retried after each pause in
    ``backoff``. A read timeout is not retried: the caller has already waited ``timeout``.
    """
    import requests  # lazy: a service that only stores evidence need not pay for it

    country, national = split_vat_number(vat_number, field="vat_number")
    payload: dict[str, str] = {"countryCode": country, "vatNumber": national}
    if requester_vat:
        req_country, req_national = split_vat_number(requester_vat, field="requester_vat")
        payload["requesterMemberStateCode"] = req_country
        payload["requesterNumber"] = req_national

    endpoint = vies_url(url)
    http = session or requests.Session()
    pauses = list(backoff)
    try:
        while True:
            outcome, retry = _ask_once(http, endpoint, payload, timeout)
            if isinstance(outcome, dict) or not retry or not pauses:
                break
            sleep(pauses.pop(0))
    finally:
        if session is None:
            http.close()

    checked_at = utc_timestamp()
    if isinstance(outcome, str):
        return VatCheckResult("unavailable", checked_at, country, national, error=outcome)
    return VatCheckResult(
        status="valid" if outcome["valid"] else "invalid",
        checked_at=checked_at,
        country_code=country,
        vat_number=national,
        name=_disclosed(outcome.get("name")),
        address=_disclosed(outcome.get("address")),
        request_identifier=_disclosed(outcome.get("requestIdentifier")),
    )


def _ask_once(
    http: requests.Session, endpoint: str, payload: dict[str, str], timeout: float
) -> tuple[dict[str, Any] | str, bool]:
    """One POST. Returns (answer body, _) or (error description, should retry)."""
    import requests

    try:
        response = http.post(
            endpoint,
            json=payload,
            headers={"Accept": "application/json"},
            timeout=timeout,
        )
    except requests.Timeout:
        return "TIMEOUT: no answer from VIES in time", False
    except requests.RequestException as exc:
        return f"SERVICE_UNAVAILABLE: {type(exc).__name__}", True

    try:
        body = response.json()
    except ValueError:
        body = None
    code = _error_code(body)
    if response.status_code >= 400:
        label = code or f"HTTP_{response.status_code}"
        return f"{label}: HTTP {response.status_code}", (
            response.status_code >= 500 or response.status_code == 429 or code in BUSY_CODES
        )
    if not isinstance(body, dict):
        return "SERVICE_UNAVAILABLE: the answer is not a JSON object", False
    if code:
        return code, code in BUSY_CODES
    if not isinstance(body.get("valid"), bool):
        return "SERVICE_UNAVAILABLE: the answer has no valid true/false", False
    return body, False


def _error_code(body: Any) -> str | None:
    """The VIES error code in an error wrapper or a non-answer ``userError``, if any."""
    if not isinstance(body, dict):
        return None
    wrappers = body.get("errorWrappers")
    if body.get("actionSucceed") is False or wrappers:
        for wrapper in wrappers or []:
            if isinstance(wrapper, dict) and wrapper.get("error"):
                return str(wrapper["error"])
        return "SERVICE_UNAVAILABLE"
    user_error = body.get("userError")
    if user_error and str(user_error).upper() not in ("VALID", "INVALID"):
        return str(user_error)
    return None


def _disclosed(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text in _UNDISCLOSED else text
