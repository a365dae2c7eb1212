"""The API function: Lambda Function URL events (payload 2.0) → one service call → JSON.

``POST /api`` takes ``{"action": ..., **params}``; ``GET /health`` answers liveness. The local
server (``infra/server.py``) builds the same events and calls this same ``lambda_handler``.

Errors are mapped to the contract's status, code and shape here, once
(``{"error": {"code", "message", "details": [{"field", "message"}]}}``); a 5xx never carries a
stack trace — the trace goes to the log with the request's correlation id.

Cold start: this module imports Powertools, pydantic (through the registry) and the storage
port only; the service modules are imported on the first request, and reportlab, boto3,
requests and the mail transports only by the requests that need them.

Concurrency. In Lambda one process serves one request at a time, but ``billow serve`` runs this
same handler on many threads at once, so nothing about one request may live where another
thread can change it. Each Powertools utility on the path, decided one by one:

- Event handler: ``LambdaFunctionUrlResolver.resolve`` stores the current event on the router
  *class* (``BaseRouter.current_event``), shared by every thread. :class:`RequestResolver` keeps
  the event, the Lambda context and the per-request route context in a ``ContextVar`` instead
  (made safe, as Powertools' own ``HttpResolverLocal`` does), and the routes read the event
  once and pass it down explicitly.
- Logger: ``append_keys`` and ``inject_lambda_context`` write the formatter's keys, shared by
  every thread. Request keys (correlation id, Lambda context, action, account) go through
  ``thread_safe_append_keys`` (a ``ContextVar``), cleared at the start and end of each request
  (made safe).
- Metrics: ``Metrics`` keeps one metric set per process (shared even between instances) and
  ``log_metrics`` flushes it at the end of a request, emptying other requests' buffers. Each
  count is its own ``single_metric`` blob instead (made safe).
- Tracer: in Lambda it is the X-Ray SDK, one invocation per process; everywhere else it gets
  a no-op provider (``functions/api/tracing.py``), so there is nothing to share (safe).
- Idempotency: Powertools configures the persistence layer once and the config holds the
  Lambda context; both are built per request (``functions/api/idempotency.py``), so no request
  sees another's (kept out of concurrent use).
- Ours: ``Context`` and ``runtime.services()`` are built per request; the store keeps one
  SQLite connection per thread (boto3 clients are thread-safe); module caches are keyed by
  content (logos, fonts), never by request data.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # local: no X-Ray daemon, no EMF shipping
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

from functions.api import runtime
from functions.api.tracing import tracer_options
from functions.domain.errors import BillowError
from functions.services.registry import ActionSpec, Context, load_all
from storage_adapter.base import dumps

MAX_BODY = 1024 * 1024

SERVICE = "billow-api"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, **tracer_options())


@dataclass
class _RequestState:
    event: Any = None
    lambda_context: Any = None
    context: dict[str, Any] = field(default_factory=dict)
    processed_stack_frames: list[str] = field(default_factory=list)


class RequestResolver(LambdaFunctionUrlResolver):
    """``LambdaFunctionUrlResolver`` whose per-request state lives in a ``ContextVar``.

    Powertools' resolver writes the current event and Lambda context to class attributes of
    ``BaseRouter`` and keeps the matched route in ``self.context``: one slot per process, which
    the threads of ``billow serve`` overwrite under each other. Here the attributes Powertools
    reads (``current_event``, ``lambda_context``, ``context``, ``processed_stack_frames``) are
    properties over a ``ContextVar`` that :meth:`resolve` sets for the duration of one request
    and resets after it; each thread (and each request on a reused thread) sees its own.
    """

    def __init__(self) -> None:
        self._startup_state = _RequestState()
        self._request_state: ContextVar[_RequestState | None] = ContextVar(
            "billow_request", default=None
        )
        super().__init__()

    @property
    def _state(self) -> _RequestState:
        return self._request_state.get() or self._startup_state

    @property  # type: ignore[override]
    def current_event(self) -> Any:
        return self._state.event

    @current_event.setter
    def current_event(self, value: Any) -> None:
        self._state.event = value

    @property  # type: ignore[override]
    def lambda_context(self) -> Any:
        return self._state.lambda_context

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._state.lambda_context = value

    @property  # type: ignore[override]
    def context(self) -> dict[str, Any]:
        return self._state.context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._state.context = value

    @property  # type: ignore[override]
    def processed_stack_frames(self) -> list[str]:
        return self._state.processed_stack_frames

    @processed_stack_frames.setter
    def processed_stack_frames(self, value: list[str]) -> None:
        self._state.processed_stack_frames = value

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:  # type: ignore[override]
        state = _RequestState(
            event=self._to_proxy_event(event),
            lambda_context=context,
            context=dict(self._startup_state.context),
        )
        token = self._request_state.set(state)
        try:
            return self._build_response(self._resolve())
        finally:
            self._request_state.reset(token)


app = RequestResolver()

#: HTTP status of each error code of the contract.
STATUS = {
    "bad_request": 400,
    "unknown_action": 400,
    "unauthenticated": 401,
    "invalid_token": 401,
    "not_found": 404,
    "invalid_state": 409,
    "conflict": 409,
    "idempotency_mismatch": 409,
    "payload_too_large": 413,
    "validation_error": 422,
    "rate_limited": 429,
    "mail_delivery_failed": 502,
    "vies_unavailable": 503,
    # a deployment without a mail transport: the operator's fault, said clearly, never a 4xx
    "mail_not_configured": 503,
}

_JSON = "application/json"

#: Result fields that are secrets shown once (contract: "the key is shown this once"; keys are
#: "stored only as hashes"). The idempotency record keeps the result without them, so a retry
#: with the same Idempotency-Key changes nothing and answers the same record with the secret
#: as ``null`` — the plain key is never written to the store.
SECRET_RESULT_FIELDS: dict[str, tuple[str, ...]] = {
    "apikey.create": ("key",),
    "webhook.create": ("secret",),
}

#: Result fields derived from a key outside the store: ``hosted_invoice_url`` carries the
#: customer's token, which the store keeps only hashed. The idempotency record keeps them as
#: ``null``; a replay derives them again from the current record (:func:`_rederive`).
DERIVED_RESULT_FIELDS = ("hosted_invoice_url",)

_actions: dict[str, ActionSpec] | None = None


class ApiError(BillowError):
    """An error the API layer itself raises (bad body, unknown action ...)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def count(name: str) -> None:
    """Add 1 to the CloudWatch metric ``name`` (an EMF blob of its own: see the module doc)."""
    if is_metrics_disabled():
        return
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace="Billow",
        default_dimensions={"service": SERVICE},
    ):
        pass


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("billow")
    except Exception:
        return "0.1.0"


def _actions_registry() -> dict[str, ActionSpec]:
    global _actions
    if _actions is None:
        _actions = load_all()
    return _actions


# --- responses ---------------------------------------------------------------------------------


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """Decimals are written as strings (``storage_adapter`` JSON rules), never as floats."""
    return Response(
        status_code=status,
        content_type=_JSON,
        body=dumps(body),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    error = {"code": code, "message": message, "details": details or []}
    return json_response(status, {"error": error}, headers)


def map_error(exc: BaseException) -> Response:
    """The one place where exceptions become HTTP responses."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from functions.domain.models import field_errors

        details = [d.as_dict() for d in field_errors(exc)]
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details) or "invalid input"
        return error_response(422, "validation_error", message, details)
    if isinstance(exc, BillowError):
        status = STATUS.get(exc.code)
        if status is None:
            logger.warning("unmapped error code %s", exc.code)
            status = 400
        details = [d.as_dict() for d in getattr(exc, "details", [])]
        headers = {}
        if exc.code == "rate_limited":
            headers["Retry-After"] = str(getattr(exc, "retry_after", 60))
        if status >= 500:
            count("ServerErrors")
            logger.warning("service unavailable: %s", exc.message)
        return error_response(status, exc.code, exc.message, details, headers)

    name = type(exc).__name__
    if name == "IdempotencyValidationError":
        return error_response(
            409,
            "idempotency_mismatch",
            "this Idempotency-Key was used with a different request body",
        )
    if name == "IdempotencyAlreadyInProgressError":
        return error_response(
            409, "conflict", "a request with this Idempotency-Key is still being processed"
        )
    from storage_adapter import VersionConflict

    if isinstance(exc, VersionConflict):
        return error_response(409, "conflict", "the record was changed meanwhile; reload it")
    count("ServerErrors")
    logger.exception("unhandled error")
    return error_response(500, "internal_error", "something went wrong on our side")


# --- routes ------------------------------------------------------------------------------------

from functions.hosted.quote_routes import register as _register_quote_page  # noqa: E402


@app.get("/health")
def health() -> Response:
    return json_response(200, {"status": "ok", "version": _version()})


@app.get("/api/schema.json")
def schema() -> Response:
    """The OpenAPI 3.1 document of every action (``functions/api/schema.py``)."""
    from functions.api.schema import openapi_document

    return json_response(200, openapi_document(), {"Cache-Control": "public, max-age=300"})


@app.get("/docs")
def docs_page() -> Response:
    return docs_asset("")


@app.get("/docs/<name>")
def docs_asset(name: str) -> Response:
    """The interactive reference (``functions/api/docs``), loaded only when asked for."""
    from functions.api import docs

    found = docs.asset(name)
    if found is None:
        return error_response(404, "not_found", "no such file")
    body, content_type = found
    return Response(
        status_code=200,
        content_type=content_type,
        body=body,
        headers={
            "Cache-Control": "public, max-age=300",
            "Content-Security-Policy": docs.CSP,
            "X-Content-Type-Options": "nosniff",
        },
    )


@app.route("/i/<token>", method=["GET", "HEAD"])
def hosted_page(token: str) -> Response:
    return hosted_part(token, "")


@app.route("/i/<token>/<part>", method=["GET", "HEAD"])
def hosted_part(token: str, part: str) -> Response:
    """The customer's invoice page and its downloads (``functions/api/hosted.py``)."""
    from functions.api import hosted

    event: LambdaFunctionUrlEvent = app.current_event
    try:
        return hosted.answer(event, _public_url(event))
    except Exception:
        logger.exception("the hosted page failed")
        count("ServerErrors")
        return error_response(500, "internal_error", "something went wrong on our side")


@app.post("/api")
def api() -> Response:
    # the event is read once, here, and passed down: nothing below looks at the router
    event: LambdaFunctionUrlEvent = app.current_event
    try:
        return _dispatch(event, app.lambda_context)
    except Exception as exc:
        return map_error(exc)


# the customer's quote page: GET/POST /q/<token> (functions/hosted/quote_routes.py)
_register_quote_page(app)


@app.not_found
def not_found(_exc: Exception) -> Response:
    return error_response(404, "not_found", "no such endpoint; use POST /api")


def _header(event: LambdaFunctionUrlEvent, name: str) -> str | None:
    headers = event.headers or {}
    name = name.lower()
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _parse_body(event: LambdaFunctionUrlEvent) -> dict[str, Any]:
    raw: str | bytes = event.body or ""
    if event.is_base64_encoded:  # a body that is not UTF-8 text arrives base64-encoded
        import base64
        import binascii

        try:
            raw = base64.b64decode(raw)
        except (binascii.Error, ValueError):
            raise ApiError("bad_request", "the body is not valid JSON") from None
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_BODY:
        raise ApiError("payload_too_large", "the request body is larger than 1 MiB")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        body = json.loads(text, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting bomb
        raise ApiError("bad_request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError("bad_request", "the body must be a JSON object")
    return body


def _public_url(event: LambdaFunctionUrlEvent) -> str:
    configured = os.environ.get("BILLOW_PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    domain = event.request_context.domain_name
    return f"https://{domain}" if domain else "http://127.0.0.1:8000"


def _dispatch(event: LambdaFunctionUrlEvent, lambda_context: Any) -> Response:
    body = _parse_body(event)
    name = body.get("action")
    if not isinstance(name, str) or not name:
        raise ApiError("bad_request", "the body needs an 'action' field")
    spec = _actions_registry().get(name)
    if spec is None:
        raise ApiError("unknown_action", f"no such action: {name}")
    logger.thread_safe_append_keys(action=name)

    store = runtime.get_store()
    services = runtime.services()
    ctx = Context(store=store, public_url=_public_url(event), services=services)
    if spec.auth:
        from functions.services.auth import authenticate

        principal = authenticate(store, _header(event, "authorization"))
        ctx.account_id = principal.account_id
        ctx.actor = principal.actor
        services["principal"] = principal
        logger.thread_safe_append_keys(account_id=principal.account_id)

    params = {k: v for k, v in body.items() if k != "action"}

    def run() -> dict[str, Any]:
        validated = spec.params.model_validate(params)
        return json.loads(dumps(spec.func(ctx, validated)))

    idem_key = _header(event, "idempotency-key")
    if idem_key and spec.mutating and ctx.account_id:
        if len(idem_key) > 255:
            raise ApiError("bad_request", "Idempotency-Key is longer than 255 characters")
        from functions.api.idempotency import run_idempotent

        secrets = SECRET_RESULT_FIELDS.get(name, ())
        fresh: dict[str, dict[str, Any]] = {}

        def run_without_secrets() -> dict[str, Any]:
            result = run()
            fresh["result"] = result  # this caller gets the secret; the stored copy does not
            hidden = (*secrets, *DERIVED_RESULT_FIELDS)
            return {k: (None if k in hidden else v) for k, v in result.items()}

        result = run_idempotent(
            store,
            account_id=ctx.account_id,
            key=idem_key,
            body=json.loads(dumps(body)),
            run=run_without_secrets,
            lambda_context=lambda_context,
        )
        result = fresh["result"] if "result" in fresh else _rederive(ctx, result)
    else:
        result = run()
    if spec.mutating:  # the commit may have written outbox records: wake this process's worker
        from functions.services.events import WAKE

        WAKE.set()
    return json_response(200, result)


def _rederive(ctx: Context, result: Any) -> Any:
    """A replayed invoice answer with its ``hosted_invoice_url`` derived again (the stored
    copy has ``null``): the current link of the caller's document."""
    if not isinstance(result, dict) or result.get("object") != "invoice":
        return result
    if "hosted_invoice_url" not in result or result["hosted_invoice_url"] is not None:
        return result
    from functions.services.hosted import hosted_url
    from functions.services.invoices import INVOICES

    rec = ctx.store.get(INVOICES, str(result.get("id") or ""))
    if rec is None or rec.account_id != ctx.account_id:
        return result
    return {**result, "hosted_invoice_url": hosted_url(ctx, rec)}


# --- entry point -------------------------------------------------------------------------------


class LocalContext:
    """A stand-in for the Lambda context outside Lambda (local server, tests)."""

    function_name = "billow-api-local"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:billow-api-local"
    memory_limit_in_mb = 1024
    log_group_name = "local"
    log_stream_name = "local"

    def __init__(self, request_id: str = "local", timeout_ms: int = 60_000) -> None:
        self.aws_request_id = request_id
        self._timeout_ms = timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


_invocations = itertools.count()


def _request_keys(event: dict[str, Any], context: Any) -> tuple[str, dict[str, Any]]:
    """The correlation id (the Function URL request id) and the log keys of one request: what
    ``Logger.inject_lambda_context`` adds, kept per request instead of per process."""
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    request_id = str((request_context or {}).get("requestId") or context.aws_request_id)
    return request_id, {
        "correlation_id": request_id,
        "cold_start": next(_invocations) == 0,
        "function_name": getattr(context, "function_name", None),
        "function_memory_size": getattr(context, "memory_limit_in_mb", None),
        "function_arn": getattr(context, "invoked_function_arn", None),
        "function_request_id": getattr(context, "aws_request_id", None),
    }


# capture_response=False: the response holds session and API keys (auth.verify, apikey.create)
# and every invoice's data; as X-Ray metadata they would be kept, in plain text, in traces
@tracer.capture_lambda_handler(capture_response=False)
def _handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.perf_counter()
    request_id, keys = _request_keys(event, context)
    logger.thread_safe_clear_keys()  # a reused thread starts clean
    logger.thread_safe_append_keys(**keys)
    try:
        count("Requests")
        result = app.resolve(event, context)
        result.setdefault("headers", {})["X-Request-Id"] = request_id
        logger.info(
            "request handled",
            extra={
                "status": result.get("statusCode"),
                "path": (event.get("rawPath") if isinstance(event, dict) else None),
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return result
    finally:
        logger.thread_safe_clear_keys()


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Entry point of the API function (Function URL, payload format 2.0)."""
    return _handle(event, context if context is not None else LocalContext())
