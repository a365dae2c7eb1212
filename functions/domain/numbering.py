"""Gapless document numbers: patterns, series and counter keys.

A number is assigned only when a document is finalized, from the store's atomic counter inside
the same commit as the status change (the service does that; this module only says *which*
counter and *how* to print the value). Invoices and credit notes are separate series.

Pattern tokens: ``{YYYY}`` (issue year), ``{YY}``, ``{MM}`` (issue month), ``{DD}`` (issue
day), ``{SEQ}`` or ``{SEQ:n}`` (the sequence, zero-padded to ``n`` digits; longer values are
never truncated). Everything else is literal prefix/suffix text.

``number_reset`` says when the sequence starts again at 1: ``yearly`` (1 January), ``monthly``
(the 1st), ``daily`` (every issue date) or ``never``. Each period has its own counter, so the
number must show the whole period — the year for ``yearly``; year and month for ``monthly``;
year, month and day for ``daily`` — or two documents would share a number.

Typical service code::

    key = counter_name(entity.id, invoice.kind, pattern, entity.number_reset, issue_date)
    seq = store.next_counter(key, start=series_start(entity, invoice.kind))  # = max(c+1, start)
    number = format_number(pattern, seq, issue_date)
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from functions.domain.errors import ValidationFailed

if TYPE_CHECKING:
    from functions.domain.models import Entity

DEFAULT_INVOICE_PATTERN = "INV-{YYYY}-{SEQ:4}"
DEFAULT_CREDIT_NOTE_PATTERN = "CN-{YYYY}-{SEQ:4}"
DEFAULT_QUOTE_PATTERN = "QUO-{YYYY}-{SEQ:4}"

_TOKEN = re.compile(r"\{([^{}]*)\}")
_SEQ = re.compile(r"SEQ(?::(\d{1,2}))?")
_DATE_TOKENS = {"YYYY", "YY", "MM", "DD"}
#: ``number_reset`` values and the date parts each needs in the number ("Y": {YYYY} or {YY}).
RESETS: dict[str, tuple[str, ...]] = {
    "yearly": ("Y",),
    "monthly": ("Y", "MM"),
    "daily": ("Y", "MM", "DD"),
    "never": (),
}
_PART_NAMES = {"Y": "{YYYY} or {YY}", "MM": "{MM}", "DD": "{DD}"}
#: Literal text allowed around the tokens: printable, no braces, no path/control characters.
_LITERAL = re.compile(r"[A-Za-z0-9\-_/.#: ]*")
MAX_NUMBER_LENGTH = 40


def validate_pattern(
    pattern: str, reset: str = "never", field: str = "invoice_number_pattern"
) -> str:
    """Check a numbering pattern; return it unchanged or raise ValidationFailed on ``field``."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValidationFailed.one(field, "must not be empty")
    seq_tokens = 0
    for token in _TOKEN.findall(pattern):
        if _SEQ.fullmatch(token):
            seq_tokens += 1
        elif token not in _DATE_TOKENS:
            raise ValidationFailed.one(
                field,
                f"unknown token {{{token}}}; use {{YYYY}}, {{YY}}, {{MM}}, {{DD}}, {{SEQ:n}}",
            )
    if seq_tokens != 1:
        raise ValidationFailed.one(field, "must contain {SEQ} or {SEQ:n} exactly once")
    literal = _TOKEN.sub("", pattern)
    if not _LITERAL.fullmatch(literal):
        raise ValidationFailed.one(
            field, "may contain letters, digits, spaces and - _ / . # : around the tokens"
        )
    if reset not in RESETS:
        raise ValidationFailed.one("number_reset", f"must be one of {', '.join(RESETS)}")
    tokens = set(_TOKEN.findall(pattern))
    if "YYYY" in tokens or "YY" in tokens:
        tokens.add("Y")
    missing = [_PART_NAMES[part] for part in RESETS[reset] if part not in tokens]
    if missing:
        raise ValidationFailed.one(
            field,
            f"a {reset} reset needs {' and '.join(missing)} in the pattern, "
            "or numbers would repeat",
        )
    if len(format_number(pattern, 1, date(2000, 1, 1))) > MAX_NUMBER_LENGTH:
        raise ValidationFailed.one(field, f"numbers would exceed {MAX_NUMBER_LENGTH} characters")
    return pattern


def patterns_collide(invoice_pattern: str, credit_note_pattern: str) -> bool:
    """Whether the two series could print the same number: their counters are separate, so
    patterns that differ only in the ``{SEQ:n}`` width (or not at all) would give the first
    credit note the first invoice's number. Other overlaps (``1{SEQ}`` vs ``{SEQ}``) are not
    detected.

    >>> patterns_collide("INV-{YYYY}-{SEQ:4}", "INV-{YYYY}-{SEQ}")
    True
    >>> patterns_collide("INV-{YYYY}-{SEQ:4}", "CN-{YYYY}-{SEQ:4}")
    False
    """

    def normal(pattern: str) -> str:
        return _TOKEN.sub(lambda m: "{SEQ}" if _SEQ.fullmatch(m.group(1)) else m.group(0), pattern)

    return normal(invoice_pattern) == normal(credit_note_pattern)


def format_number(pattern: str, seq: int, issue_date: date) -> str:
    """Render ``pattern`` for sequence ``seq`` issued on ``issue_date``.

    >>> format_number("INV-{YYYY}-{SEQ:4}", 42, date(2026, 11, 21))
    'INV-2026-0042'
    """
    if seq < 1:
        raise ValueError("sequence numbers start at 1")
    dates = {
        "YYYY": f"{issue_date.year:04d}",
        "YY": f"{issue_date.year % 100:02d}",
        "MM": f"{issue_date.month:02d}",
        "DD": f"{issue_date.day:02d}",
    }

    def render(match: re.Match[str]) -> str:
        token = match.group(1)
        if token in dates:
            return dates[token]
        seq_match = _SEQ.fullmatch(token)
        if seq_match is None:
            raise ValueError(f"unknown token {{{token}}}")
        width = int(seq_match.group(1) or 0)
        return str(seq).zfill(width)

    return _TOKEN.sub(render, pattern)


def series(kind: str) -> str:
    """The series of a document kind: ``invoice`` or ``credit_note`` (separate counters)."""
    if kind not in ("invoice", "credit_note"):
        raise ValueError(f"unknown document kind {kind!r}")
    return kind


def period(reset: str, issue_date: date) -> str:
    """The counter period: ``2026`` (yearly), ``2026-03`` (monthly), ``2026-03-05`` (daily),
    ``all`` (never)."""
    if reset == "yearly":
        return f"{issue_date.year:04d}"
    if reset == "monthly":
        return f"{issue_date.year:04d}-{issue_date.month:02d}"
    if reset == "daily":
        return issue_date.isoformat()
    if reset == "never":
        return "all"
    raise ValueError(f"unknown number_reset {reset!r}")


def counter_name(entity_id: str, kind: str, pattern: str, reset: str, issue_date: date) -> str:
    """Store counter key of the series and period a document issued on ``issue_date`` falls in.

    ``number:ent_1:invoice:2026`` (yearly), ``...:2026-03`` (monthly), ``...:2026-03-05``
    (daily) or ``number:ent_1:credit_note:all`` (never). The pattern is deliberately not part
    of the key: changing the prefix mid-period continues the sequence instead of restarting it
    (which could print a number twice).
    """
    del pattern
    return f"number:{entity_id}:{series(kind)}:{period(reset, issue_date)}"


def pattern_for(entity: Entity, kind: str) -> str:
    """The entity's pattern for this document kind."""
    if series(kind) == "credit_note":
        return entity.credit_note_number_pattern
    return entity.invoice_number_pattern


def series_start(entity: Entity, kind: str) -> int:
    """First sequence value of the series (``next_invoice_number`` when moving from another
    system; ``next_credit_note_number`` for credit notes), default 1."""
    if series(kind) == "credit_note":
        return entity.next_credit_note_number or 1
    return entity.next_invoice_number or 1


def next_sequence(counter_value: int | None, start: int | None = None) -> int:
    """Next value of a series: ``max(counter + 1, start)``; a fresh counter is 0/None."""
    return max((counter_value or 0) + 1, start or 1)
