"""DATEV EXTF "Buchungsstapel" (posting batch) export.

Follows DATEV's published format description (developer.datev.de, "DATEV-Format":
Header, Buchungsstapel; header version 700, format category 21, format name
"Buchungsstapel", format version 13, 125 data fields):

- line 1: the header, 31 fields in the published order (:data:`HEADER_FIELDS`);
- line 2: the column headings (:data:`COLUMNS`);
- then one line per posting: ``Umsatz`` (positive, decimal comma, two decimals),
  ``Soll/Haben-Kennzeichen`` (``S``: ``Konto`` is debited, ``Gegenkonto`` credited), ``WKZ
  Umsatz``, ``Konto``, ``Gegenkonto (ohne BU-Schlüssel)``, ``BU-Schlüssel`` (empty: the
  accounts carry the tax function), ``Belegdatum`` (``DDMM``; the year is the header's),
  ``Belegfeld 1`` (the document number, DATEV's allowed characters, at most 36),
  ``Buchungstext`` (at most 60 characters); every other field empty.
- fields separated by ``;``, text fields in double quotes (inner quotes doubled), lines ended
  by CR LF, encoded in Windows-1252 ("ANSI"; a character it lacks becomes ``?``).

A journal entry has any number of lines; a DATEV posting has two accounts. Each entry becomes
the fewest postings that move exactly its amounts (debits matched to credits in order). VAT:
DATEV computes the VAT itself on its automatic accounts (8400 "Erlöse 19 % USt" ...), so the
VAT lines of a group are folded into that group's line on an automatic account (the gross
amount) — posting them as well would count the VAT twice. On any other account the VAT keeps
its own posting to the VAT account.

A batch covers one fiscal year (the ``Belegdatum`` carries no year) and one currency, the
books' (EUR): entries in another currency are converted with the rates given
(:mod:`functions.ledger.currency`) or the export is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from functions.domain.errors import ValidationFailed
from functions.domain.money import ZERO
from functions.ledger.charts import Books, is_vat_role
from functions.ledger.currency import in_currency
from functions.ledger.entries import JournalEntry

HEADER_FIELDS: tuple[str, ...] = (
    "Kennzeichen",  # 1 "EXTF": created by a program other than DATEV's
    "Versionsnummer",  # 2 700
    "Formatkategorie",  # 3 21 = Buchungsstapel
    "Formatname",  # 4 "Buchungsstapel"
    "Formatversion",  # 5 13
    "Erzeugt am",  # 6 YYYYMMDDHHMMSSFFF
    "Importiert",  # 7 empty (set by DATEV)
    "Herkunft",  # 8 two letters naming the source
    "Exportiert von",  # 9
    "Importiert von",  # 10 empty
    "Berater",  # 11 consultant number 1001-9999999
    "Mandant",  # 12 client number 1-99999
    "WJ-Beginn",  # 13 start of the fiscal year, YYYYMMDD
    "Sachkontenlänge",  # 14 4-8
    "Datum vom",  # 15 YYYYMMDD
    "Datum bis",  # 16 YYYYMMDD
    "Bezeichnung",  # 17 name of the batch, at most 30 characters
    "Diktatkürzel",  # 18 two letters or empty
    "Buchungstyp",  # 19 1 = Finanzbuchführung
    "Rechnungslegungszweck",  # 20 0 = independent of the purpose
    "Festschreibung",  # 21 0 = not locked (the accountant locks after review)
    "WKZ",  # 22 currency of the batch
    "reserviert 23",
    "Derivatskennzeichen",  # 24
    "reserviert 25",
    "reserviert 26",
    "Sachkontenrahmen",  # 27 "03" / "04"
    "ID der Branchenlösung",  # 28
    "reserviert 29",
    "reserviert 30",
    "Anwendungsinformation",  # 31
)

COLUMNS: tuple[str, ...] = (
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
    "Postensperre",
    "Diverse Adressnummer",
    "Geschäftspartnerbank",
    "Sachverhalt",
    "Zinssperre",
    "Beleglink",
    *[f"Beleginfo - {kind} {n}" for n in range(1, 9) for kind in ("Art", "Inhalt")],
    "KOST1 - Kostenstelle",
    "KOST2 - Kostenstelle",
    "Kost-Menge",
    "EU-Land u. UStID (Bestimmung)",
    "EU-Steuersatz (Bestimmung)",
    "Abw. Versteuerungsart",
    "Sachverhalt L+L",
    "Funktionsergänzung L+L",
    "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer",
    "BU 49 Funktionsergänzung",
    *[
        name
        for n in range(1, 21)
        for name in (f"Zusatzinformation - Art {n}", f"Zusatzinformation- Inhalt {n}")
    ],
    "Stück",
    "Gewicht",
    "Zahlweise",
    "Forderungsart",
    "Veranlagungsjahr",
    "Zugeordnete Fälligkeit",
    "Skontotyp",
    "Auftragsnummer",
    "Buchungstyp",
    "USt-Schlüssel (Anzahlungen)",
    "EU-Land (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)",
    "EU-Steuersatz (Anzahlungen)",
    "Erlöskonto (Anzahlungen)",
    "Herkunft-Kz",
    "Buchungs GUID",
    "KOST-Datum",
    "SEPA-Mandatsreferenz",
    "Skontosperre",
    "Gesellschaftername",
    "Beteiligtennummer",
    "Identifikationsnummer",
    "Zeichnernummer",
    "Postensperre bis",
    "Bezeichnung SoBil-Sachverhalt",
    "Kennzeichen SoBil-Buchung",
    "Festschreibung",
    "Leistungsdatum",
    "Datum Zuord. Steuerperiode",
    "Fälligkeit",
    "Generalumkehr (GU)",
    "Steuersatz",
    "Land",
    "Abrechnungsreferenz",
    "BVV-Position",
    "EU-Land u. UStID (Ursprung)",
    "EU-Steuersatz (Ursprung)",
    "Abw. Skontokonto",
)

DATEV_CONTENT_TYPE = "text/csv; charset=windows-1252"
ENCODING = "cp1252"
#: Characters DATEV allows in Belegfeld 1 (besides letters and digits).
_BELEGFELD = re.compile(r"[^A-Za-z0-9$&%*+\-/]")
_SKR = {"skr03": "03", "skr04": "04"}


@dataclass(frozen=True)
class DatevSettings:
    """What the accountant's DATEV needs to take the batch: their numbers and the fiscal year."""

    consultant_number: int = 1001  # Beraternummer (1001-9999999)
    client_number: int = 1  # Mandantennummer (1-99999)
    fiscal_year_start: tuple[int, int] = (1, 1)  # (month, day) the fiscal year begins
    account_length: int = 4  # Sachkontenlänge of the client's DATEV books
    origin: str = "BI"  # Herkunft: two letters naming the source system
    exported_by: str = "Billow"
    batch_name: str = "Billow"
    dictation: str = ""  # Diktatkürzel


def fiscal_year_of(day: date, start: tuple[int, int]) -> date:
    """The first day of the fiscal year ``day`` falls in."""
    month, first = start
    begin = date(day.year, month, first)
    return begin if day >= begin else date(day.year - 1, month, first)


def datev_filename(period_from: date, period_to: date) -> str:
    """``EXTF_Buchungsstapel_20261101_20261130.csv`` (DATEV reads files named ``EXTF_…``)."""
    return f"EXTF_Buchungsstapel_{period_from:%Y%m%d}_{period_to:%Y%m%d}.csv"


def export_datev(
    entries: Iterable[JournalEntry],
    books: Books,
    *,
    period_from: date,
    period_to: date,
    created_at: datetime,
    settings: DatevSettings | None = None,
    currency: str = "EUR",
    rates: Mapping[str, Decimal] | None = None,
) -> bytes:
    """The posting batch of the entries dated ``period_from``..``period_to`` (see the module
    docstring). Raises ValidationFailed for a period across fiscal years, non-numeric or too
    long account numbers, and entries in another currency without a rate."""
    settings = settings or DatevSettings()
    fiscal_start = fiscal_year_of(period_from, settings.fiscal_year_start)
    if period_to < period_from:
        raise ValidationFailed.one("to", "must not be before from")
    if fiscal_year_of(period_to, settings.fiscal_year_start) != fiscal_start:
        raise ValidationFailed.one("to", "a DATEV batch covers one fiscal year: export per year")
    chosen = [e for e in entries if period_from <= e.date <= period_to and e.lines]
    converted = in_currency(chosen, currency, rates)
    rows: list[list[str]] = []
    for entry in converted:
        for debit_account, credit_account, amount in postings(entry, books):
            _check_account(debit_account, settings)
            _check_account(credit_account, settings)
            row = [""] * len(COLUMNS)
            row[0] = _amount(amount)
            row[1] = _text("S")
            row[2] = _text(currency)
            row[6] = debit_account
            row[7] = credit_account
            row[9] = f"{entry.date:%d%m}"
            row[10] = _text(_BELEGFELD.sub("", entry.document_number or entry.document_id)[:36])
            row[13] = _text(_clean(entry.description)[:60])
            rows.append(row)
    header = _header(settings, books, created_at, fiscal_start, period_from, period_to, currency)
    lines = [";".join(header), ";".join(COLUMNS), *(";".join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING, errors="replace")


@dataclass
class _Signed:
    account: str
    role: str
    vat_code: str | None
    amount: Decimal  # debit positive, credit negative


def postings(entry: JournalEntry, books: Books) -> list[tuple[str, str, Decimal]]:
    """(debit account, credit account, amount) postings moving exactly the entry's amounts,
    after folding VAT into automatic accounts (see the module docstring)."""
    lines = [_Signed(x.account, x.role, x.vat_code, x.debit - x.credit) for x in entry.lines]
    for vat in lines:
        if not is_vat_role(vat.role) or not vat.amount:
            continue
        bases = [
            base
            for base in lines
            if not is_vat_role(base.role)
            and base.vat_code == vat.vat_code
            and books.is_automatic(base.account)
        ]
        if bases:
            same_side = [base for base in bases if (base.amount > 0) == (vat.amount > 0)]
            (same_side or bases)[0].amount += vat.amount
            vat.amount = ZERO
    debits = [[line.account, line.amount] for line in lines if line.amount > 0]
    credits = [[line.account, -line.amount] for line in lines if line.amount < 0]
    result: list[tuple[str, str, Decimal]] = []
    i = j = 0
    while i < len(debits) and j < len(credits):
        amount = min(Decimal(debits[i][1]), Decimal(credits[j][1]))
        result.append((str(debits[i][0]), str(credits[j][0]), amount))
        debits[i][1] = Decimal(debits[i][1]) - amount
        credits[j][1] = Decimal(credits[j][1]) - amount
        i += not debits[i][1]
        j += not credits[j][1]
    return result


def _header(
    settings: DatevSettings,
    books: Books,
    created_at: datetime,
    fiscal_start: date,
    period_from: date,
    period_to: date,
    currency: str,
) -> list[str]:
    stamp = created_at.strftime("%Y%m%d%H%M%S") + f"{created_at.microsecond // 1000:03d}"
    return [
        _text("EXTF"),
        "700",
        "21",
        _text("Buchungsstapel"),
        "13",
        stamp,
        "",
        _text(settings.origin[:2]),
        _text(settings.exported_by[:25]),
        "",
        str(settings.consultant_number),
        str(settings.client_number),
        f"{fiscal_start:%Y%m%d}",
        str(settings.account_length),
        f"{period_from:%Y%m%d}",
        f"{period_to:%Y%m%d}",
        _text(_clean(settings.batch_name)[:30]),
        _text(settings.dictation[:2]),
        "1",
        "0",
        "0",
        _text(currency),
        "",
        _text(""),
        "",
        "",
        _text(_SKR.get(books.chart.name, "")),
        "",
        "",
        _text(""),
        _text(""),
    ]


def _check_account(account: str, settings: DatevSettings) -> None:
    # Sach- and Personenkonten: digits only, a personal account one digit longer at most
    if not account.isdigit() or len(account) > settings.account_length + 1:
        raise ValidationFailed.one(
            "format",
            f"DATEV needs account numbers of at most {settings.account_length + 1} digits; "
            f"{account!r} is not one (check the entity's chart and accounts)",
        )


def _amount(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def _text(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _clean(text: str) -> str:
    """One line, no control characters (DATEV refuses line breaks inside text fields)."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
