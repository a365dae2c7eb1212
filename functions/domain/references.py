"""Payment references printed on the invoice (BT-83 remittance information).

- ``number``: the invoice number itself.
- ``rf``: ISO 11649 structured creditor reference, ``RF`` + two check digits + up to 21
  alphanumerics (check digits by ISO 7064 MOD 97-10, validated with ``stdnum.iso11649``).
- ``ocr``: Swedish OCR number (Bankgirot): digits + a Luhn check digit (``stdnum.luhn``),
  optionally with a length digit before it (total length mod 10). Base 123 → ``1230``, with
  length digit → ``12351``.

RF and OCR references are derived from the invoice number (its alphanumerics for RF, its digits
for OCR), so the reference is unique exactly when the number is.
"""

from __future__ import annotations

import re

from stdnum import iso11649, luhn
from stdnum.iso7064 import mod_97_10

from functions.domain.errors import ValidationFailed

RF_MAX_REFERENCE = 21
OCR_MIN_LENGTH = 2
OCR_MAX_LENGTH = 25


def rf_reference(reference: str) -> str:
    """ISO 11649 creditor reference for ``reference`` (alphanumerics only, up to 21).

    >>> rf_reference("539007547034")
    'RF18539007547034'
    """
    body = re.sub(r"[^0-9A-Za-z]", "", reference).upper()
    if not body:
        raise ValidationFailed.one("payment_reference", "needs letters or digits for RF")
    if len(body) > RF_MAX_REFERENCE:
        # Keep the end of the number: that is where the sequence lives.
        body = body[-RF_MAX_REFERENCE:]
    check = mod_97_10.calc_check_digits(body + "RF")
    return iso11649.validate("RF" + check + body)


def ocr_reference(base: str, length_digit: bool = False) -> str:
    """Swedish OCR reference: ``base`` digits (+ length digit) + Luhn check digit.

    >>> ocr_reference("123"), ocr_reference("123", length_digit=True)
    ('1230', '12351')
    """
    digits = re.sub(r"\D", "", base)
    if not digits:
        raise ValidationFailed.one("payment_reference", "needs digits for an OCR reference")
    extra = 2 if length_digit else 1
    if len(digits) + extra > OCR_MAX_LENGTH:
        digits = digits[-(OCR_MAX_LENGTH - extra) :]
    if length_digit:
        digits += str((len(digits) + 2) % 10)
    reference = digits + luhn.calc_check_digit(digits)
    if len(reference) < OCR_MIN_LENGTH:  # pragma: no cover - a digit plus a check digit is 2
        raise ValidationFailed.one("payment_reference", "OCR reference too short")
    return reference


def is_valid_ocr(reference: str, length_digit: bool = False) -> bool:
    """Luhn check (and length digit, if used) of an OCR reference."""
    if not reference.isdigit() or not OCR_MIN_LENGTH <= len(reference) <= OCR_MAX_LENGTH:
        return False
    if not luhn.is_valid(reference):
        return False
    return not length_digit or int(reference[-2]) == len(reference) % 10


def payment_reference(method: str, number: str, *, ocr_length_digit: bool = False) -> str:
    """The reference for an invoice numbered ``number`` with the entity's ``method``."""
    if method == "number":
        return number
    if method == "rf":
        return rf_reference(number)
    if method == "ocr":
        return ocr_reference(number, length_digit=ocr_length_digit)
    raise ValidationFailed.one("payment_reference", "must be number, rf or ocr")
