"""Drafts from API input: ``invoice.create``, ``invoice.update``, ``invoice.duplicate``, and
the same steps for quotes (``functions.domain.quotes``).

The service loads the entity, the client and the products the lines name
(:func:`product_ids`), then calls :func:`draft_invoice` / :func:`update_draft`; VAT is resolved
and totals computed here, so a draft always shows the numbers its PDF will show. A quote is an
invoice's representation with a few fields more: :func:`new_draft`, :func:`changed_draft`,
:func:`invoice_draft_from` and :func:`as_issued` are the one path both documents take.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from functions.domain.calc import price
from functions.domain.errors import FieldError, InvalidState, ValidationFailed
from functions.domain.finalize import due_date_for, freeze
from functions.domain.lifecycle import transition
from functions.domain.models import (
    Client,
    Entity,
    Invoice,
    Line,
    Product,
    parse_model,
    unit_code,
    unknown_fields,
)
from functions.domain.money import validate_currency

#: An invoice or a quote (``functions.domain.quotes.Quote`` is an ``Invoice`` with more fields).
D = TypeVar("D", bound=Invoice)

#: Invoice fields ``invoice.create`` / ``invoice.update`` may set.
DRAFT_FIELDS = (
    "lines",
    "currency",
    "issue_date",
    "supply_date",
    "due_date",
    "po_number",
    "buyer_reference",
    "period",
    "notes",
    "terms",
    "metadata",
)


def product_ids(lines: object) -> list[str]:
    """Product ids referenced by raw line input, for the service to load."""
    if not isinstance(lines, list):
        return []
    ids = [item.get("product_id") for item in lines if isinstance(item, Mapping)]
    return list(dict.fromkeys(str(pid) for pid in ids if pid))


def build_lines(raw_lines: object, products: Mapping[str, Product], currency: str) -> list[Line]:
    """Validate line input, fill in product defaults; every problem reported at once."""
    if not isinstance(raw_lines, Sequence) or isinstance(raw_lines, str | bytes):
        raise ValidationFailed.one("lines", "must be a list of lines")
    if len(raw_lines) > 500:
        raise ValidationFailed.one("lines", "at most 500 lines")
    errors: list[FieldError] = []
    lines: list[Line] = []
    for index, raw in enumerate(raw_lines):
        path = f"lines[{index}]"
        if not isinstance(raw, Mapping):
            errors.append(FieldError(path, "must be an object"))
            continue
        # computed fields a client may echo back from invoice.get are ignored
        data = {k: v for k, v in raw.items() if k not in ("net_amount", "id", "original_line_id")}
        errors.extend(unknown_fields(Line, data, path))  # at any depth, with every other problem
        product_id = data.get("product_id")
        if product_id:
            product = products.get(str(product_id))
            if product is None or (product.archived and data.get("unit_price") is None):
                errors.append(FieldError(f"{path}.product_id", "no such product"))
                continue
            if data.get("unit_price") is None and product.currency != currency:
                errors.append(
                    FieldError(
                        f"{path}.product_id",
                        f"the product is priced in {product.currency}, the invoice in {currency}",
                    )
                )
                continue
            if data.get("description") is None:
                data["description"] = product.description or product.name
            if data.get("unit_price") is None:
                data["unit_price"] = product.unit_price
            if data.get("unit") is None:
                data["unit"] = product.unit
            if data.get("vat_rate") is None and data.get("vat_category") in (None, "S"):
                data["vat_rate"] = product.vat_rate
            data.setdefault("supply_type", product.supply_type)
        elif data.get("unit_price") is None:
            errors.append(FieldError(f"{path}.unit_price", "unit_price or product_id is required"))
        if data.get("unit_code") in (None, "") and isinstance(data.get("unit"), str | None):
            data["unit_code"] = unit_code(data.get("unit"))  # BT-130: derived from the unit
        try:
            line = parse_model(Line, data, path)
        except ValidationFailed as exc:
            errors.extend(exc.details)
            continue
        lines.append(line.model_copy(update={"id": f"ln_{index + 1}"}))
    if errors:
        raise ValidationFailed(errors)
    return lines


class _Problems:
    """Collects the ``ValidationFailed`` of several checks, so that one 422 names every bad
    field (a bad ``buyer_reference`` and a bad ``lines[2].unit_code`` together).

    With ``every=False`` the first failing check raises at once (what quotes have always
    answered: the lines' problems, else the fields')."""

    def __init__(self, *, every: bool = True) -> None:
        self.details: list[FieldError] = []
        self.every = every

    def __enter__(self) -> _Problems:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> bool:
        if self.every and isinstance(exc, ValidationFailed):
            self.details.extend(exc.details)
            return True
        return False

    def raise_any(self) -> None:
        if self.details:
            raise ValidationFailed(self.details)


def new_draft(
    model: type[D],
    data: Mapping[str, Any],
    entity: Entity,
    client: Client,
    products: Mapping[str, Product] | None = None,
    *,
    document_id: str | None = None,
    fields: Sequence[str] = DRAFT_FIELDS,
    check: Callable[[D], None] | None = None,
    every_problem: bool = True,
) -> D:
    """A new, priced ``draft`` of ``model`` (an invoice or a quote) from the create parameters
    ``data`` it may set (``fields``); no number, no timestamps. ``check`` runs on the parsed
    draft once its fields and lines are valid; ``every_problem``: see :class:`_Problems`."""
    currency = validate_currency(data.get("currency") or client.currency or entity.currency)
    problems = _Problems(every=every_problem)
    with problems:
        lines = build_lines(data.get("lines", []), products or {}, currency)
    given = {k: data[k] for k in fields if k in data and k != "lines"}
    given.setdefault("notes", entity.default_notes)
    with problems:
        document = parse_model(
            model,
            {
                **given,
                "id": document_id,
                "kind": "invoice",
                "status": "draft",
                "currency": currency,
                "entity_id": entity.id,
                "client_id": client.id,
                "account_id": entity.account_id,
            },
            as_input=True,
        )
    problems.raise_any()
    if check is not None:
        check(document)
    return price(document.model_copy(update={"lines": lines}), entity, client)


def changed_draft(
    document: D,
    data: Mapping[str, Any],
    entity: Entity,
    client: Client,
    products: Mapping[str, Product] | None = None,
    *,
    fields: Sequence[str] = DRAFT_FIELDS,
    check: Callable[[D], None] | None = None,
    every_problem: bool = True,
) -> D:
    """The draft ``document`` after an update with ``data`` (the ``fields`` it may set), priced
    for ``entity`` and ``client``. The caller has checked that it is a draft."""
    currency = validate_currency(data.get("currency") or document.currency)
    changes: dict[str, Any] = {k: data[k] for k in fields if k in data and k != "lines"}
    problems = _Problems(every=every_problem)
    with problems:
        merged = parse_model(
            type(document),
            {
                **document.model_dump(exclude={"lines", "seller", "buyer"}),
                **changes,
                "currency": currency,
                "entity_id": entity.id,
                "client_id": client.id,
            },
            as_input=True,  # the stored draft's dump holds model fields only
        )
    if "lines" in data:
        with problems:
            lines = build_lines(data["lines"], products or {}, currency)
        problems.raise_any()
    else:
        problems.raise_any()
        if currency != document.currency and any(line.product_id for line in document.lines):
            raise ValidationFailed.one("currency", "re-send the lines when changing the currency")
        lines = document.lines
    if check is not None:
        check(merged)
    return price(merged.model_copy(update={"lines": lines}), entity, client)


def draft_invoice(
    data: Mapping[str, Any],
    entity: Entity,
    client: Client,
    products: Mapping[str, Product] | None = None,
    *,
    invoice_id: str | None = None,
) -> Invoice:
    """A new, priced ``draft`` from ``invoice.create`` parameters (no number, no timestamps)."""
    return new_draft(Invoice, data, entity, client, products, document_id=invoice_id)


def update_draft(
    invoice: Invoice,
    data: Mapping[str, Any],
    entity: Entity,
    client: Client,
    products: Mapping[str, Product] | None = None,
) -> Invoice:
    """The draft after ``invoice.update`` (drafts only, else InvalidState naming the status).

    ``client_id`` / ``entity_id`` changes are the service's to resolve: pass the new parties.
    """
    transition(invoice.status, "update", kind=invoice.kind)
    return changed_draft(invoice, data, entity, client, products)


def invoice_draft_from(
    source: Invoice,
    entity: Entity,
    client: Client,
    *,
    today: date,
    invoice_id: str | None = None,
    **carried: Any,
) -> Invoice:
    """A new priced draft invoice with ``source``'s parties, currency, lines, references, notes,
    terms and metadata (plus ``carried``); no number; today's dates (``invoice.duplicate``,
    ``quote.convert``)."""
    lines = [
        line.model_copy(update={"net_amount": None, "id": f"ln_{i + 1}"})
        for i, line in enumerate(source.lines)
    ]
    copy = Invoice(
        id=invoice_id,
        kind="invoice",
        status="draft",
        entity_id=source.entity_id,
        client_id=source.client_id,
        account_id=source.account_id,
        currency=source.currency,
        issue_date=today,
        due_date=due_date_for(today, entity, client),
        lines=lines,
        po_number=source.po_number,
        buyer_reference=source.buyer_reference,
        notes=source.notes,
        terms=source.terms,
        metadata=dict(source.metadata),
        **carried,
    )
    return price(copy, entity, client)


def duplicate(
    invoice: Invoice,
    entity: Entity,
    client: Client,
    *,
    today: date,
    invoice_id: str | None = None,
) -> Invoice:
    """A new draft with the same client, lines and notes; no number; today's dates."""
    if invoice.kind != "invoice":
        raise InvalidState(invoice.status, "duplicate", "cannot duplicate a credit note")
    return invoice_draft_from(invoice, entity, client, today=today, invoice_id=invoice_id)


def default_dates(invoice: Invoice, today: date) -> Invoice:
    """Today's issue date on a draft that has none (for previews)."""
    return invoice if invoice.issue_date else invoice.model_copy(update={"issue_date": today})


def as_issued(
    document: D,
    entity: Entity,
    client: Client,
    today: date,
    dates: Callable[[date], Mapping[str, Any]],
) -> D:
    """``document`` priced as issued on its issue date (``today`` if it has none): the live
    entity and client frozen as seller and buyer, plus the ``dates`` that follow from the issue
    date (an invoice's due date, a quote's last valid day)."""
    issue_date = document.issue_date or today
    seller, buyer = freeze(entity, client)
    shown = document.model_copy(
        update={"issue_date": issue_date, **dates(issue_date), "seller": seller, "buyer": buyer}
    )
    return price(shown, seller, buyer)


def preview(invoice: Invoice, entity: Entity, client: Client, today: date) -> Invoice:
    """The draft as it would be issued today: the live entity and client as seller and buyer
    (with the seller's logo and brand colour), default dates, VAT resolved for those parties.
    Still a ``draft`` with no number — nothing here is kept."""
    return as_issued(
        invoice,
        entity,
        client,
        today,
        lambda issued: {"due_date": invoice.due_date or due_date_for(issued, entity, client)},
    )


def _line_number(line: Line) -> int:
    text = (line.id or "").removeprefix("ln_")
    return int(text) if text.isdigit() else 0


def _aggregation_key(line: Line) -> tuple[Any, ...]:
    """What makes two lines "the same price": product, unit price (Decimal equality), discount,
    VAT category and rate (as resolved for the parties) and unit."""
    return (
        line.product_id,
        line.unit_price,
        line.discount_percent,
        line.vat_category,
        line.vat_rate,
        line.unit,
    )


def add_lines(
    invoice: Invoice,
    raw_lines: object,
    entity: Entity,
    client: Client,
    products: Mapping[str, Product] | None = None,
    *,
    aggregate: bool = False,
) -> tuple[Invoice, int, int]:
    """The draft with ``raw_lines`` appended (``invoice.add_lines``); returns it with the number
    of lines added and of lines aggregated.

    With ``aggregate``, a new line with a ``product_id`` whose unit price, discount, VAT
    category and rate (resolved for these parties, as the draft's lines are) and unit equal an
    existing line's adds its quantity to that line, which keeps its description and metadata;
    any other line is appended. Totals through :func:`~functions.domain.calc.price`.
    """
    transition(invoice.status, "update", kind=invoice.kind)
    if isinstance(raw_lines, Sequence) and not isinstance(raw_lines, str | bytes):
        if not raw_lines:
            raise ValidationFailed.one("lines", "give at least one line")
        if len(invoice.lines) + len(raw_lines) > 500:
            raise ValidationFailed.one("lines", "a document holds at most 500 lines")
    new = build_lines(raw_lines, products or {}, invoice.currency)
    # price the new lines as they would stand on this draft (VAT resolved for the parties)
    existing = list(invoice.lines)
    priced = price(invoice.model_copy(update={"lines": existing + new}), entity, client)
    candidates = priced.lines[len(existing) :]
    lines = list(priced.lines[: len(existing)])
    next_number = max((_line_number(x) for x in lines), default=0)
    added = aggregated = 0
    for line in candidates:
        match = None
        if aggregate and line.product_id:
            key = _aggregation_key(line)
            match = next((i for i, x in enumerate(lines) if _aggregation_key(x) == key), None)
        if match is not None:
            kept = lines[match]
            lines[match] = kept.model_copy(update={"quantity": kept.quantity + line.quantity})
            aggregated += 1
        else:
            next_number += 1
            lines.append(line.model_copy(update={"id": f"ln_{next_number}"}))
            added += 1
    return price(invoice.model_copy(update={"lines": lines}), entity, client), added, aggregated
