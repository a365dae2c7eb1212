"""A checker of DATEV EXTF "Buchungsstapel" files against the published field layout
(developer.datev.de, DATEV-Format: Header and Buchungsstapel; header version 700, format
category 21, format version 13), written for the tests independently of the exporter.

It parses the file with the csv module, checks every header field's type, the 125 column
headings, and each posting's filled fields against the format description's expressions.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal

# header fields: (number, name, expression on the raw field as written, quotes included)
HEADER = [
    (1, "Kennzeichen", r'"(EXTF|DTVF)"'),
    (2, "Versionsnummer", r"700"),
    (3, "Formatkategorie", r"21"),
    (4, "Formatname", r'"Buchungsstapel"'),
    (5, "Formatversion", r"13"),
    (6, "Erzeugt am", r"\d{17}"),
    (7, "Importiert", r""),
    (8, "Herkunft", r'"[A-Za-z]{2}"'),
    (9, "Exportiert von", r'"[^"]{0,25}"'),
    (10, "Importiert von", r"(\"\")?"),
    (11, "Berater", r"\d{4,7}"),
    (12, "Mandant", r"\d{1,5}"),
    (13, "WJ-Beginn", r"20\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"),
    (14, "Sachkontenlänge", r"[4-8]"),
    (15, "Datum vom", r"20\d{6}"),
    (16, "Datum bis", r"20\d{6}"),
    (17, "Bezeichnung", r'"[^"]{0,30}"'),
    (18, "Diktatkürzel", r'"([A-Za-z]{2})?"'),
    (19, "Buchungstyp", r"[12]"),
    (20, "Rechnungslegungszweck", r"(0|30|40|50|64)?"),
    (21, "Festschreibung", r"[01]"),
    (22, "WKZ", r'"[A-Z]{3}"'),
    (23, "reserviert", r""),
    (24, "Derivatskennzeichen", r'(""|)'),
    (25, "reserviert", r""),
    (26, "reserviert", r""),
    (27, "Sachkontenrahmen", r'"(\d{2})?"'),
    (28, "ID der Branchenlösung", r"\d{0,4}"),
    (29, "reserviert", r""),
    (30, "reserviert", r'(""|)'),
    (31, "Anwendungsinformation", r'"[^"]{0,16}"'),
]

# The 125 columns of format version 13 in order (the names of DATEV's own example file).
COLUMN_COUNT = 125
FIRST_COLUMNS = [
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
]
LAST_COLUMN = "Abw. Skontokonto"

# posting fields (0-based index, expression on the raw field)
POSTING = {
    0: r"\d{1,10},\d{2}",  # Umsatz: positive, decimal comma
    1: r'"(S|H)"',
    2: r'"[A-Z]{3}"',
    6: r"\d{1,9}",  # Konto
    7: r"\d{1,9}",  # Gegenkonto
    8: r'(""|"\d{1,4}"|)',  # BU-Schlüssel
    9: r"(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])",  # Belegdatum DDMM
    10: r'"[A-Za-z0-9$&%*+\-/]{0,36}"',  # Belegfeld 1
    13: r'"(?:[^"\r\n]|""){0,60}"',  # Buchungstext: 60 characters, quotes doubled
}


@dataclass
class Posting:
    amount: Decimal
    side: str
    currency: str
    account: str
    counter_account: str
    day: str
    document: str
    text: str


def _raw_fields(line: str) -> list[str]:
    """Split on ``;`` outside quotes, keeping each field exactly as written."""
    fields, buf, quoted = [], [], False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            fields.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    fields.append("".join(buf))
    return fields


def check_datev(data: bytes) -> tuple[list[str], list[Posting]]:
    """Check ``data`` against the layout; return the parsed header and postings."""
    text = data.decode("cp1252")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", ""), "CR LF line ends"
    lines = text.split("\r\n")[:-1]
    header = _raw_fields(lines[0])
    assert len(header) == len(HEADER), f"header has {len(header)} fields"
    for (number, name, expression), value in zip(HEADER, header, strict=True):
        assert re.fullmatch(expression, value), f"header #{number} {name}: {value!r}"
    columns = next(csv.reader(io.StringIO(lines[1]), delimiter=";"))
    assert len(columns) == COLUMN_COUNT
    assert columns[: len(FIRST_COLUMNS)] == FIRST_COLUMNS and columns[-1] == LAST_COLUMN
    postings = []
    for line in lines[2:]:
        raw = _raw_fields(line)
        assert len(raw) == COLUMN_COUNT, f"{len(raw)} fields in {line!r}"
        for index, expression in POSTING.items():
            assert re.fullmatch(expression, raw[index]), f"field {index + 1}: {raw[index]!r}"
        assert all(value == "" for i, value in enumerate(raw) if i not in POSTING), (
            "unused fields stay empty"
        )
        parsed = next(csv.reader(io.StringIO(line), delimiter=";"))
        postings.append(
            Posting(
                amount=Decimal(parsed[0].replace(",", ".")),
                side=parsed[1],
                currency=parsed[2],
                account=parsed[6],
                counter_account=parsed[7],
                day=parsed[9],
                document=parsed[10],
                text=parsed[13],
            )
        )
    return header, postings
