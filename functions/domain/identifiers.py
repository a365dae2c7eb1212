"""E-invoice identifiers: electronic addresses (BT-34 / BT-49), Leitweg-IDs, unit codes.

An electronic address is a scheme from the CEF EAS code list (:data:`codelists.EAS_CODES`) and a
value. Values are checked by what the scheme identifies, with python-stdnum where it has the
standard: VAT numbers (the ``99xx`` schemes, per country), GLN (``0088``, GS1 check digit), the
Belgian enterprise number (``0208``, mod 97 — the check Peppol's PEPPOL-COMMON-R043 runs), the
Leitweg-ID (``0204``), Nordic and Italian registry numbers, e-mail (``EM``). Other schemes take
any printable value without spaces.

A Leitweg-ID (German public buyers' routing id, XRechnung) is ``coarse[-fine]-check``: 2 to 12
digits, an optional part of up to 30 letters and digits, and two check digits computed with
ISO 7064 MOD 97-10 over the rest (letters counted A=10 … Z=35), so the whole id leaves remainder 1
— the rule of the KoSIT "Leitweg-ID Formatspezifikation".

Every check raises ValueError with a message fit for a 422 ``details`` entry.
"""

from __future__ import annotations

import re
from types import ModuleType

from stdnum import ean
from stdnum.au import abn
from stdnum.be import vat as be_vat
from stdnum.dk import cvr
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fi import ytunnus
from stdnum.fr import siren, siret
from stdnum.is_ import kennitala
from stdnum.iso7064 import mod_97_10
from stdnum.it import codicefiscale, iva
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr

from functions.domain.codelists import EAS_CODES, UNIT_CODES_REC20

#: EAS schemes that are a country's VAT number (value with or without the country prefix).
VAT_SCHEMES: dict[str, str] = {
    "9910": "HU", "9914": "AT", "9920": "ES", "9922": "AD", "9923": "AL", "9924": "BA",
    "9925": "BE", "9926": "BG", "9927": "CH", "9928": "CY", "9929": "CZ", "9930": "DE",
    "9931": "EE", "9932": "GB", "9933": "EL", "9934": "HR", "9935": "IE", "9936": "LI",
    "9937": "LT", "9938": "LU", "9939": "LV", "9940": "MC", "9941": "ME", "9942": "MK",
    "9943": "MT", "9944": "NL", "9945": "PL", "9946": "PT", "9947": "RO", "9948": "RS",
    "9949": "SI", "9950": "SK", "9951": "SM", "9952": "TR", "9953": "VA", "9957": "FR",
}  # fmt: skip

#: EAS schemes whose value python-stdnum can check (format and check digits).
STDNUM_SCHEMES: dict[str, tuple[ModuleType, str]] = {
    "0002": (siren, "SIREN number"),
    "0007": (se_orgnr, "Swedish organisation number"),
    "0009": (siret, "SIRET number"),
    "0088": (ean, "GLN (13 digits with a GS1 check digit)"),
    "0151": (abn, "Australian Business Number"),
    "0192": (no_orgnr, "Norwegian organisation number"),
    "0196": (kennitala, "Icelandic kennitala"),
    "0210": (codicefiscale, "Italian codice fiscale"),
    "0211": (iva, "Italian partita IVA"),
    "0212": (ytunnus, "Finnish business ID (Y-tunnus)"),
}

#: Schemes the Peppol network routes on: every EAS code except e-mail (Peppol BIS 3 has no EM).
NOT_PEPPOL_SCHEMES = frozenset({"EM"})

LEITWEG_ID = re.compile(r"(\d{2,12})(?:-([A-Za-z0-9]{1,30}))?-(\d{2})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PRINTABLE = re.compile(r"[!-~\u00a0-\uffff]+")  # no spaces or control characters


def check_leitweg_id(value: str) -> str:
    """A Leitweg-ID with valid check digits, letters upper-cased; else ValueError."""
    text = value.strip()
    if not LEITWEG_ID.fullmatch(text):
        raise ValueError(
            "is not a Leitweg-ID: 2-12 digits, an optional part of letters and digits, "
            "and 2 check digits, separated by hyphens (e.g. 04011000-1234512345-06)"
        )
    text = text.upper()
    if not mod_97_10.is_valid(text.replace("-", "")):
        raise ValueError("is not a valid Leitweg-ID (its check digits do not match)")
    return text


def looks_like_leitweg_id(value: str) -> bool:
    """Shaped like a Leitweg-ID (digits, a hyphen, ...): such a buyer reference is checked."""
    return bool(re.match(r"\d{2,12}-", value.strip()))


def check_electronic_address(scheme: str, value: str) -> tuple[str, str]:
    """Normalised ``(scheme, value)`` of an electronic address, else ValueError naming which."""
    scheme = scheme.strip().upper()
    value = value.strip()
    if scheme not in EAS_CODES:
        raise _Problem("scheme", "is not a code of the EAS code list (e.g. 0208, 9930, 0088, EM)")
    if not value:
        raise _Problem("value", "Field required")
    if len(value) > 200 or not _PRINTABLE.fullmatch(value):
        raise _Problem("value", "must be at most 200 printable characters without spaces")
    try:
        return scheme, _check_value(scheme, value)
    except ValueError as exc:
        raise _Problem("value", str(exc)) from None


class _Problem(ValueError):
    """A check failure that names the sub-field (``scheme`` or ``value``) it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def problem_field(exc: ValueError) -> str:
    """The sub-field an electronic-address ValueError is about."""
    return exc.field if isinstance(exc, _Problem) else "value"


def _check_value(scheme: str, value: str) -> str:
    if scheme == "EM":
        if len(value) > 254 or not _EMAIL.fullmatch(value):
            raise ValueError("is not a valid email address")
        return value
    if scheme == "0204":
        return check_leitweg_id(value)
    if scheme == "0208":
        digits = re.sub(r"[\s.]", "", value)
        if not (digits.isdigit() and len(digits) == 10 and be_vat.is_valid(digits)):
            raise ValueError("is not a valid Belgian enterprise number (10 digits, mod 97)")
        return digits
    if scheme == "0184":
        # Peppol's PEPPOL-COMMON-R042 wants the CVR number as "DK" and 8 digits
        digits = value.upper().removeprefix("DK").replace(" ", "")
        try:
            return "DK" + str(cvr.validate(digits))
        except StdnumError:
            raise ValueError("is not a valid Danish CVR number") from None
    if scheme == "0201":
        if not re.fullmatch(r"[A-Za-z0-9]{6}", value):
            raise ValueError("is not an IPA code (6 letters and digits)")
        return value
    if scheme in VAT_SCHEMES:
        from functions.domain.models import clean_vat_number  # models imports this module

        country = VAT_SCHEMES[scheme]
        number = value.upper().replace(" ", "")
        if not number[:2].isalpha():
            number = country + number
        if number[:2] != country:
            raise ValueError(f"must be a {country} VAT number for scheme {scheme}")
        return clean_vat_number(number, country)
    if scheme == "0088" and not re.fullmatch(r"\d{13}", value):
        raise ValueError("is not a valid GLN (13 digits with a GS1 check digit)")
    if scheme in STDNUM_SCHEMES:
        module, label = STDNUM_SCHEMES[scheme]
        try:
            return str(module.validate(value))
        except StdnumError:
            raise ValueError(f"is not a valid {label}") from None
    return value


def check_unit_code(value: str) -> str:
    """A UN/ECE Recommendation 20 (or 21) unit code, as EN 16931 lists them (BR-CL-23)."""
    code = value.strip()
    if code not in UNIT_CODES_REC20:
        upper = code.upper()
        if upper in UNIT_CODES_REC20:
            return upper
        raise ValueError("is not a UN/ECE Recommendation 20 unit code (e.g. C62, HUR, DAY, KGM)")
    return code
