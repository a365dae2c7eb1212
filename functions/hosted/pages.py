"""The customer's pages as complete HTTP answers: status, headers, HTML body.

Rendering: Jinja2 with autoescaping on every template and ``StrictUndefined`` (a missing
value is an error in our tests, never an empty hole on a customer's page). Every value the
templates print is plain text from :mod:`functions.hosted.view` and is escaped; the only markup
passed in is ours (the style sheet and the QR code's SVG).

No script at all, and the style sheet travels inside the page: the app's CSP
(``style-src 'self'``) would refuse an inline ``<style>``, so a hosted page sends its *own*
Content-Security-Policy naming the SHA-256 of that ``<style>`` element::

    default-src 'none'; style-src 'sha256-…'; img-src data:; form-action 'self';
    base-uri 'none'; frame-ancestors 'none'

- one request per page, the same answer behind the Function URL and ``billow serve``, no
  static route to add for the CSS, nothing to cache-bust;
- ``default-src 'none'`` with no ``script-src``: no script can run, first- or third-party;
- a hash, not a nonce: the sheet depends only on the seller's (validated) brand colour, so the
  same page gives the same header, and nothing random has to be threaded through.

Headers of every page: ``X-Robots-Tag: noindex, nofollow``, ``Referrer-Policy: no-referrer``
(the token in the URL never leaks to the sites a customer follows a link to),
``Cache-Control: no-store`` (status changes, and the page is private), ``nosniff``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from functions.pdf.labels import SUPPORTED

from .labels import labels_for
from .view import DEFAULT_BRAND, DocumentView, invoice_view, quote_view

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_NAME = 200
MAX_REASON = 1000


@dataclass(frozen=True)
class HostedPage:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def body_bytes(self) -> bytes:
        return self.body.encode("utf-8")


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2  # paid only by the hosted pages

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


@lru_cache(maxsize=1)
def _css_template() -> str:
    return (TEMPLATES / "hosted.css").read_text(encoding="utf-8")


@lru_cache(maxsize=64)
def stylesheet(brand: str) -> str:
    """The page's style sheet with the (already validated) brand colour."""
    return _css_template().replace("--brand: #1f4e79;", f"--brand: {brand};", 1)


def style_hash(css: str) -> str:
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def content_security_policy(css: str) -> str:
    return (
        f"default-src 'none'; style-src '{style_hash(css)}'; img-src data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def page_headers(css: str, lang: str) -> dict[str, str]:
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": content_security_policy(css),
        "X-Robots-Tag": "noindex, nofollow",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Content-Language": lang,
    }


def _render(template: str, status: int, brand: str, lang: str, **context: Any) -> HostedPage:
    from markupsafe import Markup

    css = stylesheet(brand)
    # Our own style sheet (the only variable part, the brand colour, is a validated #rrggbb):
    # marked safe so it is inserted byte for byte and its hash matches the CSP.
    sheet = Markup(css)  # noqa: S704
    html = _environment().get_template(template).render(css=sheet, lang=lang, **context)
    return HostedPage(status, page_headers(css, lang), html)


def _footer_text(doc: Mapping[str, Any]) -> str:
    seller = doc.get("seller") if isinstance(doc.get("seller"), Mapping) else {}
    return " ".join(str(seller.get("footer_text") or "").split())


def render_view(
    template: str, view: DocumentView, doc: Mapping[str, Any], **more: Any
) -> HostedPage:
    return _render(
        template,
        200,
        view.brand,
        view.tag,
        v=view,
        page_title=view.title,
        footer_text=_footer_text(doc),
        **more,
    )


def render_invoice_page(
    invoice: Mapping[str, Any],
    *,
    pdf_url: str | None = None,
    einvoice_url: str | None = None,
    credit_notes: Sequence[tuple[str, str]] | None = None,
    original_url: str | None = None,
    locale: str | None = None,
) -> HostedPage:
    """The hosted page of a finalized invoice or credit note (the JSON of ``invoice.get``).

    ``pdf_url``/``einvoice_url``: the download links (e.g. ``<hosted url>/pdf``);
    ``credit_notes``: (number, hosted URL) of each credit note against this invoice;
    ``original_url``: for a credit note, the hosted page of the invoice it corrects.
    """
    view = invoice_view(
        invoice,
        pdf_url=pdf_url,
        einvoice_url=einvoice_url,
        credit_notes=credit_notes,
        original_url=original_url,
        locale=locale,
    )
    return render_view("invoice.html", view, invoice)


def render_quote_page(
    quote: Mapping[str, Any],
    *,
    accept_url: str,
    decline_url: str,
    pdf_url: str | None = None,
    notice: str | None = None,
    locale: str | None = None,
) -> HostedPage:
    """The hosted page of a quote: the document, and while it is open two forms that POST
    without any script (``application/x-www-form-urlencoded``, read by
    :func:`functions.hosted.forms.parse_quote_answer`). ``notice``: a line shown on top (the
    result of the last answer, after the POST's 303 redirect back here)."""
    view = quote_view(quote, pdf_url=pdf_url, locale=locale)
    return render_view(
        "quote.html",
        view,
        quote,
        accept_url=accept_url,
        decline_url=decline_url,
        notice=notice or "",
        max_name=MAX_NAME,
        max_reason=MAX_REASON,
    )


def not_found_language(accept_language: str | None) -> str:
    """The reader's preferred supported language (``Accept-Language``), else English."""
    from babel import Locale

    preferred = []
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip()
        if tag and tag != "*":
            preferred.append(tag.replace("-", "_"))
    chosen = Locale.negotiate(preferred, list(SUPPORTED), sep="_") if preferred else None
    return str(chosen.language) if chosen else "en"


def render_not_found(accept_language: str | None = None) -> HostedPage:
    """The one 404 of every hosted URL that shows no document: unknown, malformed or replaced
    (rotated) alike — the answer depends only on the request's language, so it tells nothing
    about whether a token ever existed."""
    lang = not_found_language(accept_language)
    lab = labels_for(lang)
    title, message = lab["not_found_title"], lab["not_found_text"]
    return _render(
        "not_found.html", 404, DEFAULT_BRAND, lang, title=title, message=message, page_title=title
    )


def render_rate_limited(retry_after: int, accept_language: str | None = None) -> HostedPage:
    """429 for a client that has asked for too many unknown tokens (see :mod:`.tokens`)."""
    lang = not_found_language(accept_language)
    lab = labels_for(lang)
    title, message = lab["too_many_title"], lab["too_many_text"]
    page = _render(
        "not_found.html", 429, DEFAULT_BRAND, lang, title=title, message=message, page_title=title
    )
    page.headers["Retry-After"] = str(max(1, int(retry_after)))
    return page
