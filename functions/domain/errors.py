"""Typed errors shared by every layer.

The domain and the services raise these; the API layer maps them to HTTP exactly once
(see ``functions/api``). Nothing below the API knows about status codes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; ``field`` is a path such as ``lines[2].quantity``."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class BillowError(Exception):
    """Base class of every expected, user-facing error."""

    code = "error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)
        self.message = message or self.code


class ValidationFailed(BillowError):
    """Input missing, malformed or inconsistent (HTTP 422)."""

    code = "validation_error"

    def __init__(self, details: list[FieldError] | FieldError, message: str = "") -> None:
        self.details = [details] if isinstance(details, FieldError) else list(details)
        super().__init__(message or "; ".join(f"{d.field}: {d.message}" for d in self.details))

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldError(field, message)])


class NotFound(BillowError):
    """No such record, or it belongs to another account (HTTP 404, same either way)."""

    code = "not_found"


class InvalidState(BillowError):
    """The action is not allowed in the record's current status (HTTP 409)."""

    code = "invalid_state"

    def __init__(self, status: str, action: str = "", message: str = "") -> None:
        self.status = status
        self.action = action
        super().__init__(
            message or f"cannot {action or 'do this'} while the invoice is {status}".strip()
        )


class Conflict(BillowError):
    """The ``version`` given does not match the stored one (HTTP 409)."""

    code = "conflict"


class Unauthenticated(BillowError):
    """Missing, unknown, expired or revoked key (HTTP 401)."""

    code = "unauthenticated"


class InvalidToken(BillowError):
    """Magic-link token unknown, expired or already used (HTTP 401)."""

    code = "invalid_token"


class RateLimited(BillowError):
    """Too many requests (HTTP 429 with ``Retry-After: retry_after`` seconds)."""

    code = "rate_limited"

    def __init__(self, message: str = "", *, retry_after: int = 60) -> None:
        super().__init__(message or "too many requests; try again later")
        self.retry_after = max(1, int(retry_after))
