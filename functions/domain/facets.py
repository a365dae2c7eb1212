"""What a record publishes for the universal search: its amounts, dates and identifiers.

Pure functions of a stored record's data (the JSON the services write). The store keeps the
rows :func:`rows` derives from them in the same commit as the record (a declared aggregate, see
:mod:`storage_adapter.declared`), so a search reads only the rows it matches; :func:`matches`
is the reference the search must agree with.

>>> f = invoice_facets({"id": "inv_1", "kind": "invoice", "number": "F-1", "currency": "EUR",
...     "total": "12.00", "amount_due": "12.00", "issue_date": "2026-01-05",
...     "client_name": "Acme", "po_number": "PO 7"})[0]
>>> f.type, f.title, f.identifiers
('invoice', 'F-1 · Acme', (('F-1', 'number'), ('PO 7', 'po_number')))
>>> [k for k, _ in rows([f]) if k.startswith("i|")]
['i|number|f-1', 'i|po_number|po7']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

TYPES = ("invoice", "credit_note", "quote", "recurring", "client", "payment")
AMOUNT_LABELS = ("total", "amount_due", "paid", "refund_due")
DATE_LABELS = ("issue", "due", "supply", "paid", "created", "valid_until", "next")
IDENTIFIER_TYPES = (
    "number",
    "po_number",
    "payment_reference",
    "vat_number",
    "iban",
    "buyer_reference",
)

#: Record types each stored collection holds.
COLLECTION_TYPES = {
    "invoices": ("invoice", "credit_note", "payment"),
    "quotes": ("quote",),
    "recurring": ("recurring",),
    "clients": ("client",),
}


@dataclass(frozen=True)
class Facets:
    """One searchable record: ``source`` is the stored record's key (for a payment: its
    invoice's), ``collection`` the collection holding it."""

    type: str
    id: str
    title: str
    collection: str
    source: str
    amounts: tuple[tuple[Decimal, str, str], ...] = ()  # (value, currency, label)
    dates: tuple[tuple[str, str], ...] = ()  # (ISO date, label)
    identifiers: tuple[tuple[str, str], ...] = ()  # (value, type)

    def item(self) -> dict[str, Any]:
        """The search result's representation (contract: "Universal search"); a payment
        also names its invoice (``invoice_id``), where the app links it."""
        out = {
            "type": self.type,
            "id": self.id,
            "title": self.title,
            "amounts": [{"value": str(v), "currency": c, "label": lb} for v, c, lb in self.amounts],
            "dates": [{"value": v, "label": lb} for v, lb in self.dates],
            "identifiers": [{"value": v, "type": t} for v, t in self.identifiers],
        }
        if self.type == "payment":
            out["invoice_id"] = self.source
        return out


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _day(value: Any) -> str | None:
    """The ISO day of a date or timestamp (``2026-01-05T10:00:00Z`` → ``2026-01-05``)."""
    return value[:10] if isinstance(value, str) and len(value) >= 10 else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _amounts(data: Mapping[str, Any], pairs: Iterable[tuple[str, str]], currency: str):
    out = []
    for field, label in pairs:
        d = _decimal(data.get(field))
        if d is not None:
            out.append((d, currency, label))
    return tuple(out)


def _dates(data: Mapping[str, Any], pairs: Iterable[tuple[str, str]]):
    return tuple((d, label) for field, label in pairs if (d := _day(data.get(field))))


def _idents(data: Mapping[str, Any], pairs: Iterable[tuple[str, str]]):
    return tuple((v, type_) for field, type_ in pairs if (v := _text(data.get(field))))


def _sub(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def invoice_facets(data: Mapping[str, Any]) -> list[Facets]:
    """An invoice or credit note (self-billed ones too) and each of its payments."""
    key = str(data.get("id") or "")
    if not key:
        return []
    kind = str(data.get("kind") or "invoice")
    type_ = "credit_note" if kind.endswith("credit_note") else "invoice"
    currency = str(data.get("currency") or "EUR")
    number = _text(data.get("number"))
    client = _text(data.get("client_name")) or _text(_sub(data, "buyer").get("name"))
    title = " · ".join(p for p in (number or "Draft", client) if p)
    amounts = [("total", "total"), ("amount_due", "amount_due"), ("amount_paid", "paid")]
    if type_ == "credit_note":
        amounts.append(("refund_due", "refund_due"))
    idents = _idents(
        data,
        [
            ("number", "number"),
            ("po_number", "po_number"),
            ("payment_reference", "payment_reference"),
            ("buyer_reference", "buyer_reference"),
        ],
    )
    idents += _idents(_sub(data, "buyer"), [("vat_number", "vat_number")])
    idents += _idents(_sub(_sub(data, "seller"), "bank"), [("iban", "iban")])
    out = [
        Facets(
            type_,
            key,
            title,
            "invoices",
            key,
            _amounts(data, amounts, currency),
            _dates(
                {**data, "paid_at": data.get("paid_at")},
                [
                    ("issue_date", "issue"),
                    ("due_date", "due"),
                    ("supply_date", "supply"),
                    ("paid_at", "paid"),
                    ("created_at", "created"),
                ],
            ),
            idents,
        )
    ]
    if type_ == "invoice":
        for payment in data.get("payments") or []:
            if not isinstance(payment, dict) or not payment.get("id"):
                continue
            out.append(
                Facets(
                    "payment",
                    str(payment["id"]),
                    f"Payment · {number or 'Draft'}" + (f" · {client}" if client else ""),
                    "invoices",
                    key,
                    _amounts(payment, [("amount", "paid")], currency),
                    _dates(payment, [("paid_on", "paid")]),
                    _idents(payment, [("reference", "payment_reference")]),
                )
            )
    return out


def quote_facets(data: Mapping[str, Any]) -> list[Facets]:
    key = str(data.get("id") or "")
    if not key:
        return []
    number = _text(data.get("number"))
    client = _text(data.get("client_name"))
    title = " · ".join(p for p in (f"Quote {number or 'draft'}", client) if p)
    return [
        Facets(
            "quote",
            key,
            title,
            "quotes",
            key,
            _amounts(data, [("total", "total")], str(data.get("currency") or "EUR")),
            _dates(
                data,
                [
                    ("issue_date", "issue"),
                    ("valid_until", "valid_until"),
                    ("created_at", "created"),
                ],
            ),
            _idents(
                data,
                [
                    ("number", "number"),
                    ("po_number", "po_number"),
                    ("buyer_reference", "buyer_reference"),
                ],
            ),
        )
    ]


def recurring_facets(data: Mapping[str, Any]) -> list[Facets]:
    key = str(data.get("id") or "")
    if not key:
        return []
    every = data.get("interval")
    client = _text(data.get("client_name"))
    title = " · ".join(p for p in ("Recurring" + (f" {every}" if every else ""), client) if p)
    return [
        Facets(
            "recurring",
            key,
            title,
            "recurring",
            key,
            _amounts(data, [("total", "total")], str(data.get("currency") or "EUR")),
            _dates(data, [("next_date", "next"), ("created_at", "created")]),
            _idents(data, [("po_number", "po_number")]),
        )
    ]


def client_facets(data: Mapping[str, Any]) -> list[Facets]:
    key = str(data.get("id") or "")
    if not key:
        return []
    return [
        Facets(
            "client",
            key,
            _text(data.get("name")) or key,
            "clients",
            key,
            (),
            _dates(data, [("created_at", "created")]),
            _idents(data, [("vat_number", "vat_number"), ("buyer_reference", "buyer_reference")]),
        )
    ]


FACETS_OF: dict[str, Callable[[Mapping[str, Any]], list[Facets]]] = {
    "invoices": invoice_facets,
    "quotes": quote_facets,
    "recurring": recurring_facets,
    "clients": client_facets,
}


# --- the rows the store keeps -----------------------------------------------------------------

#: Amounts are kept with this many fraction digits in the sortable key.
_SCALE = 6
_WIDTH = 30


def sortable(value: Decimal, rounding: str = ROUND_FLOOR) -> str:
    """A text that sorts like the number (``n…`` below ``p…``); amounts with more than six
    fraction digits are rounded with ``rounding`` (floor for stored values)."""
    limit = 10**_WIDTH - 1
    if abs(value) >= Decimal(10) ** (_WIDTH - _SCALE):  # beyond any amount: the ends
        n = limit if value > 0 else -limit
    else:
        n = int(value.scaleb(_SCALE).to_integral_value(rounding=rounding))
    return f"p{n:0{_WIDTH}d}" if n >= 0 else f"n{10**_WIDTH + n:0{_WIDTH}d}"


def sortable_ceiling(value: Decimal) -> str:
    return sortable(value, ROUND_CEILING)


def normalize(identifier: str) -> str:
    """How identifiers compare: case-insensitive, blanks ignored (``DE 12 3`` = ``de123``)."""
    return "".join(identifier.casefold().split())


def search_text(f: Facets) -> str:
    """What ``q`` looks in: the title and the identifiers, case-folded."""
    return "\n".join([f.title.casefold(), *(v.casefold() for v, _ in f.identifiers)])


def rows(facets: Iterable[Facets]) -> list[tuple[str, tuple[Any, ...]]]:
    """``(range_key, group)`` rows: ``a|label|amount`` (group ``(currency, type, id,
    source)``), ``d|label|date`` and ``i|type|identifier`` (group ``(type, id, source)``), and
    one ``t|type|id`` per record (group ``(type, id, source, search_text)``)."""
    out: list[tuple[str, tuple[Any, ...]]] = []
    for f in facets:
        ref = (f.type, f.id, f.source)
        out.append((f"t|{f.type}|{f.id}", (*ref, search_text(f))))
        for value, currency, label in f.amounts:
            out.append((f"a|{label}|{sortable(value)}", (currency, *ref)))
        for value, label in f.dates:
            out.append((f"d|{label}|{value}", ref))
        for value, type_ in f.identifiers:
            out.append((f"i|{type_}|{normalize(value)}", ref))
    return out


# --- the reference ----------------------------------------------------------------------------


def matches(f: Facets, criteria: Mapping[str, Any]) -> bool:
    """Whether a record answers a search (``amounts``, ``dates``, ``identifiers``: one of the
    record's amounts/dates/identifiers meets every condition given; ``q``: substring of the
    title or an identifier, case-insensitive; ``types``)."""
    types = criteria.get("types")
    if types and f.type not in types:
        return False
    a = criteria.get("amounts")
    if a is not None and not any(
        (a.get("label") is None or label == a["label"])
        and (a.get("currency") is None or currency == a["currency"].upper())
        and (a.get("min") is None or value >= Decimal(str(a["min"])))
        and (a.get("max") is None or value <= Decimal(str(a["max"])))
        for value, currency, label in f.amounts
    ):
        return False
    d = criteria.get("dates")
    if d is not None and not any(
        (d.get("label") is None or label == d["label"])
        and (d.get("from") is None or value >= str(d["from"]))
        and (d.get("to") is None or value <= str(d["to"]))
        for value, label in f.dates
    ):
        return False
    i = criteria.get("identifiers")
    if i is not None and not any(
        (i.get("type") is None or type_ == i["type"]) and normalize(value) == normalize(i["value"])
        for value, type_ in f.identifiers
    ):
        return False
    q = criteria.get("q")
    return not q or q.casefold() in search_text(f)


def order(f: Facets) -> tuple[int, str]:
    """Results are listed by type (``TYPES`` order), then id."""
    return (TYPES.index(f.type), f.id)
