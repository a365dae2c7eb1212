"""The action API as an OpenAPI 3.1 document, generated from the registered pydantic models.

``GET /api/schema.json`` serves it (the app's own reference documentation) and the hardening
tests fuzz the handler with it. Nothing here is written by hand per action: every action in
:data:`functions.services.registry.ACTIONS` becomes one request schema,
``{"action": <const>, **params}``, and ``POST /api`` takes their ``oneOf``, discriminated on
``action``.

Create/update actions of the catalogue (``entity.*``, ``client.*``, ``product.*``) take their
fields loosely in the params model (``extra="allow"``) and let the domain model validate them;
for those, the writable fields of the domain model are documented instead.

This module imports pydantic's JSON-schema machinery and every service module; the handler
imports it only when the schema is requested, so cold start does not pay for it.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from functions.api.handler import STATUS
from functions.services.records import READ_ONLY
from functions.services.registry import ActionSpec, load_all

REF = "#/components/schemas/{model}"

#: Every error code the handler answers with, and its HTTP status (one table: the handler's).
ERROR_STATUS: dict[str, int] = dict(
    sorted({**STATUS, "internal_error": 500}.items(), key=lambda item: (item[1], item[0]))
)

#: When each error code is answered: the contract's error table, and the codes added since.
ERROR_MEANINGS: dict[str, str] = {
    "bad_request": "the body is not a JSON object, or `action` is missing",
    "unknown_action": "no such action",
    "unauthenticated": "missing, unknown, expired or revoked key",
    "invalid_token": "magic-link token unknown, expired or already used",
    "not_found": "no such record, or it belongs to another account (same answer either way)",
    "invalid_state": "the action is not allowed in the record's status; `message` names it",
    "conflict": "the `version` given does not match the stored version",
    "idempotency_mismatch": "the Idempotency-Key was used with a different body",
    "payload_too_large": "the body is over 1 MiB",
    "validation_error": "a field is missing, malformed, unknown or inconsistent (`details`)",
    "rate_limited": "too many requests (e.g. sign-in mails); `Retry-After` is set",
    "internal_error": "a fault on the server's side (no stack trace is sent)",
    "mail_delivery_failed": (
        "`invoice.send`: the mail server refused the message or could not be reached; nothing "
        "was sent, the status is kept and the timeline records `send_failed`"
    ),
    "vies_unavailable": "the EU VAT service could not give an answer; retry later",
    "mail_not_configured": "the deployment has no mail transport (an operator's fault)",
}

_EXTRA_READ_ONLY = {
    "client": {"vat_verification", "archived"},
    "product": {"archived"},
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "enum": sorted(ERROR_STATUS)},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "additionalProperties": False,
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}

_lock = threading.Lock()
_cached: dict[str, Any] | None = None


def _domain_models() -> dict[str, type[BaseModel]]:
    from functions.domain.models import Client, Entity, Product

    return {"entity": Entity, "client": Client, "product": Product}


def _line_model() -> type[BaseModel]:
    from functions.domain.models import Line

    return Line


def component_name(action_name: str) -> str:
    """``invoice.record_payment`` → ``InvoiceRecordPaymentRequest``."""
    words = action_name.replace(".", "_").split("_")
    return "".join(w[:1].upper() + w[1:] for w in words) + "Request"


def _loose(spec: ActionSpec) -> bool:
    """Params that accept any field and leave the checking to a domain model."""
    return spec.params.model_config.get("extra") == "allow"


def _request_schema(
    spec: ActionSpec, params: dict[str, Any], defs: dict[str, Any]
) -> dict[str, Any]:
    schema = copy.deepcopy(params)
    properties: dict[str, Any] = dict(schema.get("properties") or {})
    required: list[str] = list(schema.get("required") or [])
    if _loose(spec):
        noun, _, verb = spec.name.partition(".")
        domain = _domain_models().get(noun)
        if domain is not None:
            model = defs[domain.__name__]
            hidden = READ_ONLY | _EXTRA_READ_ONLY.get(noun, set())
            for field_name, field_schema in (model.get("properties") or {}).items():
                if field_name not in hidden and field_name not in properties:
                    properties[field_name] = field_schema
            if verb == "create":
                required += [r for r in model.get("required") or [] if r not in hidden]
    schema["properties"] = {
        "action": {"type": "string", "const": spec.name},
        **properties,
    }
    schema["required"] = ["action", *dict.fromkeys(required)]
    schema["additionalProperties"] = False
    schema["title"] = spec.name
    doc = (spec.func.__doc__ or "").strip()
    if doc:
        schema["description"] = doc.split("\n\n")[0].replace("\n", " ")
    from functions.api.examples import EXAMPLES

    if spec.name in EXAMPLES:
        schema["examples"] = [{"action": spec.name, **EXAMPLES[spec.name]}]
    schema["x-billow-auth"] = spec.auth
    schema["x-billow-mutating"] = spec.mutating
    return schema


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }


def _action_table(actions: dict[str, ActionSpec]) -> str:
    """Every action and what it does, as a Markdown table (the reference's overview); pick
    the action's example below to see and try a request."""
    rows = ["| action | what it does |", "|---|---|"]
    for name, spec in actions.items():
        doc = (spec.func.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        rows.append(f"| `{name}` | {doc.replace('|', '/') or '—'} |")
    return (
        "The body names the action and carries its parameters; each action's request schema "
        "is `<Action>Request` below, and the examples list holds one request per action.\n\n"
        + "\n".join(rows)
    )


def _examples(actions: dict[str, ActionSpec]) -> dict[str, Any]:
    """The request examples, one per action, named after it (shown by ``GET /docs``)."""
    from functions.api.examples import EXAMPLES

    return {
        name: {"summary": name, "value": {"action": name, **EXAMPLES[name]}}
        for name in actions
        if name in EXAMPLES
    }


def build_schema(actions: dict[str, ActionSpec] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``actions`` (default: every registered action)."""
    from functions.api.handler import _version

    actions = dict(sorted((actions or load_all()).items()))
    inputs: list[tuple[type[BaseModel], Any]] = [(s.params, "validation") for s in actions.values()]
    inputs += [(m, "validation") for m in _domain_models().values()]
    inputs.append((_line_model(), "validation"))  # named by the invoice params' "lines"
    mapping, top = models_json_schema(list(dict.fromkeys(inputs)), ref_template=REF)
    defs: dict[str, Any] = top.get("$defs", {})

    components: dict[str, Any] = {}
    discriminator: dict[str, str] = {}
    for name, spec in actions.items():
        ref = mapping[(spec.params, "validation")]["$ref"].rsplit("/", 1)[-1]
        component = component_name(name)
        components[component] = _request_schema(spec, defs[ref], defs)
        discriminator[name] = REF.format(model=component)
    # keep the shared sub-models (Address, Line ...) and the domain records, drop the raw
    # params models that the request schemas replace
    used_params = {
        mapping[(s.params, "validation")]["$ref"].rsplit("/", 1)[-1] for s in actions.values()
    }
    shared = {k: v for k, v in defs.items() if k not in used_params}
    for model in shared.values():
        # input is validated with extra="forbid" at every depth (see registry.Params)
        if "properties" in model:
            model.setdefault("additionalProperties", False)
    components = {**shared, **components, "Error": ERROR_SCHEMA}
    statuses = sorted(set(ERROR_STATUS.values()))

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Billow action API",
            "version": _version(),
            "description": (
                "One endpoint, POST /api, taking a JSON object with an `action` field plus that "
                "action's parameters. Authenticate with `Authorization: Bearer <key>` (a session "
                "key from auth.verify or an API key from apikey.create). Money and quantities are "
                "decimal strings. Errors have the shape of the `Error` schema.\n\n"
                "| status | code | when |\n|---|---|---|\n"
                + "\n".join(
                    f"| {status} | `{code}` | {ERROR_MEANINGS.get(code, '')} |"
                    for code, status in ERROR_STATUS.items()
                )
            ),
        },
        "paths": {
            "/api": {
                "post": {
                    "operationId": "action",
                    "summary": "Run one action",
                    "description": _action_table(actions),
                    "security": [{"bearer": []}],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 255},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "examples": _examples(actions),
                                "schema": {
                                    "oneOf": [{"$ref": ref} for ref in discriminator.values()],
                                    "discriminator": {
                                        "propertyName": "action",
                                        "mapping": discriminator,
                                    },
                                },
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The action's result object (no envelope).",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **{
                            str(status): _error_response(
                                "; ".join(
                                    f"`{c}`: {ERROR_MEANINGS.get(c, '')}"
                                    for c, s in ERROR_STATUS.items()
                                    if s == status
                                )
                            )
                            for status in statuses
                        },
                    },
                }
            },
            "/health": {
                "get": {
                    "operationId": "health",
                    "responses": {"200": {"description": '{"status": "ok", "version": "x.y.z"}'}},
                }
            },
            "/api/schema.json": {
                "get": {
                    "operationId": "schema",
                    "responses": {"200": {"description": "This document."}},
                }
            },
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def openapi_document() -> dict[str, Any]:
    """:func:`build_schema` of the registered actions, built once per process."""
    global _cached
    if _cached is None:
        with _lock:
            if _cached is None:
                _cached = build_schema()
    return _cached


def action_request_schema(name: str) -> dict[str, Any]:
    """The request schema (``{"action": name, ...}``) of one action, refs unresolved."""
    return openapi_document()["components"]["schemas"][component_name(name)]
