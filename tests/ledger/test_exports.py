"""The three exports on worked examples: what a German accountant's DATEV and a Swedish one's
SIE import receive, byte for byte where it matters."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from functions.domain.errors import ValidationFailed
from functions.ledger.export_csv import CSV_COLUMNS, export_csv
from functions.ledger.export_datev import (
    COLUMNS,
    HEADER_FIELDS,
    DatevSettings,
    datev_filename,
    export_datev,
)
from functions.ledger.export_sie import SieSettings, export_sie, sie_filename

from .datev_layout import check_datev
from .lives import Life
from .sie_reader import read_sie, tokenize

D = Decimal
CREATED = datetime(2026, 12, 1, 9, 5, 7, 42000, tzinfo=UTC)
YEAR = {"period_from": date(2026, 1, 1), "period_to": date(2026, 12, 31)}


def service(description: str, price: str, **extra) -> dict:
    return {"description": description, "quantity": "1", "unit_price": price, **extra}


def german_life() -> Life:
    life = Life.start("DE", None)
    invoice = life.issue(
        "cli_home",
        [
            service("Beratung „Müller“; Öl", "1000"),
            service("Buch", "100", vat_category="S", vat_rate="7"),
        ],
        "EUR",
    )
    life.advance(10)
    life.pay(invoice.id, D("1297"))
    life.credit(invoice.id, [{"line_id": "ln_2"}])
    return life


def test_datev_header_and_postings():
    life = german_life()
    data = export_datev(
        life.entries,
        life.books,
        created_at=CREATED,
        settings=DatevSettings(consultant_number=29098, client_number=55003, batch_name="Nov 2026"),
        **YEAR,
    )
    header, postings = check_datev(data)
    assert len(HEADER_FIELDS) == 31 and len(COLUMNS) == 125
    assert header[:6] == ['"EXTF"', "700", "21", '"Buchungsstapel"', "13", "20261201090507042"]
    assert header[10:16] == ["29098", "55003", "20260101", "4", "20260101", "20261231"]
    assert header[16] == '"Nov 2026"' and header[21] == '"EUR"' and header[26] == '"03"'
    got = [(p.account, p.counter_account, p.amount, p.day, p.document) for p in postings]
    # VAT folded into the automatic revenue accounts (DATEV computes 190.00 and 7.00 itself)
    assert got == [
        ("1410", "8400", D("1190.00"), "0501", "INV-2026-0001"),
        ("1410", "8300", D("107.00"), "0501", "INV-2026-0001"),
        ("1200", "1410", D("1297.00"), "1501", "INV-2026-0001"),
        ("8300", "1700", D("107.00"), "1501", "CN-2026-0001"),
    ]
    assert postings[0].text == "INV-2026-0001 finalize"
    assert datev_filename(date(2026, 11, 1), date(2026, 11, 30)) == (
        "EXTF_Buchungsstapel_20261101_20261130.csv"
    )


def test_datev_is_windows_1252_with_decimal_comma_and_crlf():
    life = Life.start("DE", None)
    life.issue("cli_home", [service("x", "0.5")], "EUR")
    entries = [
        e.model_copy(update={"description": 'Müller "GmbH" – 5€\nzweite Zeile'})
        for e in life.entries
    ]
    data = export_datev(entries, life.books, created_at=CREATED, **YEAR)
    line = data.split(b"\r\n")[2]
    assert line.startswith(b"0,60;")
    assert b'"M\xfcller ""GmbH"" \x96 5\x80 zweite Zeile"' in line  # cp1252: ü – €
    check_datev(data)


def test_datev_refuses_what_it_cannot_carry():
    life = Life.start("DE", None)
    life.issue("cli_home", [service("x", "10")], "USD")
    with pytest.raises(ValidationFailed) as err:
        export_datev(life.entries, life.books, created_at=CREATED, **YEAR)
    assert [d.field for d in err.value.details] == ["rates.USD"]
    converted = export_datev(
        life.entries, life.books, created_at=CREATED, rates={"USD": D("0.9")}, **YEAR
    )
    _, postings = check_datev(converted)
    assert [p.amount for p in postings] == [D("10.71")]  # 11.90 USD × 0.9
    assert postings[0].text.endswith("[USD 11.90 @ 0.9]")
    with pytest.raises(ValidationFailed) as err:
        export_datev(
            life.entries,
            life.books,
            created_at=CREATED,
            period_from=date(2026, 6, 1),
            period_to=date(2027, 1, 31),
        )
    assert err.value.details[0].field == "to"
    generic = Life.start("DE", "generic")
    generic.books = generic.books.__class__(generic.books.chart, {"receivables": "AR-1"})
    generic.issue("cli_home", [service("x", "10")], "EUR")
    with pytest.raises(ValidationFailed) as err:
        export_datev(generic.entries, generic.books, created_at=CREATED, **YEAR)
    assert err.value.details[0].field == "format" and "AR-1" in err.value.details[0].message


def test_datev_fiscal_year_may_start_mid_year():
    life = german_life()
    settings = DatevSettings(fiscal_year_start=(7, 1))
    data = export_datev(
        life.entries,
        life.books,
        created_at=CREATED,
        settings=settings,
        period_from=date(2026, 1, 1),
        period_to=date(2026, 6, 30),
    )
    header, postings = check_datev(data)
    assert header[12] == "20250701" and len(postings) == 4


def test_sie_file_reads_back():
    life = Life.start("SE", None)
    invoice = life.issue("cli_home", [service('Konsult "Ärlig" åäö', "1000")], "SEK")
    life.pay(invoice.id, D("1250"))
    data = export_sie(
        life.entries,
        life.books,
        created_at=CREATED,
        settings=SieSettings(company_name="Ärlig Öl AB", organisation_number="556036-0793"),
        **YEAR,
    )
    assert data.startswith(
        b"#FLAGGA 0\r\n#PROGRAM Billow 0.1.0\r\n#FORMAT PC8\r\n#GEN 20261201\r\n"
    )
    assert "Ärlig".encode("cp437") in data
    parsed = read_sie(data)
    assert parsed.one("#SIETYP") == ["4"] and parsed.one("#ORGNR") == ["556036-0793"]
    assert parsed.one("#VALUTA") == ["SEK"] and parsed.one("#FNAMN") == ["Ärlig Öl AB"]
    assert parsed.accounts == {
        "1510": "Kundfordringar",
        "1930": "Företagskonto/checkkonto/affärskonto",
        "2611": "Utgående moms på försäljning inom Sverige, 25 %",
        "3001": "Försäljning inom Sverige, 25 % moms",
    }
    first, second = parsed.verifications
    assert (first.series, first.number, first.date) == ("A", "", "20260105")
    assert [(t.account, t.amount) for t in first.transactions] == [
        ("1510", D("1250.00")),
        ("3001", D("-1000.00")),
        ("2611", D("-250.00")),
    ]
    assert [(t.account, t.amount) for t in second.transactions] == [
        ("1930", D("1250.00")),
        ("1510", D("-1250.00")),
    ]
    assert sie_filename(date(2026, 1, 1), date(2026, 1, 31)) == "SIE4I_20260101_20260131.si"


def test_sie_reader_tokenizes_like_the_spec():
    assert tokenize('#VER A "" 20260105 "a \\"b\\" c"') == ["#VER", "A", "", "20260105", 'a "b" c']
    assert tokenize('#TRANS 1510 {1 "x"} -1.50') == ["#TRANS", "1510", '{1 "x"}', "-1.50"]


def test_csv_layout():
    life = german_life()
    text = export_csv(life.entries, life.books).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS and text.endswith("\r\n")
    first = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert first["account"] == "1410" and first["debit"] == "1297.00" and first["credit"] == "0.00"
    assert first["account_name"] == "Forderungen aus Lieferungen und Leistungen ohne Kontokorrent"
    assert first["document_number"] == "INV-2026-0001" and first["type"] == "finalize"
    assert len(rows) == 1 + sum(len(e.lines) for e in life.entries)
