"""The OpenAPI document as the contract: what Litestar generates, finished with what it cannot know.

Litestar writes paths, bodies and docstrings; it cannot know which errors a handler answers (it
puts a generic 400 in a shape the API never sends), how `ApiKeyMiddleware` authenticates, or
which operations honour `Idempotency-Key`. `finish(app, schema)` adds those, once per app, to the
document served at /schema/openapi.json (gateway.api.docs_ui serves it):

- errors: every operation lists the statuses it can answer, each in the real envelope
  (`ErrorBody`: `{"error": {"code", "message", ...}}`) with its stable codes as examples and
  `Retry-After` where a retry can help. Most come from rules read off the route (auth on /api/v1,
  404 for a path id, 422 for a query or body, 413 for a body and 400 for one that is not JSON, 424/502/503
  and the platform's refusals for a handler that takes `channels`, 503 overloaded from admission);
  what a handler raises itself is `RAISES`, keyed by operation id (tests/api/test_openapi.py walks
  the handlers' code to keep it complete);
- security: an API key (`Authorization: Bearer`) or an operator's session cookie, plus
  `X-CSRF-Token` on a cookie write, as gateway.api.auth reads them;
- `Idempotency-Key` on the operations that read it, the other headers a handler reads and the
  multipart bodies of the uploads (gateway.api.contract_forms); enums for statuses and content types that
  are plain strings in the Structs; examples for the main request bodies.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.types.internal_types import PathParameterDefinition

from gateway.api.auth import API_PREFIX, OPEN_PATHS, READ_METHODS
from gateway.api.contract_forms import FORMS, HEADERS
from gateway.api.contract_table import (
    AUTH,
    BAD_BODY,
    CSRF,
    ENUMS,
    EXAMPLES,
    IDEMPOTENT,
    INTERNAL,
    INVALID,
    NOT_FOUND,
    PLATFORM,
    SHED,
    TOO_LARGE,
    Answer,
    raises,
)
from gateway.api.errors import ErrorBody
from gateway.api.sending import IDEMPOTENCY_KEY_MAX

METHODS = ("get", "post", "put", "patch", "delete")
LITESTAR_400 = "Bad request syntax or unsupported method"
ENVELOPE = {"$ref": "#/components/schemas/ErrorBody"}
RETRY_AFTER = {
    "description": "Seconds to wait before retrying (the same request, with the same Idempotency-Key).",
    "schema": {"type": "integer", "minimum": 1},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": f"Any string up to {IDEMPOTENCY_KEY_MAX} characters: a repeat with the same key (from the "
    "same API key or operator) gets the first answer instead of acting twice; the same key with a different request "
    "answers 422 idempotency_key_reused, one still running 409 idempotency_key_busy (retry).",
    "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX},
}
SECURITY_READ: list[dict[str, list[str]]] = [{"BearerAuth": []}, {"SessionCookie": []}]
SECURITY_WRITE: list[dict[str, list[str]]] = [{"BearerAuth": []}, {"SessionCookie": [], "CsrfToken": []}]
CSRF_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "X-CSRF-Token",
    "description": "With the session cookie on POST/PUT/PATCH/DELETE: the csrf_token from sign-in or GET "
    "/api/v1/auth/me (403 csrf_failed without it). API keys need none.",
}


def operation_id(
    route_handler: HTTPRouteHandler, http_method: str, path_components: list[str | PathParameterDefinition]
) -> str:
    """Stable operation ids for generated clients: the handler's name in camelCase (listConversations)."""
    head, *rest = route_handler.handler_name.strip("_").split("_")
    name = head + "".join(word.capitalize() for word in rest)
    # a handler that serves several methods (the callback's GET URL check and POST) gets one id each
    return name + http_method.capitalize() if len(route_handler.http_methods) > 1 else name


def handlers(app: Litestar) -> dict[str, tuple[str, str, HTTPRouteHandler]]:
    """operation id → (path, method, handler) for every documented operation of `app`."""
    found: dict[str, tuple[str, str, HTTPRouteHandler]] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            for method in sorted(handler.http_methods):
                if method.lower() in METHODS:
                    found[operation_id(handler, method, [])] = (route.path_format or "/", method.lower(), handler)
    return found


def summary_of(op_id: str) -> str:
    """`listApiKeys` → "List api keys": Litestar's default is the bare CamelCase handler name."""
    words = re.sub(r"([A-Z])", r" \1", op_id).split()
    return " ".join([words[0].capitalize(), *(w.lower() for w in words[1:])])


def answers_of(path: str, method: str, handler: HTTPRouteHandler, op: dict[str, Any], op_id: str) -> list[Answer]:
    """Every error answer of one operation: the rules read off the route, then its own `RAISES`."""
    found: list[Answer] = []
    api = path.startswith(API_PREFIX)
    write = method.upper() not in READ_METHODS
    if api and path not in OPEN_PATHS:
        found += AUTH
        if write:
            found.append(CSRF)
    if api:
        found.append(SHED)  # admission sheds /api/v1 before a key is checked
    if "{" in path:
        found.append(NOT_FOUND)
    if op.get("requestBody"):  # a handler without one never reads a body (uploads raise their own)
        found += [BAD_BODY, TOO_LARGE, INVALID]
    if any(p.get("in") == "query" for p in op.get("parameters", [])):
        found.append(INVALID)
    if api and "channels" in handler.parsed_fn_signature.parameters:  # it calls a platform
        found += PLATFORM
    found += raises(op_id)
    found.append(INTERNAL)
    unique: dict[tuple[int, str], Answer] = {}
    for answer in found:
        unique.setdefault((answer.status, answer.code), answer)
    return sorted(unique.values(), key=lambda a: (a.status, a.code))


def error_responses(answers: list[Answer]) -> dict[str, Any]:
    """OpenAPI `responses` for the answers: one per status, each code an example of the envelope."""
    by_status: dict[int, list[Answer]] = {}
    for answer in answers:
        by_status.setdefault(answer.status, []).append(answer)
    responses: dict[str, Any] = {}
    for status, group in sorted(by_status.items()):
        lines = [f"- `{a.code}`: {a.summary}" for a in group]
        examples = {a.code: {"summary": a.summary, "value": {"error": a.example()}} for a in group}
        response: dict[str, Any] = {
            "description": "\n".join(lines),
            "content": {"application/json": {"schema": ENVELOPE, "examples": examples}},
        }
        if any(a.retry for a in group):
            response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
        responses[str(status)] = response
    return responses


def finish(app: Litestar, schema: dict[str, Any]) -> dict[str, Any]:
    """A finished copy of Litestar's document for `app` (the input is left as it was)."""
    doc = copy.deepcopy(schema)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _, defs = msgspec.json.schema_components([ErrorBody], ref_template="#/components/schemas/{name}")
    schemas.update(defs)
    components.setdefault("headers", {})["RetryAfter"] = RETRY_AFTER
    components.setdefault("securitySchemes", {})["CsrfToken"] = CSRF_SCHEME
    routes = handlers(app)
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None or op.get("operationId") not in routes:
                continue
            op_id = op["operationId"]
            _, _, handler = routes[op_id]
            op["summary"] = summary_of(op_id)
            _document_errors(op, answers_of(path, method, handler, op, op_id))
            _document_security(op, path, method)
            if op_id in IDEMPOTENT:
                op.setdefault("parameters", []).append(dict(IDEMPOTENCY_KEY))
            if op_id in HEADERS:
                op.setdefault("parameters", []).extend(copy.deepcopy(HEADERS[op_id]))
            if op_id in FORMS:  # after the errors: a form the parser cannot read is a 422, not a 400
                op["requestBody"] = copy.deepcopy(FORMS[op_id])
            if op_id in EXAMPLES and "requestBody" in op:
                for media in op["requestBody"].get("content", {}).values():
                    media["examples"] = EXAMPLES[op_id]
    _enums(schemas)
    return doc


def _document_errors(op: dict[str, Any], answers: list[Answer]) -> None:
    responses = op.setdefault("responses", {})
    if responses.get("400", {}).get("description") == LITESTAR_400:
        del responses["400"]  # Litestar's generic 400: a shape the gateway never sends
    responses.update(error_responses(answers))


def _document_security(op: dict[str, Any], path: str, method: str) -> None:
    if not path.startswith(API_PREFIX):
        op.pop("security", None)  # callbacks (platform signatures), /healthz, /metrics: open
    elif path in OPEN_PATHS:
        op["security"] = [{}]
    else:
        op["security"] = SECURITY_WRITE if method.upper() not in READ_METHODS else SECURITY_READ


def _enums(schemas: dict[str, Any]) -> None:
    """Plain-string fields whose values are a closed set: their enum (`ENUMS`)."""
    for (name, field), values in ENUMS.items():
        prop = schemas.get(name, {}).get("properties", {}).get(field)
        if prop is None:
            continue
        for target in [prop, *prop.get("oneOf", []), *prop.get("anyOf", [])]:
            if target.get("type") == "string":
                target["enum"] = list(values)
