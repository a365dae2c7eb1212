"""Entries in another currency than the books': converted only for the exports that need one
currency (DATEV, SIE), and only with rates the caller gives (the contract has none).

Postings stay in the document's currency. DATEV and SIE files carry the books' currency
(EUR, SEK): an entry in another currency is converted with ``rates[currency]`` (units of the
books' currency for one unit of the entry's currency), each line rounded to the minor unit,
the rounding difference put on the entry's largest line so that it still balances, and the
original amount and rate stated in the entry's text (``[USD 100.00 @ 0.92]``). Without a rate
the export is refused (422 naming ``rates.USD``): never a silent drop or a made-up rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from functions.domain.errors import FieldError, ValidationFailed
from functions.domain.money import ZERO, format_amount, round_money
from functions.ledger.entries import JournalEntry, JournalLine


def in_currency(
    entries: Iterable[JournalEntry], base: str, rates: Mapping[str, Decimal] | None = None
) -> list[JournalEntry]:
    """``entries`` with every amount in ``base`` (see the module docstring)."""
    given = {code.upper(): Decimal(rate) for code, rate in (rates or {}).items()}
    result: list[JournalEntry] = []
    missing: dict[str, None] = {}
    for entry in entries:
        if entry.currency == base:
            result.append(entry)
        elif entry.currency not in given or given[entry.currency] <= 0:
            missing[entry.currency] = None
        else:
            result.append(_convert(entry, base, given[entry.currency]))
    if missing:
        raise ValidationFailed(
            [
                FieldError(
                    f"rates.{code}",
                    f"entries in {code} need an exchange rate to {base} "
                    f"({base} for one {code}); or export them as csv",
                )
                for code in missing
            ]
        )
    return result


def _convert(entry: JournalEntry, base: str, rate: Decimal) -> JournalEntry:
    lines = [
        line.model_copy(
            update={
                "debit": round_money(line.debit * rate, base),
                "credit": round_money(line.credit * rate, base),
            }
        )
        for line in entry.lines
    ]
    lines = _rebalance(lines)
    debit, _ = entry.totals()
    note = f"[{entry.currency} {format_amount(debit, entry.currency)} @ {rate.normalize():f}]"
    return entry.model_copy(
        update={
            "currency": base,
            "lines": lines,
            "description": f"{entry.description} {note}".strip(),
        }
    )


def _rebalance(lines: Sequence[JournalLine]) -> list[JournalLine]:
    debit = sum((line.debit for line in lines), ZERO)
    credit = sum((line.credit for line in lines), ZERO)
    difference = debit - credit
    if not difference:
        return list(lines)
    result = list(lines)
    side = "credit" if difference > 0 else "debit"
    index = max(range(len(result)), key=lambda i: getattr(result[i], side))
    line = result[index]
    result[index] = line.model_copy(update={side: getattr(line, side) + abs(difference)})
    return result
