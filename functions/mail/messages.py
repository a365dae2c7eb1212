"""Builders for the mails Billow sends: sign-in link, invoice / credit note, reminders.

Every builder returns an ``EmailMessage`` with a plain-text part and an HTML alternative made
from the same blocks, so both always say the same thing. User text (names, the personal
message, numbers) is inserted as data: HTML-escaped in the HTML part, and stripped of line
breaks wherever it lands in a header, so a client called ``"X\\r\\nBcc: ..."`` cannot add
headers. Recipient addresses are validated and rejected (``ValidationFailed``) rather than
repaired.

Amounts are formatted from the decimal strings of the invoice JSON with babel (never via
float); dates with babel's long format in the reader's language.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency

from functions.domain.errors import FieldError, ValidationFailed
from functions.mail.labels import DAYS, LABELS, SUPPORTED_LANGUAGES
from functions.mail.transport import MailConfigurationError

__all__ = [
    "DEFAULT_FROM",
    "SUPPORTED_LANGUAGES",
    "invoice_message",
    "reminder_message",
    "sender_address",
    "signin_message",
]

DEFAULT_FROM = "Billow <no-reply@localhost>"
DEFAULT_ACCENT = "#2563eb"

# 7bit: non-ASCII bodies go out quoted-printable/base64, so every SMTP server and SES accept
# them, whether or not they announce 8BITMIME.
MAIL_POLICY = policy.default.clone(cte_type="7bit")

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_ADDR_SPEC = re.compile(r"[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+")
_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


# --- small helpers ----------------------------------------------------------------------------


def header_text(value: object, limit: int = 200) -> str:
    """``value`` as one header-safe line: control characters (CR, LF, ...) become spaces."""
    text = " ".join(_CONTROL.sub(" ", str(value or "")).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _address(value: object, field_name: str) -> str:
    """A bare address (``a@example.com``), or ``ValidationFailed`` naming the field."""
    text = value.strip() if isinstance(value, str) else ""
    _name, parsed = parseaddr(text)
    candidate = parsed if parsed and "<" in text else text
    if not _ADDR_SPEC.fullmatch(candidate) or _CONTROL.search(text):
        raise ValidationFailed.one(field_name, "is not a valid email address")
    return candidate


def _address_list(value: str | Iterable[str] | None, field_name: str) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [
        _address(item, f"{field_name}[{i}]" if not isinstance(value, str) else field_name)
        for i, item in enumerate(items)
        if not (isinstance(item, str) and not item.strip())
    ]


def sender_address(env: Mapping[str, str] = os.environ) -> Address:
    """The From address: ``BILLOW_MAIL_FROM`` (``Name <addr>`` or ``addr``), else the default."""
    raw = (env.get("BILLOW_MAIL_FROM") or "").strip() or DEFAULT_FROM
    name, addr = parseaddr(raw)
    if not addr or not _ADDR_SPEC.fullmatch(addr) or _CONTROL.search(raw):
        raise MailConfigurationError(f"BILLOW_MAIL_FROM is not a valid address: {raw!r}")
    return Address(display_name=header_text(name), addr_spec=addr)


def _language(*candidates: object) -> tuple[str, Locale]:
    """First supported language among the candidates (BCP 47 tags), with a babel locale.

    The babel locale keeps the region when babel knows it (``de-CH`` formats like Swiss
    German) while the wording comes from the language (``de``).
    """
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.strip():
            continue
        tag = candidate.strip().replace("_", "-")
        language = tag.split("-")[0].lower()
        if language not in SUPPORTED_LANGUAGES:
            continue
        try:
            return language, Locale.parse(tag, sep="-")
        except (UnknownLocaleError, ValueError):
            return language, Locale.parse(language)
    return "en", Locale.parse("en")


def _money(amount: object, currency: str, loc: Locale) -> str:
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount or "")
    return format_currency(value, currency or "EUR", locale=loc)


def _date(value: object, loc: Locale) -> str:
    if not value:
        return ""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return format_date(day, format="long", locale=loc)


def _days(count: int, language: str, loc: Locale) -> str:
    forms = DAYS[language]
    return f"{count} {forms.get(loc.plural_form(count), forms['other'])}"


def _new_message(
    subject: str, to: list[str], sender: Address, cc: list[str] | None = None
) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = header_text(subject, limit=250)
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.domain or "localhost")
    return message


# --- one body, two renderings -----------------------------------------------------------------


@dataclass
class _Body:
    """Paragraphs, a fact table and an optional button, rendered as text and as HTML."""

    title: str
    accent: str = DEFAULT_ACCENT
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def para(self, text: str, *, muted: bool = False) -> _Body:
        if text and text.strip():
            self.blocks.append(("muted" if muted else "para", text.strip()))
        return self

    def facts(self, rows: Iterable[tuple[str, str]]) -> _Body:
        kept = [(k, v) for k, v in rows if v]
        if kept:
            self.blocks.append(("facts", kept))
        return self

    def button(self, label: str, url: str) -> _Body:
        self.blocks.append(("button", (label, url)))
        return self

    def text(self) -> str:
        out: list[str] = []
        for kind, value in self.blocks:
            if kind == "facts":
                width = max(len(k) for k, _ in value) + 1
                out.append("\n".join(f"{(k + ':').ljust(width)} {v}" for k, v in value))
            elif kind == "button":
                label, url = value
                out.append(f"{label}:\n{url}")
            else:
                out.append(value)
        return "\n\n".join(out) + "\n"

    def html(self) -> str:
        esc = html.escape
        parts: list[str] = []
        for kind, value in self.blocks:
            if kind == "facts":
                rows = "".join(
                    f'<tr><td style="padding:4px 16px 4px 0;color:#555">{esc(k)}</td>'
                    f'<td style="padding:4px 0;font-weight:600">{esc(v)}</td></tr>'
                    for k, v in value
                )
                parts.append(
                    f'<table role="presentation" style="border-collapse:collapse;'
                    f'margin:16px 0">{rows}</table>'
                )
            elif kind == "button":
                label, url = value
                parts.append(
                    f'<p style="margin:24px 0"><a href="{esc(url)}" style="background:'
                    f"{self.accent};color:#fff;padding:12px 20px;border-radius:6px;"
                    f'text-decoration:none;display:inline-block">{esc(label)}</a></p>'
                    f'<p style="font-size:12px;color:#555;word-break:break-all">{esc(url)}</p>'
                )
            else:
                style = "color:#555;font-size:13px" if kind == "muted" else ""
                text = esc(value).replace("\n", "<br>\n")
                parts.append(f'<p style="{style}">{text}</p>' if style else f"<p>{text}</p>")
        body = "\n".join(parts)
        return (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width">'
            f"<title>{esc(self.title)}</title></head>\n"
            '<body style="margin:0;padding:24px;background:#f6f7f9;font-family:'
            "-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:15px;"
            'line-height:1.5;color:#111">\n'
            '<div style="max-width:560px;margin:0 auto;background:#fff;padding:24px 28px;'
            f'border-radius:8px;border-top:4px solid {self.accent}">\n'
            f"{body}\n</div>\n</body></html>\n"
        )

    def attach_to(self, message: EmailMessage) -> None:
        message.set_content(self.text())
        message.add_alternative(self.html(), subtype="html")


# --- the messages -----------------------------------------------------------------------------


def signin_message(
    to: str,
    link: str,
    locale: str = "en",
    app_name: str = "Billow",
    *,
    env: Mapping[str, str] = os.environ,
) -> EmailMessage:
    """The magic-link mail of ``auth.login``; ``link`` already carries the token."""
    address = _address(to, "email")
    parts = urlsplit(link if isinstance(link, str) else "")
    if parts.scheme not in ("http", "https") or not parts.netloc or _CONTROL.search(link):
        raise ValidationFailed.one("callback_url", "must be an http(s) URL")
    language, _loc = _language(locale)
    words = LABELS[language]
    app = header_text(app_name) or "Billow"
    subject = words["signin_subject"].format(app=app)
    message = _new_message(subject, [address], sender_address(env))
    message["Auto-Submitted"] = "auto-generated"
    body = _Body(title=subject)
    body.para(words["signin_intro"].format(app=app))
    body.button(words["signin_button"], link)
    body.para(words["signin_expiry"])
    body.para(words["signin_ignore"], muted=True)
    body.attach_to(message)
    return message


def _seller_and_buyer(invoice: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    seller = invoice.get("seller") or {}
    buyer = invoice.get("buyer") or {}
    return seller, buyer


def _number(invoice: Mapping[str, Any]) -> str:
    number = header_text(invoice.get("number"))
    if not number:
        raise ValidationFailed.one("invoice_id", "a draft has no number and cannot be mailed")
    return number


def _recipients(to: str | Iterable[str] | None, buyer: Mapping[str, Any]) -> list[str]:
    recipients = _address_list(to, "to") if to else []
    if not recipients:
        if not buyer.get("email"):
            raise ValidationFailed.one("to", "the client has no email address; give `to`")
        recipients = [_address(buyer.get("email"), "to")]
    return recipients


def _reply_to(message: EmailMessage, seller: Mapping[str, Any]) -> None:
    """Replies go to the seller, not to the no-reply sender (skipped if unusable)."""
    try:
        addr = _address(seller.get("email"), "seller.email")
    except ValidationFailed:
        return
    message["Reply-To"] = Address(display_name=header_text(seller.get("name")), addr_spec=addr)


def _accent(seller: Mapping[str, Any]) -> str:
    color = seller.get("brand_color")
    return color if isinstance(color, str) and _HEX_COLOR.fullmatch(color) else DEFAULT_ACCENT


def _greeting(words: Mapping[str, str], buyer: Mapping[str, Any]) -> str:
    name = header_text(buyer.get("contact_name") or buyer.get("name"))
    return words["hello_name"].format(name=name) if name else words["hello"]


def _payment_rows(invoice: Mapping[str, Any], seller: Mapping[str, Any], words: Mapping[str, str]):
    bank = seller.get("bank") or {}
    rows = [(words["payment_reference"], str(invoice.get("payment_reference") or ""))]
    iban = str(bank.get("iban") or "")
    if iban:
        from stdnum import iban as stdnum_iban

        rows.append(("IBAN", stdnum_iban.format(iban)))
    rows.append(("BIC", str(bank.get("bic") or "")))
    return rows


def _hosted_link(invoice: Mapping[str, Any]) -> str | None:
    """The document's hosted page (``hosted_invoice_url``) if it is a plain http(s) URL."""
    url = invoice.get("hosted_invoice_url")
    if not isinstance(url, str) or _CONTROL.search(url) or any(c.isspace() for c in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _attach_pdf(message: EmailMessage, pdf: bytes, number: str) -> None:
    filename = (_UNSAFE_FILENAME.sub("-", number).strip("-.") or "invoice") + ".pdf"
    message.add_attachment(bytes(pdf), maintype="application", subtype="pdf", filename=filename)


def invoice_message(
    invoice: Mapping[str, Any],
    pdf: bytes,
    to: str | Iterable[str] | None,
    cc: str | Iterable[str] | None = None,
    message: str | None = None,
    locale: str | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    attachments: Iterable[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    """The mail of ``invoice.send``: summary, the sender's optional note, the PDF attached.

    ``attachments`` (``(filename, content type, data)``) come before the PDF: the e-invoice
    XML a client's format asks for (XRechnung, Peppol UBL), the PDF being its readable copy.

    ``invoice`` is the JSON of ``invoice.get``. The language is ``locale``, else the frozen
    buyer's, else the seller's, else English. Credit notes get credit-note wording and show
    the credited amount instead of a due date.
    """
    seller, buyer = _seller_and_buyer(invoice)
    number = _number(invoice)
    language, loc = _language(locale, buyer.get("locale"), seller.get("locale"))
    words = LABELS[language]
    seller_name = header_text(seller.get("name") or seller.get("legal_name")) or "—"
    is_credit = invoice.get("kind") == "credit_note"
    currency = str(invoice.get("currency") or "EUR")

    subject = words["credit_subject" if is_credit else "invoice_subject"].format(
        number=number, seller=seller_name
    )
    mail = _new_message(
        subject, _recipients(to, buyer), sender_address(env), _address_list(cc, "cc")
    )
    _reply_to(mail, seller)
    mail["X-Billow-Invoice"] = header_text(invoice.get("id"), limit=64)

    body = _Body(title=subject, accent=_accent(seller))
    body.para(_greeting(words, buyer))
    if message and str(message).strip():
        body.para(str(message))
    body.para(
        words["credit_intro" if is_credit else "invoice_intro"].format(
            number=number, seller=seller_name
        )
    )
    if is_credit:
        credited = abs(Decimal(str(invoice.get("total") or "0")))
        body.facts(
            [
                (words["credit_number"], number),
                (words["issue_date"], _date(invoice.get("issue_date"), loc)),
                (words["credit_amount"], _money(credited, currency, loc)),
            ]
        )
    else:
        rows = [
            (words["invoice_number"], number),
            (words["issue_date"], _date(invoice.get("issue_date"), loc)),
        ]
        if str(invoice.get("total")) != str(invoice.get("amount_due")):
            rows.append((words["total"], _money(invoice.get("total"), currency, loc)))
        rows += [
            (words["amount_due"], _money(invoice.get("amount_due"), currency, loc)),
            (words["due_date"], _date(invoice.get("due_date"), loc)),
            *_payment_rows(invoice, seller, words),
        ]
        body.facts(rows)
    link = _hosted_link(invoice)
    if link:
        body.button(words["view_credit_online" if is_credit else "view_online"], link)
    body.para(f"{words['regards']}\n{seller_name}")
    body.attach_to(mail)
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        safe = _UNSAFE_FILENAME.sub("-", filename).strip("-.") or "einvoice.xml"
        mail.add_attachment(bytes(data), maintype=maintype, subtype=subtype, filename=safe)
    _attach_pdf(mail, pdf, number)
    return mail


def reminder_message(
    invoice: Mapping[str, Any],
    level: int,
    days_overdue: int,
    pdf: bytes | None,
    to: str | Iterable[str] | None,
    locale: str | None = None,
    *,
    env: Mapping[str, str] = os.environ,
) -> EmailMessage:
    """Payment reminder number ``level``: 1 friendly, 2 firm, 3 and later final."""
    if not isinstance(level, int) or level < 1:
        raise ValidationFailed([FieldError("level", "must be 1 or more")])
    seller, buyer = _seller_and_buyer(invoice)
    number = _number(invoice)
    language, loc = _language(locale, buyer.get("locale"), seller.get("locale"))
    words = LABELS[language]
    seller_name = header_text(seller.get("name") or seller.get("legal_name")) or "—"
    currency = str(invoice.get("currency") or "EUR")
    step = min(level, 3)
    amount = _money(invoice.get("amount_due"), currency, loc)

    subject = words[f"reminder{step}_subject"].format(number=number, seller=seller_name)
    mail = _new_message(subject, _recipients(to, buyer), sender_address(env))
    _reply_to(mail, seller)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Billow-Invoice"] = header_text(invoice.get("id"), limit=64)
    mail["X-Billow-Reminder-Level"] = str(level)

    body = _Body(title=subject, accent=_accent(seller))
    body.para(_greeting(words, buyer))
    body.para(
        words[f"reminder{step}_body"].format(
            number=number,
            issue_date=_date(invoice.get("issue_date"), loc),
            due_date=_date(invoice.get("due_date"), loc),
            days=_days(max(int(days_overdue), 0), language, loc),
            amount=amount,
        )
    )
    body.facts(
        [
            (words["invoice_number"], number),
            (words["amount_due"], amount),
            (words["due_date"], _date(invoice.get("due_date"), loc)),
            *_payment_rows(invoice, seller, words),
        ]
    )
    link = _hosted_link(invoice)
    if link:
        body.button(words["view_online"], link)
    if pdf:
        body.para(words["reminder_attached"])
    body.para(words["reminder_paid"], muted=True)
    body.para(f"{words['regards']}\n{seller_name}")
    body.attach_to(mail)
    if pdf:
        _attach_pdf(mail, pdf, number)
    return mail


def quote_message(
    quote: Mapping[str, Any],
    pdf: bytes,
    to: str | Iterable[str] | None,
    cc: str | Iterable[str] | None = None,
    message: str | None = None,
    locale: str | None = None,
    *,
    hosted_url: str | None = None,
    env: Mapping[str, str] = os.environ,
) -> EmailMessage:
    """The mail of ``quote.send``: summary, the sender's note, a button to the hosted page
    (where the buyer accepts or declines), the PDF attached. ``quote`` is ``quote.get``."""
    from functions.mail.labels import QUOTE_LABELS

    seller, buyer = _seller_and_buyer(quote)
    number = _number(quote)
    language, loc = _language(locale, buyer.get("locale"), seller.get("locale"))
    words = LABELS[language]
    qwords = QUOTE_LABELS.get(language, QUOTE_LABELS["en"])
    seller_name = header_text(seller.get("name") or seller.get("legal_name")) or "—"
    currency = str(quote.get("currency") or "EUR")
    subject = qwords["subject"].format(number=number, seller=seller_name)
    mail = _new_message(
        subject, _recipients(to, buyer), sender_address(env), _address_list(cc, "cc")
    )
    _reply_to(mail, seller)
    mail["X-Billow-Quote"] = header_text(quote.get("id"), limit=64)
    body = _Body(title=subject, accent=_accent(seller))
    body.para(_greeting(words, buyer))
    if message and str(message).strip():
        body.para(str(message))
    body.para(qwords["intro"].format(number=number, seller=seller_name))
    body.facts(
        [
            (qwords["number"], number),
            (qwords["date"], _date(quote.get("issue_date"), loc)),
            (qwords["valid_until"], _date(quote.get("valid_until"), loc)),
            (qwords["total"], _money(quote.get("total"), currency, loc)),
        ]
    )
    if hosted_url:
        body.button(qwords["button"], hosted_url)
    body.para(f"{words['regards']}\n{seller_name}")
    body.attach_to(mail)
    _attach_pdf(mail, pdf, number)
    return mail
