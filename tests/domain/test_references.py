"""Payment references against published examples."""

import pytest
from stdnum import iso11649, luhn

from functions.domain.errors import ValidationFailed
from functions.domain.references import (
    is_valid_ocr,
    ocr_reference,
    payment_reference,
    rf_reference,
)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        # ISO 11649 / EPC examples
        ("539007547034", "RF18539007547034"),
        ("5390 0754 7034", "RF18539007547034"),
        ("000000000539007547034", "RF18000000000539007547034"),
        # Wikipedia "Creditor Reference" example
        ("G72UUR", "RF45G72UUR"),
    ],
)
def test_rf_reference_published_examples(base, expected):
    assert rf_reference(base) == expected


def test_rf_from_an_invoice_number_is_valid_iso_11649():
    reference = rf_reference("INV-2026-0042")
    assert reference.startswith("RF") and reference.endswith("INV20260042")
    assert iso11649.is_valid(reference)
    # a different number, a different reference
    assert rf_reference("INV-2026-0043") != reference


def test_rf_keeps_the_end_of_a_long_number():
    reference = rf_reference("ACME-CORPORATION-INVOICE-2026-000042")
    assert iso11649.is_valid(reference)
    assert len(reference) == 25 and reference.endswith("2026000042")


@pytest.mark.parametrize(
    ("base", "length_digit", "expected"),
    [
        ("123", False, "1230"),  # Bankgirot: base 123 → 1230
        ("123", True, "12351"),  # with length digit → 12351
        ("123456789", False, "1234567897"),
        ("7992739871", False, "79927398713"),  # the classic Luhn example
        ("INV-2026-0042", False, "2026004" + "2" + luhn.calc_check_digit("20260042")),
    ],
)
def test_ocr_reference_published_examples(base, length_digit, expected):
    assert ocr_reference(base, length_digit=length_digit) == expected
    assert is_valid_ocr(expected, length_digit=length_digit)


def test_ocr_validation_catches_typos():
    assert not is_valid_ocr("1231")
    wrong_length = "129" + luhn.calc_check_digit("129")  # Luhn fine, length digit 9 ≠ 4
    assert is_valid_ocr(wrong_length)
    assert not is_valid_ocr(wrong_length, length_digit=True)
    assert not is_valid_ocr("12a0")
    assert is_valid_ocr("12351", length_digit=True)


def test_ocr_is_at_most_25_digits():
    reference = ocr_reference("9" * 40, length_digit=True)
    assert len(reference) == 25 and is_valid_ocr(reference, length_digit=True)


def test_reference_without_usable_characters_is_refused():
    with pytest.raises(ValidationFailed):
        ocr_reference("INV-ABC")
    with pytest.raises(ValidationFailed):
        rf_reference("---")


@pytest.mark.parametrize(
    ("method", "expected"),
    [("number", "INV-2026-0042"), ("rf", "RF73INV20260042"), ("ocr", "202600425")],
)
def test_payment_reference_by_entity_setting(method, expected):
    assert payment_reference(method, "INV-2026-0042") == expected


def test_payment_reference_unknown_method():
    with pytest.raises(ValidationFailed):
        payment_reference("iban", "INV-1")
