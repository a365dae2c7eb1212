from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")


def norm(text: str) -> str:
    """Whitespace-insensitive form: PDF text extraction turns wraps into newlines and babel
    uses no-break spaces inside numbers."""
    return _SPACES.sub(" ", text).strip()


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture
def extract():
    def _extract(pdf: bytes) -> tuple[list[str], str]:
        pages = pages_text(pdf)
        return pages, norm(" ".join(pages))

    return _extract
