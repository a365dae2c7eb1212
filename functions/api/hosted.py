"""The hosted invoice page as HTTP: ``GET /i/<token>`` (the page), ``/i/<token>/pdf`` and
``/i/<token>/einvoice`` (downloads: a 302 to a signed link, valid 15 minutes, as
``invoice.pdf`` / ``invoice.einvoice`` give the owner).

Served by the API function (the Function URL in AWS) and, through the same
``lambda_handler``, by ``billow serve``. Every miss — malformed, unknown, replaced by
``invoice.rotate_link``, a draft — is the same 404 page in the reader's language
(``functions.hosted.pages.render_not_found``); a client that asks for too many unknown tokens
gets 429 (``functions.services.hosted.find_by_token``). The page sends its own strict CSP (no
script at all), ``X-Robots-Tag: noindex``, ``Referrer-Policy: no-referrer``; the local
server's default security headers never replace them (``infra.web.Response.final_headers``
adds only the headers not already set).

The first GET of the page records ``viewed`` (``functions.services.hosted.record_view``); a
HEAD or a browser prefetch (``Sec-Purpose``/``Purpose: prefetch``) does not count.
"""

from __future__ import annotations

import hmac
import logging
import os
from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.api import runtime
from functions.domain.errors import BillowError, NotFound, RateLimited
from functions.hosted import pages, tokens
from functions.services.registry import Context

logger = logging.getLogger("billow.hosted")

#: The buyer's e-invoice format → the syntax offered on the page (as ``invoice.send`` sends).
EINVOICE_SYNTAX = {"facturx": "cii", "xrechnung": "xrechnung", "peppol": "ubl"}


def _header(event: Any, name: str) -> str | None:
    for key, value in (event.headers or {}).items():
        if key.lower() == name:
            return value
    return None


def page_response(page: pages.HostedPage) -> Response:
    headers = dict(page.headers)
    content_type = headers.pop("Content-Type")
    return Response(
        status_code=page.status, content_type=content_type, body=page.body, headers=headers
    )


def _redirect(url: str) -> Response:
    return Response(
        status_code=302,
        body="",
        headers={
            "Location": url,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex, nofollow",
        },
    )


def client_address(event: Any) -> str:
    """The customer's address, for the rate limit of unknown tokens: the connection's
    (``requestContext.http.sourceIp``: in ``billow serve`` already the client behind a trusted
    proxy), or — behind CloudFront, whose edge would otherwise share one bucket among all its
    viewers — ``CloudFront-Viewer-Address``, but only when the request carries the origin
    header CloudFront adds (``X-Billow-Edge`` equal to ``BILLOW_EDGE_SECRET``): anyone can send
    the viewer header straight to the Function URL."""
    source = event.request_context.http.source_ip or ""
    secret = os.environ.get("BILLOW_EDGE_SECRET") or ""
    viewer = _header(event, "cloudfront-viewer-address") or ""
    edge = _header(event, "x-billow-edge") or ""
    if secret and viewer and hmac.compare_digest(edge.encode(), secret.encode()):
        host = viewer.rpartition(":")[0].strip("[]")  # "ip:port", IPv6 without brackets
        if host:
            return host
    return source


def _is_prefetch(event: Any) -> bool:
    purpose = (_header(event, "sec-purpose") or _header(event, "purpose") or "").lower()
    return "prefetch" in purpose or "prerender" in purpose


def answer(event: Any, public_url: str) -> Response:
    """The answer to one GET under ``/i/``."""
    from functions.services import hosted

    language = _header(event, "accept-language")
    found = tokens.parse_path(event.path or "")
    if found is None or found.kind != "invoice":
        return page_response(pages.render_not_found(language))
    store = runtime.get_store()
    try:
        rec = hosted.find_by_token(store, found.token, client_address(event))
    except RateLimited as exc:
        return page_response(pages.render_rate_limited(exc.retry_after, language))
    except NotFound:
        return page_response(pages.render_not_found(language))
    ctx = Context(
        store=store,
        account_id=rec.account_id,
        actor="customer",
        public_url=public_url,
        services=runtime.services(),
    )
    try:
        if found.part == "pdf":
            return _redirect(_pdf_link(ctx, rec.key))
        if found.part == "einvoice":
            return _redirect(_einvoice_link(ctx, rec))
    except BillowError:  # e.g. a format the document cannot be written in: nothing to offer
        return page_response(pages.render_not_found(language))
    if (event.http_method or "GET").upper() == "GET" and not _is_prefetch(event):
        try:
            rec = hosted.record_view(ctx, rec.key)
        except Exception:  # the customer still sees the page; the next view records it
            logger.exception("recording the view of %s failed", rec.key)
    return page_response(_invoice_page(ctx, rec, found.token))


def _path(ctx: Context, rec: Any) -> str | None:
    """The same-origin path of a document's current page (``None`` if it has none)."""
    from functions.services import hosted

    version = rec.data.get("hosted_link_version") if rec is not None else None
    if not version or rec.data.get("status", "draft") == "draft":
        return None
    return tokens.INVOICE_PREFIX + hosted.link_token(ctx, rec.key, int(version))


def _invoice_page(ctx: Context, rec: Any, token: str) -> pages.HostedPage:
    from functions.services.invoices import INVOICES, present

    base = tokens.INVOICE_PREFIX + token
    credit_notes = []
    for note_id in rec.data.get("credit_note_ids") or []:
        note = ctx.store.get(INVOICES, str(note_id))
        path = _path(ctx, note) if note and note.account_id == rec.account_id else None
        if path:
            credit_notes.append((str(note.data.get("number") or note.key), path))
    original_url = None
    original_id = rec.data.get("original_invoice_id")
    if original_id:
        original = ctx.store.get(INVOICES, str(original_id))
        if original is not None and original.account_id == rec.account_id:
            original_url = _path(ctx, original)
    einvoice = EINVOICE_SYNTAX.get(_einvoice_format(rec))
    return pages.render_invoice_page(
        present(rec),
        pdf_url=f"{base}/pdf",
        einvoice_url=f"{base}/einvoice" if einvoice else None,
        credit_notes=credit_notes,
        original_url=original_url,
    )


def _einvoice_format(rec: Any) -> str:
    buyer = rec.data.get("buyer") or {}
    return str(buyer.get("einvoice_format") or "facturx")


def _pdf_link(ctx: Context, invoice_id: str) -> str:
    from functions.services.invoices import InvoiceRef
    from functions.services.invoices_finalize import invoice_pdf

    return str(invoice_pdf(ctx, InvoiceRef(invoice_id=invoice_id))["url"])


def _einvoice_link(ctx: Context, rec: Any) -> str:
    from functions.services.invoices_einvoice import InvoiceEInvoice, invoice_einvoice

    syntax = EINVOICE_SYNTAX.get(_einvoice_format(rec))
    if syntax is None:
        raise NotFound("no e-invoice")
    params = InvoiceEInvoice(invoice_id=rec.key, format=syntax)
    return str(invoice_einvoice(ctx, params)["url"])
