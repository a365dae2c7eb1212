"""Mail transports: one ``Mailer`` interface, three ways to deliver.

- ``OutboxMailer`` writes each message as an RFC 5322 ``.eml`` file into a folder (the local
  default, ``<data-dir>/outbox/``), so a developer can open what would have been sent.
- ``SmtpMailer`` hands the message to an SMTP server given as ``BILLOW_SMTP_URL``.
- ``SesMailer`` sends it through Amazon SES v2 as a raw MIME message (boto3, imported lazily so
  that functions which never mail do not pay for it at cold start).

``get_mailer`` picks one from the environment. In AWS Lambda with no transport configured it
refuses to start instead of writing mail into the function's throw-away ``/tmp``: mail that
silently goes nowhere is worse than a clear configuration error.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import smtplib
import ssl
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from functions.domain.errors import BillowError

logger = logging.getLogger("billow.mail")

DEFAULT_DATA_DIR = ".billow"
DEFAULT_SMTP_TIMEOUT = 10.0

__all__ = [
    "MailConfigurationError",
    "MailDeliveryError",
    "Mailer",
    "OutboxMailer",
    "SesMailer",
    "SmtpMailer",
    "get_mailer",
]


class MailDeliveryError(BillowError):
    """The message could not be handed to the transport; ``message`` says why.

    Callers (``invoice.send``) record the reason as ``send_failed`` and leave the status alone.
    """

    code = "mail_delivery_failed"


class MailConfigurationError(BillowError):
    """The mail transport is missing or misconfigured; raised at start, before any send."""

    code = "mail_not_configured"


def _outbox_error(directory: Path, exc: OSError) -> MailDeliveryError:
    """The error a caller sees names the cause, not the server's folders (an API 502 reaches
    the user); the full path goes to the log."""
    logger.warning("could not write mail to outbox %s: %s", directory, exc)
    reason = exc.strerror or type(exc).__name__
    return MailDeliveryError(f"could not write mail to the outbox: {reason}")


class Mailer(ABC):
    """Delivers one message and returns its id."""

    @abstractmethod
    def send(self, message: EmailMessage) -> str:
        """Deliver ``message``; return its id, or raise ``MailDeliveryError``."""

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group the sends made inside the block (in this thread).

        When the block has exited normally, every message sent inside is as safely delivered
        as a lone ``send`` leaves it. If leaving the block raises ``MailDeliveryError``, none
        of the block's messages may be counted as sent. The default groups nothing.
        """
        yield


def _recipients(message: EmailMessage) -> list[str]:
    """Envelope recipients from To, Cc and Bcc (addresses only, de-duplicated, in order)."""
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    seen: dict[str, None] = {}
    for _name, addr in getaddresses(fields):
        if addr:
            seen.setdefault(addr, None)
    return list(seen)


def _ensure_ids(message: EmailMessage) -> str:
    """Give the message a Message-ID and a Date if it has none; return the Message-ID."""
    if message["Date"] is None:
        message["Date"] = format_datetime(datetime.now(UTC))
    if message["Message-ID"] is None:
        _name, sender = parseaddr(str(message.get("From", "")))
        domain = sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
    return str(message["Message-ID"]).strip()


# --- outbox -----------------------------------------------------------------------------------

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
# Breaks ties between messages written in the same microsecond by one process, so that
# sorting the names always gives the order of sending.
_outbox_sequence = itertools.count(1)


class OutboxMailer(Mailer):
    """Writes one ``.eml`` file per message into ``directory``.

    File names are ``<UTC time to the microsecond>-<sequence>-<Message-ID>.eml``, so ``ls``
    lists mail in the order it was sent and names never collide. Each file is written to a
    hidden temporary file in the same folder and renamed into place, so a reader never sees
    half a message.

    A lone ``send`` fsyncs its file before returning. Inside ``batch()`` it does not; leaving
    the block fsyncs every file of the batch (several at once, which the filesystem commits
    together, instead of one disk wait per message) and then the folder, so that the new names
    survive a crash as well. Only fsync makes a file's *content* durable: fsyncing the folder
    alone can leave zero-length files after a power cut (ext4's delayed allocation), so the
    files themselves are still each fsynced.
    """

    #: Files fsynced at once when a batch ends.
    FSYNC_WORKERS = 16

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._local = threading.local()  # the open batch of this thread: files not yet fsynced

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        if getattr(self._local, "pending", None) is not None:  # nested: the outer one syncs
            yield
            return
        pending: list[Path] = []
        self._local.pending = pending
        try:
            yield
        finally:
            self._local.pending = None
            if pending:
                self._sync(pending)

    def _sync(self, files: list[Path]) -> None:
        """fsync ``files`` and the folder; on failure remove them and raise."""

        def fsync(path: Path) -> None:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

        try:
            with ThreadPoolExecutor(min(self.FSYNC_WORKERS, len(files))) as pool:
                list(pool.map(fsync, files))
            if os.name == "posix":  # a folder cannot be opened for fsync on Windows
                fsync(self.directory)
        except OSError as exc:
            for path in files:  # not known to be on disk: not sent (the caller may retry)
                path.unlink(missing_ok=True)
            raise _outbox_error(self.directory, exc) from exc

    def send(self, message: EmailMessage) -> str:
        message_id = _ensure_ids(message)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        slug = _UNSAFE_FILENAME.sub("_", message_id.strip("<>"))[:120]
        target = self.directory / f"{stamp}-{next(_outbox_sequence) % 1_000_000:06d}-{slug}.eml"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            data = message.as_bytes(policy=policy.SMTP)  # CRLF line ends, as RFC 5322 wants
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml.part")
            try:
                pending = getattr(self._local, "pending", None)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    if pending is None:
                        os.fsync(fh.fileno())
                os.replace(tmp, target)
                if pending is not None:
                    pending.append(target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise _outbox_error(self.directory, exc) from exc
        logger.info(
            "mail written to outbox: %s (to: %s; subject: %s)",
            target,
            ", ".join(_recipients(message)),
            message.get("Subject", ""),
        )
        return message_id


# --- SMTP -------------------------------------------------------------------------------------

_SMTP_SCHEMES = {"smtp": (25, None), "smtp+starttls": (587, "starttls"), "smtps": (465, "tls")}


class SmtpMailer(Mailer):
    """Sends through an SMTP server given as a URL.

    ``smtp://[user:pass@]host[:port]`` (plain, port 25), ``smtp+starttls://...`` (STARTTLS is
    required, port 587) and ``smtps://...`` (TLS from the first byte, port 465). User name and
    password are percent-decoded; when given, the mailer logs in. ``?timeout=SECONDS`` in the
    URL overrides the connection timeout. Pass ``ssl_context`` to trust a private CA.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _SMTP_SCHEMES:
            raise MailConfigurationError(
                f"BILLOW_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://, "
                f"not {scheme or '(no scheme)'}://"
            )
        try:
            port = parts.port
        except ValueError as exc:
            raise MailConfigurationError(f"BILLOW_SMTP_URL has an invalid port: {exc}") from exc
        if not parts.hostname:
            raise MailConfigurationError("BILLOW_SMTP_URL names no host")
        default_port, self.security = _SMTP_SCHEMES[scheme]
        self.host: str = parts.hostname
        self.port: int = port or default_port
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else ""
        query_timeout = parse_qs(parts.query).get("timeout")
        try:
            self.timeout = float(
                timeout
                if timeout is not None
                else (query_timeout[0] if query_timeout else DEFAULT_SMTP_TIMEOUT)
            )
        except ValueError as exc:
            raise MailConfigurationError("BILLOW_SMTP_URL timeout must be a number") from exc
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname

    def __repr__(self) -> str:  # never show the password
        user = f"{self.username}@" if self.username else ""
        return f"SmtpMailer({self.security or 'plain'}://{user}{self.host}:{self.port})"

    @property
    def _where(self) -> str:
        return f"SMTP server {self.host}:{self.port}"

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self._context(),
            )
        return smtplib.SMTP(
            self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
        )

    def send(self, message: EmailMessage) -> str:
        message_id = _ensure_ids(message)
        recipients = _recipients(message)
        if not recipients:
            raise MailDeliveryError("the message has no recipient")
        step = "connect to"
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    step = "start TLS with"
                    smtp.ehlo()
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if self.username:
                    step = "log in to"
                    smtp.login(self.username, self.password)
                step = "send through"
                # Bcc must not travel in the headers; smtplib.send_message strips it.
                refused = smtp.send_message(message, to_addrs=recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailDeliveryError(
                f"{self._where} rejected the login for {self.username!r}: {_smtp_reply(exc)}"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise MailDeliveryError(f"could not {step} {self._where}: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            refused_all = ", ".join(
                f"{addr} ({_smtp_reply_tuple(reply)})" for addr, reply in exc.recipients.items()
            )
            raise MailDeliveryError(
                f"{self._where} refused every recipient: {refused_all}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise MailDeliveryError(f"could not {step} {self._where}: {_smtp_reply(exc)}") from exc
        except TimeoutError as exc:
            raise MailDeliveryError(
                f"could not {step} {self._where}: no answer within {self.timeout:g} s"
            ) from exc
        except ssl.SSLError as exc:
            raise MailDeliveryError(f"TLS failed with {self._where}: {exc.reason or exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise MailDeliveryError(f"could not {step} {self._where}: {reason}") from exc
        if refused:
            # The message went to the other recipients, so raising would make a retry send it
            # twice to them; say loudly which addresses did not get it instead.
            logger.warning(
                "mail %s: %s refused some recipients: %s", message_id, self._where, refused
            )
        logger.info("mail %s sent through %s to %s", message_id, self._where, recipients)
        return message_id


def _smtp_reply_tuple(reply: Any) -> str:
    code, text = reply
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    return _smtp_reply_tuple((exc.smtp_code, exc.smtp_error))


# --- Amazon SES v2 ----------------------------------------------------------------------------


class SesMailer(Mailer):
    """Sends through Amazon SES v2 (``send_email`` with raw MIME content).

    ``from_address`` must be a verified SES identity (an address or its domain). Returns the
    SES message id, which is what SES bounce and delivery notifications refer to.
    """

    def __init__(
        self,
        region: str | None,
        from_address: str,
        endpoint_url: str | None = None,
        *,
        configuration_set: str | None = None,
    ) -> None:
        if not from_address:
            raise MailConfigurationError("SES needs a verified sender: set BILLOW_MAIL_FROM")
        self.region = region
        self.from_address = from_address
        self.endpoint_url = endpoint_url
        self.configuration_set = configuration_set
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # lazy: only the functions that mail pay for boto3

            self._client = boto3.client(
                "sesv2", region_name=self.region, endpoint_url=self.endpoint_url
            )
        return self._client

    def send(self, message: EmailMessage) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        if message["From"] is None:
            message["From"] = self.from_address
        header_id = _ensure_ids(message)
        recipients = _recipients(message)
        if not recipients:
            raise MailDeliveryError("the message has no recipient")
        params: dict[str, Any] = {
            "FromEmailAddress": self.from_address,
            "Destination": {"ToAddresses": recipients},
            "Content": {"Raw": {"Data": message.as_bytes(policy=policy.SMTP)}},
        }
        if self.configuration_set:
            params["ConfigurationSetName"] = self.configuration_set
        try:
            answer = self.client.send_email(**params)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise MailDeliveryError(
                f"Amazon SES refused the message: {err.get('Code', 'error')}: "
                f"{err.get('Message', '')}".rstrip(": ")
            ) from exc
        except BotoCoreError as exc:
            raise MailDeliveryError(f"could not reach Amazon SES: {exc}") from exc
        ses_id = str(answer.get("MessageId", "")) or header_id
        logger.info("mail %s sent through Amazon SES as %s to %s", header_id, ses_id, recipients)
        return ses_id


# --- choosing a transport ---------------------------------------------------------------------


def get_mailer(
    data_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] = os.environ,
) -> Mailer:
    """The transport the environment asks for.

    1. ``BILLOW_SMTP_URL`` set: SMTP.
    2. ``BILLOW_MAIL_TRANSPORT=ses``: SES v2 from ``BILLOW_MAIL_FROM`` in ``BILLOW_SES_REGION``
       (else ``AWS_REGION``/``AWS_DEFAULT_REGION``); ``BILLOW_SES_ENDPOINT_URL`` overrides the
       endpoint, ``BILLOW_SES_CONFIGURATION_SET`` names a configuration set.
    3. ``BILLOW_MAIL_TRANSPORT=outbox`` or not running in AWS Lambda: the outbox folder
       ``<data_dir>/outbox`` (``data_dir`` defaults to ``BILLOW_DATA_DIR`` or ``.billow``).
    4. In Lambda with nothing configured: ``MailConfigurationError``.

    Also raises ``MailConfigurationError`` when ``BILLOW_MAIL_FROM`` is set but malformed.
    """
    from functions.mail.messages import sender_address  # here: messages imports this module

    sender_address(env)  # a malformed BILLOW_MAIL_FROM fails now, not at the first send
    transport = env.get("BILLOW_MAIL_TRANSPORT", "").strip().lower()
    smtp_url = env.get("BILLOW_SMTP_URL", "").strip()
    if transport not in ("", "smtp", "ses", "outbox"):
        raise MailConfigurationError(
            f"BILLOW_MAIL_TRANSPORT must be smtp, ses or outbox, not {transport!r}"
        )
    if smtp_url and transport in ("", "smtp"):
        return SmtpMailer(smtp_url)
    if transport == "smtp":
        raise MailConfigurationError("BILLOW_MAIL_TRANSPORT=smtp needs BILLOW_SMTP_URL")
    if transport == "ses":
        region = (
            env.get("BILLOW_SES_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        )
        if not region:
            raise MailConfigurationError(
                "BILLOW_MAIL_TRANSPORT=ses needs a region: set BILLOW_SES_REGION or AWS_REGION"
            )
        return SesMailer(
            region,
            env.get("BILLOW_MAIL_FROM", "").strip(),
            endpoint_url=env.get("BILLOW_SES_ENDPOINT_URL") or None,
            configuration_set=env.get("BILLOW_SES_CONFIGURATION_SET") or None,
        )
    if transport != "outbox" and env.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise MailConfigurationError(
            "no mail transport is configured for this AWS Lambda function: set "
            "BILLOW_MAIL_TRANSPORT=ses with BILLOW_MAIL_FROM (a verified SES identity), or "
            "BILLOW_SMTP_URL; refusing to start rather than drop mail"
        )
    base = Path(data_dir) if data_dir is not None else Path(env.get("BILLOW_DATA_DIR") or ".billow")
    return OutboxMailer(base / "outbox")
