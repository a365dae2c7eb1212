"""The evidence rule for a client's VAT number (used by ``client.verify_vat``).

- A stored ``valid``/``invalid`` verification younger than 24 hours is reused as it is.
- Otherwise VIES is asked; its answer becomes the new ``vat_verification``
  ``{status, checked_at, name, address, request_identifier, vat_number}``. ``vat_number`` is
  the client's number as stored when it was checked: ``Client.vat_verified`` (domain) and the
  reuse rule here ignore a verification of a number the client no longer has.
- When VIES cannot answer, :class:`ViesUnavailable` is raised and nothing is returned to store:
  an earlier verification stays exactly as it was, never overwritten as ``invalid``.

This function does not write anything; the caller stores the returned dict on the client.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from functions.domain.errors import ValidationFailed
from functions.vies.checker import split_vat_number
from functions.vies.client import VatVerifier, get_verifier
from functions.vies.errors import ViesUnavailable

REUSE_WINDOW = timedelta(hours=24)


def verify_client_vat(
    client: dict[str, Any],
    requester_vat: str | None,
    *,
    now: datetime,
    checker: VatVerifier | None = None,
) -> dict[str, Any]:
    """Return the ``vat_verification`` for ``client`` (stored one if fresh, else a new one).

    ``client`` is the client record as a dict (``vat_number``, ``address.country``,
    ``vat_verification``); it is not modified.

    ``requester_vat`` is the issuing entity's own VAT number (for the consultation number).
    Raises ``ValidationFailed`` (field ``vat_number``) for a missing or malformed number —
    before any request — and ``ViesUnavailable`` when VIES gives no answer.
    """
    vat_number = client_vat_number(client)
    split_vat_number(vat_number, field="vat_number")

    stored = client.get("vat_verification")
    if is_fresh(stored, now) and stored.get("vat_number") in (None, client.get("vat_number")):
        return dict(stored)

    result = (checker or get_verifier()).check(vat_number, eu_requester(requester_vat))
    if not result.is_answer:
        raise ViesUnavailable(reason=result.error)
    return result.evidence() | {"vat_number": client.get("vat_number")}


def client_vat_number(client: dict[str, Any]) -> str:
    """The client's VAT number with its country prefix (taken from the address if absent)."""
    raw = str(client.get("vat_number") or "").strip()
    if raw and not raw[:2].isalpha():
        country = str((client.get("address") or {}).get("country") or "").upper()
        if country:
            raw = ("EL" if country == "GR" else country) + raw
    return raw


def eu_requester(requester_vat: str | None) -> str | None:
    """The requester's number if VIES can use it, else None.

    Without a requester VIES still answers valid/invalid, only without a consultation number;
    so a seller outside the EU (or a number without its country prefix) must not block the
    check of the client's number with a 422 about the seller's own data.
    """
    if not requester_vat:
        return None
    try:
        split_vat_number(requester_vat, field="requester_vat")
    except ValidationFailed:
        return None
    return requester_vat


def is_fresh(verification: Any, now: datetime) -> bool:
    """True for a ``valid``/``invalid`` verification checked less than 24 hours before ``now``."""
    if not isinstance(verification, dict):
        return False
    if verification.get("status") not in ("valid", "invalid"):
        return False
    checked_at = _parse_timestamp(verification.get("checked_at"))
    if checked_at is None:
        return False
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    age = now - checked_at
    return timedelta(0) <= age < REUSE_WINDOW


def _parse_timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
