"""Finalized documents made through the domain's own path (draft → finalize → credit), for the
e-invoice tests: the amounts are the ones calc.py computes, never worked out here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from functions.domain.credit import build_credit_note
from functions.domain.drafts import draft_invoice
from functions.domain.finalize import complete_finalize, prepare_finalize
from functions.domain.models import Client, Entity, Invoice

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def entity(**overrides: Any) -> Entity:
    data: dict[str, Any] = {
        "id": "ent_1",
        "name": "Nordlicht Studio",
        "legal_name": "Nordlicht Studio GmbH",
        "address": {
            "line1": "Torstraße 118",
            "postal_code": "10119",
            "city": "Berlin",
            "country": "DE",
        },
        "vat_number": "DE811907980",
        "tax_number": "30/123/45678",
        "registration_number": "HRB 123456 B",
        "email": "billing@nordlicht.example",
        "phone": "+49 30 1234567",
        "electronic_address": {"scheme": "9930", "value": "DE811907980"},
        "bank": {
            "account_holder": "Nordlicht Studio GmbH",
            "iban": "DE89370400440532013000",
            "bic": "COBADEFFXXX",
        },
        "default_vat_rate": "19",
    }
    data.update(overrides)
    return Entity.model_validate(data)


def client(**overrides: Any) -> Client:
    data: dict[str, Any] = {
        "id": "cli_1",
        "name": "Stadtwerke Musterstadt",
        "contact_name": "Jana Beispiel",
        "email": "rechnung@stadtwerke.example",
        "address": {
            "line1": "Marktplatz 1",
            "postal_code": "04109",
            "city": "Leipzig",
            "country": "DE",
        },
        "vat_number": "DE136695976",
        "electronic_address": {"scheme": "0204", "value": "04011000-1234512345-06"},
        "buyer_reference": "04011000-1234512345-06",
    }
    data.update(overrides)
    return Client.model_validate(data)


def finalized(
    lines: list[dict[str, Any]],
    *,
    seller: Entity | None = None,
    buyer: Client | None = None,
    seq: int = 1,
    **fields: Any,
) -> Invoice:
    """A finalized invoice with these lines (and any draft fields), numbered ``seq``."""
    seller = seller or entity()
    buyer = buyer or client()
    draft = draft_invoice({"lines": lines, **fields}, seller, buyer, invoice_id=f"inv_{seq}")
    prepared = prepare_finalize(draft, seller, buyer, TODAY)
    return complete_finalize(prepared, seq, NOW)


def credit_note(
    original: Invoice, lines: list[dict[str, Any]] | None = None, *, seq: int = 1
) -> Invoice:
    """A finalized credit note for ``original`` (all of it, or the ``lines`` given)."""
    assert original.seller is not None and original.buyer is not None
    note = build_credit_note(
        original, reason="Returned goods", lines=lines, issue_date=TODAY, credit_note_id="cn_1"
    )
    prepared = prepare_finalize(note, original.seller, original.buyer, TODAY)
    return complete_finalize(prepared, seq, NOW)
