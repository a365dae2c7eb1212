"""The hosted quote page: ``GET /q/<token>`` (the quote), ``GET /q/<token>/pdf`` (its PDF)
and ``POST /q/<token>`` (the buyer accepts with a name, or declines), answered by the API
function — behind the Function URL and ``billow serve`` alike.

Why the forms need no CSRF token: the page has no session. The only credential is the
unguessable token in the URL itself (256 bits, see :mod:`.tokens`), no cookie is ever set or
read, so a third-party page cannot make a browser post with a credential it does not know. A
POST whose ``Origin`` names another host, or that the browser marks ``Sec-Fetch-Site:
cross-site``, is refused all the same (403), and the page's CSP
allows forms to post only to itself (``form-action 'self'``). A successful answer redirects
(303) back to the page, so a reload does not post again; the quote's transition table makes a
second answer a no-op message, never a second change.

A token is looked up by its SHA-256 in ``hosted_links`` (one read). Unknown tokens are
answered with the one 404 page of :func:`.pages.render_not_found`, and counted per client
network: past :data:`.tokens.MISSES_PER_WINDOW` misses that client gets 429 for a while.

:func:`register` adds the routes to the API's resolver (``functions/api/handler.py``).
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse
from typing import Any

QUOTES = "quotes"
HOSTED_LINKS = "hosted_links"
MISSES = "hosted_misses"


def _headers(event: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in (event.headers or {}).items()}


def _source_ip(event: Any) -> str:
    try:
        return str(event.request_context.http.source_ip or "")
    except AttributeError:
        return ""


def _html(page: Any) -> Any:
    from aws_lambda_powertools.event_handler import Response

    headers = dict(page.headers)
    content_type = headers.pop("Content-Type", "text/html; charset=utf-8")
    return Response(
        status_code=page.status, content_type=content_type, body=page.body, headers=headers
    )


def _redirect(location: str) -> Any:
    from aws_lambda_powertools.event_handler import Response

    return Response(
        status_code=303,
        content_type="text/plain; charset=utf-8",
        body="",
        headers={
            "Location": location,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex, nofollow",
        },
    )


def _miss_allowed(store: Any, event: Any) -> tuple[bool, int]:
    from .tokens import check_misses, client_bucket

    rec = store.get(MISSES, client_bucket(_source_ip(event)))
    decision = check_misses(list((rec.data.get("misses") if rec else None) or []), time.time())
    return decision.allowed, decision.retry_after


def _record_miss(store: Any, event: Any) -> None:
    from storage_adapter import VersionConflict

    from .tokens import client_bucket, record_miss

    key = client_bucket(_source_ip(event))

    def run(tx: Any) -> None:
        rec = tx.get(MISSES, key)
        misses = record_miss(list((rec.data.get("misses") if rec else None) or []), time.time())
        tx.put(
            MISSES,
            key,
            {"misses": misses},
            account_id=None,
            expected_version=rec.version if rec else 0,
        )

    with contextlib.suppress(VersionConflict):  # a concurrent miss of this client counted
        store.transaction(run)


def _lookup(event: Any, token: str) -> tuple[Any, Any] | Any:
    """``(context, quote record)`` of a token, or the 404/429 page to answer with."""
    from functions.api import runtime
    from functions.services.common import hash_secret
    from functions.services.registry import Context

    from .pages import render_not_found, render_rate_limited
    from .tokens import is_token

    store = runtime.get_store()
    language = _headers(event).get("accept-language")
    allowed, retry_after = _miss_allowed(store, event)
    link = store.get(HOSTED_LINKS, hash_secret(token)) if is_token(token) else None
    if link is None or link.data.get("kind") != "quote":
        if not allowed:
            return _html(render_rate_limited(retry_after, language))
        _record_miss(store, event)
        return _html(render_not_found(language))
    rec = store.get(QUOTES, str(link.data.get("document_id") or ""))
    if rec is None or rec.account_id != link.account_id:
        return _html(render_not_found(language))
    ctx = Context(
        store=store,
        account_id=rec.account_id,
        actor="customer",
        public_url=_public_url(event),
        services=runtime.services(),
    )
    # a link made for an older link version (none yet: quotes have no rotate) opens nothing
    if int(rec.data.get("link_version") or 0) != int(link.data.get("link_version") or 0):
        return _html(render_not_found(language))
    return ctx, rec


def _public_url(event: Any) -> str:
    from functions.api.handler import _public_url as public_url

    return public_url(event)


def _page(ctx: Any, rec: Any, token: str, *, notice: str | None = None, status: int = 200) -> Any:
    from functions.services.quotes import present

    from .pages import HostedPage, render_quote_page

    base = f"/q/{token}"
    shown = present(ctx, rec)
    valid_until = shown.get("valid_until")
    if shown.get("status") == "open" and valid_until and str(valid_until) < ctx.today:
        # past its last valid day: shown expired (and refused) before the daily run marks it
        shown = {**shown, "status": "expired"}
    page = render_quote_page(
        shown, accept_url=base, decline_url=base, pdf_url=f"{base}/pdf", notice=notice
    )
    if status != page.status:
        page = HostedPage(status, page.headers, page.body)
    return _html(page)


def _same_origin(event: Any) -> bool:
    """Whether a POST may come from this page: not when the browser says it was sent from
    another site (``Sec-Fetch-Site: cross-site``) or its ``Origin`` names another host.
    ``Origin: null`` is what a browser sends from our own page, whose ``Referrer-Policy`` is
    ``no-referrer``; the token in the URL is the credential either way."""
    headers = _headers(event)
    if headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = headers.get("origin")
    if not origin or origin == "null":
        return True
    hosts = {headers.get("x-forwarded-host"), headers.get("host")}
    with contextlib.suppress(AttributeError):
        hosts.add(event.request_context.domain_name)
    hosts.add(urllib.parse.urlsplit(_public_url(event)).netloc)
    return urllib.parse.urlsplit(origin).netloc.lower() in {h.lower() for h in hosts if h}


def _body(event: Any) -> bytes:
    raw = event.body or ""
    if event.is_base64_encoded:
        import base64

        return base64.b64decode(raw)
    return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)


def register(app: Any) -> None:
    """Add the quote page's routes to the API resolver ``app``."""

    @app.get("/q/<token>")
    def hosted_quote_page(token: str) -> Any:
        found = _lookup(app.current_event, token)
        if not isinstance(found, tuple):
            return found
        ctx, rec = found
        return _page(ctx, rec, token)

    @app.get("/q/<token>/pdf")
    def hosted_quote_pdf(token: str) -> Any:
        from functions.services.quotes import PDF_LINK_SECONDS, ensure_pdf

        found = _lookup(app.current_event, token)
        if not isinstance(found, tuple):
            return found
        ctx, rec = found
        rec, reference = ensure_pdf(ctx, rec)
        url, _expires = ctx.store.blob_url(
            reference["blob_key"], filename=reference["filename"], expires_in=PDF_LINK_SECONDS
        )
        return _redirect(url)

    @app.post("/q/<token>")
    def hosted_quote_answer(token: str) -> Any:
        from functions.domain.errors import InvalidState, ValidationFailed
        from functions.services.quotes import answer_quote

        from .forms import parse_quote_answer
        from .labels import labels_for

        event = app.current_event
        if not _same_origin(event):
            from aws_lambda_powertools.event_handler import Response

            return Response(
                status_code=403, content_type="text/plain; charset=utf-8", body="forbidden"
            )
        found = _lookup(event, token)
        if not isinstance(found, tuple):
            return found
        ctx, rec = found
        try:
            answer = parse_quote_answer(_body(event), _headers(event).get("content-type"))
            ctx.actor = f"customer:{answer.name}" if answer.name else "customer"
            answer_quote(
                ctx, rec.key, decision=answer.decision, name=answer.name, reason=answer.reason
            )
        except ValidationFailed as exc:
            notice = "; ".join(f"{d.field}: {d.message}" for d in exc.details)
            return _page(ctx, rec, token, notice=notice, status=422)
        except InvalidState:
            current = ctx.store.get(QUOTES, rec.key) or rec
            buyer = current.data.get("buyer") or {}
            lab = labels_for(str(buyer.get("locale") or "en")[:2])
            status = str(current.data.get("status"))
            if status == "open":  # refused while open: its last valid day has passed
                status = "expired"
            notice = lab.get(f"status_{status}", status)
            return _page(ctx, current, token, notice=notice, status=409)
        return _redirect(f"/q/{token}")
