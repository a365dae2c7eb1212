"""An independent reader of SIE 4 files, written from the SIE 4B specification for the tests
(it shares no code with functions/ledger/export_sie.py).

Spec points it follows: the file is IBM PC 8-bit (code page 437); each record is a line that
starts with ``#`` and a label; fields are separated by blanks (spaces or tabs); a field with
blanks is in double quotes, ``\\"`` stands for a quote inside; an object list is written in
braces ``{...}``; a ``#VER`` is followed by a ``{`` line, its ``#TRANS`` records, and a ``}``
line; amounts use a decimal point and a leading minus sign.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Transaction:
    account: str
    objects: str
    amount: Decimal
    rest: list[str]


@dataclass
class Verification:
    series: str
    number: str
    date: str
    text: str
    transactions: list[Transaction] = field(default_factory=list)


@dataclass
class SieFile:
    records: dict[str, list[list[str]]]
    verifications: list[Verification]
    accounts: dict[str, str]

    def one(self, label: str) -> list[str]:
        values = self.records.get(label, [])
        assert len(values) == 1, f"{label}: {len(values)} records"
        return values[0]


def tokenize(line: str) -> list[str]:
    """Split a record into fields: quoted strings, ``{...}`` object lists, bare words."""
    fields: list[str] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch in " \t":
            i += 1
        elif ch == '"':
            i += 1
            buf = []
            while i < n and line[i] != '"':
                if line[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(line[i])
                i += 1
            if i >= n:
                raise ValueError(f"unterminated string: {line!r}")
            i += 1
            fields.append("".join(buf))
        elif ch == "{":
            end = line.index("}", i)
            fields.append(line[i : end + 1])
            i = end + 1
        else:
            start = i
            while i < n and line[i] not in " \t":
                i += 1
            fields.append(line[start:i])
    return fields


def read_sie(data: bytes) -> SieFile:
    text = data.decode("cp437")
    assert "\r\n" in text, "records end with CR LF"
    records: dict[str, list[list[str]]] = {}
    verifications: list[Verification] = []
    accounts: dict[str, str] = {}
    current: Verification | None = None
    in_block = False
    for raw in text.split("\r\n"):
        line = raw.strip()
        if not line:
            continue
        if line == "{":
            assert current is not None and not in_block, "a { follows a #VER"
            in_block = True
            continue
        if line == "}":
            assert in_block
            in_block, current = False, None
            continue
        assert line.startswith("#"), f"not a record: {line!r}"
        label, *values = tokenize(line)
        if label == "#TRANS":
            assert in_block and current is not None, "#TRANS outside a #VER block"
            account, objects, amount, *rest = values
            assert objects.startswith("{") and objects.endswith("}")
            current.transactions.append(Transaction(account, objects, Decimal(amount), rest))
            continue
        assert not in_block, f"{label} inside a #VER block"
        records.setdefault(label, []).append(values)
        if label == "#VER":
            series, number, day, text_, *_ = [*values, ""]
            current = Verification(series, number, day, text_)
            verifications.append(current)
        elif label == "#KONTO":
            accounts[values[0]] = values[1]
    return SieFile(records, verifications, accounts)
