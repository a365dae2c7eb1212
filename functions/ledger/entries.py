"""Journal entries: one balanced entry per business event of a document, append-only.

Each ``post_*`` function takes the document as ``invoice.get`` returns it (a dict, or an
:class:`~functions.domain.models.Invoice`) and the entity's :class:`~functions.ledger.charts.Books`,
and returns one :class:`JournalEntry` whose debits equal its credits exactly:

=================  =============================================================================
event              lines (sales; a self-billed document posts the mirror on the supplier side)
=================  =============================================================================
finalize           Dr receivables total / Cr revenue per (category, rate) / Cr output VAT per rate
payment            Dr bank / Cr receivables (after a write-off: Cr bad debt and output VAT back)
credit             the credit note's own entry: Dr revenue, Dr output VAT / Cr receivables (what
                   was still due), Cr refund_due (what was already paid)
refund             Dr refund_due / Cr bank
void               the finalize entry reversed, line by line (entries are never edited)
uncollectible      Dr bad debt (net), Dr output VAT (the VAT corrected) / Cr receivables
=================  =============================================================================

VAT stands on its own lines, with ``vat_code`` (``S19``, ``S7``, ``AE``, ``K``, ...) on the
revenue, VAT and bad-debt lines of a group. Amounts are posted in the document's currency
(the contract has no exchange rate); the exports say what they do with other currencies.

Self-billed documents (the entity is the buyer): finalize posts Dr purchases / Dr input VAT /
Cr payables; reverse-charge groups (AE, K) also self-assess the VAT at the entity's rate
(Dr input VAT / Cr output VAT, both ``vat_code`` AE or K), when the books know that rate.
Payments go Dr payables / Cr bank; a self-billed credit note's paid part is owed back *by*
the supplier (``supplier_refund_due``).

Write-offs: an uncollectible invoice's remaining amount due leaves receivables at once. Later
payments and credits on it take back the written-off amounts (bad debt and VAT, pro rata,
exactly), so ``receivables`` always equals the amount due of the documents that are still
collectable. For that, :func:`post_payment`, :func:`post_credit` and :func:`post_void` need
the entries already posted for the document (and, for a credit, those of its original).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from functions.domain.errors import InvalidState
from functions.domain.kinds import is_credit_kind, is_self_billed
from functions.domain.models import Dec
from functions.domain.money import HUNDRED, ZERO, format_amount, minor_units, quantum, round_money
from functions.ledger.charts import Books, rate_suffix

EntryType = Literal["finalize", "payment", "credit", "refund", "void", "uncollectible"]
ENTRY_TYPES: tuple[str, ...] = ("finalize", "payment", "credit", "refund", "void", "uncollectible")

# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class JournalLine(BaseModel):
    """One line: ``debit`` or ``credit`` (the other is zero), both non-negative."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str
    debit: Dec = Decimal(0)
    credit: Dec = Decimal(0)
    vat_code: str | None = None
    #: what the line is for (a role of :data:`functions.ledger.charts.ROLES`); an addition
    #: to the contract's line, used by the DATEV export and the tests
    role: str


class JournalEntry(BaseModel):
    """The contract's ledger entry, plus its currency, the document kind and a description."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    date: date
    document_id: str
    document_number: str | None = None
    document_kind: str = "invoice"
    #: for a credit note's entries: the invoice it credits (write-offs are tracked on it)
    original_document_id: str | None = None
    type: EntryType
    currency: str
    description: str = ""
    lines: list[JournalLine] = Field(default_factory=list)

    @model_validator(mode="after")
    def _balanced(self) -> JournalEntry:
        step = quantum(self.currency)
        for line in self.lines:
            if line.debit < 0 or line.credit < 0 or (line.debit and line.credit):
                raise ValueError(f"line on {line.account}: one of debit/credit, not negative")
            for amount in (line.debit, line.credit):
                if amount != amount.quantize(step):
                    raise ValueError(f"line on {line.account}: finer than {self.currency}")
        debit, credit = self.totals()
        if debit != credit:
            raise ValueError(f"unbalanced entry: debit {debit} != credit {credit}")
        return self

    @model_serializer(mode="wrap")
    def _serialize(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        """JSON amounts with exactly the currency's minor-unit digits (``"0.00"``, ``"500"``)."""
        data = handler(self)
        if info.mode_is_json() and isinstance(data, dict):
            for line in data.get("lines") or []:
                for side in ("debit", "credit"):
                    line[side] = format_amount(line[side], self.currency)
        return data

    def totals(self) -> tuple[Decimal, Decimal]:
        return (
            sum((line.debit for line in self.lines), ZERO),
            sum((line.credit for line in self.lines), ZERO),
        )


def balances(entries: Iterable[JournalEntry]) -> dict[tuple[str, str], Decimal]:
    """Debit minus credit per (account, currency)."""
    result: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        for line in entry.lines:
            result[(line.account, entry.currency)] += line.debit - line.credit
    return dict(result)


def entry_id(document_id: str, entry_type: str, key: str = "") -> str:
    """Deterministic id of the entry of one event: a retried commit writes the same entry."""
    digest = hashlib.sha256(f"{document_id}|{entry_type}|{key}".encode()).hexdigest()
    return f"je_{digest[:24]}"


# --------------------------------------------------------------------------------------------
# The document as the ledger reads it
# --------------------------------------------------------------------------------------------


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")
    vat_category: str
    vat_rate: Dec
    taxable_amount: Dec
    tax_amount: Dec


class _Money(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | None = None
    amount: Dec
    paid_on: date


class Document(BaseModel):
    """The fields of ``invoice.get`` the ledger reads."""

    model_config = ConfigDict(extra="ignore")
    id: str
    number: str | None = None
    kind: str = "invoice"
    status: str = "draft"
    currency: str
    issue_date: date | None = None
    tax_breakdown: list[_Row] = Field(default_factory=list)
    total: Dec = Decimal(0)
    amount_due: Dec = Decimal(0)
    refund_due: Dec = Decimal(0)
    payments: list[_Money] = Field(default_factory=list)
    refunds: list[_Money] = Field(default_factory=list)
    original_invoice_id: str | None = None


def document(doc: Any) -> Document:
    """Read ``doc`` (a dict from ``invoice.get``/the store, or a model) as a :class:`Document`."""
    if isinstance(doc, Document):
        return doc
    if isinstance(doc, BaseModel):
        doc = doc.model_dump(mode="json")
    return Document.model_validate(doc)


# --------------------------------------------------------------------------------------------
# Posting
# --------------------------------------------------------------------------------------------


def vat_code(category: str, rate: Decimal) -> str:
    """``S19``, ``S7``, ``S5.5`` for taxed groups; the category alone for zero-rate ones."""
    return f"S{rate_suffix(rate)}" if category == "S" else category


_SALES_ROLES = {
    "Z": "revenue_z",
    "E": "revenue_e",
    "AE": "revenue_ae",
    "K": "revenue_k",
    "G": "revenue_g",
    "O": "revenue_o",
}
_PURCHASE_ROLES = {
    "Z": "purchases_exempt",
    "E": "purchases_exempt",
    "AE": "purchases_ae",
    "K": "purchases_k",
    "G": "purchases_g",
    "O": "purchases_o",
}


class _Lines:
    """Collects lines; a negative amount goes on the other side, zero amounts are dropped."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self.lines: list[JournalLine] = []

    def add(
        self,
        role: str,
        amount: Decimal,
        side: Literal["D", "C"],
        vat: str | None = None,
        *,
        account: str | None = None,
    ) -> None:
        if amount == 0:
            return
        if amount < 0:
            amount, side = -amount, ("C" if side == "D" else "D")
        self.lines.append(
            JournalLine(
                account=account or self.books.account(role),
                debit=amount if side == "D" else ZERO,
                credit=amount if side == "C" else ZERO,
                vat_code=vat,
                role=role,
            )
        )


def _entry(
    doc: Document,
    entry_type: str,
    lines: list[JournalLine],
    on: date,
    *,
    key: str = "",
    description: str = "",
    original: str | None = None,
) -> JournalEntry:
    return JournalEntry(
        id=entry_id(doc.id, entry_type, key),
        date=on,
        document_id=doc.id,
        document_number=doc.number,
        document_kind=doc.kind,
        original_document_id=original,
        type=entry_type,  # type: ignore[arg-type]
        currency=doc.currency,
        description=description or f"{doc.number or doc.id} {entry_type}",
        lines=lines,
    )


def _document_lines(out: _Lines, doc: Document) -> None:
    """Revenue/purchase and VAT lines of the document's breakdown (a credit note's negative
    amounts land on the opposite side, as positive amounts: the reversal)."""
    books = out.books
    purchase = is_self_billed(doc.kind)
    for row in doc.tax_breakdown:
        code = vat_code(row.vat_category, row.vat_rate)
        if purchase:
            base = (
                books.rate_role("purchases_s", row.vat_rate)
                if row.vat_category == "S"
                else _PURCHASE_ROLES[row.vat_category]
            )
            out.add(base, row.taxable_amount, "D", code)
            if row.tax_amount:
                out.add(books.rate_role("input_vat", row.vat_rate), row.tax_amount, "D", code)
            _self_assess(out, doc, row, code)
        else:
            base = (
                books.rate_role("revenue_s", row.vat_rate)
                if row.vat_category == "S"
                else _SALES_ROLES[row.vat_category]
            )
            out.add(base, row.taxable_amount, "C", code)
            if row.tax_amount:
                out.add(books.rate_role("output_vat", row.vat_rate), row.tax_amount, "C", code)


def _self_assess(out: _Lines, doc: Document, row: _Row, code: str) -> None:
    """Reverse charge on a self-billed purchase: the entity owes and deducts the VAT."""
    rate = out.books.self_assessment_rate
    if row.vat_category not in ("AE", "K") or not rate:
        return
    suffix = row.vat_category.lower()
    if not (out.books.has(f"input_vat_{suffix}") and out.books.has(f"output_vat_{suffix}")):
        return
    amount = round_money(row.taxable_amount * rate / HUNDRED, doc.currency)
    out.add(f"input_vat_{suffix}", amount, "D", code)
    out.add(f"output_vat_{suffix}", amount, "C", code)


def post_finalize(doc: Any, books: Books, *, on: date | None = None) -> JournalEntry:
    """The entry of a finalized invoice (or self-billed invoice), dated its issue date."""
    view = document(doc)
    if is_credit_kind(view.kind):
        raise ValueError("a credit note posts post_credit()")
    out = _Lines(books)
    party = "payables" if is_self_billed(view.kind) else "receivables"
    out.add(party, view.total, "C" if is_self_billed(view.kind) else "D")
    _document_lines(out, view)
    return _entry(view, "finalize", out.lines, on or _issue_date(view))


def post_payment(
    doc: Any,
    payment: Any,
    books: Books,
    *,
    previous: Sequence[JournalEntry] = (),
) -> JournalEntry:
    """The entry of one payment (``payment``: its id on the document, or the payment itself).

    On a written-off invoice (``previous`` holds its ``uncollectible`` entry) the payment
    takes back the write-off, pro rata over its bad-debt and VAT lines."""
    view = document(doc)
    money = _find(view.payments, payment, "payment")
    out = _Lines(books)
    if is_self_billed(view.kind):
        out.add("payables", money.amount, "D")
        out.add("bank", money.amount, "C")
    else:
        out.add("bank", money.amount, "D")
        remaining = write_off_remaining(previous, view.id)
        if sum(remaining.values(), ZERO) > 0:
            _take_back(out, remaining, money.amount, view.currency)
        else:
            out.add("receivables", money.amount, "C")
    return _entry(view, "payment", out.lines, money.paid_on, key=money.id or str(money.paid_on))


def post_credit(
    credit_note: Any,
    books: Books,
    *,
    original_before: Any,
    original_after: Any,
    original_entries: Sequence[JournalEntry] = (),
) -> JournalEntry:
    """The credit note's own entry (type ``credit``), dated its issue date.

    ``original_before``/``original_after``: the credited invoice before and after the credit
    (:func:`functions.domain.credit.settle_credit`); what its amount due went down by leaves
    receivables (or the write-off, for an uncollectible invoice, with ``original_entries``),
    what was already paid goes to ``refund_due`` (the note's ``refund_due`` plus its refunds).
    A last partial credit that settles an invoice in full may differ from what remained by
    the rounding of its lines: that cent goes to ``rounding``.
    """
    note = document(credit_note)
    if not is_credit_kind(note.kind):
        raise ValueError("post_credit() takes a credit note")
    before, after = document(original_before), document(original_after)
    credit = -note.total
    owed = note.refund_due + sum((r.amount for r in note.refunds), ZERO)
    reduction = before.amount_due - after.amount_due
    out = _Lines(books)
    _document_lines(out, note)
    purchase = is_self_billed(note.kind)
    side: Literal["D", "C"] = "D" if purchase else "C"
    remaining = write_off_remaining(original_entries, before.id)
    if not purchase and sum(remaining.values(), ZERO) > 0:
        _take_back(out, remaining, reduction, note.currency)
    else:
        out.add("payables" if purchase else "receivables", reduction, side)
    out.add("supplier_refund_due" if purchase else "refund_due", owed, side)
    out.add("rounding", credit - owed - reduction, side)
    return _entry(note, "credit", out.lines, _issue_date(note), original=before.id)


def post_refund(credit_note: Any, refund: Any, books: Books) -> JournalEntry:
    """The entry of one refund on a credit note (``refund``: its id, or the refund)."""
    note = document(credit_note)
    money = _find(note.refunds, refund, "refund")
    out = _Lines(books)
    if is_self_billed(note.kind):  # the supplier pays the entity back
        out.add("bank", money.amount, "D")
        out.add("supplier_refund_due", money.amount, "C")
    else:
        out.add("refund_due", money.amount, "D")
        out.add("bank", money.amount, "C")
    return _entry(
        note,
        "refund",
        out.lines,
        money.paid_on,
        key=money.id or str(money.paid_on),
        original=note.original_invoice_id,
    )


def post_void(doc: Any, previous: Sequence[JournalEntry], *, on: date) -> JournalEntry:
    """The reversal of the document's finalize entry (same accounts, sides swapped)."""
    view = document(doc)
    finalize = [e for e in previous if e.document_id == view.id and e.type == "finalize"]
    if len(finalize) != 1:
        raise ValueError(f"{view.id}: expected one finalize entry to reverse")
    lines = [
        line.model_copy(update={"debit": line.credit, "credit": line.debit})
        for line in finalize[0].lines
    ]
    return _entry(view, "void", lines, on)


def post_uncollectible(doc: Any, books: Books, *, on: date) -> JournalEntry:
    """Write off the amount due: bad debt (net) and the VAT corrected on it, pro rata over the
    document's VAT groups (by their gross), exactly; Cr receivables."""
    view = document(doc)
    if is_self_billed(view.kind) or is_credit_kind(view.kind):
        raise InvalidState(view.status, "mark_uncollectible", "only a sales invoice is written off")
    out = _Lines(books)
    rows = [row for row in view.tax_breakdown if row.taxable_amount + row.tax_amount > 0]
    parts = _allocate(
        view.amount_due, [row.taxable_amount + row.tax_amount for row in rows], view.currency
    )
    if not rows:
        out.add("bad_debt", view.amount_due, "D")
    for row, part in zip(rows, parts, strict=True):
        # the VAT contained in the written-off gross, at the group's rate (§ 17 UStG; what
        # DATEV's automatic bad-debt accounts compute from the same gross)
        vat = min(
            round_money(part * row.vat_rate / (HUNDRED + row.vat_rate), view.currency),
            row.tax_amount,
        )
        code = vat_code(row.vat_category, row.vat_rate)
        role = books.rate_role("bad_debt", row.vat_rate) if row.vat_category == "S" else "bad_debt"
        out.add(role, part - vat, "D", code)
        if vat:
            out.add(books.rate_role("output_vat", row.vat_rate), vat, "D", code)
    out.add("receivables", view.amount_due, "C")
    return _entry(view, "uncollectible", out.lines, on)


# --------------------------------------------------------------------------------------------
# Write-offs taken back
# --------------------------------------------------------------------------------------------

_Bucket = tuple[str, str, str | None]  # (account, role, vat_code)


def write_off_remaining(
    entries: Iterable[JournalEntry], document_id: str
) -> dict[_Bucket, Decimal]:
    """What is still written off on ``document_id``, per bad-debt/VAT line: the debits of its
    ``uncollectible`` entries less what payments and credits took back since."""
    remaining: dict[_Bucket, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        if document_id not in (entry.document_id, entry.original_document_id):
            continue
        for line in entry.lines:
            if not _is_write_off_line(line):
                continue
            bucket = (line.account, line.role, line.vat_code)
            if entry.type == "uncollectible":
                remaining[bucket] += line.debit
            elif entry.type in ("payment", "credit"):
                remaining[bucket] -= line.credit
    return {bucket: amount for bucket, amount in remaining.items() if amount > 0}


def _is_write_off_line(line: JournalLine) -> bool:
    return line.role.startswith(("bad_debt", "output_vat"))


def _take_back(
    out: _Lines, remaining: Mapping[_Bucket, Decimal], amount: Decimal, currency: str
) -> None:
    """Credit ``amount`` back to the written-off lines: pro rata over the VAT groups by what
    remains of each, and within a group the VAT contained at the group's rate (as the write-off
    computed it), so that the last take-back clears every line exactly."""
    groups: dict[str | None, list[_Bucket]] = defaultdict(list)
    for bucket in remaining:
        groups[bucket[2]].append(bucket)
    codes = list(groups)
    gross = [sum((remaining[b] for b in groups[c]), ZERO) for c in codes]
    for code, group_gross, part in zip(
        codes, gross, _allocate(amount, gross, currency), strict=True
    ):
        vat_buckets = [b for b in groups[code] if b[1].startswith("output_vat")]
        net_buckets = [b for b in groups[code] if b not in vat_buckets]
        vat_left = sum((remaining[b] for b in vat_buckets), ZERO)
        net_left = group_gross - vat_left
        if part == group_gross:
            vat = vat_left
        else:
            rate = _rate_of(code)
            vat = round_money(part * rate / (HUNDRED + rate), currency) if rate else ZERO
            vat = min(max(vat, part - net_left), vat_left, part)
        for buckets, share in ((vat_buckets, vat), (net_buckets, part - vat)):
            weights = [remaining[b] for b in buckets]
            for (account, role, vat_code_), piece in zip(
                buckets, _allocate(share, weights, currency), strict=True
            ):
                out.add(role, piece, "C", vat_code_, account=account)


def _rate_of(code: str | None) -> Decimal:
    """The rate of a ``vat_code`` (``S19`` → 19); zero-rate groups: 0."""
    if code and code.startswith("S"):
        return Decimal(code[1:])
    return ZERO


def _allocate(amount: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split ``amount`` over ``weights`` pro rata in minor units, exactly (largest remainder;
    ties to the first)."""
    total = sum(weights, ZERO)
    if not weights:
        return []
    if total <= 0:
        return [amount, *[ZERO] * (len(weights) - 1)]
    unit = Decimal(1).scaleb(-minor_units(currency))
    units = int(amount / unit)
    exact = [Decimal(units) * w / total for w in weights]
    floors = [int(x) for x in exact]
    rest = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:rest]:
        floors[i] += 1
    return [Decimal(n) * unit for n in floors]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _issue_date(view: Document) -> date:
    if view.issue_date is None:
        raise ValueError(f"{view.id} has no issue date: post finalized documents only")
    return view.issue_date


def _find(items: list[_Money], wanted: Any, what: str) -> _Money:
    if isinstance(wanted, str):
        for item in items:
            if item.id == wanted:
                return item
        raise ValueError(f"no {what} {wanted!r} on the document")
    if isinstance(wanted, BaseModel):
        wanted = wanted.model_dump(mode="json")
    return _Money.model_validate(wanted)
