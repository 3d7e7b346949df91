"""API-key authentication for everything under /api/v1: `Authorization: Bearer <key>`, scopes read < write < admin.

`ApiKeyMiddleware` (wired app-wide in create_app) guards every route whose path starts with
/api/v1, so a new controller cannot forget it: no key or an unknown/revoked key answers 401,
and the method sets the floor (GET/HEAD read, anything else write) → 403 below it. Routes that
need more add `guards=[require_scope("admin")]`. Callbacks, /healthz, /metrics and /schema are
outside /api/v1 and stay open. Handlers reach the key with `current_key(request)` (e.g. to scope
an Idempotency-Key).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.openapi.spec import SecurityScheme
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Receive, Scope, Send

from gateway.api.errors import error_body
from gateway.db.engine import Database
from gateway.db.models import ApiKey
from gateway.db.repositories.apikeys import SCOPES, authenticate, scope_allows, touch, touch_due
from gateway.errors import Forbidden

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_SCHEMES = {
    "BearerAuth": SecurityScheme(
        type="http",
        scheme="bearer",
        description="An API key from `kefu-gateway apikey create` (scopes: read < write < admin).",
    )
}
SECURITY: list[dict[str, list[str]]] = [{"BearerAuth": []}]


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def method_scope(method: str) -> str:
    return "read" if method.upper() in READ_METHODS else "write"


class ApiKeyMiddleware(ASGIMiddleware):
    """Authenticates /api/v1 requests against the api_keys table (one indexed SELECT in a read session).

    last_used_at is written at most once a minute per key (repositories.apikeys.touch), in a write
    session of its own: other requests never take the write lock just to be authenticated.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, db: Database) -> None:
        self.db = db

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if not is_api_path(scope["path"]):
            await next_app(scope, receive, send)
            return
        token = bearer_token(scope["headers"])
        key = None
        if token is not None:
            async with self.db.sessions() as session:  # a read: on SQLite it never waits for a writer
                key = await authenticate(session, token)
            if key is not None and touch_due(key):  # a write at most once a minute per key
                async with self.db.session() as session:
                    await touch(session, key)
        if key is None:
            message = "missing API key" if token is None else "invalid or revoked API key"
            await _reply(scope, receive, send, 401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})
            return
        needed = method_scope(scope["method"])
        if not scope_allows(key.scope, needed):
            await _reply(
                scope, receive, send, 403, "forbidden", f"this API key's scope is {key.scope}; {needed} needed"
            )
            return
        scope["auth"] = key
        await next_app(scope, receive, send)


async def _reply(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> None:
    response = ASGIResponse(
        body=msgspec.json.encode(error_body(code, message)),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
        is_head_response=scope["method"] == "HEAD",
    )
    await response(scope, receive, send)


def require_scope(needed: str) -> Any:
    """A Litestar guard: the request's API key must hold at least `needed` (403 forbidden)."""
    if needed not in SCOPES:
        raise ValueError(f"unknown scope {needed!r}")

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        key = connection.scope.get("auth")
        if not isinstance(key, ApiKey):  # only reachable when a route outside /api/v1 uses the guard
            raise Forbidden("an API key is required")
        if not scope_allows(key.scope, needed):
            raise Forbidden(f"this API key's scope is {key.scope}; {needed} needed")

    guard.__name__ = f"require_{needed}"
    return guard


def current_key(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey:
    """The authenticated API key of a /api/v1 request."""
    key = connection.scope.get("auth")
    if not isinstance(key, ApiKey):
        raise Forbidden("an API key is required")
    return key
