"""The action registry: one service function per API action.

A service module declares its actions with :func:`action`::

    class EntityGet(Params):
        entity_id: str

    @action("entity.get", EntityGet, mutating=False)
    def get_entity(ctx: Context, p: EntityGet) -> dict: ...

The API handler (``functions/api``) parses the body, looks the action up in :data:`ACTIONS`,
validates the parameters with the pydantic model, builds a :class:`Context` and calls the
function. Services return plain JSON-ready dicts and raise the typed errors of
:mod:`functions.domain.errors`; they never see HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage_adapter import Store


class Params(BaseModel):
    """Base of every action's parameter model: unknown fields are refused (422 names them).

    Parameters are input, so they are validated with ``extra="forbid"`` at every depth: a
    domain model typed into a parameter (they ignore unknown keys, to read stored data) refuses
    them here too, and so does any field added later. A model that takes loose fields on
    purpose (``extra="allow"``, the catalogue's create/update) checks them itself
    (``functions.services.records``).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @classmethod
    def model_validate(cls, obj: Any, *, extra: Any = None, **kwargs: Any) -> Any:
        if extra is None and cls.model_config.get("extra") != "allow":
            extra = "forbid"
        return super().model_validate(obj, extra=extra, **kwargs)


@dataclass
class Context:
    """What a service call may use. Collaborators with I/O (mail, PDF, VIES) are injected so
    that tests can give real loopback servers and the local server and Lambda share one path."""

    store: Store
    account_id: str | None = None
    actor: str = "system"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    public_url: str = "http://127.0.0.1:8000"
    services: dict[str, Any] = field(default_factory=dict)  # "mailer", "pdf", "vies", ...

    @property
    def today(self) -> str:
        return self.now.date().isoformat()

    @property
    def timestamp(self) -> str:
        return self.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def require_account(self) -> str:
        if not self.account_id:
            from functions.domain.errors import BillowError

            raise BillowError("no account")
        return self.account_id


@dataclass(frozen=True)
class ActionSpec:
    name: str
    params: type[Params]
    func: Callable[[Context, Any], Any]
    auth: bool = True
    mutating: bool = True


ACTIONS: dict[str, ActionSpec] = {}


def action(
    name: str, params: type[Params], *, auth: bool = True, mutating: bool = True
) -> Callable[[Callable[[Context, Any], Any]], Callable[[Context, Any], Any]]:
    def register(func: Callable[[Context, Any], Any]) -> Callable[[Context, Any], Any]:
        if name in ACTIONS:
            raise RuntimeError(f"action {name} registered twice")
        ACTIONS[name] = ActionSpec(name, params, _within_context(func), auth, mutating)
        return func

    return register


def load_all() -> dict[str, ActionSpec]:
    """Import every service module so that their actions are registered."""
    import importlib
    import pkgutil

    import functions.services as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name not in {"registry"}:
            importlib.import_module(f"functions.services.{mod.name}")
    return ACTIONS


#: The :class:`Context` of the action running on this thread (``None`` outside one). Set by
#: every registered action around its call, so that a representation built deep inside a
#: service (``invoices.present``: the ``hosted_invoice_url`` needs the public URL and the link
#: key) can reach it without threading ``ctx`` through every helper.
_current: ContextVar[Context | None] = ContextVar("billow_action_context", default=None)


def current_context() -> Context | None:
    return _current.get()


def _within_context(func: Callable[[Context, Any], Any]) -> Callable[[Context, Any], Any]:
    import functools

    @functools.wraps(func)
    def call(ctx: Context, params: Any) -> Any:
        token = _current.set(ctx)
        try:
            return func(ctx, params)
        finally:
            _current.reset(token)

    return call
