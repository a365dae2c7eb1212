"""What the API function needs at run time: the store and the I/O collaborators of services.

Everything heavy is imported on first use, not when the handler module is imported: the mail
transports (smtplib/ssl), the VIES client (requests), the PDF renderer (reportlab) and boto3
are paid only by the requests that need them. Cold start is a product feature.

Environment: ``BILLOW_STORE_URL`` (default: the SQLite file in ``BILLOW_DATA_DIR``, default
``.billow``), ``BILLOW_PUBLIC_URL`` (the app's origin, for sign-in links), ``BILLOW_PDF_FUNCTION``
(in AWS: render PDFs by invoking that function instead of in-process).
"""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage_adapter import Store, default_store_url, open_store

if TYPE_CHECKING:
    from email.message import EmailMessage

_lock = threading.Lock()
_stores: dict[str, Store] = {}


def store_url() -> str:
    return os.environ.get("BILLOW_STORE_URL") or default_store_url()


def get_store() -> Store:
    """The store for ``BILLOW_STORE_URL``, opened once per process (and per URL)."""
    url = store_url()
    store = _stores.get(url)
    if store is None:
        with _lock:
            store = _stores.get(url)
            if store is None:
                store = open_store(url)
                _stores[url] = store
    return store


def data_dir() -> Path:
    """``BILLOW_DATA_DIR``, else the folder of the SQLite file, else ``.billow``."""
    if os.environ.get("BILLOW_DATA_DIR"):
        return Path(os.environ["BILLOW_DATA_DIR"])
    parsed = urllib.parse.urlparse(store_url())
    if parsed.scheme in ("sqlite", "file", ""):
        return Path(urllib.parse.unquote(parsed.path)).parent
    return Path(".billow")


class LazyMailer:
    """A ``Mailer`` that picks the transport (outbox / SMTP / SES) on first send."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def send(self, message: EmailMessage) -> str:
        from functions.mail.transport import get_mailer

        return get_mailer(self.data_dir).send(message)


class LazyVerifier:
    """A VIES ``VatVerifier`` that imports the client (requests) on first check."""

    def check(self, vat_number: str, requester_vat: str | None) -> Any:
        from functions.vies.client import get_verifier

        return get_verifier().check(vat_number, requester_vat)


def render_pdf(store: Store, invoice: dict[str, Any]) -> Any:
    """Render an invoice's PDF and store it (``functions.pdf.store.render_and_store``).

    With ``BILLOW_PDF_FUNCTION`` set (AWS), the PDF function is invoked synchronously with
    ``{"invoice"}`` and its JSON answer returned; otherwise it runs in-process. Either way the
    renderer reads the logo from the blob the frozen seller names (``seller.logo_blob``), so
    the payload stays small (a Lambda payload is limited to 6 MB; a logo is up to 512 KiB).
    """
    function_name = os.environ.get("BILLOW_PDF_FUNCTION")
    if function_name:
        import boto3

        response = boto3.client("lambda").invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps({"invoice": invoice}, default=str),
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"PDF function failed: {payload}")
        return payload
    from functions.pdf.store import render_and_store

    return render_and_store(store, invoice)


def services() -> dict[str, Any]:
    """The collaborators every service call gets in ``Context.services``."""
    return {"mailer": LazyMailer(data_dir()), "vies": LazyVerifier(), "pdf": render_pdf}
