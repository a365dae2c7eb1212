"""Issuing documents: ``invoice.finalize``, ``invoice.credit`` and ``invoice.pdf``.

Gapless numbers: the number is taken from the store's counter (``tx.next_number``) in the same
transaction that re-reads the draft, checks it (EU VAT Directive art. 226, every problem in one
422), freezes seller and buyer and stores it as ``open``. If anything fails the transaction
commits nothing, so no number is used up; two finalizes can never share a number.

The PDF is rendered after that commit (``ctx.services["pdf"]``: ``(store, invoice_json)
→ {"blob_key", "sha256", "filename"}``), so the store's write lock is never held while
rendering. The renderer loads the seller's logo itself, from the blob the frozen seller's
``logo_blob`` names (logos are never copied into records; see ``functions/services/entities``).
Its reference is then recorded on the invoice with a ``pdf_rendered`` event. A
render that fails leaves the document finalized without a PDF; ``invoice.pdf`` (or
``invoice.send``) renders it later, once: the first recorded PDF of a finalized document is the
one kept for good.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from functions.domain.credit import build_credit_note, settle_credit
from functions.domain.drafts import preview
from functions.domain.finalize import complete_finalize, prepare_finalize, series_counter
from functions.domain.kinds import is_self_billed
from functions.domain.models import Entity, Invoice, parse_model
from functions.webhooks.jobs import complete_pdf_job, stage_pdf_job
from storage_adapter import Record, Transaction

from .common import event, load, new_id
from .entities import decode_logo, store_logo
from .events import append_event
from .invoices import (
    ENTITIES,
    INVOICES,
    InvoiceRef,
    load_client,
    load_entity,
    load_invoice,
    mutate,
    now_utc,
    present,
    stored_data,
    timeline_stream,
    to_invoice,
    today,
)
from .invoices import (
    INTERNAL_FIELDS as INTERNAL,
)
from .invoices_self_billed import finalize_self_billed
from .ledger import post_entry
from .registry import Context, Params, action

logger = logging.getLogger("billow.invoices")

PDF_LINK_SECONDS = 15 * 60


# --- PDF ---------------------------------------------------------------------------------------


def _renderer(ctx: Context) -> Any:
    renderer = ctx.services.get("pdf")
    if renderer is None:  # in-process default (tests, scripts)
        from functions.pdf.store import render_and_store

        return render_and_store
    return renderer


def render(ctx: Context, rec: Record) -> dict[str, str]:
    """Render the stored document and keep the PDF as a blob; returns its reference.

    The frozen seller names its logo (``seller.logo_blob``), so the renderer needs nothing else.
    """
    result = _renderer(ctx)(ctx.store, present(rec))
    if not isinstance(result, dict) or "error" in result or "blob_key" not in result:
        raise RuntimeError(f"the PDF renderer failed: {result!r}")
    return {k: result[k] for k in ("blob_key", "sha256", "filename")}


def render_preview(ctx: Context, rec: Record) -> dict[str, str]:
    """Render a draft as it would be issued today, with the live entity and client (names,
    addresses, logo, brand colour; ``functions.domain.drafts.preview``). The PDF is kept as a
    blob for the download link only: the draft records no PDF and no timeline event."""
    invoice = to_invoice(rec)
    shown = preview(
        invoice,
        load_entity(ctx, invoice.entity_id),
        load_client(ctx, invoice.client_id),
        today(ctx),
    )
    data = {**stored_data(shown, rec.data), "version": rec.version}
    result = _renderer(ctx)(ctx.store, {k: v for k, v in data.items() if k not in INTERNAL})
    if not isinstance(result, dict) or "error" in result or "blob_key" not in result:
        raise RuntimeError(f"the PDF renderer failed: {result!r}")
    return {k: result[k] for k in ("blob_key", "sha256", "filename")}


def record_pdf(ctx: Context, invoice_id: str, reference: dict[str, str]) -> Record:
    """Keep ``reference`` as the document's PDF unless one was recorded meanwhile."""

    def run(tx: Transaction) -> Record:
        rec = load_invoice(ctx, invoice_id, tx)
        if (rec.data.get("pdf") or {}).get("sha256"):
            complete_pdf_job(tx, rec.key)
            return rec  # the first recorded PDF stays
        data = {**rec.data, "pdf": dict(reference), "updated_at": ctx.timestamp}
        new = tx.put(
            INVOICES, rec.key, data, account_id=rec.account_id, expected_version=rec.version
        )
        tx.append(
            timeline_stream(rec.key),
            event(
                ctx,
                "pdf_rendered",
                {"sha256": reference["sha256"], "filename": reference["filename"]},
            ),
        )
        complete_pdf_job(tx, rec.key)
        return new

    return ctx.store.transaction(run)


def render_after_commit(ctx: Context, rec: Record) -> Record:
    """Render and record the PDF of a just-finalized document; a failure is logged and the
    document stays finalized (the PDF is rendered lazily later)."""
    try:
        reference = render(ctx, rec)
    except Exception:
        logger.exception("PDF rendering of %s failed; it will be rendered on demand", rec.key)
        return rec
    try:
        return record_pdf(ctx, rec.key, reference)
    except Exception:
        logger.exception("recording the PDF of %s failed; it will be rendered on demand", rec.key)
        return ctx.store.get(INVOICES, rec.key) or rec


def ensure_pdf(ctx: Context, rec: Record) -> tuple[Record, dict[str, str]]:
    """The stored PDF of a finalized document, rendering it now if it has none yet."""
    pdf = rec.data.get("pdf") or {}
    if pdf.get("sha256") and pdf.get("blob_key"):
        return rec, pdf
    rec = record_pdf(ctx, rec.key, render(ctx, rec))
    return rec, rec.data["pdf"]


def pdf_bytes(ctx: Context, rec: Record) -> tuple[Record, bytes]:
    rec, pdf = ensure_pdf(ctx, rec)
    blob = ctx.store.get_blob(pdf["blob_key"])
    if blob is None:
        raise RuntimeError(f"the PDF of {rec.key} is missing from the blob store")
    return rec, blob.data


@action("invoice.pdf", InvoiceRef, mutating=False)
def invoice_pdf(ctx: Context, p: InvoiceRef) -> dict[str, Any]:
    """A signed download link, valid 15 minutes, for the document's PDF.

    Finalized documents: the stored PDF (rendered now, once, if finalize could not). Drafts:
    a preview (:func:`render_preview`), marked DRAFT and named ``DRAFT-<id>.pdf``.
    """
    rec = load_invoice(ctx, p.invoice_id)
    if rec.data.get("status") == "draft":
        reference = render_preview(ctx, rec)
        filename = f"DRAFT-{rec.key}.pdf"
    else:
        rec, reference = ensure_pdf(ctx, rec)
        filename = reference.get("filename") or f"{rec.data.get('number') or rec.key}.pdf"
    url, expires = ctx.store.blob_url(
        reference["blob_key"], filename=filename, expires_in=PDF_LINK_SECONDS
    )
    expires_at = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"url": url, "expires_at": expires_at, "filename": filename}


# --- finalize ----------------------------------------------------------------------------------


LogoBlob = dict[str, str]


def _seller_of(
    ctx: Context, entity_id: str | None, tx: Transaction
) -> tuple[Entity, LogoBlob | None]:
    """The entity as the seller to freeze, and its ``logo_blob``.

    An entity stored before logos were blobs still holds a data URL in ``logo``: it is moved to
    a blob now, so the frozen seller never carries image data either way.
    """
    rec = load(ctx, ENTITIES, entity_id or "", tx)
    data = dict(rec.data)
    legacy = data.pop("logo", None)
    logo_blob = data.pop("logo_blob", None)
    if not logo_blob and legacy:
        try:
            logo_blob = store_logo(ctx.store, rec.account_id or "", *decode_logo(legacy))
        except Exception:  # an unreadable old logo must not block finalizing: no logo
            logger.warning("the logo of entity %s could not be moved to a blob", rec.key)
            logo_blob = None
    seller = parse_model(Entity, {**data, "account_id": rec.account_id, "version": rec.version})
    return seller, logo_blob


def _finalize_in(
    tx: Transaction, ctx: Context, draft: Invoice, logo_blob: LogoBlob | None = None
) -> tuple[Invoice, LogoBlob | None]:
    """Check, number and open ``draft`` inside ``tx`` (the counter moves only on commit).

    Returns the document and the ``logo_blob`` its frozen seller gets: the entity's for an
    invoice; for a credit note (which keeps the credited invoice's seller) ``logo_blob``.
    """
    entity, entity_logo = _seller_of(ctx, draft.entity_id, tx)
    client = load_client(ctx, draft.client_id, tx)
    if is_self_billed(draft.kind):  # the supplier is the seller: its series, no entity logo
        return finalize_self_billed(tx, ctx, draft, entity, client), None
    if draft.kind != "credit_note":
        logo_blob = entity_logo
    prepared = prepare_finalize(draft, entity, client, today(ctx))
    counter, start = series_counter(prepared)
    seq = tx.next_number(counter, start=start)
    return complete_finalize(prepared, seq, now_utc(ctx)), logo_blob


def stage_link(
    tx: Transaction, ctx: Context, invoice_id: str, account_id: str | None
) -> dict[str, Any]:
    """The hosted link of a document being finalized, in the same commit (``services.hosted``)."""
    from .hosted import stage_link as stage

    return stage(tx, ctx, invoice_id, account_id)


def _with_seller_logo(data: dict[str, Any], logo_blob: LogoBlob | None) -> dict[str, Any]:
    """Stored invoice data whose frozen seller names its logo blob (the domain model has no
    such field, so it is added to the stored JSON)."""
    seller = data.get("seller")
    if isinstance(seller, dict):
        seller = {k: v for k, v in seller.items() if k != "logo_blob"}
        if logo_blob:
            seller["logo_blob"] = dict(logo_blob)
        data = {**data, "seller": seller}
    return data


def finalize_record(tx: Transaction, ctx: Context, rec: Record) -> Record:
    """Finalize the draft ``rec`` inside ``tx``: checked, numbered, parties frozen, its hosted
    link made, ``finalized`` on the timeline (``invoice.finalize``, and ``invoice.create`` with
    ``auto_advance`` in the create's own commit)."""
    final, logo_blob = _finalize_in(tx, ctx, to_invoice(rec))
    final = final.model_copy(update={"updated_at": now_utc(ctx)})
    link = stage_link(tx, ctx, rec.key, rec.account_id)  # the customer's page
    new = tx.put(
        INVOICES,
        rec.key,
        _with_seller_logo(stored_data(final, rec.data, **link), logo_blob),
        account_id=rec.account_id,
        expected_version=rec.version,
    )
    append_event(tx, ctx, new, "finalized", {"number": final.number, "status": final.status})
    stage_pdf_job(tx, new, now_utc(ctx))
    post_entry(tx, ctx, "finalize", final)
    return new


def advance_after_commit(ctx: Context, rec: Record) -> dict[str, Any]:
    """``auto_advance`` after the finalize commit: the PDF, then ``invoice.send`` to the
    client's e-mail address if it has one. A failed mail leaves the invoice ``open`` with
    ``send_failed`` on its timeline (as ``invoice.send`` records it); the answer is still the
    finalized invoice — the finalize happened and is not undone."""
    from functions.mail.transport import MailConfigurationError, MailDeliveryError

    from .invoices_lifecycle import InvoiceSend, default_recipient, send_invoice

    rec = render_after_commit(ctx, rec)
    if not default_recipient(ctx, rec):
        return present(rec)
    try:
        return send_invoice(ctx, InvoiceSend(invoice_id=rec.key))
    except (MailDeliveryError, MailConfigurationError):
        logger.warning("auto_advance: %s was finalized but not sent", rec.key)
        return present(load_invoice(ctx, rec.key))


class InvoiceFinalize(Params):
    invoice_id: str
    #: then send it to the client's e-mail address (if it has one)
    auto_advance: bool = False


@action("invoice.finalize", InvoiceFinalize)
def finalize_invoice(ctx: Context, p: InvoiceFinalize) -> dict[str, Any]:
    """draft → ``open`` with the next number of the entity's series, then the PDF (and with
    ``auto_advance``, the mail to the client)."""

    def run(tx: Transaction) -> Record:
        return finalize_record(tx, ctx, load_invoice(ctx, p.invoice_id, tx))

    rec = mutate(ctx, run)
    if p.auto_advance:
        return advance_after_commit(ctx, rec)
    return present(render_after_commit(ctx, rec))


# --- credit notes ------------------------------------------------------------------------------


class CreditLine(Params):
    line_id: str | None = None
    line_index: int | None = Field(default=None, ge=0)
    quantity: Any = None


class InvoiceCredit(Params):
    invoice_id: str
    reason: str = Field(min_length=1, max_length=1000)
    lines: list[CreditLine] | None = None


@action("invoice.credit", InvoiceCredit)
def credit_invoice(ctx: Context, p: InvoiceCredit) -> dict[str, Any]:
    """Issue a finalized credit note (own series, negative amounts) for all that remains of the
    invoice or for the given ``lines`` (``{"line_id", "quantity"?}``); a full credit moves the
    original to ``credited``. Crediting more than remains is 422."""
    note_id = new_id("inv")
    lines = None
    if p.lines is not None:
        lines = [line.model_dump(exclude_none=True) for line in p.lines]

    def run(tx: Transaction) -> Record:
        original_rec = load_invoice(ctx, p.invoice_id, tx)
        original = to_invoice(original_rec)
        previous_ids = list(original_rec.data.get("credit_note_ids") or [])
        previous = [to_invoice(load(ctx, INVOICES, cid, tx)) for cid in previous_ids]
        note = build_credit_note(
            original,
            reason=p.reason,
            lines=lines,
            previous_credit_notes=previous,
            issue_date=today(ctx),
            credit_note_id=note_id,
        )
        stamp = now_utc(ctx)
        note = note.model_copy(update={"created_at": stamp})
        # the credited invoice's parties, logo included
        original_logo = (original_rec.data.get("seller") or {}).get("logo_blob")
        final, logo_blob = _finalize_in(tx, ctx, note, original_logo)
        final = final.model_copy(update={"updated_at": stamp})
        link = stage_link(tx, ctx, note_id, original_rec.account_id)
        updated, final = settle_credit(original, final, previous_credit_notes=previous, now=stamp)
        note_rec = tx.put(
            INVOICES,
            note_id,
            _with_seller_logo(
                stored_data(final, None, original_invoice_number=original.number, **link),
                logo_blob,
            ),
            account_id=original_rec.account_id,
            expected_version=0,
        )
        append_event(tx, ctx, note_rec, "created", {"original_invoice_id": original.id})
        append_event(tx, ctx, note_rec, "finalized", {"number": final.number, "status": "open"})
        stage_pdf_job(tx, note_rec, stamp)

        updated = updated.model_copy(update={"updated_at": stamp})
        tx.put(
            INVOICES,
            original_rec.key,
            stored_data(updated, original_rec.data, credit_note_ids=[*previous_ids, note_id]),
            account_id=original_rec.account_id,
            expected_version=original_rec.version,
        )
        append_event(
            tx,
            ctx,
            original_rec,
            "credited",
            {
                "credit_note_id": note_id,
                "number": final.number,
                "amount": format(-final.total, "f"),
                "full": updated.status == "credited",
                "status": updated.status,
                "reason": p.reason,
            },
        )
        post_entry(tx, ctx, "credit", final, before=original, after=updated)
        return note_rec

    return present(render_after_commit(ctx, mutate(ctx, run)))
