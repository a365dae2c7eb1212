"""Small lxml helpers shared by the CII and UBL writers: elements, and values as text."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from lxml import etree

from functions.domain.money import decimal_str

Element = etree._Element

#: Characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (most text has none: a quick test
    in C first, the regular expression only for what it cannot clear)."""
    if text.isprintable() and text.isascii():
        return text
    return _NOT_XML.sub("", text)


def sub(parent: Element, tag: str, text: str | None = None, **attrs: str) -> Element:
    """A child element ``tag`` (Clark notation ``{ns}name``) with optional text and attributes;
    characters XML 1.0 cannot carry (user text may hold them) are dropped."""
    if attrs:
        child = etree.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
    else:
        child = etree.SubElement(parent, tag)
    if text is not None:
        child.text = _clean(text)
    return child


def opt(parent: Element, tag: str, text: str | None, **attrs: str) -> Element | None:
    """A child only when ``text`` has content (EN 16931 and Peppol refuse empty elements)."""
    if text is None or not _clean(text).strip():
        return None
    return sub(parent, tag, text, **attrs)


def amount(value: Decimal) -> str:
    """An amount as EN 16931 writes it: two decimals, no exponent (``1234.50``)."""
    return decimal_str(value.quantize(Decimal("0.01")))


def number(value: Decimal) -> str:
    """A quantity, price or percentage as given (``2.5``, ``19``), no exponent, no ``-0``."""
    if value == value.to_integral_value():
        return decimal_str(value.to_integral_value())
    return decimal_str(value.normalize())


def iso(day: date) -> str:
    return day.isoformat()


def compact(day: date) -> str:
    """UN/CEFACT date format 102 (``YYYYMMDD``)."""
    return day.strftime("%Y%m%d")


def serialize(root: Element) -> bytes:
    """UTF-8 XML with a declaration, indented: deterministic bytes for the same document."""
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
