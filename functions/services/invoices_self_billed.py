"""Self-billed documents in the invoice services (``invoice.create`` with
``kind: "self_billed_invoice"``, its updates, finalize, and credit notes against it).

The entity issues the invoice in its supplier's name (VAT Directive art. 224): the client is the
supplier and must have a self-billing agreement in force on the issue date (today while the
draft has none), else 422; the document's seller is the client, its buyer the entity, VAT is
resolved from the supplier's side, and the number comes from the entity's series for that
supplier (``self_billing_number_pattern``). The rules are the domain's
(:mod:`functions.domain.self_billing`): this module only calls them at the right places, each
one line in the invoice services.
"""

from __future__ import annotations

from datetime import date

from functions.domain.calc import price_with_rule
from functions.domain.kinds import is_self_billed
from functions.domain.models import Client, Entity, Invoice
from functions.domain.self_billing import (
    check_parties,
    complete_self_billed,
    frozen_parties,
    parties_for,
    prepare_self_billed,
    series_counter,
    supplier_side_treatment,
)
from storage_adapter import Transaction

from .invoices import now_utc, today
from .registry import Context


def priced_for_kind(draft: Invoice, kind: str, entity: Entity, client: Client, on: date) -> Invoice:
    """The draft as a document of ``kind``: unchanged for ``invoice``; for a self-billed
    invoice, the agreement checked on the issue date (422 ``client_id``/``issue_date``) and VAT
    resolved with the roles swapped. A draft keeps no parties (they are frozen at finalize)."""
    if not is_self_billed(kind):
        return draft
    issue_date = draft.issue_date or on
    seller_ref, buyer_ref = parties_for(kind, entity, client)
    check_parties(kind, seller_ref, buyer_ref, entity=entity, client=client, issue_date=issue_date)
    seller, buyer = frozen_parties(entity, client)
    return price_with_rule(
        draft.model_copy(update={"kind": kind}), seller, buyer, supplier_side_treatment
    )


def finalize_self_billed(
    tx: Transaction, ctx: Context, draft: Invoice, entity: Entity, client: Client
) -> Invoice:
    """Check, number (the entity's series for this supplier) and open a self-billed document
    inside ``tx``; the counter moves only on commit, like every series."""
    prepared = prepare_self_billed(draft, entity, client, today(ctx))
    assert prepared.issue_date is not None and client.id is not None
    counter, start = series_counter(entity, client.id, prepared.issue_date)
    seq = tx.next_number(counter, start=start)
    return complete_self_billed(prepared, entity, seq, now_utc(ctx))
