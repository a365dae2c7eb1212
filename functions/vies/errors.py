"""Errors of the VIES verifier."""

from __future__ import annotations

from functions.domain.errors import BillowError


class ViesUnavailable(BillowError):
    """VIES could not give a valid/invalid answer (HTTP 503 ``vies_unavailable``).

    Raised instead of recording ``invalid``: a busy or broken service says nothing about
    the number, and a stored earlier verification must stay as it was.
    """

    code = "vies_unavailable"

    def __init__(self, message: str = "", *, reason: str | None = None) -> None:
        self.reason = reason
        super().__init__(message or "the VAT number service (VIES) could not answer; retry later")
