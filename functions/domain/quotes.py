"""Quotes (estimates): the model, its lifecycle as an explicit table, and the pure steps of
``quote.create/update/finalize/accept/decline/convert`` and the daily expiry.

A quote carries the fields of an invoice plus ``valid_until``; its lines, VAT breakdown and
totals come from the invoice calculation path (:func:`functions.domain.calc.price`), so a quote
and the invoice converted from it show the same numbers.

Lifecycle (``QUOTE_TRANSITIONS[(status, action)]`` is the status after the action; any other
pair is refused with :class:`InvalidState` naming the status)::

    draft --finalize--> open --accept--> accepted --convert--> converted
      |                  |  --decline--> declined
    delete               |  --expire---> expired   (the daily run, valid_until passed)
                         |  --send-----> open      (resending keeps open)
                         +--convert----> converted (the seller converts without an answer)

Numbers: the entity's ``quote_number_pattern`` (default ``QUO-{YYYY}-{SEQ:4}``), a gapless
series of its own (counter ``number:<entity>:quote:<period>``) taken in the finalize commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from functions.domain.drafts import (
    DRAFT_FIELDS,
    as_issued,
    changed_draft,
    invoice_draft_from,
    new_draft,
)
from functions.domain.errors import FieldError, InvalidState, ValidationFailed
from functions.domain.models import (
    Client,
    Entity,
    Invoice,
    OptStr,
    Product,
)
from functions.domain.numbering import format_number, period, validate_pattern

QuoteStatus = Literal["draft", "open", "accepted", "declined", "expired", "converted"]
QUOTE_STATUSES: tuple[str, ...] = QuoteStatus.__args__  # type: ignore[attr-defined]

DELETED = "deleted"

#: The whole lifecycle of a quote; nothing else is allowed.
QUOTE_TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "update"): "draft",
    ("draft", "delete"): DELETED,
    ("draft", "finalize"): "open",
    ("open", "send"): "open",
    ("open", "accept"): "accepted",
    ("open", "decline"): "declined",
    ("open", "expire"): "expired",
    ("open", "convert"): "converted",
    ("accepted", "send"): "accepted",
    ("accepted", "convert"): "converted",
}

#: Days a quote stays valid when finalized without ``valid_until``.
DEFAULT_VALIDITY_DAYS = 30

#: Fields ``quote.create`` / ``quote.update`` may set (an invoice's, plus ``valid_until``).
QUOTE_FIELDS = (*DRAFT_FIELDS, "valid_until")


def quote_transition(status: str, action: str) -> str:
    """The status after ``action``, or :class:`InvalidState` naming the current status."""
    after = QUOTE_TRANSITIONS.get((status, action))
    if after is None:
        raise InvalidState(status, action, f"a {status} quote cannot be {_past(action)}")
    return after


def quote_allowed(status: str, action: str) -> bool:
    return (status, action) in QUOTE_TRANSITIONS


def _past(action: str) -> str:
    return {
        "update": "changed",
        "delete": "deleted",
        "finalize": "finalized",
        "send": "sent",
        "accept": "accepted",
        "decline": "declined",
        "expire": "expired",
        "convert": "converted",
    }.get(action, action)


class Quote(Invoice):
    """A quote: an invoice's representation with a quote's status and answer fields."""

    object: Literal["quote"] = "quote"  # type: ignore[assignment]
    status: QuoteStatus = "draft"  # type: ignore[assignment]
    valid_until: date | None = None
    accepted_at: datetime | None = None
    accepted_by: OptStr = Field(default=None, max_length=200)
    declined_at: datetime | None = None
    decline_reason: OptStr = Field(default=None, max_length=1000)
    expired_at: datetime | None = None
    converted_at: datetime | None = None
    invoice_id: OptStr = None


def _check_validity(quote: Quote) -> None:
    if quote.valid_until and quote.issue_date and quote.valid_until < quote.issue_date:
        raise ValidationFailed.one("valid_until", "must not be before the issue date")


def draft_quote(
    data: Mapping[str, Any],
    entity: Entity,
    client: Client,
    products: Mapping[str, Product] | None = None,
    *,
    quote_id: str | None = None,
) -> Quote:
    """A new, priced ``draft`` quote from ``quote.create`` parameters."""
    return new_draft(
        Quote,
        data,
        entity,
        client,
        products,
        document_id=quote_id,
        fields=QUOTE_FIELDS,
        check=_check_validity,
        every_problem=False,
    )


def update_quote(
    quote: Quote,
    data: Mapping[str, Any],
    entity: Entity,
    client: Client,
    products: Mapping[str, Product] | None = None,
) -> Quote:
    """The draft after ``quote.update`` (drafts only, else InvalidState naming the status)."""
    quote_transition(quote.status, "update")
    return changed_draft(
        quote,
        data,
        entity,
        client,
        products,
        fields=QUOTE_FIELDS,
        check=_check_validity,
        every_problem=False,
    )


def _valid_until(quote: Quote) -> Callable[[date], Mapping[str, Any]]:
    """The dates a quote issued on some day takes: its last valid day (30 days on by default)."""
    return lambda issued: {
        "valid_until": quote.valid_until or issued + timedelta(days=DEFAULT_VALIDITY_DAYS)
    }


def preview_quote(quote: Quote, entity: Entity, client: Client, today: date) -> Quote:
    """A draft as it would be issued today (live parties, default dates); nothing is kept."""
    return as_issued(quote, entity, client, today, _valid_until(quote))


# --- numbering ---------------------------------------------------------------------------------


def quote_series_reset(entity: Entity) -> str:
    """When the quote series starts again: the entity's ``number_reset`` when its quote pattern
    shows that period, else the finest period the pattern shows (yearly for ``{YYYY}``), else
    never — so a quote number never repeats."""
    for reset in (entity.number_reset, "yearly"):
        try:
            validate_pattern(entity.quote_number_pattern, reset, "quote_number_pattern")
        except ValidationFailed:
            continue
        return reset
    return "never"


def quote_counter(entity_id: str, entity: Entity, issue_date: date) -> str:
    """Store counter of the quote series and period ``issue_date`` falls in."""
    return f"number:{entity_id}:quote:{period(quote_series_reset(entity), issue_date)}"


# --- finalize ----------------------------------------------------------------------------------


def prepare_quote(quote: Quote, seller: Entity, buyer: Client, today: date) -> Quote:
    """Everything finalize does but the number: dates, frozen parties, VAT, totals, checks."""
    quote_transition(quote.status, "finalize")
    priced = as_issued(quote, seller, buyer, today, _valid_until(quote))
    assert priced.issue_date is not None and priced.valid_until is not None
    errors: list[FieldError] = []
    if not priced.lines:
        errors.append(FieldError("lines", "a quote needs at least one line"))
    for index, line in enumerate(priced.lines):
        if not line.description:
            errors.append(FieldError(f"lines[{index}].description", "is required"))
    if priced.valid_until < priced.issue_date:
        errors.append(FieldError("valid_until", "must not be before the issue date"))
    if errors:
        raise ValidationFailed(errors)
    return priced


def complete_quote(quote: Quote, seq: int, now: datetime) -> Quote:
    """Number the prepared quote with ``seq`` and open it."""
    if quote.seller is None or quote.issue_date is None:
        raise ValueError("prepare_quote() first")
    number = format_number(quote.seller.quote_number_pattern, seq, quote.issue_date)
    return quote.model_copy(
        update={
            "number": number,
            "status": quote_transition(quote.status, "finalize"),
            "finalized_at": now,
        }
    )


# --- the customer's answer, expiry, conversion -------------------------------------------------


def accept(quote: Quote, name: str, now: datetime) -> Quote:
    """``open`` → ``accepted`` by ``name`` (whoever accepted for the buyer)."""
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationFailed.one("name", "is required to accept the quote")
    if len(name) > 200:
        raise ValidationFailed.one("name", "must be at most 200 characters")
    if quote.valid_until is not None and now.date() > quote.valid_until:
        raise InvalidState("expired", "accept", "the quote expired: it cannot be accepted")
    status = quote_transition(quote.status, "accept")
    return quote.model_copy(update={"status": status, "accepted_at": now, "accepted_by": name})


def decline(quote: Quote, reason: str | None, now: datetime) -> Quote:
    """``open`` → ``declined``, with the buyer's reason if given."""
    status = quote_transition(quote.status, "decline")
    reason = (reason or "").strip() or None
    return quote.model_copy(update={"status": status, "declined_at": now, "decline_reason": reason})


def is_expired(quote: Quote, today: date) -> bool:
    """An open quote whose last valid day lies before ``today``."""
    return quote.status == "open" and quote.valid_until is not None and quote.valid_until < today


def expire(quote: Quote, now: datetime) -> Quote:
    return quote.model_copy(
        update={"status": quote_transition(quote.status, "expire"), "expired_at": now}
    )


def invoice_from_quote(
    quote: Quote, entity: Entity, client: Client, *, invoice_id: str, today: date
) -> Invoice:
    """The draft invoice of ``quote.convert``: the quote's lines (priced again, for the parties
    of today), notes, terms, references and metadata; ``quote_id`` set; today's dates."""
    return invoice_draft_from(
        quote,
        entity,
        client,
        today=today,
        invoice_id=invoice_id,
        period=quote.period,
        quote_id=quote.id,
    )


def converted(quote: Quote, invoice_id: str, now: datetime) -> Quote:
    return quote.model_copy(
        update={
            "status": quote_transition(quote.status, "convert"),
            "converted_at": now,
            "invoice_id": invoice_id,
        }
    )
