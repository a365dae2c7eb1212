"""A rendered page rasterised by poppler's pdftoppm: what a reader really shows."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from PIL import Image

from functions.pdf.render import render_invoice_pdf
from tests.pdf.samples import make_credit_note, make_invoice

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None,
    reason="pdftoppm (poppler-utils) is not installed: apt-get install -y poppler-utils",
)

DPI = 50


def _rasterise(pdf: bytes, tmp_path, name: str) -> Image.Image:
    source = tmp_path / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(DPI),
            "-png",
            "-singlefile",
            "-f",
            "1",
            "-l",
            "1",
            str(source),
            str(tmp_path / name),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Image.open(tmp_path / f"{name}.png").convert("RGB")


def _pixels(image: Image.Image) -> list[tuple[int, int, int]]:
    raw = image.tobytes()
    return [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]


def _close(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("kind", ["invoice", "credit_note"])
def test_page_rasterises_with_brand_colour_and_content(tmp_path, kind):
    document = make_invoice(5) if kind == "invoice" else make_credit_note()
    image = _rasterise(render_invoice_pdf(document), tmp_path, kind)
    # A4 at 50 dpi (210 x 297 mm)
    assert abs(image.size[0] - 413) <= 1 and abs(image.size[1] - 585) <= 1
    brand = (0x0F, 0x76, 0x6E)
    # the brand bar across the top edge
    assert _close(image.getpixel((5, 1)), brand)
    assert _close(image.getpixel((400, 1)), brand)
    # page margins stay white
    assert image.getpixel((10, 300)) == (255, 255, 255)
    assert image.getpixel((405, 300)) == (255, 255, 255)
    # the seller's name is drawn in the brand colour at top left
    header = image.crop((30, 20, 200, 50))
    assert any(_close(px, brand, 40) for px in _pixels(header))
    # there is real content (text, table) but the page is mostly white paper
    dark = sum(1 for px in _pixels(image) if sum(px) < 300)
    assert 1500 < dark < 0.2 * image.size[0] * image.size[1]


def test_qr_code_is_drawn_in_the_payment_block(tmp_path):
    with_qr = _rasterise(render_invoice_pdf(make_invoice(5)), tmp_path, "qr")
    usd = make_invoice(5)
    usd["currency"] = "USD"
    without = _rasterise(render_invoice_pdf(usd), tmp_path, "noqr")
    # the right column beside the payment details: black modules only with the QR code
    box = (330, 300, 385, 420)

    def black(img: Image.Image) -> int:
        return sum(1 for px in _pixels(img.crop(box)) if sum(px) < 100)

    assert black(with_qr) > 300
    assert black(without) == 0


def test_payment_qr_code_scans_to_the_epc_payload(tmp_path):
    """What a banking app sees: the rasterised page at 200 dpi decodes (zxing-cpp's reader)
    to the EPC069-12 transfer of the amount due to the seller's account."""
    import zxingcpp

    invoice = make_invoice(5)
    invoice["amount_due"] = "1234.56"  # partly paid: the code asks for what is still due
    source = tmp_path / "scan.pdf"
    source.write_bytes(render_invoice_pdf(invoice))
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", "-singlefile", str(source), str(tmp_path / "scan")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    page = Image.open(tmp_path / "scan.png").convert("L")
    codes = zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [c.format for c in codes] == [zxingcpp.BarcodeFormat.QRCode]
    assert codes[0].text.split("\n") == [
        "BCD",
        "002",
        "1",
        "SCT",
        "COBADEFFXXX",
        "Nordlicht Studio GmbH",
        "DE89370400440532013000",
        "EUR1234.56",
        "",
        "RF18539007547034",
    ]
