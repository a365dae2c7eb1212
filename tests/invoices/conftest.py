from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage_adapter.sqlite import SqliteStore

from .support import make_ctx, seed


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "data" / "billow.db")
    yield s
    s.close()


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def ctx(store: SqliteStore, outbox: Path):
    return make_ctx(store, outbox=outbox)


@pytest.fixture
def ids(ctx) -> dict[str, str]:
    return seed(ctx)


# --- a real SMTP server on loopback (aiosmtpd) --------------------------------------------------


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        )
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    """aiosmtpd on 127.0.0.1 and a free port; yields ``(url, recorder)``."""
    import socket

    from aiosmtpd.controller import Controller

    class LoopbackController(Controller):
        def __init__(self, handler) -> None:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._sock.bind(("127.0.0.1", 0))
            super().__init__(handler, hostname="127.0.0.1", port=self._sock.getsockname()[1])

        def _create_server(self):
            return self.loop.create_server(self._factory_invoker, sock=self._sock)

    recorder = _Recorder()
    controller = LoopbackController(recorder)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", recorder
    finally:
        controller.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
