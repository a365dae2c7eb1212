"""Quotes: ``quote.create/update/get/list/delete/timeline/finalize/pdf/send/accept/decline/
convert`` (contract "Quotes").

Storage: collection ``quotes``, key = quote id (``quo_…``), the record's account set; the data
is the domain :class:`~functions.domain.quotes.Quote` dumped to JSON plus ``client_name`` /
``client_email`` (searched by ``quote.list``), ``pdf.blob_key`` and ``link_version``. Every
change appends to the stream ``timeline:<quote_id>`` in the same commit.

The hosted page: a finalized quote has ``hosted_quote_url`` = ``<public URL>/q/<token>``. The
token is ``HMAC-SHA256(link key, quote id, link version)`` (``functions.hosted.tokens``, 256
bits), so the owner sees the same URL every time while the store keeps only ``sha256(token)``
(collection ``hosted_links``, keyed by that hash: one read per page view, no scan). The link key
lives outside the store: ``BILLOW_LINK_KEY`` (hex, ≥ 32 bytes) or ``<data dir>/link.key``.

``quote.convert`` writes the new draft invoice (``quote_id`` set, the quote's lines priced by
the invoice path) and the ``converted`` quote in one commit.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from functions.domain.errors import NotFound, ValidationFailed
from functions.domain.models import Client, Entity, parse_model
from functions.domain.quotes import (
    QUOTE_STATUSES,
    Quote,
    accept,
    complete_quote,
    converted,
    decline,
    draft_quote,
    invoice_from_quote,
    prepare_quote,
    preview_quote,
    quote_counter,
    quote_transition,
    update_quote,
)
from storage_adapter import Filter, Record, Sort, Transaction

from . import drafts
from .common import event, hash_secret, load, new_id
from .invoices import (
    INVOICES,
    LineInputs,
    known_statuses,
    load_client,
    load_entity,
    mutate,
    now_utc,
    search_filters,
    stored_data,
    timeline_stream,
    today,
)
from .invoices import present as present_invoice
from .records import ListParams, check_projection, list_page
from .registry import Context, Params, action

QUOTES = "quotes"
HOSTED_LINKS = "hosted_links"
PDF_LINK_SECONDS = 15 * 60

#: Fields the service keeps on a quote besides the model's.
SERVICE_FIELDS = ("client_name", "client_email", "link_version")
#: Bookkeeping, never shown.
INTERNAL_FIELDS = frozenset({"link_version"})
QUOTE_FIELDS_SHOWN = (frozenset(Quote.model_fields) - {"account_id"}) | {
    "client_name",
    "client_email",
    "version",
    "hosted_quote_url",
}


# --- the link key and the hosted URL ---------------------------------------------------------

_key_lock = threading.Lock()
_key_cache: dict[str, bytes] = {}


def _local_key(ctx: Context) -> bytes:
    """The link key file beside the SQLite database (else in the data dir), created once."""
    db_path = getattr(ctx.store, "db_path", None)
    folder = (
        Path(db_path).parent if db_path else Path(os.environ.get("BILLOW_DATA_DIR") or ".billow")
    )
    path = folder / "link.key"
    cached = _key_cache.get(str(path))
    if cached:
        return cached
    with _key_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            data = path.read_bytes()
        else:
            data = os.urandom(32)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        if len(data) < 32:
            raise RuntimeError(f"{path} holds no link key")
        _key_cache[str(path)] = data
        return data


def link_key(ctx: Context) -> bytes:
    """The key hosted-link tokens are derived with; never kept in the store. The shared one of
    the hosted pages (``functions.hosted.keys``: environment, SSM on AWS, or the key file) when
    that module is present, else the key file beside the database."""
    given = ctx.services.get("link_key")
    if isinstance(given, bytes):
        return given
    try:
        from functions.hosted.keys import link_key as shared_key  # type: ignore[import-not-found]
    except ImportError:
        return _local_key(ctx)
    return shared_key(ctx.store)


def quote_token(ctx: Context, quote_id: str, version: int) -> str:
    from functions.hosted.tokens import derive_token

    return derive_token(link_key(ctx), quote_id, version)


def hosted_quote_url(ctx: Context, rec: Record) -> str | None:
    version = rec.data.get("link_version")
    if not version:
        return None
    from functions.hosted.tokens import QUOTE_PREFIX, hosted_url

    return hosted_url(ctx.public_url, quote_token(ctx, rec.key, int(version)), prefix=QUOTE_PREFIX)


# --- record helpers ----------------------------------------------------------------------------


def to_quote(rec: Record) -> Quote:
    return parse_model(Quote, {**rec.data, "account_id": rec.account_id, "version": rec.version})


def quote_data(quote: Quote, previous: dict[str, Any] | None = None, **extra: Any) -> dict:
    return drafts.document_data(quote, previous, SERVICE_FIELDS, **extra)


def present(ctx: Context, rec: Record, fields: list[str] | None = None) -> dict[str, Any]:
    data = {k: v for k, v in rec.data.items() if k not in INTERNAL_FIELDS}
    pdf = data.get("pdf")
    if isinstance(pdf, dict) and "blob_key" in pdf:
        data["pdf"] = {k: v for k, v in pdf.items() if k != "blob_key"}
    data["version"] = rec.version
    data["hosted_quote_url"] = hosted_quote_url(ctx, rec)
    if fields is not None:
        return {f: data.get(f) for f in fields}
    return data


def load_quote(ctx: Context, quote_id: str, tx: Transaction | None = None) -> Record:
    return load(ctx, QUOTES, quote_id, tx)


def _check_update(quote: Quote) -> None:
    quote_transition(quote.status, "update")


def _draft(data: Any, entity: Entity, client: Client, products: Any, key: str) -> Quote:
    return draft_quote(data, entity, client, products, quote_id=key)


#: How quotes are drafted and stored: as invoices are (``functions.services.drafts``).
QUOTE_DRAFTS = drafts.DraftPath(
    QUOTES, "quo", to_quote, quote_data, _check_update, _draft, update_quote
)

#: ``write_quote(tx, ctx, rec, quote, events, **extra)``: store ``quote`` over ``rec``
#: (version-checked) with its timeline and ``quote.*`` webhook events (the outbox).
write_quote = QUOTE_DRAFTS.write


# --- parameters --------------------------------------------------------------------------------


class _QuoteFields(drafts.DraftFields):
    more_draft_fields = ("valid_until",)

    valid_until: date | None = None


class QuoteCreate(_QuoteFields):
    entity_id: str
    client_id: str
    lines: LineInputs = Field(default_factory=list)


class QuoteUpdate(_QuoteFields):
    quote_id: str
    version: int | None = None
    entity_id: str | None = None
    client_id: str | None = None
    lines: LineInputs | None = None


class QuoteRef(Params):
    quote_id: str


class QuoteGet(Params):
    quote_id: str
    fields: list[str] | None = None


class QuoteList(ListParams):
    q: str | None = None
    status: str | list[str] | None = None
    client_id: str | None = None
    entity_id: str | None = None
    sort_by: str = "created_at"
    sort_order: str = "desc"

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: str | list[str] | None) -> str | list[str] | None:
        return known_statuses(value, QUOTE_STATUSES)

    @field_validator("sort_by")
    @classmethod
    def _sort_by(cls, value: str) -> str:
        allowed = ("created_at", "issue_date", "valid_until", "total", "number", "client_name")
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    @field_validator("sort_order")
    @classmethod
    def _sort_order(cls, value: str) -> str:
        if value not in ("asc", "desc"):
            raise ValueError("must be asc or desc")
        return value


class QuoteSend(Params):
    quote_id: str
    to: str | list[str] | None = None
    cc: str | list[str] | None = None
    message: str | None = Field(default=None, max_length=5000)


class QuoteAccept(Params):
    quote_id: str
    name: str = Field(min_length=1, max_length=200)


class QuoteDecline(Params):
    quote_id: str
    reason: str | None = Field(default=None, max_length=1000)


# --- drafts ------------------------------------------------------------------------------------


@action("quote.create", QuoteCreate)
def create_quote(ctx: Context, p: QuoteCreate) -> dict[str, Any]:
    """A new ``draft`` quote with VAT resolved and totals computed as for an invoice."""
    new = drafts.new_draft(ctx, QUOTE_DRAFTS, p)
    return present(ctx, mutate(ctx, lambda tx: drafts.put_new_draft(tx, ctx, new)))


@action("quote.update", QuoteUpdate)
def update_quote_action(ctx: Context, p: QuoteUpdate) -> dict[str, Any]:
    """Change a draft quote; anything else is 409 ``invalid_state``."""
    return present(ctx, drafts.update_draft_record(ctx, QUOTE_DRAFTS, p, p.quote_id))


@action("quote.get", QuoteGet, mutating=False)
def get_quote(ctx: Context, p: QuoteGet) -> dict[str, Any]:
    check_projection(p.fields, QUOTE_FIELDS_SHOWN)
    return present(ctx, load_quote(ctx, p.quote_id), p.fields)


@action("quote.list", QuoteList, mutating=False)
def list_quotes(ctx: Context, p: QuoteList) -> dict[str, Any]:
    """Filter, sort and page the caller's quotes in the store's query."""
    filters = search_filters(p.q, p.status)
    for name in ("client_id", "entity_id"):
        value = getattr(p, name)
        if value is not None:
            filters.append(Filter(name, "eq", value))
    return list_page(
        ctx,
        QUOTES,
        p,
        allowed_fields=QUOTE_FIELDS_SHOWN,
        filters=filters,
        sort=Sort(p.sort_by, descending=p.sort_order == "desc", numeric=p.sort_by == "total"),
        represent=lambda rec: present(ctx, rec),
    )


@action("quote.delete", QuoteRef)
def delete_quote(ctx: Context, p: QuoteRef) -> dict[str, Any]:
    """Drafts only; a finalized quote keeps its number for good."""

    def run(tx: Transaction) -> str:
        rec = load_quote(ctx, p.quote_id, tx)
        quote_transition(str(rec.data.get("status", "draft")), "delete")
        tx.delete(QUOTES, rec.key, expected_version=rec.version)
        return rec.key

    return {"id": mutate(ctx, run), "object": "quote", "deleted": True}


@action("quote.timeline", QuoteRef, mutating=False)
def quote_timeline(ctx: Context, p: QuoteRef) -> dict[str, Any]:
    rec = load_quote(ctx, p.quote_id)
    return {"events": ctx.store.events(timeline_stream(rec.key))}


# --- finalize ----------------------------------------------------------------------------------


@action("quote.finalize", QuoteRef)
def finalize_quote(ctx: Context, p: QuoteRef) -> dict[str, Any]:
    """draft → ``open`` with the next number of the entity's quote series (gapless: taken in
    the same commit), seller and buyer frozen, the hosted link made; then the PDF."""

    def run(tx: Transaction) -> Record:
        rec = load_quote(ctx, p.quote_id, tx)
        quote = to_quote(rec)
        entity = load_entity(ctx, quote.entity_id, tx)
        client = load_client(ctx, quote.client_id, tx)
        prepared = prepare_quote(quote, entity, client, today(ctx))
        assert prepared.issue_date is not None and entity.id is not None
        seq = tx.next_number(quote_counter(entity.id, entity, prepared.issue_date))
        final = complete_quote(prepared, seq, now_utc(ctx))
        version = int(rec.data.get("link_version") or 0) + 1
        token = quote_token(ctx, rec.key, version)
        tx.put(
            HOSTED_LINKS,
            hash_secret(token),
            {"kind": "quote", "document_id": rec.key, "link_version": version},
            account_id=rec.account_id,
            expected_version=0,
        )
        return write_quote(
            tx,
            ctx,
            rec,
            final,
            [("finalized", {"number": final.number, "status": final.status})],
            link_version=version,
        )

    rec = mutate(ctx, run)
    try:
        rec, _ = ensure_pdf(ctx, rec)
    except Exception:  # the quote is issued; its PDF is rendered on demand
        import logging

        logging.getLogger("billow.quotes").exception("PDF of %s failed", rec.key)
    return present(ctx, rec)


# --- PDF ---------------------------------------------------------------------------------------


def render_quote(ctx: Context, shown: dict[str, Any]) -> tuple[bytes, str]:
    """The PDF of a quote (the JSON of ``quote.get``) and its file name."""
    from functions.pdf.render import filename_for, render_invoice_pdf
    from functions.pdf.store import seller_logo

    pdf = render_invoice_pdf(shown, logo=seller_logo(ctx.store, shown))
    return pdf, filename_for(shown)


def _store_pdf(ctx: Context, rec: Record, pdf: bytes, filename: str) -> dict[str, str]:
    import hashlib

    sha256 = hashlib.sha256(pdf).hexdigest()
    key = f"pdf/{rec.account_id}/{rec.key}/{sha256}.pdf"
    ctx.store.put_blob(key, pdf, "application/pdf")
    return {"blob_key": key, "sha256": sha256, "filename": filename}


def ensure_pdf(ctx: Context, rec: Record) -> tuple[Record, dict[str, str]]:
    """The stored PDF of a finalized quote, rendered now (once) if it has none."""
    pdf = rec.data.get("pdf") or {}
    if pdf.get("sha256") and pdf.get("blob_key"):
        return rec, pdf
    reference = _store_pdf(ctx, rec, *render_quote(ctx, present(ctx, rec)))

    def run(tx: Transaction) -> Record:
        current = load_quote(ctx, rec.key, tx)
        if (current.data.get("pdf") or {}).get("sha256"):
            return current
        new = tx.put(
            QUOTES,
            current.key,
            {**current.data, "pdf": reference},
            account_id=current.account_id,
            expected_version=current.version,
        )
        tx.append(
            timeline_stream(current.key),
            event(ctx, "pdf_rendered", {k: reference[k] for k in ("sha256", "filename")}),
        )
        return new

    rec = mutate(ctx, run)
    return rec, rec.data["pdf"]


def quote_pdf_bytes(ctx: Context, rec: Record) -> tuple[Record, bytes]:
    rec, pdf = ensure_pdf(ctx, rec)
    blob = ctx.store.get_blob(pdf["blob_key"])
    if blob is None:
        raise RuntimeError(f"the PDF of {rec.key} is missing from the blob store")
    return rec, blob.data


@action("quote.pdf", QuoteRef, mutating=False)
def quote_pdf(ctx: Context, p: QuoteRef) -> dict[str, Any]:
    """A signed download link (15 minutes) for the quote's PDF; a draft gets a preview."""
    rec = load_quote(ctx, p.quote_id)
    if rec.data.get("status") == "draft":
        quote = to_quote(rec)
        shown = preview_quote(
            quote,
            load_entity(ctx, quote.entity_id),
            load_client(ctx, quote.client_id),
            today(ctx),
        )
        data = {**present(ctx, rec), **quote_data(shown, rec.data), "version": rec.version}
        pdf, _ = render_quote(ctx, {k: v for k, v in data.items() if k not in INTERNAL_FIELDS})
        filename = f"DRAFT-{rec.key}.pdf"
        reference = _store_pdf(ctx, rec, pdf, filename)
    else:
        rec, reference = ensure_pdf(ctx, rec)
        filename = reference.get("filename") or f"{rec.data.get('number') or rec.key}.pdf"
    url, expires = ctx.store.blob_url(
        reference["blob_key"], filename=filename, expires_in=PDF_LINK_SECONDS
    )
    expires_at = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"url": url, "expires_at": expires_at, "filename": filename}


# --- send --------------------------------------------------------------------------------------


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _mailer(ctx: Context) -> Any:
    mailer = ctx.services.get("mailer")
    if mailer is None:
        from functions.mail.transport import get_mailer

        mailer = get_mailer()
    return mailer


@action("quote.send", QuoteSend)
def send_quote(ctx: Context, p: QuoteSend) -> dict[str, Any]:
    """Mail the quote's PDF and its hosted link to ``to`` (default: the client's address).
    The status stays (``open``/``accepted``); ``sent_at`` and a ``sent`` event are recorded.
    A failed delivery records ``send_failed`` and answers 502."""
    from functions.mail.messages import quote_message
    from functions.mail.transport import MailConfigurationError, MailDeliveryError

    rec = load_quote(ctx, p.quote_id)
    quote_transition(str(rec.data.get("status")), "send")
    to = _as_list(p.to)
    if not to:
        try:
            client = load(ctx, "clients", str(rec.data.get("client_id") or ""))
            to = _as_list(client.data.get("email"))
        except NotFound:
            to = []
    to = to or _as_list((rec.data.get("buyer") or {}).get("email"))
    if not to:
        raise ValidationFailed.one("to", "the client has no e-mail address; give 'to'")
    rec, pdf = quote_pdf_bytes(ctx, rec)
    shown = present(ctx, rec)
    cc = _as_list(p.cc) or None
    try:
        mail = quote_message(shown, pdf, to, cc, p.message, hosted_url=shown["hosted_quote_url"])
        message_id = str(_mailer(ctx).send(mail))
    except (MailDeliveryError, MailConfigurationError) as exc:
        failure = event(ctx, "send_failed", {"to": to, "reason": exc.message})
        ctx.store.transaction(lambda tx: tx.append(timeline_stream(rec.key), failure))
        raise MailDeliveryError(f"the quote was not sent: {exc.message}") from exc

    def run(tx: Transaction) -> Record:
        current = load_quote(ctx, rec.key, tx)
        quote = to_quote(current)
        changes: dict[str, Any] = {"sent_at": now_utc(ctx)}
        payload = {"to": to, "cc": _as_list(p.cc), "message_id": message_id}
        return write_quote(tx, ctx, current, quote.model_copy(update=changes), [("sent", payload)])

    return present(ctx, mutate(ctx, run))


# --- the buyer's answer ------------------------------------------------------------------------


def answer_quote(
    ctx: Context, quote_id: str, *, decision: str, name: str | None, reason: str | None
) -> Record:
    """Accept (with a name) or decline (with an optional reason) an open quote, in one commit.
    Used by ``quote.accept``/``quote.decline`` and by the hosted page."""

    def run(tx: Transaction) -> Record:
        rec = load_quote(ctx, quote_id, tx)
        quote = to_quote(rec)
        if decision == "accept":
            after = accept(quote, name or "", now_utc(ctx))
            return write_quote(tx, ctx, rec, after, [("accepted", {"name": after.accepted_by})])
        after = decline(quote, reason, now_utc(ctx))
        return write_quote(tx, ctx, rec, after, [("declined", {"reason": after.decline_reason})])

    return mutate(ctx, run)


@action("quote.accept", QuoteAccept)
def accept_quote(ctx: Context, p: QuoteAccept) -> dict[str, Any]:
    """``open`` → ``accepted``, recording who accepted (``name``)."""
    return present(ctx, answer_quote(ctx, p.quote_id, decision="accept", name=p.name, reason=None))


@action("quote.decline", QuoteDecline)
def decline_quote(ctx: Context, p: QuoteDecline) -> dict[str, Any]:
    """``open`` → ``declined``, with the reason if given."""
    rec = answer_quote(ctx, p.quote_id, decision="decline", name=None, reason=p.reason)
    return present(ctx, rec)


# --- convert -----------------------------------------------------------------------------------


@action("quote.convert", QuoteRef)
def convert_quote(ctx: Context, p: QuoteRef) -> dict[str, Any]:
    """A draft invoice with the quote's lines (``quote_id`` set); the quote → ``converted``.
    Both in one commit: a quote is converted once, into exactly one invoice."""
    invoice_id = new_id("inv")

    def run(tx: Transaction) -> tuple[Record, Record]:
        rec = load_quote(ctx, p.quote_id, tx)
        quote = to_quote(rec)
        quote_transition(quote.status, "convert")
        entity = load_entity(ctx, quote.entity_id, tx)
        client = load_client(ctx, quote.client_id, tx)
        invoice = invoice_from_quote(quote, entity, client, invoice_id=invoice_id, today=today(ctx))
        data = stored_data(drafts.stamped_new(ctx, invoice), None, **drafts.client_fields(client))
        # the new invoice, with its invoice.created
        inv_rec = drafts.put_new_draft(
            tx, ctx, drafts.NewDraft(INVOICES, invoice_id, rec.account_id, data), quote_id=quote.id
        )
        after = converted(quote, invoice_id, now_utc(ctx))
        quote_rec = write_quote(tx, ctx, rec, after, [("converted", {"invoice_id": invoice_id})])
        return quote_rec, inv_rec

    _quote_rec, inv_rec = mutate(ctx, run)
    return present_invoice(inv_rec)
