"""Operator sign-in sessions and the failed-sign-in rate limit, both in the database so every
replica sees the same (docs/security.md).

A session's cookie holds a random token; the row keeps its SHA-256 only. The CSRF token is derived,
HMAC-SHA256(secret key, "csrf:" + session token): the page can get it again from /auth/me after a
reload, and the row keeps its SHA-256 to check the `X-CSRF-Token` header without the secret. A
session ends at sign-out, when the operator is deactivated or changes password, after `idle`
seconds without a request or `max_age` seconds after sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.people import Operator, OperatorSession, SignInFailure
from gateway.db.repositories.util import is_postgres
from gateway.db.types import utcnow

TOUCH_INTERVAL = timedelta(minutes=1)  # last_seen_at is written at most this often per session
WINDOW = timedelta(minutes=15)  # failed sign-ins count for this long
MAX_PER_EMAIL = 5
MAX_PER_ADDRESS = 30


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def csrf_token(session_token: str, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


async def open_session(
    session: AsyncSession, operator: Operator, *, secret_key: str, max_age: float, user_agent: str = ""
) -> tuple[OperatorSession, str, str]:
    """A new session for `operator`: (row, cookie token, CSRF token); the tokens exist only here."""
    token = secrets.token_urlsafe(32)
    csrf = csrf_token(token, secret_key)
    now = utcnow()
    row = OperatorSession(
        operator_id=operator.id,
        token_hash=digest(token),
        csrf_hash=digest(csrf),
        user_agent=user_agent[:256],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=max_age),
    )
    session.add(row)
    operator.last_sign_in_at = now
    await session.flush()
    return row, token, csrf


@dataclass(frozen=True, slots=True)
class Signed:
    """A live session and its operator, as the auth middleware reads them."""

    session_id: int
    operator_id: int
    name: str
    role: str
    csrf_hash: str
    last_seen_at: datetime


async def find_session(session: AsyncSession, token: str, *, idle: float, now: datetime | None = None) -> Signed | None:
    """The live session `token` opens, or None (unknown, revoked, expired, idle too long, operator inactive)."""
    now = now or utcnow()
    row = (
        await session.execute(
            select(OperatorSession, Operator)
            .join(Operator, Operator.id == OperatorSession.operator_id)
            .where(OperatorSession.token_hash == digest(token), OperatorSession.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    signed, operator = row
    if not operator.active or signed.expires_at <= now or signed.last_seen_at + timedelta(seconds=idle) <= now:
        return None
    return Signed(signed.id, operator.id, operator.name, operator.role, signed.csrf_hash, signed.last_seen_at)


def touch_due(signed: Signed, now: datetime | None = None) -> bool:
    return (now or utcnow()) - signed.last_seen_at >= TOUCH_INTERVAL


async def touch(session: AsyncSession, session_id: int, now: datetime | None = None) -> None:
    """Move last_seen_at (the idle clock); conditional, so replicas do not all write the same minute."""
    now = now or utcnow()
    await session.execute(
        update(OperatorSession)
        .where(OperatorSession.id == session_id, OperatorSession.last_seen_at < now - TOUCH_INTERVAL)
        .values(last_seen_at=now)
    )


async def end_session(session: AsyncSession, session_id: int) -> None:
    await session.execute(
        update(OperatorSession)
        .where(OperatorSession.id == session_id, OperatorSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# --------------------------------------------------------------------------- failed sign-ins


async def admit(session: AsyncSession, email: str, ip: str) -> int | None:
    """Check the limit and count this attempt as a failure in one serialized step, before the password
    is verified: the seconds to wait (refused, nothing written), or None (go on; a good password then
    clears the email's failures, this one with them). Checking first and counting after the slow
    verification would let concurrent attempts all pass the check: 20 at once would get 20 guesses.
    On PostgreSQL the email's and the address's advisory locks serialize it (taken in a fixed order,
    so two attempts never deadlock); SQLite's write transaction (BEGIN IMMEDIATE) already does."""
    if is_postgres(session):
        for key in sorted({_lock_id("email", email), _lock_id("ip", ip)}):
            await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": key})
    wait = await retry_after(session, email, ip)
    if wait is None:
        await record_failure(session, email, ip)
    return wait


def _lock_id(kind: str, value: str) -> int:
    return int.from_bytes(hashlib.sha256(f"sign-in:{kind}:{value}".encode()).digest()[:8], "big", signed=True)


async def retry_after(session: AsyncSession, email: str, ip: str, now: datetime | None = None) -> int | None:
    """Seconds until another attempt is allowed when the email or the address is at its limit, else None:
    the limit-th most recent failure in the window has to leave it first."""
    now = now or utcnow()
    waits = []
    for column, value, limit in ((SignInFailure.email, email, MAX_PER_EMAIL), (SignInFailure.ip, ip, MAX_PER_ADDRESS)):
        if not value:
            continue
        recent = list(
            await session.scalars(
                select(SignInFailure.at)
                .where(column == value, SignInFailure.at > now - WINDOW)
                .order_by(SignInFailure.at.desc())
                .limit(limit)
            )
        )
        if len(recent) >= limit:
            waits.append(max(1, int((recent[-1] + WINDOW - now).total_seconds()) + 1))
    return max(waits) if waits else None


async def record_failure(session: AsyncSession, email: str, ip: str) -> None:
    """Count a failed attempt; rows older than the window are pruned for this email on the way."""
    now = utcnow()
    await session.execute(delete(SignInFailure).where(SignInFailure.email == email, SignInFailure.at <= now - WINDOW))
    session.add(SignInFailure(email=email[:256], ip=ip[:64], at=now))
    await session.flush()


async def clear_failures(session: AsyncSession, email: str) -> None:
    """A good sign-in forgets the email's failures (the address's keep counting)."""
    await session.execute(delete(SignInFailure).where(SignInFailure.email == email))
