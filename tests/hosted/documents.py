"""Real invoice representations for the hosted-page tests: made by the services on a real
SQLite store (the JSON of ``invoice.get`` after each lifecycle step), not hand-written dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage_adapter.sqlite import SqliteStore
from tests.invoices.support import SELLER, act, make_ctx

HOSTILE = '<script>alert("x")</script> & Co "quoted"'


def client(locale: str, name: str = "Kunde AG", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "email": "ap@kunde.example",
        "locale": locale,
        "address": {"line1": "Ring 5", "postal_code": "80331", "city": "München", "country": "DE"},
        **extra,
    }


LINES = [
    {
        "description": "Beratung\nzweite Zeile",
        "quantity": "10",
        "unit": "hour",
        "unit_price": "100",
    },
    {"description": "Lizenz", "quantity": "1", "unit_price": "49.99", "discount_percent": "10"},
]


class Documents:
    """Entity, clients and invoices of one account, each through the real actions."""

    def __init__(self, data_dir: Path) -> None:
        self.store = SqliteStore(data_dir / "billow.db")
        self.ctx = make_ctx(self.store, outbox=data_dir / "outbox")
        seller = {**SELLER, "bank": {**SELLER["bank"], "bic": "COBADEFFXXX"}}
        self.entity = act(self.ctx, "entity.create", **seller)["id"]

    def close(self) -> None:
        self.store.close()

    def client(self, locale: str = "de", **kw: Any) -> str:
        return act(self.ctx, "client.create", **client(locale, **kw))["id"]

    def finalized(self, locale: str = "de", *, lines=None, **kw: Any) -> dict[str, Any]:
        client_id = self.client(locale, **kw)
        draft = act(
            self.ctx,
            "invoice.create",
            entity_id=self.entity,
            client_id=client_id,
            lines=lines or LINES,
            notes="Vielen Dank!\n<b>nicht fett</b>",
        )
        return act(self.ctx, "invoice.finalize", invoice_id=draft["id"])

    def get(self, invoice_id: str) -> dict[str, Any]:
        return act(self.ctx, "invoice.get", invoice_id=invoice_id)

    def pay(self, invoice: dict[str, Any], amount: str) -> dict[str, Any]:
        return act(
            self.ctx,
            "invoice.record_payment",
            invoice_id=invoice["id"],
            amount=amount,
            paid_on="2026-11-25",
            method="bank transfer",
        )

    def void(self, invoice: dict[str, Any]) -> dict[str, Any]:
        return act(self.ctx, "invoice.void", invoice_id=invoice["id"], reason="duplicate")

    def credit(self, invoice: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        note = act(self.ctx, "invoice.credit", invoice_id=invoice["id"], reason="cancelled")
        return self.get(invoice["id"]), note
