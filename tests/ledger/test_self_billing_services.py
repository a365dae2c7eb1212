"""Self-billing through the invoice services: the kind × supplier-agreement matrix, the number
series per entity and supplier, the swapped parties and supplier-side VAT, the "Self-billing"
mention on the PDF and in the e-invoice (type code 389, EN 16931 validation), credit notes
(261) and the postings (purchases, input VAT, payables)."""

from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pydantic
import pytest
from lxml import etree
from pypdf import PdfReader

from functions.domain.errors import InvalidState, ValidationFailed
from storage_adapter.sqlite import SqliteStore
from tests.einvoice.validation import validate
from tests.invoices.support import CLIENT, SELLER, act, make_ctx
from tests.support.moto_server import dynamo_store, moto_endpoint  # noqa: F401

from .test_services import backend, blob, entries, fields_of  # noqa: F401

D = Decimal
ISSUE = "2026-11-21"  # the contexts' today
AGREEMENTS = {
    "none": None,
    "in_force": {"agreement_reference": "SBA-1", "valid_from": "2026-01-01"},
    "ended": {
        "agreement_reference": "SBA-2",
        "valid_from": "2025-01-01",
        "valid_to": "2026-06-30",
    },
    "not_yet": {"agreement_reference": "SBA-3", "valid_from": "2027-01-01"},
}
SUPPLIER_FR = {
    "name": "Atelier Dupont SARL",
    "email": "factures@dupont.example",
    "address": {
        "line1": "1 rue de Rivoli",
        "postal_code": "75001",
        "city": "Paris",
        "country": "FR",
    },
    "vat_number": "FR40303265045",
    "electronic_address": {"scheme": "9957", "value": "FR40303265045"},
}
LINES = [{"description": "Translation", "quantity": "4", "unit": "hour", "unit_price": "60"}]


@pytest.fixture
def ctx(tmp_path: Path):
    store = SqliteStore(tmp_path / "billow.db")
    yield make_ctx(store)
    store.close()


def _entity(ctx) -> dict:
    seller = {**SELLER, "electronic_address": {"scheme": "9930", "value": "DE136695976"}}
    return act(ctx, "entity.create", **seller)


def _supplier(ctx, agreement: dict | None, **extra) -> dict:
    params = {**CLIENT, "vat_number": "DE811907980", **extra}
    if agreement is not None:
        params["self_billing"] = agreement
    return act(ctx, "client.create", **params)


def test_kind_matrix_at_the_service_layer(backend):  # noqa: F811
    """Every kind × every state of the supplier agreement: only an invoice (any client) and a
    self-billed invoice (agreement in force on the issue date) are created; credit notes come
    from invoice.credit only. On SQLite and DynamoDB."""
    ctx = make_ctx(backend)
    entity = _entity(ctx)
    outcomes = {}
    for state, agreement in AGREEMENTS.items():
        client = _supplier(ctx, agreement)
        for kind in ("invoice", "self_billed_invoice", "credit_note", "self_billed_credit_note"):
            params = {"entity_id": entity["id"], "client_id": client["id"], "lines": LINES}
            try:
                made = act(ctx, "invoice.create", kind=kind, **params)
            except ValidationFailed as exc:
                outcomes[(state, kind)] = sorted(fields_of(exc))
                continue
            except pydantic.ValidationError as exc:  # the handler's 422 naming the field
                outcomes[(state, kind)] = sorted(".".join(map(str, e["loc"])) for e in exc.errors())
                continue
            assert made["kind"] == kind and made["status"] == "draft"
            final = act(ctx, "invoice.finalize", invoice_id=made["id"])
            outcomes[(state, kind)] = final["number"]
    assert outcomes == {
        ("none", "invoice"): "INV-2026-0001",
        ("none", "self_billed_invoice"): ["client_id"],
        ("none", "credit_note"): ["kind"],
        ("none", "self_billed_credit_note"): ["kind"],
        ("in_force", "invoice"): "INV-2026-0002",
        ("in_force", "self_billed_invoice"): "SB-2026-0001",
        ("in_force", "credit_note"): ["kind"],
        ("in_force", "self_billed_credit_note"): ["kind"],
        ("ended", "invoice"): "INV-2026-0003",
        ("ended", "self_billed_invoice"): ["issue_date"],
        ("ended", "credit_note"): ["kind"],
        ("ended", "self_billed_credit_note"): ["kind"],
        ("not_yet", "invoice"): "INV-2026-0004",
        ("not_yet", "self_billed_invoice"): ["issue_date"],
        ("not_yet", "credit_note"): ["kind"],
        ("not_yet", "self_billed_credit_note"): ["kind"],
    }
    # an issue date inside the agreement's term is accepted; finalize checks it again
    ended = _supplier(ctx, AGREEMENTS["ended"])
    old = act(
        ctx,
        "invoice.create",
        kind="self_billed_invoice",
        entity_id=entity["id"],
        client_id=ended["id"],
        lines=LINES,
        issue_date="2026-06-30",
    )
    assert act(ctx, "invoice.finalize", invoice_id=old["id"])["number"] == "SB-2026-0001"
    # a draft whose agreement ended before it is finalized is refused then, and keeps no number
    later = _supplier(ctx, {"agreement_reference": "SBA-4", "valid_from": "2026-01-01"})
    pending = act(
        ctx,
        "invoice.create",
        kind="self_billed_invoice",
        entity_id=entity["id"],
        client_id=later["id"],
        lines=LINES,
    )
    act(
        ctx,
        "client.update",
        client_id=later["id"],
        version=later["version"],
        self_billing={**AGREEMENTS["in_force"], "valid_to": "2026-11-20"},
    )
    with pytest.raises(ValidationFailed) as caught:
        act(ctx, "invoice.finalize", invoice_id=pending["id"])
    assert "issue_date" in fields_of(caught.value)
    assert act(ctx, "invoice.get", invoice_id=pending["id"])["number"] is None


def test_series_parties_vat_pdf_einvoice_credit_and_postings(ctx):
    entity = _entity(ctx)
    domestic = _supplier(
        ctx,
        AGREEMENTS["in_force"],
        electronic_address={"scheme": "9930", "value": "DE811907980"},
    )
    foreign = act(
        ctx,
        "client.create",
        **SUPPLIER_FR,
        self_billing=AGREEMENTS["in_force"],
    )
    # the foreign supplier's VAT number is taken as given here (no VIES in this test); the
    # entity's own number stands for the buyer's: services from FR to DE are reverse charge
    made = {}
    for key, supplier in (("dom1", domestic), ("for1", foreign), ("dom2", domestic)):
        draft = act(
            ctx,
            "invoice.create",
            kind="self_billed_invoice",
            entity_id=entity["id"],
            client_id=supplier["id"],
            lines=LINES,
            po_number=f"PO-{key}",
        )
        made[key] = act(ctx, "invoice.finalize", invoice_id=draft["id"])
    # one series per entity and supplier
    assert [made[k]["number"] for k in ("dom1", "for1", "dom2")] == [
        "SB-2026-0001",
        "SB-2026-0001",
        "SB-2026-0002",
    ]
    plain = act(
        ctx,
        "invoice.finalize",
        invoice_id=act(
            ctx,
            "invoice.create",
            entity_id=entity["id"],
            client_id=domestic["id"],
            lines=LINES,
        )["id"],
    )
    assert plain["number"] == "INV-2026-0001"

    dom, fr = made["dom1"], made["for1"]
    # roles swapped: the supplier sells, the entity buys
    assert dom["seller"]["name"] == CLIENT["name"] and dom["buyer"]["name"] == SELLER["legal_name"]
    assert fr["seller"]["vat_number"] == "FR40303265045"
    assert [(r["vat_category"], r["vat_rate"]) for r in dom["tax_breakdown"]] == [("S", "19")]
    assert [r["vat_category"] for r in fr["tax_breakdown"]] == ["AE"]
    assert dom["payment_reference"] is None and dom["total"] == "285.60"

    # the PDF: the supplier's name on top, the mention, the entity as the buyer
    pdf_link = act(ctx, "invoice.pdf", invoice_id=dom["id"])
    text = "".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(blob(ctx.store, pdf_link["url"]))).pages
    )
    assert "Self-billing" in text and CLIENT["name"] in text and "SB-2026-0001" in text

    # e-invoices: 389, the Self-Billing customization in UBL, the mention in BT-22
    for fmt in ("cii", "ubl"):
        link = act(ctx, "invoice.einvoice", invoice_id=fr["id"], format=fmt)
        xml = blob(ctx.store, link["url"])
        tree = etree.fromstring(xml)
        codes = tree.xpath(
            "//*[local-name()='ExchangedDocument']/*[local-name()='TypeCode']/text()"
            " | //*[local-name()='InvoiceTypeCode']/text()"
        )
        assert codes == ["389"], codes
        assert b"Self-billing" in xml
        if fmt == "ubl":
            assert b"poacc:selfbilling:3.0" in xml
        report = validate(xml, "cii" if fmt == "cii" else "ubl-en16931")
        assert report.valid, report.describe()

    # a self-billed credit note: own kind, the same supplier series, type code 261
    act(ctx, "invoice.record_payment", invoice_id=dom["id"], amount="285.60")
    note = act(ctx, "invoice.credit", invoice_id=dom["id"], reason="wrong hours")
    assert note["kind"] == "self_billed_credit_note" and note["number"] == "SB-2026-0003"
    assert note["seller"]["name"] == CLIENT["name"] and note["refund_due"] == "285.60"
    xml = blob(ctx.store, act(ctx, "invoice.einvoice", invoice_id=note["id"], format="ubl")["url"])
    assert b"<cbc:CreditNoteTypeCode>261</cbc:CreditNoteTypeCode>" in xml
    assert validate(xml, "ubl-en16931").valid
    act(ctx, "invoice.record_refund", invoice_id=note["id"], amount="285.60")
    with pytest.raises(InvalidState):  # the entity owes a self-billed invoice: no write-off
        act(ctx, "invoice.mark_uncollectible", invoice_id=fr["id"])

    # postings: purchases and input VAT against payables, reverse charge self-assessed
    items = entries(ctx, entity["id"])
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in items:
        for line in entry["lines"]:
            totals[line["role"]] += D(line["debit"]) - D(line["credit"])
    open_payables = sum(
        D(act(ctx, "invoice.get", invoice_id=made[k]["id"])["amount_due"]) for k in ("for1", "dom2")
    )
    assert -totals["payables"] == open_payables
    assert totals["input_vat_ae"] == -totals["output_vat_ae"] == D("45.60")  # 240 × 19 %
    assert totals["supplier_refund_due"] == 0 and totals["refund_due"] == 0
    # the plain invoice to the same client is a sale
    assert totals["receivables"] == D(plain["total"])
