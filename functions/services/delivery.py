"""How a finalized document reaches its buyer: what is attached, and by which transport.

The client's ``einvoice_format`` (frozen on the document at finalize) decides the files:
``facturx`` the Factur-X PDF (the CII XML is inside it); ``xrechnung`` the XRechnung XML plus
the PDF as a readable copy; ``peppol`` the Peppol BIS UBL plus the PDF.

A :class:`Transport` takes those files to the buyer. Today there is one, :class:`MailTransport`;
a Peppol access point is another implementation of the same ``deliver`` (chosen in
:func:`transport_for` for ``peppol`` clients once it exists), so ``invoice.send`` does not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .invoices_einvoice import CONTENT_TYPE, einvoice_xml, filename_for
from .registry import Context

#: The client's e-invoice format → the XML format attached beside the PDF (none for facturx).
ATTACHED_XML = {"facturx": None, "xrechnung": "xrechnung", "peppol": "ubl"}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


def einvoice_format(invoice: dict[str, Any]) -> str:
    """The frozen buyer's ``einvoice_format`` (``facturx`` when the document predates it)."""
    buyer = invoice.get("buyer") or {}
    return str(buyer.get("einvoice_format") or "facturx")


def xml_attachments(invoice_data: dict[str, Any]) -> list[Attachment]:
    """The e-invoice XML the buyer's format asks for beside the PDF (may be empty)."""
    from functions.domain.models import Invoice

    fmt = ATTACHED_XML.get(einvoice_format(invoice_data))
    if fmt is None:
        return []
    invoice = Invoice.model_validate(invoice_data)
    return [Attachment(filename_for(invoice, fmt), CONTENT_TYPE, einvoice_xml(invoice, fmt))]


class Transport(Protocol):
    """Takes a document's files to its buyer; returns a delivery id (e.g. a Message-ID)."""

    name: str

    def deliver(
        self,
        invoice: dict[str, Any],
        pdf: bytes,
        attachments: Sequence[Attachment],
        *,
        to: list[str],
        cc: list[str] | None,
        message: str | None,
    ) -> str: ...


class MailTransport:
    """E-mail through the configured mailer (outbox folder, SMTP or SES)."""

    name = "mail"

    def __init__(self, mailer: Any) -> None:
        self.mailer = mailer

    def deliver(
        self,
        invoice: dict[str, Any],
        pdf: bytes,
        attachments: Sequence[Attachment],
        *,
        to: list[str],
        cc: list[str] | None,
        message: str | None,
    ) -> str:
        from functions.mail.messages import invoice_message

        mail = invoice_message(
            invoice,
            pdf,
            to,
            cc,
            message,
            attachments=[(a.filename, a.content_type, a.data) for a in attachments],
        )
        return str(self.mailer.send(mail))


def transport_for(ctx: Context, invoice: dict[str, Any], mailer: Any) -> Transport:
    """The transport for this document: mail (a Peppol access point joins here later)."""
    return MailTransport(mailer)
