from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hosted.documents import Documents


@pytest.fixture
def docs(tmp_path: Path) -> Iterator[Documents]:
    d = Documents(tmp_path)
    try:
        yield d
    finally:
        d.close()
