"""One example request per action, shown in the OpenAPI document (``GET /api/schema.json``) and
in the interactive reference (``GET /docs``). Ids are placeholders of the right shape; every
example is valid against its action's published schema (``tests/audit/test_docs.py``)."""

from __future__ import annotations

from typing import Any

ENT = "ent_01jd3k5q8r2m4n6p7s9t0v1w2x"
CLI = "cli_01jd3k6a1b2c3d4e5f6g7h8j9k"
PRD = "prd_01jd3k7m8n9p0q1r2s3t4v5w6x"
INV = "inv_01jd3k8y9z0a1b2c3d4e5f6g7h"
KEY = "key_01jd3k9j1k2m3n4p5q6r7s8t9v"
ADDRESS = {"line1": "Torstraße 1", "postal_code": "10119", "city": "Berlin", "country": "DE"}
LINES = [
    {"description": "Design workshop", "quantity": "10", "unit": "hour", "unit_price": "85.00"},
    {"product_id": PRD, "quantity": "2"},
]

EXAMPLES: dict[str, dict[str, Any]] = {
    "auth.login": {"email": "owner@example.com"},
    "auth.verify": {"token": "the-token-from-the-sign-in-link"},
    "auth.me": {},
    "auth.logout": {},
    "apikey.create": {"name": "Bookkeeping export"},
    "apikey.list": {"limit": 20, "page": 1},
    "apikey.revoke": {"apikey_id": KEY},
    "entity.create": {
        "name": "Nordlicht Studio GmbH",
        "address": ADDRESS,
        "vat_number": "DE136695976",
        "default_vat_rate": "19",
        "bank": {"account_holder": "Nordlicht Studio GmbH", "iban": "DE89370400440532013000"},
        "email": "billing@nordlicht.example",
    },
    "entity.update": {"entity_id": ENT, "version": 3, "payment_terms_days": 14},
    "entity.get": {"entity_id": ENT},
    "entity.list": {"limit": 20, "page": 1},
    "client.create": {
        "name": "Atelier Belleville SARL",
        "email": "compta@belleville.example",
        "address": {
            "line1": "42 rue de Belleville",
            "postal_code": "75020",
            "city": "Paris",
            "country": "FR",
        },
        "vat_number": "FR40303265045",
    },
    "client.update": {"client_id": CLI, "version": 2, "contact_name": "Camille Martin"},
    "client.get": {"client_id": CLI},
    "client.list": {"q": "belleville", "limit": 20},
    "client.archive": {"client_id": CLI},
    "client.verify_vat": {"client_id": CLI},
    "product.create": {
        "name": "Design hour",
        "unit_price": "85.00",
        "currency": "EUR",
        "unit": "hour",
        "vat_rate": "19",
    },
    "product.update": {"product_id": PRD, "version": 1, "unit_price": "90.00"},
    "product.get": {"product_id": PRD},
    "product.list": {"q": "design"},
    "product.archive": {"product_id": PRD},
    "invoice.create": {
        "entity_id": ENT,
        "client_id": CLI,
        "lines": LINES,
        "po_number": "PO-7781",
        "metadata": {"project": "rebrand"},
    },
    "invoice.update": {"invoice_id": INV, "version": 2, "notes": "Thank you!"},
    "invoice.get": {"invoice_id": INV},
    "invoice.list": {
        "status": ["open", "overdue"],
        "sort_by": "due_date",
        "sort_order": "asc",
        "limit": 50,
    },
    "invoice.finalize": {"invoice_id": INV},
    "invoice.send": {"invoice_id": INV, "message": "Please find our invoice attached."},
    "invoice.record_payment": {
        "invoice_id": INV,
        "amount": "1000.00",
        "paid_on": "2026-11-28",
        "method": "bank_transfer",
    },
    "invoice.void": {"invoice_id": INV, "reason": "Issued twice"},
    "invoice.mark_uncollectible": {"invoice_id": INV},
    "invoice.credit": {
        "invoice_id": INV,
        "reason": "Two hours not delivered",
        "lines": [{"line_id": "ln_1", "quantity": "2"}],
    },
    "invoice.duplicate": {"invoice_id": INV},
    "invoice.delete": {"invoice_id": INV},
    "invoice.pdf": {"invoice_id": INV},
    "invoice.einvoice": {"invoice_id": INV, "format": "xrechnung"},
    "invoice.timeline": {"invoice_id": INV},
    "invoice.rotate_link": {"invoice_id": INV},
    "invoice.add_lines": {
        "invoice_id": INV,
        "aggregate": True,
        "lines": [{"product_id": PRD, "quantity": "250", "metadata": {"meter": "api-calls"}}],
    },
    "report.summary": {"currency": "EUR"},
    "vat.rates": {"country": "FR"},
    "invoice.record_refund": {
        "invoice_id": INV,
        "amount": "119.00",
        "paid_on": "2026-11-25",
        "method": "bank_transfer",
    },
    "ledger.entries": {"entity_id": ENT, "from": "2026-11-01", "to": "2026-11-30", "limit": 50},
    "ledger.export": {
        "entity_id": ENT,
        "from": "2026-10-01",
        "to": "2026-12-31",
        "format": "datev",
    },
    "report.aging": {"entity_id": ENT, "currency": "EUR", "as_of": "2026-11-30"},
}

WH = "wh_01jd3kb2c3d4e5f6g7h8j9k0m1"
EVT = "evt_01jd3kc3d4e5f6g7h8j9k0m1n2"
EXAMPLES.update(
    {
        "webhook.create": {
            "url": "https://erp.example.com/hooks/billow",
            "events": ["invoice.finalized", "invoice.paid"],
            "description": "ERP sync",
        },
        "webhook.list": {"limit": 20, "page": 1},
        "webhook.get": {"webhook_id": WH},
        "webhook.update": {"webhook_id": WH, "version": 2, "status": "disabled"},
        "webhook.delete": {"webhook_id": WH},
        "webhook.deliveries": {"webhook_id": WH, "limit": 50},
        "webhook.redeliver": {"webhook_id": WH, "event_id": EVT},
    }
)

REC = "rec_01jd3kb2c3d4e5f6g7h8j9k0m1"
EXAMPLES.update(
    {
        "recurring.create": {
            "entity_id": ENT,
            "client_id": CLI,
            "lines": [{"description": "Hosting and support", "quantity": "1", "unit_price": "490"}],
            "interval": "month",
            "start_date": "2027-01-01",
            "count": 12,
            "auto_advance": True,
            "metadata": {"contract": "SLA-2027"},
        },
        "recurring.update": {"recurring_id": REC, "version": 2, "notes": "Thank you!"},
        "recurring.get": {"recurring_id": REC},
        "recurring.list": {"status": "active", "sort_by": "next_date", "sort_order": "asc"},
        "recurring.pause": {"recurring_id": REC},
        "recurring.resume": {"recurring_id": REC},
        "recurring.cancel": {"recurring_id": REC},
        "recurring.timeline": {"recurring_id": REC},
    }
)

# quotes (issue 20)
QUO = "quo_01jd3kb2c3d4e5f6g7h8j9k0m1"
EXAMPLES.update(
    {
        "quote.create": {
            "entity_id": ENT,
            "client_id": CLI,
            "lines": LINES,
            "valid_until": "2026-12-31",
            "notes": "Prices valid for this project only.",
        },
        "quote.update": {"quote_id": QUO, "version": 2, "valid_until": "2027-01-15"},
        "quote.get": {"quote_id": QUO},
        "quote.list": {"status": ["open", "accepted"], "sort_by": "valid_until", "limit": 20},
        "quote.finalize": {"quote_id": QUO},
        "quote.send": {"quote_id": QUO, "message": "Here is the quote we discussed."},
        "quote.accept": {"quote_id": QUO, "name": "Camille Martin"},
        "quote.decline": {"quote_id": QUO, "reason": "Over our budget this year"},
        "quote.convert": {"quote_id": QUO},
        "quote.pdf": {"quote_id": QUO},
        "quote.delete": {"quote_id": QUO},
        "quote.timeline": {"quote_id": QUO},
    }
)

# universal search (issue 20)
EXAMPLES.update(
    {
        "search": {
            "amounts": {"min": "1000", "currency": "EUR", "label": "total"},
            "dates": {"from": "2026-12-01", "to": "2026-12-31", "label": "due"},
            "types": ["invoice", "quote"],
            "limit": 20,
        },
    }
)
