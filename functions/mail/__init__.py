"""Mail: transports (outbox folder, SMTP, Amazon SES v2) and the messages Billow sends.

Typical use::

    from functions.mail import get_mailer, invoice_message

    mailer = get_mailer(data_dir)          # at start: raises if AWS has no transport
    mailer.send(invoice_message(invoice, pdf, to="buyer@example.com"))
"""

from functions.mail.messages import (
    invoice_message,
    reminder_message,
    sender_address,
    signin_message,
)
from functions.mail.transport import (
    MailConfigurationError,
    MailDeliveryError,
    Mailer,
    OutboxMailer,
    SesMailer,
    SmtpMailer,
    get_mailer,
)

__all__ = [
    "MailConfigurationError",
    "MailDeliveryError",
    "Mailer",
    "OutboxMailer",
    "SesMailer",
    "SmtpMailer",
    "get_mailer",
    "invoice_message",
    "reminder_message",
    "sender_address",
    "signin_message",
]
