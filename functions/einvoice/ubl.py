"""OASIS UBL 2.1 Invoice and CreditNote, as Peppol BIS Billing 3.0 and XRechnung 3.0 bind them.

Element order follows the UBL 2.1 XSDs; business terms follow the EN 16931 UBL binding. The
two formats differ only in BT-24 (the customization id): the rules each must pass are checked by
``invoice.einvoice``'s requirements before anything is written.
"""

from __future__ import annotations

from lxml import etree

from .document import AllowanceCharge, DocLine, Document, Party, PostalAddress
from .xml import Element, amount, iso, number, opt, serialize, sub

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"


def a(name: str) -> str:
    return f"{{{CAC}}}{name}"


def b(name: str) -> str:
    return f"{{{CBC}}}{name}"


def write(doc: Document) -> bytes:
    """The UBL XML of ``doc``: ``Invoice``, or ``CreditNote`` for a credit note."""
    credit = doc.is_credit_note
    root_ns = CREDIT_NOTE if credit else INVOICE
    root = etree.Element(
        f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: root_ns, "cac": CAC, "cbc": CBC},
    )
    money = {"currencyID": doc.currency}
    sub(root, b("CustomizationID"), doc.customization_id)
    opt(root, b("ProfileID"), doc.profile_id)
    sub(root, b("ID"), doc.number)
    sub(root, b("IssueDate"), iso(doc.issue_date))
    if not credit and doc.due_date:
        sub(root, b("DueDate"), iso(doc.due_date))
    sub(root, b("CreditNoteTypeCode" if credit else "InvoiceTypeCode"), doc.type_code)
    opt(root, b("Note"), doc.note)
    sub(root, b("DocumentCurrencyCode"), doc.currency)
    opt(root, b("BuyerReference"), doc.buyer_reference)
    if doc.period is not None:
        _period(root, doc.period)
    if doc.po_number:
        sub(sub(root, a("OrderReference")), b("ID"), doc.po_number)
    if doc.preceding_number:
        reference = sub(sub(root, a("BillingReference")), a("InvoiceDocumentReference"))
        sub(reference, b("ID"), doc.preceding_number)
    _party(sub(root, a("AccountingSupplierParty")), doc.seller, seller=True)
    _party(sub(root, a("AccountingCustomerParty")), doc.buyer, seller=False)
    if doc.delivery_date is not None or doc.deliver_to is not None:
        delivery = sub(root, a("Delivery"))
        if doc.delivery_date is not None:
            sub(delivery, b("ActualDeliveryDate"), iso(doc.delivery_date))
        if doc.deliver_to is not None:
            _address(sub(delivery, a("DeliveryLocation")), doc.deliver_to, "Address")

    means = sub(root, a("PaymentMeans"))
    sub(means, b("PaymentMeansCode"), doc.payment.means_code)
    if credit and doc.due_date:
        sub(means, b("PaymentDueDate"), iso(doc.due_date))
    opt(means, b("PaymentID"), doc.payment.reference)
    if doc.payment.iban:
        account = sub(means, a("PayeeFinancialAccount"))
        sub(account, b("ID"), doc.payment.iban)
        opt(account, b("Name"), doc.payment.account_name)
        if doc.payment.bic:
            sub(sub(account, a("FinancialInstitutionBranch")), b("ID"), doc.payment.bic)
    if doc.terms:
        sub(sub(root, a("PaymentTerms")), b("Note"), doc.terms)

    tax_total = sub(root, a("TaxTotal"))
    sub(tax_total, b("TaxAmount"), amount(doc.tax_total), **money)
    for row in doc.tax_rows:
        subtotal = sub(tax_total, a("TaxSubtotal"))
        sub(subtotal, b("TaxableAmount"), amount(row.taxable), **money)
        sub(subtotal, b("TaxAmount"), amount(row.tax), **money)
        category = sub(subtotal, a("TaxCategory"))
        sub(category, b("ID"), row.category)
        sub(category, b("Percent"), number(row.rate))
        opt(category, b("TaxExemptionReasonCode"), row.exemption_code)
        opt(category, b("TaxExemptionReason"), row.exemption_reason)
        sub(sub(category, a("TaxScheme")), b("ID"), "VAT")

    totals = sub(root, a("LegalMonetaryTotal"))
    sub(totals, b("LineExtensionAmount"), amount(doc.line_total), **money)
    sub(totals, b("TaxExclusiveAmount"), amount(doc.line_total), **money)
    sub(totals, b("TaxInclusiveAmount"), amount(doc.grand_total), **money)
    sub(totals, b("PayableAmount"), amount(doc.due_payable), **money)

    for line in doc.lines:
        _line(root, line, doc.currency, credit)
    return serialize(root)


def _period(parent: Element, period: tuple[object, object]) -> None:
    holder = sub(parent, a("InvoicePeriod"))
    sub(holder, b("StartDate"), iso(period[0]))  # type: ignore[arg-type]
    sub(holder, b("EndDate"), iso(period[1]))  # type: ignore[arg-type]


def _line(parent: Element, line: DocLine, currency: str, credit: bool) -> None:
    money = {"currencyID": currency}
    holder = sub(parent, a("CreditNoteLine" if credit else "InvoiceLine"))
    sub(holder, b("ID"), line.id)
    quantity = "CreditedQuantity" if credit else "InvoicedQuantity"
    sub(holder, b(quantity), number(line.quantity), unitCode=line.unit_code)
    sub(holder, b("LineExtensionAmount"), amount(line.net_amount), **money)
    if line.period is not None:
        _period(holder, line.period)
    for allowance in line.allowances:
        _allowance(holder, allowance, currency)
    item = sub(holder, a("Item"))
    sub(item, b("Name"), line.name)
    if line.seller_item_id:
        sub(sub(item, a("SellersItemIdentification")), b("ID"), line.seller_item_id)
    category = sub(item, a("ClassifiedTaxCategory"))
    sub(category, b("ID"), line.vat_category)
    if line.vat_rate is not None:
        sub(category, b("Percent"), number(line.vat_rate))
    sub(sub(category, a("TaxScheme")), b("ID"), "VAT")
    for key, value in line.attributes:
        prop = sub(item, a("AdditionalItemProperty"))
        sub(prop, b("Name"), key)
        sub(prop, b("Value"), value)
    sub(sub(holder, a("Price")), b("PriceAmount"), number(line.price), **money)


def _allowance(parent: Element, allowance: AllowanceCharge, currency: str) -> None:
    holder = sub(parent, a("AllowanceCharge"))
    sub(holder, b("ChargeIndicator"), "true" if allowance.charge else "false")
    opt(holder, b("AllowanceChargeReasonCode"), allowance.reason_code)
    opt(holder, b("AllowanceChargeReason"), allowance.reason)
    if allowance.percent is not None:
        sub(holder, b("MultiplierFactorNumeric"), number(allowance.percent))
    sub(holder, b("Amount"), amount(allowance.amount), currencyID=currency)
    if allowance.base is not None:
        sub(holder, b("BaseAmount"), amount(allowance.base), currencyID=currency)


def _party(parent: Element, party: Party, *, seller: bool) -> None:
    holder = sub(parent, a("Party"))
    if party.electronic_address is not None:
        scheme, value = party.electronic_address
        sub(holder, b("EndpointID"), value, schemeID=scheme)
    if party.identifier:
        sub(sub(holder, a("PartyIdentification")), b("ID"), party.identifier)
    if party.trading_name:
        sub(sub(holder, a("PartyName")), b("Name"), party.trading_name)
    _address(holder, party.address, "PostalAddress")
    if party.vat_number:
        scheme = sub(holder, a("PartyTaxScheme"))
        sub(scheme, b("CompanyID"), party.vat_number)
        sub(sub(scheme, a("TaxScheme")), b("ID"), "VAT")
    if seller and party.tax_number:
        scheme = sub(holder, a("PartyTaxScheme"))
        sub(scheme, b("CompanyID"), party.tax_number)
        sub(sub(scheme, a("TaxScheme")), b("ID"), "FC")
    legal = sub(holder, a("PartyLegalEntity"))
    sub(legal, b("RegistrationName"), party.name)
    opt(legal, b("CompanyID"), party.registration_number)
    opt(legal, b("CompanyLegalForm"), party.legal_info)
    if party.contact is not None:
        contact = sub(holder, a("Contact"))
        opt(contact, b("Name"), party.contact.name)
        opt(contact, b("Telephone"), party.contact.phone)
        opt(contact, b("ElectronicMail"), party.contact.email)


def _address(parent: Element, address: PostalAddress, tag: str) -> None:
    holder = sub(parent, a(tag))
    opt(holder, b("StreetName"), address.line1)
    opt(holder, b("AdditionalStreetName"), address.line2)
    opt(holder, b("CityName"), address.city)
    opt(holder, b("PostalZone"), address.postal_code)
    opt(holder, b("CountrySubentity"), address.region)
    sub(sub(holder, a("Country")), b("IdentificationCode"), address.country)
