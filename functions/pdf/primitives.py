"""Page primitives of the invoice PDF: the embedded fonts and their metrics, colours, text
cleaning, wrapping and fitting, the logo, the :class:`Pen` that writes one text object per page,
and the :class:`Layout` that paginates planned rows. Nothing here knows what an invoice is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import threading
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import lru_cache
from itertools import repeat
from typing import Any

import font_roboto
from reportlab import rl_config
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from . import formatting as fmt

FONT = "Roboto"
BOLD = "Roboto-Bold"

# Binary (Flate only) streams instead of ASCII85-wrapped ones: 20 % smaller files, and the
# pure-Python ASCII85 encoder was a fifth of the render time. Every PDF reader supports it.
rl_config.useA85 = 0


def _n(v: float) -> str:
    """A coordinate for the content stream: two decimals, trailing zeros dropped.

    reportlab's generic ``fp_str`` costs ~8 µs a number without its optional C accelerator;
    this is what keeps a 150-line invoice in budget.
    """
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def hline(c: Canvas, x1: float, x2: float, y: float) -> None:
    """A horizontal rule in the current stroke colour and width."""
    c._code.append(f"{_n(x1)} {_n(y)} m {_n(x2)} {_n(y)} l S")


def box(c: Canvas, x: float, y: float, w: float, h: float) -> None:
    """A filled rectangle in the current fill colour."""
    c._code.append(f"{_n(x)} {_n(y)} {_n(w)} {_n(h)} re f")


_font_lock = threading.Lock()
_fonts_ready = False
#: Saving a document subsets the TrueType fonts it used: reportlab's ``TTFontFace.makeSubset``
#: reads the shared, process-wide font face through its own file cursor (``seek``/``read_*``),
#: so two threads saving at once corrupt each other's subsets (``billow serve`` renders on its
#: request threads). Only the save is serialised; laying out the pages runs concurrently.
save_lock = threading.Lock()


def _register_fonts() -> None:
    """Register Roboto Regular/Bold once per process (TTFont subsets and embeds per document)."""
    global _fonts_ready
    if _fonts_ready:
        return
    with _font_lock:
        if _fonts_ready:
            return
        folder = os.path.join(os.path.dirname(font_roboto.__file__), "files")
        pdfmetrics.registerFont(TTFont(FONT, os.path.join(folder, "Roboto-Regular.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, os.path.join(folder, "Roboto-Bold.ttf")))
        _fonts_ready = True


_register_fonts()
_REGULAR = pdfmetrics.getFont(FONT)
_BOLDFONT = pdfmetrics.getFont(BOLD)
_FACES = {FONT: _REGULAR, BOLD: _BOLDFONT}


_CHAR_WIDTHS = {name: (f.face.charWidths.get, f.face.defaultWidth) for name, f in _FACES.items()}


@lru_cache(maxsize=32768)
def width(text: str, font: str, size: float) -> float:
    """Advance width of ``text`` in points (reportlab's metric, memoised: amounts, labels and
    words repeat across lines and documents)."""
    get, default = _CHAR_WIDTHS[font]
    return 0.001 * size * sum(map(get, map(ord, text), repeat(default, len(text))))


# ----------------------------------------------------------------------------- colours

Color = tuple[float, float, float]

INK: Color = (0.11, 0.13, 0.17)  # body text
MUTED: Color = (0.40, 0.44, 0.50)  # labels, secondary text
FAINT: Color = (0.55, 0.59, 0.64)  # footer
RULE: Color = (0.87, 0.89, 0.91)  # hairlines
ZEBRA: Color = (0.975, 0.98, 0.985)
WHITE: Color = (1.0, 1.0, 1.0)
DEFAULT_BRAND = "#1F5FAD"


@lru_cache(maxsize=256)
def _brand(color: str | None) -> tuple[Color, Color, Color]:
    """(brand, brand legible as text on white, light tint for backgrounds) from ``#RRGGBB``."""
    value = (color or "").strip()
    if not re.fullmatch(r"#?[0-9a-fA-F]{6}", value):
        value = DEFAULT_BRAND
    value = value.lstrip("#")
    rgb = tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    r, g, b = rgb

    def _lum(c: tuple[float, ...]) -> float:
        def lin(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])

    # A pale brand colour (yellow, pastel) is unreadable as text: darken it until the contrast
    # against white reaches WCAG's 4.5:1.
    text = rgb
    for _ in range(20):
        if (1.05) / (_lum(text) + 0.05) >= 4.5:
            break
        text = tuple(v * 0.85 for v in text)
    tint = (1 - 0.07 * (1 - r), 1 - 0.07 * (1 - g), 1 - 0.07 * (1 - b))
    return (r, g, b), tuple(text), tint  # type: ignore[return-value]


# ----------------------------------------------------------------------------- text helpers

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u2028\u2029]")


def clean(value: object) -> str:
    """User text as one printable line: controls dropped, runs of whitespace collapsed."""
    if value is None:
        return ""
    text = _CONTROL.sub("", str(value))
    return " ".join(text.split())


def clean_block(value: object) -> list[str]:
    """User text as paragraphs (line breaks kept, other whitespace collapsed)."""
    if value is None:
        return []
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return [" ".join(p.split()) for p in text.split("\n")]


def wrap(text: str, font: str, size: float, max_width: float) -> list[str]:
    """Greedy word wrap with the font's metrics; over-long words are broken by characters."""
    if width(text, font, size) <= max_width:
        return [text]
    space = width(" ", font, size)
    lines: list[str] = []
    line = ""
    line_w = 0.0
    for word in text.split(" "):
        w = width(word, font, size)
        if w > max_width:
            # Break the word into pieces that fit; the first piece may join the current line.
            for ch in word:
                cw = width(ch, font, size)
                if line and line_w + cw > max_width:
                    lines.append(line)
                    line, line_w = "", 0.0
                line += ch
                line_w += cw
            continue
        if not line:
            line, line_w = word, w
        elif line_w + space + w <= max_width:
            line += " " + word
            line_w += space + w
        else:
            lines.append(line)
            line, line_w = word, w
    lines.append(line)
    return lines


def wrap_block(paragraphs: Iterable[str], font: str, size: float, max_width: float) -> list[str]:
    out: list[str] = []
    for p in paragraphs:
        out.extend(wrap(p, font, size, max_width) if p else [""])
    return out


def fit(text: str, font: str, size: float, max_width: float) -> str:
    """``text`` shortened with an ellipsis to fit ``max_width`` (single-line slots only)."""
    if width(text, font, size) <= max_width:
        return text
    ell = width("…", font, size)
    out = ""
    used = 0.0
    for ch in text:
        cw = width(ch, font, size)
        if used + cw + ell > max_width:
            break
        out += ch
        used += cw
    return out.rstrip() + "…"


def fit_size(text: str, font: str, size: float, max_width: float, smallest: float) -> float:
    """The largest size from ``size`` down to ``smallest`` (half points) at which ``text``
    fits ``max_width`` on one line; ``smallest`` when even that does not fit."""
    while size > smallest and width(text, font, size) > max_width:
        size -= 0.5
    return max(size, smallest)


# ----------------------------------------------------------------------------- logo cache


class _Logo:
    """An image XObject built once per distinct logo and shared by every document that uses it.

    reportlab's ``drawImage`` would decode, digest and re-compress the image for each PDF;
    the encoded stream never changes, so it is made once here and only registered per canvas.
    """

    def __init__(self, data: bytes) -> None:
        from reportlab.lib.utils import ImageReader

        reader = ImageReader(io.BytesIO(data))
        self.name = "BillowLogo" + hashlib.sha256(data).hexdigest()[:16]
        self.xobject = pdfdoc.PDFImageXObject(self.name, reader, mask="auto")
        self.xobject.name = self.name
        self.smask = getattr(self.xobject, "_smask", None)
        if self.smask is not None:
            del self.xobject._smask
        self.width = float(self.xobject.width)
        self.height = float(self.xobject.height)

    def draw(self, c: Canvas, x: float, y: float, w: float, h: float) -> None:
        doc = c._doc
        reg_name = doc.getXObjectName(self.name)
        if doc.idToObject.get(reg_name) is None:
            # A document marks the objects it registers, so each one gets a shallow copy;
            # the encoded image data itself is shared.
            xobject = _fresh(self.xobject)
            c._setXObjects(xobject)
            doc.Reference(xobject, reg_name)
            doc.addForm(self.name, xobject)
            if self.smask is not None:
                smask = _fresh(self.smask)
                mask_reg = doc.getXObjectName(smask.name)
                c._setXObjects(smask)
                xobject.smask = doc.Reference(smask, mask_reg)
        c._currentPageHasImages = 1
        c.saveState()
        c.translate(x, y)
        c.scale(w, h)
        c._code.append(f"/{reg_name} Do")
        c.restoreState()
        c._formsinuse.append(self.name)


def _fresh(obj: Any) -> Any:
    """A shallow copy of a PDF object without the registration mark of an earlier document."""
    clone = object.__new__(type(obj))
    clone.__dict__.update(
        {k: v for k, v in obj.__dict__.items() if k not in ("__InternalName__", "smask")}
    )
    return clone


_logo_cache: dict[bytes, _Logo | None] = {}
_logo_lock = threading.Lock()


def _logo_from(data: bytes | None, seller_logo: object) -> _Logo | None:
    if not data and isinstance(seller_logo, str) and seller_logo.startswith("data:"):
        head, _, payload = seller_logo.partition(",")
        if ";base64" in head:
            try:
                data = base64.b64decode(payload, validate=False)
            except (binascii.Error, ValueError):
                data = None
    if not data:
        return None
    key = hashlib.sha256(data).digest()
    logo = _logo_cache.get(key, False)
    if logo is False:
        try:
            logo = _Logo(data)
            if logo.width <= 0 or logo.height <= 0:
                logo = None
        except Exception:  # an unreadable logo must not stop the invoice: use the name
            logo = None
        with _logo_lock:
            if len(_logo_cache) > 64:
                _logo_cache.clear()
            _logo_cache[key] = logo
    return logo  # type: ignore[return-value]


# ----------------------------------------------------------------------------- the page model


@lru_cache(maxsize=64)
def _rgb(color: Color) -> str:
    return f"{_n(color[0])} {_n(color[1])} {_n(color[2])} rg"


class Pen:
    """Text of one page, written as a single BT…ET text object.

    Operators are emitted directly (font subset switches, colour, character spacing only on
    change): reportlab's TextObject recomputes each string's width and formats every number
    through ``fp_str``, which made text the largest cost of a page.
    """

    def __init__(self, c: Canvas, encoded: dict[tuple[str, str], list[tuple[int, str]]]) -> None:
        self.c = c
        self.doc = c._doc
        self.escape = c._escape
        # (font, text) → shown-string operators; subset codes are per document, so the
        # cache lives as long as the document (shared by its pages)
        self.encoded = encoded
        self.code: list[str] = []
        self.current: tuple[str, int, float] | None = None  # font, subset, size
        self.color: Color | None = None
        self.char_space = 0.0

    def text(
        self,
        x: float,
        y: float,
        s: str,
        font: str = FONT,
        size: float = 8.5,
        color: Color = INK,
        align: str = "left",
        char_space: float = 0.0,
    ) -> None:
        if not s:
            return
        code = self.code
        if color != self.color:
            code.append(_rgb(color))
            self.color = color
        if char_space != self.char_space:
            code.append(f"{_n(char_space)} Tc")
            self.char_space = char_space
        if align != "left":
            w = width(s, font, size) + char_space * max(len(s) - 1, 0)
            x = x - w if align == "right" else x - w / 2
        code.append(f"1 0 0 1 {_n(x)} {_n(y)} Tm")
        encoded = self.encoded.get((font, s))
        if encoded is None:
            face = _FACES[font]
            encoded = [
                (subset, f"({self.escape(chunk)}) Tj")
                for subset, chunk in face.splitString(s, self.doc)
            ]
            self.encoded[(font, s)] = encoded
        for subset, shown in encoded:
            key = (font, subset, size)
            if key != self.current:
                name = _FACES[font].getSubsetInternalName(subset, self.doc)
                code.append(f"{name} {_n(size)} Tf")
                self.current = key
            code.append(shown)

    def finish(self) -> None:
        if self.code:
            self.c._code.append("BT\n" + "\n".join(self.code) + "\nET")


Op = Callable[[Canvas, Pen], None]


class Layout:
    """Vertical flow of blocks over pages: each block knows its height and how to draw itself."""

    def __init__(self, top_first: float, top_next: float, bottom: float) -> None:
        self.top_next = top_next
        self.bottom = bottom
        self.pages: list[list[tuple[Op, float]]] = [[]]
        self.y = top_first
        self.on_new_page: Callable[[], None] | None = None

    def new_page(self) -> None:
        self.pages.append([])
        self.y = self.top_next
        if self.on_new_page is not None:
            self.on_new_page()

    def room(self) -> float:
        return self.y - self.bottom

    def ensure(self, height: float) -> None:
        if height > self.room() and self.y < self.top_next - 0.5:
            self.new_page()

    def place(self, height: float, op: Callable[[Canvas, Pen, float], None]) -> None:
        """Put a block of ``height`` at the cursor (on a new page if it does not fit)."""
        self.ensure(height)
        y = self.y
        self.pages[-1].append((lambda c, p, _op=op, _y=y: _op(c, p, _y), y))
        self.y -= height

    def skip(self, height: float) -> None:
        self.y -= height


# ----------------------------------------------------------------------------- the document


def _dec(value: object) -> Decimal:
    d = fmt.to_decimal(value)
    return d if d is not None else Decimal(0)


def _country(code: object, tag: str) -> str:
    if not isinstance(code, str) or not code:
        return ""
    name = fmt.babel_locale(tag).territories.get(code.upper())
    return name or code


def _address_lines(address: object, tag: str) -> list[str]:
    if not isinstance(address, dict):
        return []
    lines = [clean(address.get("line1")), clean(address.get("line2"))]
    city = " ".join(x for x in (clean(address.get("postal_code")), clean(address.get("city"))) if x)
    lines.append(city)
    lines.append(clean(address.get("region")))
    lines.append(_country(address.get("country"), tag))
    return [x for x in lines if x]
