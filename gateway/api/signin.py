"""`/api/v1/auth`: operators sign in (email + password → the `kefu_session` cookie and a CSRF token),
read who they are (`/auth/me`, which hands the CSRF token out again after a page reload) and sign out.

Sign-in is the one /api/v1 route open without credentials. Unknown email, wrong password and
inactive operator answer the same 401 invalid_credentials (in the same time: an unknown email is
checked against a dummy hash). Failed attempts are counted in the database (all replicas see them):
past 5 per email or 30 per client address in 15 minutes, 429 too_many_attempts with Retry-After.
docs/security.md describes the cookie, the CSRF token and the session lifetimes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from msgspec import Struct

from gateway.api.actor import Actor, current_actor
from gateway.api.auth import SECURITY, SESSION_COOKIE
from gateway.api.operators import OperatorOut, load_out
from gateway.db.engine import Database
from gateway.db.passwords import hash_password, needs_rehash, verify_password
from gateway.db.repositories import audit, signins
from gateway.db.repositories import operators as repo
from gateway.errors import Forbidden, GatewayError, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class TooManyAttempts(GatewayError):
    """`retry_after` (seconds) travels in the body and as the Retry-After header."""

    status_code = 429
    code = "too_many_attempts"


@dataclass(frozen=True, slots=True)
class SignInPolicy:
    """What sign-in needs from the settings (built by create_app)."""

    secret_key: str
    max_age: float
    secure: bool  # the public URL is https: cookies are Secure whatever the request's scheme


class SignIn(Struct, kw_only=True, forbid_unknown_fields=True):
    email: str
    password: str


class Me(Struct, kw_only=True):
    operator: OperatorOut
    csrf_token: str  # send as X-CSRF-Token with every POST/PUT/PATCH/DELETE made with the cookie


def _cookie(request: Request[Any, Any, Any], policy: SignInPolicy, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=policy.secure or request.url.scheme == "https",
        max_age=max_age,
    )


def _operator_of(request: Request[Any, Any, Any]) -> Actor:
    actor = current_actor(request)
    if actor.type != "operator" or actor.session_id is None:
        raise Forbidden("this call is for a signed-in operator (an API key has no session)")
    return actor


class SignInController(Controller):
    path = "/api/v1/auth"
    tags = ("auth",)

    @post("/sign-in", status_code=200, security=[{}])
    async def sign_in(self, request: Request, data: SignIn, db: Database, sign_in_policy: SignInPolicy) -> Response[Me]:
        """Sets the `kefu_session` cookie (HttpOnly, SameSite=Lax, Path=/, Secure over https) and
        answers the operator and the CSRF token. 401 invalid_credentials, 429 too_many_attempts."""
        email = data.email.strip().lower()[:256]
        address = request.client.host if request.client else ""
        async with db.session() as session:  # counted before the password is checked: concurrent
            wait = await signins.admit(session, email, address)  # attempts cannot pass the limit
            operator = await repo.by_email(session, email)
        if wait is not None:
            raise TooManyAttempts("too many failed sign-ins; wait before trying again", retry_after=wait)
        stored = operator.password_hash if operator is not None else None
        good = await asyncio.to_thread(verify_password, stored, data.password)
        if operator is None or not good or not operator.active:
            raise InvalidCredentials("wrong email or password")  # admit() counted it already
        async with db.session() as session:
            operator = await repo.get_operator(session, operator.id)
            if needs_rehash(operator.password_hash):
                operator.password_hash = await asyncio.to_thread(hash_password, data.password)
            await signins.clear_failures(session, email)
            row, token, csrf = await signins.open_session(
                session,
                operator,
                secret_key=sign_in_policy.secret_key,
                max_age=sign_in_policy.max_age,
                user_agent=request.headers.get("user-agent", ""),
            )
            actor = Actor.of_operator(operator.id, operator.name, operator.role, session_id=row.id)
            await audit.record(session, actor.ref(), "operator.signed_in", subject_type="operator", subject_id=actor.id)
            out = Me(operator=await load_out(session, operator), csrf_token=csrf)
        return Response(out, cookies=[_cookie(request, sign_in_policy, token, int(sign_in_policy.max_age))])

    @post("/sign-out", status_code=204, security=SECURITY)
    async def sign_out(self, request: Request, db: Database, sign_in_policy: SignInPolicy) -> Response[None]:
        """Ends the session at once (the cookie stops working on every replica) and clears the cookie."""
        actor = _operator_of(request)
        async with db.session() as session:
            await signins.end_session(session, actor.session_id or 0)
            await audit.record(
                session, actor.ref(), "operator.signed_out", subject_type="operator", subject_id=actor.id
            )
        return Response(None, status_code=204, cookies=[_cookie(request, sign_in_policy, "", 0)])

    @get("/me", security=SECURITY)
    async def me(self, request: Request, db: Database, sign_in_policy: SignInPolicy) -> Me:
        """The signed-in operator and the session's CSRF token (the same one sign-in gave)."""
        actor = _operator_of(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        async with db.sessions() as session:
            out = await load_out(session, await repo.get_operator(session, actor.id))
        return Me(operator=out, csrf_token=signins.csrf_token(token, sign_in_policy.secret_key))
