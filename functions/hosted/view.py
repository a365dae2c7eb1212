"""What a hosted page shows, computed from the document's API representation (pure).

The input is the JSON of ``invoice.get`` (or, later, ``quote.get``): the page prints the
amounts the domain computed — it formats, never recomputes. Every value here is plain text;
the templates escape it (Jinja2 autoescape), so a buyer named ``<script>`` is shown as such.
Numbers, dates and currencies are formatted by babel through :mod:`functions.pdf.formatting`,
words come from :mod:`functions.hosted.labels` (the PDF's labels and the page's own).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from functions.pdf import epc_qr
from functions.pdf import formatting as fmt
from functions.pdf.labels import mention, unit

from .labels import labels_for

_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg);base64,[A-Za-z0-9+/]+={0,2}$")
_HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
DEFAULT_BRAND = "#1f4e79"


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    hint: str = ""


@dataclass(frozen=True)
class Party:
    heading: str
    name: str
    lines: list[str]
    details: list[str]


@dataclass(frozen=True)
class LineRow:
    description: str
    quantity: str
    unit: str
    unit_price: str
    discount: str
    vat: str
    net: str


@dataclass(frozen=True)
class Status:
    key: str  # open | overdue | paid | void | credited | issued | accepted | declined ...
    label: str
    tone: str  # due | alert | ok | muted
    headline_label: str  # "Amount due", "Total" ...
    headline: str  # the amount shown big
    note: str  # one sentence under it


@dataclass(frozen=True)
class Payment:
    rows: list[tuple[str, str]]
    qr_svg: str | None  # generated markup (no user text but the escaped <title>)


@dataclass
class DocumentView:
    lang: str
    tag: str
    title: str  # <title> and <h1>
    kind_label: str
    number: str
    brand: str
    logo: str | None
    seller: Party
    buyer: Party
    meta: list[tuple[str, str]]
    columns: dict[str, bool]
    lines: list[LineRow]
    breakdown: list[tuple[str, str, str]]
    mentions: list[str]
    totals: list[tuple[str, str, str]]
    status: Status
    payment: Payment | None
    payments: list[tuple[str, str, str]]
    related: list[Link]
    related_heading: str
    downloads: list[Link]
    notes: str
    terms: str
    labels: Mapping[str, str]
    extra: dict[str, Any] = field(default_factory=dict)


def text(value: object) -> str:
    """A representation value as display text (``None`` → empty), whitespace trimmed."""
    if value is None:
        return ""
    return str(value).strip()


def one_line(value: object) -> str:
    return " ".join(text(value).split())


def safe_link(url: object) -> str | None:
    """``url`` if it is an http(s) URL or a same-origin path, else ``None`` (never a
    ``javascript:`` or ``data:`` link, even if a caller passed one)."""
    if not isinstance(url, str) or not url or any(c.isspace() for c in url):
        return None
    lowered = url.lower()
    if lowered.startswith(("https://", "http://")):
        return url
    if url.startswith("/") and not url.startswith("//"):
        return url
    return None


def brand_color(value: object) -> str:
    """The seller's ``#RRGGBB`` darkened until white text on it (and it as text on white)
    reaches WCAG AA contrast (4.5:1); anything else is the default colour. Only a validated
    colour ever reaches the style sheet."""
    color = value if isinstance(value, str) and _HEX_COLOR.match(value) else DEFAULT_BRAND
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    while contrast_with_white(rgb) < 4.5:
        rgb = [int(c * 0.9) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _luminance(rgb: Sequence[int]) -> float:
    def lin(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_with_white(rgb: Sequence[int]) -> float:
    return 1.05 / (_luminance(rgb) + 0.05)


def _dec(value: object) -> Decimal:
    number = fmt.to_decimal(value)
    return number if number is not None else Decimal(0)


def _address(address: object, tag: str) -> list[str]:
    if not isinstance(address, Mapping):
        return []
    city = " ".join(x for x in (text(address.get("postal_code")), text(address.get("city"))) if x)
    country_code = text(address.get("country")).upper()
    country = (
        fmt.babel_locale(tag).territories.get(country_code, country_code) if country_code else ""
    )
    lines = [text(address.get("line1")), text(address.get("line2")), city]
    lines += [text(address.get("region")), country]
    return [x for x in lines if x]


def _party(
    party: Mapping[str, Any], heading: str, lab: Mapping[str, str], tag: str, *, seller: bool
) -> Party:
    name = one_line(party.get("name") or party.get("legal_name"))
    lines: list[str] = []
    legal = one_line(party.get("legal_name"))
    if seller and legal and legal != name:
        lines.append(legal)
    if not seller and party.get("contact_name"):
        lines.append(f"{lab['attn']} {one_line(party.get('contact_name'))}")
    lines += _address(party.get("address"), tag)
    details: list[str] = []
    if party.get("vat_number"):
        details.append(f"{lab['vat_id']} {one_line(party.get('vat_number'))}")
    if seller and party.get("tax_number"):
        details.append(f"{lab['tax_id']} {one_line(party.get('tax_number'))}")
    if seller and party.get("registration_number"):
        details.append(f"{lab['registration']} {one_line(party.get('registration_number'))}")
    for key, label in (("email", "email"), ("phone", "phone"), ("website", "web")):
        if party.get(key):
            details.append(f"{lab[label]} {one_line(party.get(key))}")
    return Party(heading, name, lines, details)


class _Formatter:
    def __init__(self, currency: str, tag: str) -> None:
        self.currency = currency
        self.tag = tag

    def money(self, value: object) -> str:
        return fmt.money(text(value) or "0", self.currency, self.tag)

    def amount(self, value: object) -> str:
        return fmt.amount(text(value) or "0", self.currency, self.tag)

    def date(self, value: object) -> str:
        return fmt.date(text(value) or None, self.tag)


def _lines(
    doc: Mapping[str, Any], f: _Formatter, lang: str
) -> tuple[dict[str, bool], list[LineRow]]:
    lines = [x for x in doc.get("lines") or [] if isinstance(x, Mapping)]
    columns = {
        "unit": any(text(x.get("unit")) for x in lines),
        "discount": any(_dec(x.get("discount_percent")) != 0 for x in lines),
    }
    rows = []
    for line in lines:
        category = text(line.get("vat_category"))
        vat = fmt.percent(text(line.get("vat_rate")) or "0", f.tag)
        if category not in ("", "S"):
            vat = f"{vat} ({category})"
        discount = _dec(line.get("discount_percent"))
        rows.append(
            LineRow(
                description=text(line.get("description")),
                quantity=fmt.quantity(text(line.get("quantity")) or "1", f.tag),
                unit=unit(text(line.get("unit")), lang) if line.get("unit") else "",
                unit_price=f.amount(line.get("unit_price")),
                discount=fmt.percent(str(discount), f.tag) if discount else "",
                vat=vat,
                net=f.amount(line.get("net_amount")),
            )
        )
    return columns, rows


def _breakdown(doc: Mapping[str, Any], f: _Formatter) -> list[tuple[str, str, str]]:
    rows = []
    for row in doc.get("tax_breakdown") or []:
        if not isinstance(row, Mapping):
            continue
        rate = fmt.percent(text(row.get("vat_rate")) or "0", f.tag)
        category = text(row.get("vat_category"))
        label = rate if category in ("", "S") else f"{rate} ({category})"
        rows.append((label, f.amount(row.get("taxable_amount")), f.amount(row.get("tax_amount"))))
    return rows


def _mentions(doc: Mapping[str, Any], lang: str) -> list[str]:
    seen: list[str] = []
    sources = list(doc.get("tax_breakdown") or []) + list(doc.get("lines") or [])
    for item in sources:
        if isinstance(item, Mapping) and item.get("exemption_reason"):
            said = mention(one_line(item.get("exemption_reason")), lang)
            if said and said not in seen:
                seen.append(said)
    return seen


def _totals(
    doc: Mapping[str, Any],
    f: _Formatter,
    lab: Mapping[str, str],
    *,
    credit: bool,
    show_due: bool = True,
) -> list[tuple[str, str, str]]:
    totals = [
        (lab["subtotal"], f.money(doc.get("subtotal")), "row"),
        (lab["vat"], f.money(doc.get("tax_total")), "row"),
        (lab["total"], f.money(doc.get("total")), "total"),
    ]
    paid = _dec(doc.get("amount_paid"))
    credited = _dec(doc.get("credited_amount"))
    if paid:
        totals.append((lab["paid"], f.money(doc.get("amount_paid")), "row"))
    if credited:
        totals.append((lab["credited"], f.money(doc.get("credited_amount")), "row"))
    if show_due and not credit:
        totals.append((lab["amount_due"], f.money(doc.get("amount_due")), "due"))
    elif show_due and (paid or credited):
        totals.append((lab["balance"], f.money(doc.get("amount_due")), "due"))
    return totals


PAYABLE = ("open", "sent", "overdue", "uncollectible")


def _status(
    doc: Mapping[str, Any], f: _Formatter, lab: Mapping[str, str], *, credit: bool
) -> Status:
    status = text(doc.get("status")) or "open"
    due_date = f.date(doc.get("due_date"))
    if credit:
        original = one_line(doc.get("original_invoice_number") or doc.get("original_invoice_id"))
        note = lab["issued_note"].format(number=original) if original else ""
        return Status(
            "issued", lab["status_issued"], "muted", lab["total"], f.money(doc.get("total")), note
        )
    if status == "paid":
        return Status(
            "paid",
            lab["status_paid"],
            "ok",
            lab["paid"],
            f.money(doc.get("amount_paid")),
            lab["paid_note"],
        )
    if status == "void":
        return Status(
            "void",
            lab["status_void"],
            "muted",
            lab["total"],
            f.money(doc.get("total")),
            lab["void_note"],
        )
    if status == "credited":
        return Status(
            "credited",
            lab["status_credited"],
            "muted",
            lab["credited"],
            f.money(doc.get("credited_amount")),
            lab["credited_note"],
        )
    if status == "overdue":
        note = lab["overdue_since"].format(date=due_date) if due_date else ""
        return Status(
            "overdue",
            lab["status_overdue"],
            "alert",
            lab["amount_due"],
            f.money(doc.get("amount_due")),
            note,
        )
    note = lab["due_on"].format(date=due_date) if due_date else ""
    key = "uncollectible" if status == "uncollectible" else "open"
    return Status(
        key, lab[f"status_{key}"], "due", lab["amount_due"], f.money(doc.get("amount_due")), note
    )


def _payment(
    doc: Mapping[str, Any], f: _Formatter, lab: Mapping[str, str], title: str
) -> Payment | None:
    """Bank details and the EPC QR code, only while something is to be paid."""
    if text(doc.get("status")) not in PAYABLE or _dec(doc.get("amount_due")) <= 0:
        return None
    seller = doc.get("seller") if isinstance(doc.get("seller"), Mapping) else {}
    bank = seller.get("bank") if isinstance(seller.get("bank"), Mapping) else {}
    iban = "".join(text(bank.get("iban")).split()).upper()
    reference = one_line(doc.get("payment_reference"))
    if not iban and not reference:
        return None
    holder = one_line(bank.get("account_holder") or seller.get("legal_name") or seller.get("name"))
    rows: list[tuple[str, str]] = []
    if iban:
        rows += [(lab["account_holder"], holder), (lab["iban"], fmt.iban(iban))]
    if bank.get("bic"):
        rows.append((lab["bic"], one_line(bank.get("bic"))))
    if bank.get("bank_name"):
        rows.append((lab["bank"], one_line(bank.get("bank_name"))))
    if reference:
        rows.append((lab["reference"], reference))
    rows.append((lab["amount_due"], f.money(doc.get("amount_due"))))
    if doc.get("due_date"):
        rows.append((lab["pay_by"], f.date(doc.get("due_date"))))
    qr = None
    if iban and f.currency == "EUR":
        payload = epc_qr.epc_payload(
            name=holder,
            iban=iban,
            amount=_dec(doc.get("amount_due")),
            bic=one_line(bank.get("bic")) or None,
            reference=reference or None,
            text=None if reference else title,
        )
        if payload:
            from .qr import qr_svg

            alt = lab["qr_alt"].format(amount=f.money(doc.get("amount_due")), iban=fmt.iban(iban))
            try:
                qr = qr_svg(payload, title=alt)
            except ValueError:  # too long for a QR code: the details alone
                qr = None
    return Payment(rows, qr)


def _payments(doc: Mapping[str, Any], f: _Formatter) -> list[tuple[str, str, str]]:
    rows = []
    for payment in doc.get("payments") or []:
        if isinstance(payment, Mapping):
            rows.append(
                (
                    f.date(payment.get("paid_on")),
                    f.money(payment.get("amount")),
                    one_line(payment.get("method")),
                )
            )
    return rows


def _links(links: Sequence[tuple[str, str]] | None) -> list[Link]:
    out = []
    for label, url in links or []:
        safe = safe_link(url)
        if safe and one_line(label):
            out.append(Link(one_line(label), safe))
    return out


def invoice_view(
    doc: Mapping[str, Any],
    *,
    pdf_url: str | None = None,
    einvoice_url: str | None = None,
    credit_notes: Sequence[tuple[str, str]] | None = None,
    original_url: str | None = None,
    locale: str | None = None,
) -> DocumentView:
    """The view of an invoice or credit note page.

    ``credit_notes``: (number, hosted URL) of the credit notes issued against this invoice;
    ``original_url``: the hosted page of the invoice a credit note corrects. URLs that are
    not http(s) or same-origin paths are dropped.
    """
    seller = doc.get("seller") if isinstance(doc.get("seller"), Mapping) else {}
    buyer = doc.get("buyer") if isinstance(doc.get("buyer"), Mapping) else {}
    tag = fmt.choose_locale(locale, buyer.get("locale"), seller.get("locale"))
    lang = fmt.language_of(tag)
    lab = labels_for(lang)
    currency = one_line(doc.get("currency") or seller.get("currency") or "EUR")
    f = _Formatter(currency, tag)
    credit = doc.get("kind") == "credit_note"
    number = one_line(doc.get("number"))
    kind_label = lab["credit_note" if credit else "invoice"]
    seller_name = one_line(seller.get("name") or seller.get("legal_name"))
    title = lab["credit_from" if credit else "invoice_from"].format(
        number=number, seller=seller_name
    )
    meta: list[tuple[str, str]] = []
    if number:
        meta.append((lab["credit_note_number" if credit else "invoice_number"], number))
    for key in ("issue_date", "supply_date") + (() if credit else ("due_date",)):
        if doc.get(key):
            meta.append((lab[key], f.date(doc.get(key))))
    if doc.get("po_number"):
        meta.append((lab["po_number"], one_line(doc.get("po_number"))))
    original = one_line(doc.get("original_invoice_number") or doc.get("original_invoice_id"))
    if credit and original:
        meta.append((lab["original_invoice"], original))
    columns, lines = _lines(doc, f, lang)
    mentions = _mentions(doc, lang)
    if credit and original:
        mentions.insert(0, lab["credit_for"].format(number=original))
    downloads = _links(
        [
            (lab["download_credit_pdf" if credit else "download_pdf"], pdf_url or ""),
            (lab["download_einvoice"], einvoice_url or ""),
        ]
    )
    if credit:
        related = _links([(original, original_url or "")]) if original else []
        related_heading = lab["original_invoice"]
    else:
        related = _links(credit_notes)
        related_heading = lab["credit_notes"]
    logo = seller.get("logo")
    return DocumentView(
        lang=lang,
        tag=tag,
        title=title,
        kind_label=kind_label,
        number=number,
        brand=brand_color(seller.get("brand_color")),
        logo=logo if isinstance(logo, str) and _DATA_IMAGE.match(logo) else None,
        seller=_party(seller, lab["from"], lab, tag, seller=True),
        buyer=_party(buyer, lab["bill_to"], lab, tag, seller=False),
        meta=meta,
        columns=columns,
        lines=lines,
        breakdown=_breakdown(doc, f),
        mentions=mentions,
        totals=_totals(doc, f, lab, credit=credit),
        status=_status(doc, f, lab, credit=credit),
        payment=None if credit else _payment(doc, f, lab, f"{kind_label} {number}".strip()),
        payments=_payments(doc, f),
        related=related,
        related_heading=related_heading,
        downloads=downloads,
        notes=text(doc.get("notes")),
        terms=text(doc.get("terms")),
        labels=lab,
    )


QUOTE_STATUSES = ("open", "accepted", "declined", "expired", "converted")


def quote_view(
    doc: Mapping[str, Any], *, pdf_url: str | None = None, locale: str | None = None
) -> DocumentView:
    """The view of a quote page (issue 20): the document as for an invoice, a status of its
    own, no payment details; ``extra["can_answer"]`` says whether accept/decline is offered."""
    # The parties, lines and VAT are an invoice's; "void" keeps the invoice view from asking
    # for payment. Title, details, totals, downloads and status are the quote's, set below.
    view = invoice_view(
        {**doc, "kind": "invoice", "status": "void"}, pdf_url=pdf_url, locale=locale
    )
    lab = view.labels
    f = _Formatter(one_line(doc.get("currency") or "EUR"), view.tag)
    status = text(doc.get("status")) or "open"
    status = status if status in QUOTE_STATUSES else "open"
    seller = doc.get("seller") if isinstance(doc.get("seller"), Mapping) else {}
    buyer = doc.get("buyer") if isinstance(doc.get("buyer"), Mapping) else {}
    number = one_line(doc.get("number"))
    view.title = lab["quote_from"].format(
        number=number, seller=one_line(seller.get("name") or seller.get("legal_name"))
    )
    view.kind_label = lab["quote"]
    view.buyer = dataclasses.replace(view.buyer, heading=lab.get("quote_to", lab["bill_to"]))
    view.meta = [(lab["quote_number"], number)] if number else []
    if doc.get("issue_date"):
        view.meta.append((lab["date"], f.date(doc.get("issue_date"))))
    if doc.get("valid_until"):
        view.meta.append((lab["valid_until"], f.date(doc.get("valid_until"))))
    if doc.get("po_number"):
        view.meta.append((lab["po_number"], one_line(doc.get("po_number"))))
    view.totals = _totals(doc, f, lab, credit=False, show_due=False)
    view.downloads = _links([(lab["download_quote_pdf"], pdf_url or "")])
    valid_until = f.date(doc.get("valid_until"))
    accepted = lab["accepted_note"].format(
        name=one_line(doc.get("accepted_by")), date=f.date(doc.get("accepted_at"))
    )
    notes = {
        "open": f"{lab['valid_until']} {valid_until}" if valid_until else "",
        "accepted": accepted,
        "converted": accepted,
        "declined": lab["declined_note"].format(date=f.date(doc.get("declined_at"))),
        "expired": lab["expired_note"].format(date=valid_until),
    }
    tone = {"open": "due", "accepted": "ok", "converted": "ok"}.get(status, "muted")
    view.status = Status(
        status,
        lab["status_quote_open" if status == "open" else f"status_{status}"],
        tone,
        lab["total"],
        f.money(doc.get("total")),
        notes[status],
    )
    view.payment = None
    view.payments = []
    view.extra = {
        "can_answer": status == "open",
        "buyer_name": one_line(buyer.get("name")),
    }
    return view
