"""SIE 4 export (type 4I: vouchers to import into the accountant's bookkeeping program).

Follows the SIE file format, version 4B (SIE-Gruppen, 2008): a text file in IBM PC code page
437 ("PC8"), one record a line (``#LABEL field field ...``; fields separated by spaces, text
in double quotes with ``\\"`` for a quote inside), lines ended by CR LF.

Billow keeps a sub-ledger (invoices, payments, credits), so the file is of type **4I**
(transactions for import; extension ``.si``) rather than 4E (a complete export with opening
and closing balances, which Billow does not keep):

    #FLAGGA 0
    #PROGRAM "Billow" 0.1.0
    #FORMAT PC8
    #GEN 20261201
    #SIETYP 4
    #FNAMN "Acme AB"
    #ORGNR 556677-8899
    #RAR 0 20260101 20261231
    #VALUTA SEK
    #KONTO 1510 "Kundfordringar"
    #VER "A" "" 20261121 "INV-2026-0001 finalize"
    {
       #TRANS 1510 {} 1250.00
       #TRANS 3001 {} -1000.00
       #TRANS 2611 {} -250.00
    }

One ``#VER`` per journal entry, one ``#TRANS`` per line (debit positive, credit negative:
each verification sums to zero). The verification number is left empty for the importing
program to assign in its series. Amounts are in the books' currency (SEK): entries in another
currency are converted with the rates given (:mod:`functions.ledger.currency`) or refused.

No maintained Python library writes SIE (PyPI has only ``pysie-accounting``, a 0.0.2 reader
built on pandas that reads floats, defaults to UTF-8 and needs an SRU mapping file), so this
module writes it; the tests read it back with an independent reader written from the spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from functions.domain.errors import ValidationFailed
from functions.ledger.charts import Books
from functions.ledger.currency import in_currency
from functions.ledger.entries import JournalEntry
from functions.ledger.export_datev import fiscal_year_of

ENCODING = "cp437"
SIE_CONTENT_TYPE = "text/plain; charset=IBM437"


@dataclass(frozen=True)
class SieSettings:
    company_name: str
    organisation_number: str | None = None  # #ORGNR, e.g. 556677-8899
    fiscal_year_start: tuple[int, int] = (1, 1)  # (month, day)
    series: str = "A"  # verification series in the receiving program
    program: str = "Billow"
    program_version: str = "0.1.0"


def sie_filename(period_from: date, period_to: date) -> str:
    return f"SIE4I_{period_from:%Y%m%d}_{period_to:%Y%m%d}.si"


def export_sie(
    entries: Iterable[JournalEntry],
    books: Books,
    *,
    period_from: date,
    period_to: date,
    created_at: datetime,
    settings: SieSettings,
    currency: str = "SEK",
    rates: Mapping[str, Decimal] | None = None,
) -> bytes:
    """The SIE 4I file of the entries dated ``period_from``..``period_to``."""
    if period_to < period_from:
        raise ValidationFailed.one("to", "must not be before from")
    year_start = fiscal_year_of(period_from, settings.fiscal_year_start)
    if fiscal_year_of(period_to, settings.fiscal_year_start) != year_start:
        raise ValidationFailed.one("to", "an SIE file covers one fiscal year: export per year")
    year_end = date(year_start.year + 1, year_start.month, year_start.day) - timedelta(days=1)
    chosen = [e for e in entries if period_from <= e.date <= period_to and e.lines]
    converted = in_currency(chosen, currency, rates)
    out = [
        "#FLAGGA 0",
        f"#PROGRAM {_quote(settings.program)} {_quote(settings.program_version)}",
        "#FORMAT PC8",
        f"#GEN {created_at:%Y%m%d}",
        "#SIETYP 4",
        f"#FNAMN {_quote(settings.company_name)}",
    ]
    if settings.organisation_number:
        out.append(f"#ORGNR {_quote(settings.organisation_number)}")
    out += [f"#RAR 0 {year_start:%Y%m%d} {year_end:%Y%m%d}", f"#VALUTA {currency}"]
    accounts = sorted({line.account for entry in converted for line in entry.lines})
    out += [f"#KONTO {_quote(a)} {_quote(books.account_name(a))}" for a in accounts]
    for entry in converted:
        out.append(
            f'#VER {_quote(settings.series)} "" {entry.date:%Y%m%d} '
            f"{_quote(_text(entry.description))}"
        )
        out.append("{")
        for line in entry.lines:
            amount = line.debit - line.credit
            if amount:
                out.append(f"   #TRANS {_quote(line.account)} {{}} {amount:.2f}")
        out.append("}")
    return ("\r\n".join(out) + "\r\n").encode(ENCODING, errors="replace")


def _text(value: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


def _quote(value: str) -> str:
    """A field: bare when it is a plain word, else in quotes with ``\\"`` for a quote."""
    value = _text(value)
    if value and all(ch.isalnum() or ch in "-_.:/+" for ch in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
