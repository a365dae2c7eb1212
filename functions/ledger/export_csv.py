"""CSV export of journal entries: one row per line, every currency as posted.

Layout (RFC 4180: comma-separated, ``"`` quoting, CRLF line ends; UTF-8 without BOM; a header
row with these column names, in this order):

=================  ======================================================================
column             content
=================  ======================================================================
entry_id           the journal entry's id (``je_…``); the rows of one entry share it
date               the entry's date, ``YYYY-MM-DD``
type               ``finalize``, ``payment``, ``credit``, ``refund``, ``void``, ``uncollectible``
document_id        the invoice or credit note the entry belongs to
document_number    its number
document_kind      ``invoice``, ``credit_note``, ``self_billed_invoice`` or
                   ``self_billed_credit_note``
currency           ISO 4217 code of the amounts (the document's currency: no conversion)
account            account number in the entity's chart
account_name       the chart's name of that account
debit, credit      plain decimals with the currency's minor-unit digits (``1190.00``, ``500``
                   for JPY); one of them is ``0``
vat_code           ``S19``, ``S7``, ``AE``, ``K``, ``G``, ``E``, ``O``, ``Z`` or empty
role               what the line is for (``receivables``, ``revenue_s_19``, …)
description        the entry's description
=================  ======================================================================

For each entry, the debits equal the credits; summing ``debit − credit`` per account and
currency gives the account balances.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from functions.domain.money import format_amount
from functions.ledger.charts import Books
from functions.ledger.entries import JournalEntry

CSV_COLUMNS: tuple[str, ...] = (
    "entry_id",
    "date",
    "type",
    "document_id",
    "document_number",
    "document_kind",
    "currency",
    "account",
    "account_name",
    "debit",
    "credit",
    "vat_code",
    "role",
    "description",
)

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def export_csv(entries: Iterable[JournalEntry], books: Books) -> bytes:
    """The entries as CSV bytes (see the module docstring for the layout)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    names: dict[str, str] = {}
    for entry in entries:
        for line in entry.lines:
            writer.writerow(
                (
                    entry.id,
                    entry.date.isoformat(),
                    entry.type,
                    entry.document_id,
                    entry.document_number or "",
                    entry.document_kind,
                    entry.currency,
                    line.account,
                    names.get(line.account)
                    or names.setdefault(line.account, books.account_name(line.account)),
                    format_amount(line.debit, entry.currency),
                    format_amount(line.credit, entry.currency),
                    line.vat_code or "",
                    line.role,
                    _one_line(entry.description),
                )
            )
    return buffer.getvalue().encode("utf-8")


def _one_line(text: str) -> str:
    return " ".join(text.split())
