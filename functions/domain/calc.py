"""The one calculation path for the API, the PDF, the mail and the e-invoice.

- Line net = round(quantity × unit_price × (1 − discount_percent/100)) to the minor units.
- Per (vat_category, vat_rate): taxable = Σ line nets; tax = round(taxable × rate/100), once per
  group, never per line.
- subtotal = Σ taxable; tax_total = Σ tax; total = subtotal + tax_total;
  amount_paid = Σ payments; amount_due = total − amount_paid − credited_amount.
- Credit notes carry negative quantities, hence negative amounts; both rounding modes are
  symmetric around zero, so an invoice plus its full credit note sums to exactly zero. A credit
  note's ``amount_due`` is 0: it is settled by being applied to its original invoice, and an
  invoice's ``amount_due`` never goes below 0 (the paid part of a credit is ``refund_due`` on
  the credit note).

Typical use: ``invoice = price(invoice, entity, client)`` (resolve VAT per line, then compute).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, localcontext

from functions.domain.errors import FieldError, ValidationFailed
from functions.domain.kinds import is_credit_kind
from functions.domain.models import Client, Entity, Invoice, Line, TaxBreakdown
from functions.domain.money import HUNDRED, ZERO, round_money
from functions.domain.vat import (
    VatTreatment,
    rate_key,
    resolve_line_vat,
    vat_country,
    vat_treatment,
)

#: Largest line net / total accepted (absolute value), far above any real invoice.
MAX_AMOUNT = Decimal(10) ** 13


def line_net(
    line: Line, currency: str, rounding: str = "half_up", field: str = "lines[0]"
) -> Decimal:
    """Net amount of one line, rounded to the currency's minor units."""
    if line.unit_price is None:
        raise ValidationFailed.one(f"{field}.unit_price", "unit_price or product_id is required")
    with localcontext() as ctx:
        ctx.prec = 60
        exact = line.quantity * line.unit_price * (HUNDRED - line.discount_percent) / HUNDRED
        if abs(exact) >= MAX_AMOUNT:
            raise ValidationFailed.one(f"{field}.unit_price", "line amount is too large")
    return round_money(exact, currency, rounding)


def tax_breakdown(
    lines: list[Line], currency: str, rounding: str = "half_up"
) -> list[TaxBreakdown]:
    """VAT breakdown per (category, rate) in order of first appearance; lines must have their
    ``net_amount``, ``vat_category`` and ``vat_rate`` set."""
    groups: dict[tuple[str, Decimal], list[Line]] = {}
    for index, line in enumerate(lines):
        if line.vat_category is None or line.vat_rate is None or line.net_amount is None:
            raise ValidationFailed.one(f"lines[{index}].vat_category", "VAT is not resolved")
        groups.setdefault((line.vat_category, rate_key(line.vat_rate)), []).append(line)
    rows: list[TaxBreakdown] = []
    for (category, rate), members in groups.items():
        taxable = round_money(sum((m.net_amount or ZERO for m in members), ZERO), currency)
        tax = round_money(taxable * rate / HUNDRED, currency, rounding)
        reasons = list(dict.fromkeys(m.exemption_reason for m in members if m.exemption_reason))
        rows.append(
            TaxBreakdown(
                vat_category=category,
                vat_rate=rate,
                taxable_amount=taxable,
                tax_amount=tax,
                exemption_reason="; ".join(reasons) or None,
            )
        )
    return rows


def compute(invoice: Invoice, rounding: str | None = None) -> Invoice:
    """Return a copy of ``invoice`` with line nets, breakdown and totals computed.

    ``rounding`` defaults to the frozen seller's mode, else ``half_up``; pass the entity's
    ``rounding`` for drafts. Idempotent: ``compute(compute(x)) == compute(x)``.
    """
    mode = rounding or (invoice.seller.rounding if invoice.seller else "half_up")
    currency = invoice.currency
    errors: list[FieldError] = []
    lines: list[Line] = []
    for index, line in enumerate(invoice.lines):
        try:
            net = line_net(line, currency, mode, f"lines[{index}]")
        except ValidationFailed as exc:
            errors.extend(exc.details)
            continue
        lines.append(line.model_copy(update={"net_amount": net}))
    if errors:
        raise ValidationFailed(errors)
    breakdown = tax_breakdown(lines, currency, mode)
    subtotal = round_money(sum((row.taxable_amount for row in breakdown), ZERO), currency)
    tax_total = round_money(sum((row.tax_amount for row in breakdown), ZERO), currency)
    total = round_money(subtotal + tax_total, currency)
    if abs(total) >= MAX_AMOUNT:
        raise ValidationFailed.one("lines", "invoice total is too large")
    paid = round_money(sum((p.amount for p in invoice.payments), ZERO), currency)
    credited = round_money(invoice.credited_amount, currency)
    if is_credit_kind(invoice.kind):
        due = round_money(ZERO, currency)
    else:
        # Never below zero: what a credit note takes from an invoice already paid becomes
        # that credit note's ``refund_due`` (see credit.settle_credit).
        due = round_money(max(total - paid - credited, ZERO), currency)
    return invoice.model_copy(
        update={
            "lines": lines,
            "tax_breakdown": breakdown,
            "subtotal": subtotal,
            "tax_total": tax_total,
            "total": total,
            "amount_paid": paid,
            "credited_amount": credited,
            "amount_due": due,
            "refund_due": round_money(invoice.refund_due, currency),
        }
    )


def buyer_vat_country(buyer: Client, supply_type: str) -> str:
    """Country used for the treatment table: ``XI`` for a Northern Ireland VAT number buying
    goods, else the buyer's address country."""
    if supply_type == "goods" and vat_country(buyer.vat_number) == "XI":
        return "XI"
    return buyer.address.country


def default_treatment(line: Line, seller: Entity, buyer: Client) -> VatTreatment:
    """The contract table's treatment for this line between ``seller`` and ``buyer``."""
    return vat_treatment(
        seller.address.country,
        buyer_vat_country(buyer, line.supply_type),
        buyer.vat_verified,
        line.supply_type,
        seller.default_vat_rate,
    )


#: How a line's default treatment is found: (line, seller, buyer) → treatment.
TreatmentRule = Callable[[Line, Entity, Client], VatTreatment]


def apply_vat(
    invoice: Invoice, seller: Entity, buyer: Client, *, rule: TreatmentRule | None = None
) -> Invoice:
    """Resolve every line's VAT category, rate and mention.

    Lines without a category (or whose category was defaulted earlier: ``vat_defaulted``) get
    the table's treatment for this seller and buyer — re-run at finalize with the frozen
    parties. Explicit categories are checked and completed (rate 0 and default mention for
    E/AE/K/G/O). Every problem is reported at once. ``rule`` replaces the contract table's
    :func:`default_treatment` (self-billing applies it with the roles swapped).
    """
    find_default = rule or default_treatment
    errors: list[FieldError] = []
    lines: list[Line] = []
    for index, line in enumerate(invoice.lines):
        defaulted = line.vat_category is None or line.vat_defaulted
        try:
            treatment = resolve_line_vat(
                vat_category=None if defaulted else line.vat_category,
                vat_rate=(
                    line.vat_rate if not defaulted or line.vat_category in (None, "S") else None
                ),
                exemption_reason=None if line.vat_defaulted else line.exemption_reason,
                default=find_default(line, seller, buyer),
                field=f"lines[{index}]",
            )
        except ValidationFailed as exc:
            errors.extend(exc.details)
            continue
        lines.append(
            line.model_copy(
                update={
                    "vat_category": treatment.category,
                    "vat_rate": treatment.rate,
                    "exemption_reason": treatment.mention,
                    "vat_defaulted": defaulted,
                }
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return invoice.model_copy(update={"lines": lines})


def price(invoice: Invoice, seller: Entity, buyer: Client) -> Invoice:
    """Resolve VAT for ``seller``/``buyer`` and compute with the seller's rounding mode."""
    return compute(apply_vat(invoice, seller, buyer), seller.rounding)


def price_with_rule(
    invoice: Invoice, seller: Entity, buyer: Client, rule: TreatmentRule
) -> Invoice:
    """:func:`price` with another default-treatment rule (self-billing: roles swapped)."""
    return compute(apply_vat(invoice, seller, buyer, rule=rule), seller.rounding)


def mentions(invoice: Invoice) -> list[str]:
    """Distinct VAT mentions to print on the document ("Reverse charge", ...)."""
    return list(
        dict.fromkeys(row.exemption_reason for row in invoice.tax_breakdown if row.exemption_reason)
    )
