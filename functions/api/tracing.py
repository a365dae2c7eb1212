"""Tracer set-up that costs nothing when tracing is off.

Powertools' ``Tracer`` imports the X-Ray SDK core (and botocore with it) as soon as it is
constructed, even when tracing is disabled. Outside Lambda, or with
``POWERTOOLS_TRACE_DISABLED=true``, we hand it a no-op provider instead, so the local server,
the tests and a Lambda with tracing turned off do not pay for X-Ray at cold start.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment


class _NoopSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class NoopTraceProvider(BaseProvider):
    """A tracing provider that records nothing."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Generator[BaseSegment]:
        yield _NoopSegment()

    @asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any):  # type: ignore[override]
        yield _NoopSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Any) -> None:
        pass

    def patch_all(self) -> None:
        pass


def tracing_enabled() -> bool:
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower()
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT"))
    return in_lambda and disabled not in ("1", "true", "yes", "on")


def tracer_options() -> dict[str, Any]:
    """Keyword arguments for ``Tracer``: the real X-Ray provider only when tracing is on."""
    if tracing_enabled():
        return {}
    return {"disabled": True, "auto_patch": False, "provider": NoopTraceProvider()}
