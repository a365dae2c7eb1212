"""Mandatory contents of an invoice, EU VAT Directive 2006/112/EC article 226.

:func:`missing_mandatory` lists *every* problem at once, as ``FieldError``s named like the
contract's fields (``seller.vat_number``, ``buyer.address.city``, ``lines[0].description``), so
the finalize call can answer one 422 with all of them.

art. 226 (1) issue date; (2) unique sequential number (assigned by finalize itself; checked only
with ``require_number``); (3) supplier's VAT number; (4) customer's VAT number for reverse
charge / intra-community supply; (5) full names and addresses of both parties; (6) quantity and
nature of the goods or services; (7) supply date where it differs from the issue date (optional
field, so nothing to check); (8) taxable amount per rate, unit price; (9) VAT rate; (10) VAT
amount; (11) the exemption or reverse-charge mention.
"""

from __future__ import annotations

from functions.domain.errors import FieldError
from functions.domain.models import Client, Entity, Invoice
from functions.domain.vat import EXEMPT_CATEGORIES, NEEDS_BOTH_VAT_NUMBERS, VAT_CATEGORIES, is_eu

#: Countries without a general postal code system; the buyer's postal code is optional there.
NO_POSTAL_CODE = frozenset({"AE", "AG", "HK", "IE", "JM", "QA", "BS", "BZ", "GH", "FJ"})


def missing_mandatory(
    invoice: Invoice, seller: Entity, buyer: Client, *, require_number: bool = False
) -> list[FieldError]:
    """Every art. 226 problem of ``invoice`` issued by ``seller`` to ``buyer`` (empty = OK).

    Call it after VAT resolution and :func:`calc.compute` (``calc.price``), so that categories,
    rates and mentions are the ones that will be printed.
    """
    errors: list[FieldError] = []

    def need(condition: object, field: str, message: str) -> None:
        if not condition:
            errors.append(FieldError(field, message))

    # (1), (2)
    need(invoice.issue_date, "issue_date", "the issue date is required")
    if require_number:
        need(invoice.number, "number", "a sequential number is required")
    if invoice.due_date and invoice.issue_date and invoice.due_date < invoice.issue_date:
        errors.append(FieldError("due_date", "must not be before the issue date"))

    # (3) supplier's VAT number — a seller that charges no VAT at all (small-business
    # exemption, all lines E/O) may instead show its tax number.
    charges_vat = any(line.vat_category not in ("E", "O") for line in invoice.lines)
    if not seller.vat_number and (charges_vat or not seller.tax_number):
        errors.append(FieldError("seller.vat_number", "the supplier's VAT number is required"))

    # (5) names and addresses
    need(seller.name, "seller.name", "the supplier's name is required")
    for part in ("line1", "postal_code", "city", "country"):
        need(
            getattr(seller.address, part),
            f"seller.address.{part}",
            "the supplier's full address is required",
        )
    need(buyer.name, "buyer.name", "the customer's name is required")
    buyer_parts = ["line1", "city", "country"]
    if buyer.address.country not in NO_POSTAL_CODE:
        buyer_parts.insert(1, "postal_code")
    for part in buyer_parts:
        need(
            getattr(buyer.address, part),
            f"buyer.address.{part}",
            "the customer's full address is required",
        )

    # (6), (8)-(11) per line
    need(invoice.lines, "lines", "at least one line is required")
    categories: set[str] = set()
    for index, line in enumerate(invoice.lines):
        path = f"lines[{index}]"
        need(line.description, f"{path}.description", "the nature of the supply is required")
        need(line.quantity != 0, f"{path}.quantity", "the quantity must not be zero")
        need(line.unit_price is not None, f"{path}.unit_price", "the unit price is required")
        category = line.vat_category
        if category not in VAT_CATEGORIES:
            errors.append(FieldError(f"{path}.vat_category", "the VAT category is required"))
            continue
        categories.add(category)
        if line.vat_rate is None:
            errors.append(FieldError(f"{path}.vat_rate", "the VAT rate is required"))
        elif category == "S" and line.vat_rate <= 0:
            errors.append(FieldError(f"{path}.vat_rate", "a standard rate must be above zero"))
        elif category != "S" and line.vat_rate != 0:
            errors.append(FieldError(f"{path}.vat_rate", f"category {category} has rate 0"))
        if category in EXEMPT_CATEGORIES and not line.exemption_reason:
            errors.append(
                FieldError(
                    f"{path}.exemption_reason",
                    "the exemption or reverse-charge mention is required",
                )
            )
        if category in ("AE", "K") and not is_eu(seller.address.country, line.supply_type):
            errors.append(
                FieldError(f"{path}.vat_category", f"{category} needs a seller in the EU")
            )

    # (4) both VAT numbers for reverse charge / intra-community supply
    if categories & NEEDS_BOTH_VAT_NUMBERS:
        need(
            buyer.vat_number,
            "buyer.vat_number",
            "the customer's VAT number is required for reverse charge or intra-community supply",
        )
        if seller.vat_number is None and not any(e.field == "seller.vat_number" for e in errors):
            errors.append(FieldError("seller.vat_number", "the supplier's VAT number is required"))

    # Sign of the document
    if invoice.kind == "invoice" and invoice.total < 0:
        errors.append(
            FieldError("lines", "an invoice total cannot be negative; issue a credit note")
        )
    if invoice.kind == "credit_note" and invoice.total > 0:
        errors.append(FieldError("lines", "a credit note carries negative amounts"))
    if invoice.kind == "credit_note":
        need(invoice.original_invoice_id, "original_invoice_id", "the credited invoice is required")
    return errors
