"""The sections of an invoice or credit-note PDF — header, parties, details, lines, VAT
breakdown, totals, payment details with the EPC QR code, notes, footer — planned on a
:class:`~functions.pdf.primitives.Layout` and drawn with a :class:`~functions.pdf.primitives.Pen`.

Everything printed comes from the invoice dict (the JSON of ``invoice.get``): amounts are
formatted, never computed.
"""

from __future__ import annotations

import io
import re
from typing import Any

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.pdfgen.canvas import Canvas

from functions.domain.kinds import is_credit_kind, is_self_billed
from functions.domain.self_billing import self_billing_mention

from . import epc_qr
from . import formatting as fmt
from .facturx import add_facturx, add_output_intent
from .labels import labels_for, mention, unit
from .primitives import (
    BOLD,
    FAINT,
    FONT,
    INK,
    MUTED,
    RULE,
    Color,
    Layout,
    Pen,
    _address_lines,
    _brand,
    _country,
    _dec,
    _logo_from,
    _n,
    box,
    clean,
    clean_block,
    fit,
    fit_size,
    hline,
    save_lock,
    width,
    wrap,
    wrap_block,
)
from .watermark import draw_draft_mark


class _Renderer:
    MARGIN_X = 50.0

    def __init__(
        self,
        invoice: dict[str, Any],
        logo: bytes | None,
        locale: str | None,
        einvoice: bytes | None = None,
    ) -> None:
        self.inv = invoice
        self.einvoice = einvoice
        self.seller: dict[str, Any] = invoice.get("seller") or {}
        self.buyer: dict[str, Any] = invoice.get("buyer") or {}
        self.tag = fmt.choose_locale(locale, self.buyer.get("locale"), self.seller.get("locale"))
        self.lang = fmt.language_of(self.tag)
        self.lab = labels_for(self.lang)
        self.currency = clean(invoice.get("currency") or self.seller.get("currency") or "EUR")
        self.is_credit = is_credit_kind(str(invoice.get("kind") or "invoice"))
        self.is_self_billed = is_self_billed(str(invoice.get("kind") or "invoice"))
        # a quote (issue 20): its own title and number label, valid_until instead of a due
        # date, no amount due and no payment details or QR code (nothing is payable yet)
        self.is_quote = invoice.get("object") == "quote"
        size = str(self.seller.get("page_size") or "A4").strip().lower()
        self.W, self.H = LETTER if size == "letter" else A4
        self.L = self.MARGIN_X
        self.R = self.W - self.MARGIN_X
        self.brand, self.brand_text, self.tint = _brand(self.seller.get("brand_color"))
        self.logo = _logo_from(logo, self.seller.get("logo"))
        self.title = self.lab["credit_note" if self.is_credit else "invoice"]
        if self.is_quote:
            self.title = self.lab["quote"]
        self.number = clean(invoice.get("number"))
        self.footer_lines: list[tuple[float, float, str, str, Color]] | None = None
        # A credit note must name the invoice it corrects: its number when the caller added
        # it to the dict, else the invoice id (still unambiguous for the accountant).
        self.original = clean(
            invoice.get("original_invoice_number") or invoice.get("original_invoice_id") or ""
        )

    # formatting shortcuts
    def money(self, v: object) -> str:
        return fmt.money(str(v if v is not None else "0"), self.currency, self.tag)

    def amount(self, v: object) -> str:
        return fmt.amount(str(v if v is not None else "0"), self.currency, self.tag)

    def date(self, v: object) -> str:
        return fmt.date(str(v) if v else None, self.tag)

    # -------------------------------------------------------------------- render
    def render(self) -> bytes:
        buf = io.BytesIO()
        c = Canvas(
            buf,
            pagesize=(self.W, self.H),
            invariant=1,
            pageCompression=1,
            initialFontName=FONT,
            initialFontSize=9,
            pdfVersion=(1, 7),  # PDF/A-3 is PDF 1.7 (Factur-X: see facturx.py)
        )
        seller_name = clean(self.seller.get("legal_name") or self.seller.get("name"))
        doc_title = f"{self.title} {self.number}".strip()
        c.setTitle(doc_title)
        c.setAuthor(seller_name)
        c.setSubject(doc_title)
        c.setCreator("Billow")
        self._stamp(c)
        add_output_intent(c)  # PDF/A (see facturx.py)
        if self.einvoice:
            add_facturx(c, self.einvoice, lang=self.tag)  # Factur-X: the XML inside

        layout = Layout(top_first=self.H - 40, top_next=self.H - 70, bottom=84)
        self._plan(layout)
        pages = layout.pages
        total = len(pages)
        encoded: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for index, ops in enumerate(pages, start=1):
            pen = Pen(c, encoded)
            self._chrome(c, pen, index)
            for op, _y in ops:
                op(c, pen)
            self._footer(c, pen, index, total)  # last, so text extraction reads it last
            pen.finish()
            c.showPage()
        with save_lock:
            c.save()
        return buf.getvalue()

    def _stamp(self, c: Canvas) -> None:
        """Date the PDF by the document (finalized_at, else issue_date), not by the clock.

        Invariant mode would print 2000-01-01; the clock would make every render differ. The
        document's own timestamp keeps the output reproducible and the metadata truthful."""
        when = str(self.inv.get("finalized_at") or self.inv.get("issue_date") or "")
        match = re.match(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2}))?", when)
        if not match:
            return
        parts = tuple(int(x) if x else 0 for x in match.groups())
        stamp = getattr(c._doc, "_timeStamp", None)
        if stamp is not None and hasattr(stamp, "YMDhms"):
            stamp.YMDhms = parts
            stamp.dhh = stamp.dmm = 0

    # -------------------------------------------------------------------- page chrome
    def _chrome(self, c: Canvas, pen: Pen, page: int) -> None:
        L, R, W, H = self.L, self.R, self.W, self.H
        if self.inv.get("status") == "draft":  # a preview, not a document
            draw_draft_mark(c, W, H, self.lab["draft"].upper(), BOLD, self.brand)
        c.setFillColorRGB(*self.brand)
        box(c, 0, H - 5, W, 5)
        if page > 1:
            name = clean(self.seller.get("name") or self.seller.get("legal_name"))
            pen.text(L, H - 40, fit(name, BOLD, 10, 260), BOLD, 10, self.brand_text)
            right = f"{self.title} {self.number}".strip()
            pen.text(R, H - 40, right, FONT, 8.5, MUTED, "right")
            c.setStrokeColorRGB(*RULE)
            c.setLineWidth(0.6)
            hline(c, L, R, H - 52)

    def _footer_plan(self) -> list[tuple[float, float, str, str, Color]]:
        """The footer's company details, laid out once and drawn on every page."""
        L, R = self.L, self.R
        s = self.seller
        lab = self.lab
        address = s.get("address") if isinstance(s.get("address"), dict) else {}
        street = ", ".join(
            x for x in (clean(address.get("line1")), clean(address.get("line2"))) if x
        )
        place = " ".join(
            x for x in (clean(address.get("postal_code")), clean(address.get("city"))) if x
        )
        country = _country(address.get("country"), self.tag)
        col_a = [
            clean(s.get("legal_name") or s.get("name")),
            street,
            ", ".join(x for x in (place, country) if x),
        ]
        col_b = [
            f"{lab['email']} {clean(s.get('email'))}" if s.get("email") else "",
            f"{lab['phone']} {clean(s.get('phone'))}" if s.get("phone") else "",
            f"{lab['web']} {clean(s.get('website'))}" if s.get("website") else "",
        ]
        col_c = [
            f"{lab['vat_id']} {clean(s.get('vat_number'))}" if s.get("vat_number") else "",
            f"{lab['tax_id']} {clean(s.get('tax_number'))}" if s.get("tax_number") else "",
            f"{lab['registration']} {clean(s.get('registration_number'))}"
            if s.get("registration_number")
            else "",
        ]
        widths = ((R - L) * 0.34, (R - L) * 0.30, (R - L) * 0.36)
        out: list[tuple[float, float, str, str, Color]] = []
        x = L
        for col, w in zip((col_a, col_b, col_c), widths, strict=True):
            y = 60.0
            pieces: list[tuple[str, str]] = []
            for i, line in enumerate(v for v in col if v):
                font = BOLD if (col is col_a and i == 0) else FONT
                pieces.extend((p, font) for p in wrap(line, font, 7, w - 10))
            for text, font in pieces[:4]:
                out.append((x, y, text, font, MUTED if font == BOLD else FAINT))
                y -= 8.6
            x += w
        footer = clean(s.get("footer_text"))
        if footer:
            out.append((L, 20.0, fit(footer, FONT, 7, R - L - 90), FONT, FAINT))
        return out

    def _footer(self, c: Canvas, pen: Pen, page: int, pages: int) -> None:
        c.setStrokeColorRGB(*RULE)
        c.setLineWidth(0.6)
        hline(c, self.L, self.R, 72)
        if self.footer_lines is None:
            self.footer_lines = self._footer_plan()
        for x, y, text, font, color in self.footer_lines:
            pen.text(x, y, text, font, 7, color)
        page_text = self.lab["page"].format(page=page, pages=pages)
        pen.text(self.R, 20, page_text, FONT, 7, FAINT, "right")

    # -------------------------------------------------------------------- plan
    def _plan(self, layout: Layout) -> None:
        self._plan_header(layout)
        self._plan_parties(layout)
        self._plan_lines(layout)
        self._plan_summary(layout)
        self._plan_payment(layout)
        self._plan_text_sections(layout)

    def _plan_header(self, layout: Layout) -> None:
        L, R = self.L, self.R
        logo = self.logo
        name = clean(self.seller.get("name") or self.seller.get("legal_name"))
        title = self.title.upper()
        title_size = 22.0
        title_w = width(title, BOLD, title_size) + 1.2 * (len(title) - 1)
        left_max = R - L - title_w - 30
        if logo is not None:
            scale = min(170 / logo.width, 56 / logo.height)
            lw, lh = logo.width * scale, logo.height * scale
            height = max(lh, 48.0)
            name_lines: list[str] = []
            name_size = 0.0
        else:
            lw = lh = 0.0
            name_size = 20.0
            while name_size > 13 and width(name, BOLD, name_size) > left_max:
                name_size -= 1
            name_lines = wrap(name, BOLD, name_size, left_max)[:3]
            height = max(len(name_lines) * name_size * 1.15, 48.0)

        def draw(c: Canvas, pen: Pen, y: float) -> None:
            if logo is not None:
                logo.draw(c, L, y - lh, lw, lh)
            else:
                yy = y - name_size * 0.9
                for line in name_lines:
                    pen.text(L, yy, line, BOLD, name_size, self.brand_text)
                    yy -= name_size * 1.15
            pen.text(R, y - 19, title, BOLD, title_size, INK, "right", char_space=1.2)
            if self.number:
                pen.text(R, y - 36, self.number, FONT, 10.5, MUTED, "right")
            elif self.inv.get("status") == "draft":  # a preview, not a document
                draft = self.lab["draft"].upper()
                pen.text(R, y - 36, draft, BOLD, 9, self.brand_text, "right", char_space=1.0)

        layout.place(height + 26, draw)

    def _party_lines(self, party: dict[str, Any], is_seller: bool) -> list[tuple[str, str, Color]]:
        out: list[tuple[str, str, Color]] = []
        name = clean(party.get("name") or party.get("legal_name"))
        out.append((name, BOLD, INK))
        legal = clean(party.get("legal_name"))
        if is_seller and legal and legal != name:
            out.append((legal, FONT, INK))
        if not is_seller and party.get("contact_name"):
            out.append((f"{self.lab['attn']} {clean(party.get('contact_name'))}", FONT, INK))
        for line in _address_lines(party.get("address"), self.tag):
            out.append((line, FONT, INK))
        if party.get("vat_number"):
            out.append((f"{self.lab['vat_id']} {clean(party.get('vat_number'))}", FONT, MUTED))
        elif is_seller and party.get("tax_number"):
            out.append((f"{self.lab['tax_id']} {clean(party.get('tax_number'))}", FONT, MUTED))
        if not is_seller and party.get("email"):
            # the seller's contact details are in the footer of every page
            out.append((clean(party.get("email")), FONT, MUTED))
        return out

    def _plan_parties(self, layout: Layout) -> None:
        L, R = self.L, self.R
        col_w = (R - L - 36) / 3
        blocks = []
        for x, label, party, is_seller in (
            (L, self.lab["from"], self.seller, True),
            (
                L + col_w + 18,
                self.lab["quote_to" if self.is_quote else "bill_to"],
                self.buyer,
                False,
            ),
        ):
            lines: list[tuple[str, str, float, Color]] = []
            for text, font, color in self._party_lines(party, is_seller):
                size = 10.0 if font == BOLD else 8.5
                for piece in wrap(text, font, size, col_w):
                    lines.append((piece, font, size, color))
            blocks.append((x, label.upper(), lines))

        inv = self.inv
        meta: list[tuple[str, str]] = []
        number_label = self.lab["credit_note_number" if self.is_credit else "invoice_number"]
        if self.is_quote:
            number_label = self.lab["quote_number"]
        if self.number:
            meta.append((number_label, self.number))
        if inv.get("issue_date"):
            date_label = "quote_date" if self.is_quote else "issue_date"
            meta.append((self.lab[date_label], self.date(inv.get("issue_date"))))
        if inv.get("supply_date"):
            meta.append((self.lab["supply_date"], self.date(inv.get("supply_date"))))
        if inv.get("due_date") and not self.is_credit and not self.is_quote:
            meta.append((self.lab["due_date"], self.date(inv.get("due_date"))))
        if self.is_quote and inv.get("valid_until"):
            meta.append((self.lab["valid_until"], self.date(inv.get("valid_until"))))
        if inv.get("po_number"):
            meta.append((self.lab["po_number"], clean(inv.get("po_number"))))
        original = self.original
        if self.is_credit and original:
            meta.append((self.lab["original_invoice"], original))
        meta_x = R - col_w
        meta_rows = [self._meta_row(label, value, col_w) for label, value in meta]

        def block_height(lines: list[tuple[str, str, float, Color]]) -> float:
            return 14 + sum(s * 1.38 for _, _, s, _ in lines)

        meta_h = 14 + sum(12.0 * (len(v) + below) for _, v, _, below in meta_rows)
        height = max([block_height(b[2]) for b in blocks] + [meta_h])

        def draw(c: Canvas, pen: Pen, y: float) -> None:
            for x, label, lines in blocks:
                pen.text(x, y - 7, label, BOLD, 7, MUTED, char_space=0.6)
                yy = y - 22
                for text, font, size, color in lines:
                    pen.text(x, yy, text, font, size, color)
                    yy -= size * 1.38
            pen.text(meta_x, y - 7, self.lab["details"].upper(), BOLD, 7, MUTED, char_space=0.6)
            yy = y - 22
            for label, values, size, below in meta_rows:
                pen.text(meta_x, yy, label, FONT, 8.5, MUTED)
                if below:
                    yy -= 12
                for v in values:
                    pen.text(R, yy, v, BOLD, size, INK, "right")
                    yy -= 12

        layout.place(height + 22, draw)

    @staticmethod
    def _meta_row(label: str, value: str, col_w: float) -> tuple[str, list[str], float, bool]:
        """(label, value lines, size, value below the label) of one row of the details box.

        A value that does not fit beside its label goes below it, across the column, made
        smaller until it fits on one line: a document number split over two lines is misread
        and mis-copied. Only a value too long even then is wrapped."""
        beside = col_w - width(label, FONT, 8.5) - 10
        if width(value, BOLD, 8.5) <= beside:
            return label, [value], 8.5, False
        size = fit_size(value, BOLD, 8.5, col_w, 6.5)
        return label, wrap(value, BOLD, size, col_w), size, True

    # -------------------------------------------------------------------- lines table
    def _columns(self, lines: list[dict[str, Any]]) -> list[tuple[str, str, float, str]]:
        """(key, label, width, align) of the table columns; empty optional ones are dropped."""
        has_unit = any(clean(line.get("unit")) for line in lines)
        has_discount = any(_dec(line.get("discount_percent")) != 0 for line in lines)
        cols = [("description", self.lab["description"], 0.0, "left")]
        cols.append(("quantity", self.lab["quantity"], 38.0, "right"))
        if has_unit:
            cols.append(("unit", self.lab["unit"], 40.0, "left"))
        cols.append(("unit_price", self.lab["unit_price"], 64.0, "right"))
        if has_discount:
            cols.append(("discount", self.lab["discount"], 40.0, "right"))
        cols.append(("vat", self.lab["vat"], 38.0, "right"))
        cols.append(("net", self.lab["net"], 72.0, "right"))
        fixed = sum(c[2] for c in cols)
        desc_w = self.R - self.L - fixed
        cols[0] = ("description", cols[0][1], desc_w, "left")
        return cols

    def _plan_lines(self, layout: Layout) -> None:
        lines = [x for x in (self.inv.get("lines") or []) if isinstance(x, dict)]
        cols = self._columns(lines)
        L, R = self.L, self.R
        pad = 6.0
        size = 8.5
        lead = 11.0
        header_h = 20.0
        # column x positions: (left edge, right edge)
        edges = []
        x = L
        for key, label, w, align in cols:
            edges.append((key, label, x, x + w, align))
            x += w
        desc_w = edges[0][3] - edges[0][2] - 2 * pad
        unit_w = next((e[3] - e[2] - pad - 4 for e in edges if e[0] == "unit"), 0.0)
        head_labels = [(label.upper(), x0, x1, align) for _k, label, x0, x1, align in edges]
        head_labels = [
            (fit(t, BOLD, 6.8, (x1 - x0) - 2 * pad + 4), x0, x1, a) for t, x0, x1, a in head_labels
        ]

        def draw_header(c: Canvas, pen: Pen, y: float) -> None:
            c.setFillColorRGB(*self.tint)
            box(c, L, y - header_h, R - L, header_h)
            c.setFillColorRGB(*self.brand)
            box(c, L, y - header_h, R - L, 1.1)
            base = y - 13
            for text, x0, x1, align in head_labels:
                if align == "right":
                    pen.text(x1 - pad, base, text, BOLD, 6.8, self.brand_text, "right", 0.4)
                else:
                    pen.text(x0 + pad, base, text, BOLD, 6.8, self.brand_text, "left", 0.4)

        def add_header() -> None:
            layout.place(header_h, draw_header)
            layout.skip(2)

        # header + first row must share a page
        tag, lang = self.tag, self.lang
        rows = []
        for line in lines:
            desc_lines = wrap_block(clean_block(line.get("description")), FONT, size, desc_w)
            cells: dict[str, str] = {
                "quantity": fmt.quantity(str(line.get("quantity") or "0"), tag),
                "unit_price": self.amount(line.get("unit_price")),
                "vat": fmt.percent(str(line.get("vat_rate") or "0"), tag),
                "net": self.amount(line.get("net_amount")),
            }
            if unit_w:
                cells["unit"] = fit(unit(clean(line.get("unit")), lang), FONT, size, unit_w)
            disc = _dec(line.get("discount_percent"))
            cells["discount"] = fmt.percent(str(disc), tag) if disc else ""
            rows.append((desc_lines or [""], cells))

        first_row_h = (len(rows[0][0]) * lead + 2 * pad) if rows else 0
        layout.ensure(header_h + 2 + min(first_row_h, 80))
        add_header()
        numeric = [(k, x0, x1, a) for k, _l, x0, x1, a in edges if k != "description"]
        desc_x = edges[0][2] + pad

        fresh_top = layout.top_next - header_h - 2
        page_lines = int((fresh_top - layout.bottom - 2 * pad) // lead)
        for desc_lines, cells in rows:
            remaining = desc_lines
            first = True
            while remaining:
                fit_n = max(int((layout.room() - 2 * pad) // lead), 0)
                fresh = layout.y >= fresh_top - 0.5
                if (
                    fit_n < len(remaining)
                    and not fresh
                    and (len(remaining) <= page_lines or fit_n < 2)
                ):
                    # Keep a row whole on the next page; split only a row taller than a page.
                    layout.new_page()
                    add_header()
                    continue
                take = max(fit_n, 1)
                chunk, remaining = remaining[:take], remaining[take:]
                row_h = len(chunk) * lead + 2 * pad

                def draw_row(
                    c: Canvas,
                    pen: Pen,
                    y: float,
                    chunk=chunk,
                    cells=cells,
                    first=first,
                    row_h=row_h,
                    last=not remaining,
                ) -> None:
                    base = y - pad - 8.0
                    for i, text in enumerate(chunk):
                        pen.text(desc_x, base - i * lead, text, FONT, size, INK)
                    if first:
                        for key, x0, x1, align in numeric:
                            value = cells.get(key, "")
                            if align == "right":
                                pen.text(x1 - pad, base, value, FONT, size, INK, "right")
                            else:
                                pen.text(x0 + 4, base, value, FONT, size, MUTED)
                    if last:
                        c.setStrokeColorRGB(*RULE)
                        c.setLineWidth(0.5)
                        hline(c, L, R, y - row_h)

                layout.place(row_h, draw_row)
                first = False
        layout.skip(14)

    # -------------------------------------------------------------------- totals
    def _plan_summary(self, layout: Layout) -> None:
        """VAT breakdown and VAT mentions on the left, totals on the right, kept together."""
        inv = self.inv
        L, R = self.L, self.R
        lab = self.lab
        tag = self.tag
        breakdown = [x for x in (inv.get("tax_breakdown") or []) if isinstance(x, dict)]
        bd_rows = []
        for b in breakdown:
            rate = fmt.percent(str(b.get("vat_rate") or "0"), tag)
            cat = clean(b.get("vat_category"))
            label = rate if cat in ("", "S") else f"{rate} ({cat})"
            bd_rows.append(
                (label, self.amount(b.get("taxable_amount")), self.amount(b.get("tax_amount")))
            )
        left_w = 250.0
        bd_cols = (L, L + 160, L + left_w)  # label left edge, taxable right, VAT right

        texts: list[str] = []
        original = self.original
        if self.is_credit and original:
            texts.append(lab["credit_for"].format(number=original))
        texts.extend(self._mentions())
        mention_lines = [wrap(t, BOLD, 8.5, left_w - 12) for t in texts]

        totals: list[tuple[str, str, str]] = [
            (lab["subtotal"], self.money(inv.get("subtotal")), "row"),
            (lab["vat"], self.money(inv.get("tax_total")), "row"),
            (lab["total"], self.money(inv.get("total")), "total"),
        ]
        paid = _dec(inv.get("amount_paid"))
        credited = _dec(inv.get("credited_amount"))
        if paid:
            totals.append((lab["paid"], self.money(inv.get("amount_paid")), "row"))
        if credited:
            totals.append((lab["credited"], self.money(inv.get("credited_amount")), "row"))
        if self.is_quote:
            pass  # a quote asks for no payment
        elif not self.is_credit:
            totals.append((lab["amount_due"], self.money(inv.get("amount_due")), "due"))
        elif paid or credited:
            totals.append((lab["balance"], self.money(inv.get("amount_due")), "due"))
        tot_w = 214.0
        tot_x = R - tot_w
        totals_h = sum(28.0 if kind in ("total", "due") else 16.0 for _l, _v, kind in totals)

        bd_h = (20 + 14 * len(bd_rows)) if bd_rows else 0.0
        mentions_h = sum(len(m) * 11.5 + 9 for m in mention_lines)
        left_h = bd_h + (8 + mentions_h if mention_lines else 0)
        height = max(left_h, totals_h)

        def draw(c: Canvas, pen: Pen, y: float) -> None:
            yy = y
            if bd_rows:
                pen.text(
                    bd_cols[0],
                    yy - 9,
                    lab["vat_breakdown"].upper(),
                    BOLD,
                    6.8,
                    MUTED,
                    char_space=0.4,
                )
                pen.text(bd_cols[1], yy - 9, lab["taxable"].upper(), BOLD, 6.8, MUTED, "right", 0.4)
                pen.text(bd_cols[2], yy - 9, lab["vat"].upper(), BOLD, 6.8, MUTED, "right", 0.4)
                c.setStrokeColorRGB(*RULE)
                c.setLineWidth(0.5)
                hline(c, bd_cols[0], bd_cols[2], yy - 14)
                yy -= 26
                for label, taxable, tax in bd_rows:
                    pen.text(bd_cols[0], yy, label, FONT, 8.5, INK)
                    pen.text(bd_cols[1], yy, taxable, FONT, 8.5, INK, "right")
                    pen.text(bd_cols[2], yy, tax, FONT, 8.5, INK, "right")
                    yy -= 14
                yy += 6
            if mention_lines:
                yy -= 8
                c.setFillColorRGB(*self.brand)
                for lines in mention_lines:
                    h = len(lines) * 11.5 + 3
                    box(c, L, yy - h, 2.2, h)
                    for i, line in enumerate(lines):
                        pen.text(L + 10, yy - 9 - i * 11.5, line, BOLD, 8.5, INK)
                    yy -= h + 6
            yy = y
            for label, value, kind in totals:
                if kind == "row":
                    pen.text(tot_x + 8, yy - 10, label, FONT, 8.5, MUTED)
                    pen.text(R - 8, yy - 10, value, FONT, 8.5, INK, "right")
                    yy -= 16
                elif kind == "total":
                    c.setStrokeColorRGB(*INK)
                    c.setLineWidth(0.8)
                    hline(c, tot_x, R, yy - 4)
                    pen.text(tot_x + 8, yy - 19, label, BOLD, 10, INK)
                    pen.text(R - 8, yy - 19, value, BOLD, 10, INK, "right")
                    yy -= 28
                else:
                    c.setFillColorRGB(*self.tint)
                    c.roundRect(tot_x, yy - 25, tot_w, 22, 3, stroke=0, fill=1)
                    pen.text(tot_x + 8, yy - 17.5, label, BOLD, 10, self.brand_text)
                    pen.text(R - 8, yy - 17.5, value, BOLD, 11, self.brand_text, "right")
                    yy -= 28

        layout.place(height + 18, draw)

    def _mentions(self) -> list[str]:
        # a self-billed document says so (VAT Directive art. 226 (10a)), first
        seen: list[str] = [self_billing_mention(self.lang)] if self.is_self_billed else []
        sources = list(self.inv.get("tax_breakdown") or []) + list(self.inv.get("lines") or [])
        for item in sources:
            if isinstance(item, dict) and item.get("exemption_reason"):
                text = mention(clean(item.get("exemption_reason")), self.lang)
                if text and text not in seen:
                    seen.append(text)
        return seen

    # -------------------------------------------------------------------- payment
    def _plan_payment(self, layout: Layout) -> None:
        if self.is_credit or self.is_quote:
            return
        inv, s, lab = self.inv, self.seller, self.lab
        bank = s.get("bank") if isinstance(s.get("bank"), dict) else {}
        due = _dec(inv.get("amount_due"))
        iban = clean(bank.get("iban"))
        reference = clean(inv.get("payment_reference"))
        if not iban and not reference:
            return
        holder = clean(bank.get("account_holder") or s.get("legal_name") or s.get("name"))
        rows: list[tuple[str, str]] = []
        if iban:
            rows.append((lab["account_holder"], holder))
            rows.append((lab["iban"], fmt.iban(iban)))
        if bank.get("bic"):
            rows.append((lab["bic"], clean(bank.get("bic"))))
        if bank.get("bank_name"):
            rows.append((lab["bank"], clean(bank.get("bank_name"))))
        if reference:
            rows.append((lab["reference"], reference))
        if inv.get("due_date") and due > 0:
            rows.append((lab["pay_by"], self.date(inv.get("due_date"))))

        qr = None
        # a draft is not payable: no code a banking app would pay from
        if iban and self.currency == "EUR" and due > 0 and inv.get("status") != "draft":
            payload = epc_qr.epc_payload(
                name=holder,
                iban=iban,
                amount=due,
                bic=clean(bank.get("bic")) or None,
                reference=reference or None,
                text=None if reference else f"{self.title} {self.number}".strip(),
            )
            if payload:
                try:
                    qr = epc_qr.qr_pdf_ops(payload)
                except Exception:  # payload too long for a QR code: print details only
                    qr = None
        L = self.L
        R = self.R
        label_w = max(width(label, FONT, 8.5) for label, _ in rows) + 14
        value_w = 300 - label_w
        rows_wrapped = [(label, wrap(value, FONT, 8.5, value_w)) for label, value in rows]
        qr_size = 74.0
        text_h = 18 + sum(12.5 * len(v) for _, v in rows_wrapped)
        height = max(text_h, qr_size + 18 if qr else 0)

        def draw(c: Canvas, pen: Pen, y: float) -> None:
            pen.text(L, y - 9, lab["payment_details"].upper(), BOLD, 6.8, MUTED, char_space=0.4)
            yy = y - 25
            for label, values in rows_wrapped:
                pen.text(L, yy, label, FONT, 8.5, MUTED)
                for v in values:
                    pen.text(L + label_w, yy, v, BOLD if label == lab["iban"] else FONT, 8.5, INK)
                    yy -= 12.5
            if qr:
                count, ops = qr
                module = qr_size / count
                x0 = R - qr_size
                top = y - 4
                c.setFillColorRGB(0, 0, 0)
                c.saveState()
                c._code.append(f"{_n(module)} 0 0 {_n(module)} {_n(x0)} {_n(top - qr_size)} cm")
                c._code.append(ops)
                c.restoreState()
                pen.text(
                    x0 + qr_size / 2,
                    top - qr_size - 11,
                    lab["scan_to_pay"],
                    FONT,
                    6.8,
                    MUTED,
                    "center",
                )

        layout.place(height + 14, draw)

    # -------------------------------------------------------------------- notes / terms
    def _plan_text_sections(self, layout: Layout) -> None:
        L, R = self.L, self.R
        for key in ("notes", "terms"):
            paragraphs = clean_block(self.inv.get(key))
            if not any(paragraphs):
                continue
            while paragraphs and not paragraphs[-1]:
                paragraphs.pop()
            lines = wrap_block(paragraphs, FONT, 8.5, R - L)
            label = self.lab[key].upper()

            def draw_label(c: Canvas, pen: Pen, y: float, label=label) -> None:
                pen.text(L, y - 9, label, BOLD, 6.8, MUTED, char_space=0.4)

            layout.ensure(16 + 12 * min(len(lines), 2))
            layout.place(16, draw_label)
            for line in lines:

                def draw_line(c: Canvas, pen: Pen, y: float, line=line) -> None:
                    pen.text(L, y - 9, line, FONT, 8.5, INK)

                layout.place(12, draw_line)
            layout.skip(10)
