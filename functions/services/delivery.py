"""How a finalized document reaches its buyer: what is attached, and by which transport.

The client's ``einvoice_format`` (frozen on the document at finalize) decides the files:
``facturx`` the Factur-X PDF (the CII XML is inside it); ``xrechnung`` the XRechnung XML plus
the PDF as a readable copy; ``peppol`` the Peppol BIS UBL plus the PDF.

A :class:`Transport` takes those files to the buyer. Today there is one, :class:`MailTransport`.
A Peppol access point is another implementation of the same protocol, registered in the
context's services (``ctx.services["transports"] = {"peppol": access_point}``) and chosen by
:func:`transport_for` for the buyers whose format it serves; ``invoice.send`` does not change:
the transport says who the recipients are (mail: e-mail addresses, given or the client's; an
access point: the buyer's electronic address), delivers, and raises its own ``failure`` when the
document did not go out (``send_failed`` is recorded, the status stays).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from functions.domain.errors import BillowError, ValidationFailed

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

    #: recorded on the ``sent`` / ``send_failed`` events (``mail``, ``peppol`` ...)
    name: str
    #: what :meth:`deliver` raises when the document did not go out (the API maps its code)
    failure: type[BillowError]

    def recipients(self, invoice: dict[str, Any], requested: list[str]) -> list[str]:
        """Where the document goes: ``requested`` (``to``, else the client's e-mail) or the
        transport's own addressing; ``ValidationFailed`` when there is nowhere to send it."""
        ...

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
        from functions.mail.transport import MailDeliveryError

        self.mailer = mailer
        self.failure = MailDeliveryError

    def recipients(self, invoice: dict[str, Any], requested: list[str]) -> list[str]:
        if not requested:
            raise ValidationFailed.one("to", "the client has no e-mail address; give 'to'")
        return requested

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
        from functions.mail.transport import MailConfigurationError

        mail = invoice_message(
            invoice,
            pdf,
            to,
            cc,
            message,
            attachments=[(a.filename, a.content_type, a.data) for a in attachments],
        )
        try:
            return str(self.mailer.send(mail))
        except MailConfigurationError as exc:  # a send that cannot go out: a failed delivery
            raise self.failure(exc.message) from exc


def transport_for(ctx: Context, invoice: dict[str, Any], mailer: Callable[[], Any]) -> Transport:
    """The transport for this document: the one registered for the buyer's e-invoice format
    (``ctx.services["transports"]``, e.g. a Peppol access point for ``peppol``), else mail
    through ``mailer()`` (asked for only then: an access point needs no mail settings)."""
    registered = (ctx.services.get("transports") or {}).get(einvoice_format(invoice))
    return registered if registered is not None else MailTransport(mailer())
