"""Authentication for everything under /api/v1: an API key (`Authorization: Bearer <key>`, machines)
or an operator's session cookie (`kefu_session`, people); scopes read < write < admin.

`ApiKeyMiddleware` (wired app-wide in create_app) guards every route whose path starts with
/api/v1 but sign-in, so a new controller cannot forget it: no credentials, an unknown/revoked key
or a dead session answers 401, and the method sets the floor (GET/HEAD read, anything else write)
→ 403 below it. A Bearer header wins over a cookie. A cookie-authenticated POST/PUT/PATCH/DELETE
must carry `X-CSRF-Token` (the session's token from sign-in or /auth/me) → else 403 csrf_failed;
Bearer requests need none (a browser never adds that header by itself). Operators get the scope
of their role (gateway.api.actor.OPERATOR_SCOPES). Routes that need more add
`guards=[require_scope("admin")]`. Callbacks, /healthz, /metrics and /schema are outside /api/v1
and stay open. Handlers reach the caller with `gateway.api.actor.current_actor(request)`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie
from typing import Any

import msgspec
from litestar import MediaType
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.openapi.spec import Reference, SecurityScheme
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send

from gateway.api.actor import Actor, current_actor
from gateway.api.errors import error_body
from gateway.db.engine import Database
from gateway.db.repositories import signins
from gateway.db.repositories.apikeys import SCOPES, authenticate, scope_allows, touch, touch_due
from gateway.errors import Forbidden

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
OPEN_PATHS = frozenset({API_PREFIX + "/auth/sign-in"})  # reachable without credentials
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "kefu_session"
CSRF_HEADER = b"x-csrf-token"
SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    "BearerAuth": SecurityScheme(
        type="http",
        scheme="bearer",
        description="An API key from `kefu-gateway apikey create` (scopes: read < write < admin).",
    ),
    "SessionCookie": SecurityScheme(
        type="apiKey",
        name=SESSION_COOKIE,
        security_scheme_in="cookie",
        description="An operator's session from POST /api/v1/auth/sign-in; writes also need the "
        "`X-CSRF-Token` header (its value comes with sign-in and GET /api/v1/auth/me).",
    ),
}
SECURITY: list[dict[str, list[str]]] = [{"BearerAuth": []}, {"SessionCookie": []}]


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def header(headers: Iterable[tuple[bytes, bytes]], wanted: bytes) -> str | None:
    for name, value in headers:
        if name.lower() == wanted:
            return value.decode("latin-1")
    return None


def session_cookie(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The `kefu_session` cookie's value, or None."""
    for name, value in headers:
        if name.lower() == b"cookie":
            try:
                jar = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                continue
            morsel = jar.get(SESSION_COOKIE)
            if morsel is not None and morsel.value:
                return morsel.value
    return None


def method_scope(method: str) -> str:
    return "read" if method.upper() in READ_METHODS else "write"


class ApiKeyMiddleware(ASGIMiddleware):
    """Authenticates /api/v1 requests against the api_keys table (one indexed SELECT in a read session).

    last_used_at is written at most once a minute per key (repositories.apikeys.touch), in a write
    session of its own: other requests never take the write lock just to be authenticated.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, db: Database, *, session_idle: float = 12 * 3600.0) -> None:
        self.db = db
        self.session_idle = session_idle

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != ScopeType.HTTP or not is_api_path(scope["path"]) or scope["path"] in OPEN_PATHS:
            await next_app(scope, receive, send)
            return
        token = bearer_token(scope["headers"])
        cookie = session_cookie(scope["headers"]) if token is None else None
        if cookie is not None:
            actor = await self._operator(scope, receive, send, cookie)
            if actor is None:
                return
        else:
            actor = await self._key(scope, receive, send, token)
            if actor is None:
                return
        needed = method_scope(scope["method"])
        if not scope_allows(actor.scope, needed):
            who = "API key" if actor.type == "api_key" else "operator"
            message = f"this {who}'s scope is {actor.scope}; {needed} needed"
            await _reply(scope, receive, send, 403, "forbidden", message)
            return
        scope["auth"] = actor
        await next_app(scope, receive, send)

    async def _key(self, scope: HTTPScope, receive: Receive, send: Send, token: str | None) -> Actor | None:
        key = None
        if token is not None:
            async with self.db.sessions() as session:  # a read: on SQLite it never waits for a writer
                key = await authenticate(session, token)
            if key is not None and touch_due(key):  # a write at most once a minute per key
                async with self.db.session() as session:
                    await touch(session, key)
        if key is None:
            message = "missing API key or session" if token is None else "invalid or revoked API key"
            await _reply(scope, receive, send, 401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})
            return None
        return Actor.of_key(key)

    async def _operator(self, scope: HTTPScope, receive: Receive, send: Send, cookie: str) -> Actor | None:
        async with self.db.sessions() as session:
            signed = await signins.find_session(session, cookie, idle=self.session_idle)
        if signed is None:
            await _reply(scope, receive, send, 401, "unauthorized", "the session has ended; sign in again")
            return None
        if scope["method"].upper() not in READ_METHODS:
            given = header(scope["headers"], CSRF_HEADER) or ""
            if not given or not hmac.compare_digest(signins.digest(given), signed.csrf_hash):
                message = "a signed-in write needs the session's X-CSRF-Token header"
                await _reply(scope, receive, send, 403, "csrf_failed", message)
                return None
        if signins.touch_due(signed):  # the idle clock, written at most once a minute per session
            async with self.db.session() as session:
                await signins.touch(session, signed.session_id)
        return Actor.of_operator(signed.operator_id, signed.name, signed.role, session_id=signed.session_id)


async def _reply(
    scope: HTTPScope,
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
        actor = current_actor(connection)
        if not scope_allows(actor.scope, needed):
            raise Forbidden(f"this {actor.type.replace('_', ' ')}'s scope is {actor.scope}; {needed} needed")

    guard.__name__ = f"require_{needed}"
    return guard
