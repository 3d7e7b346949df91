"""API keys: created once (only the SHA-256 is kept), looked up by prefix, revoked, touched on use."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import ApiKey
from gateway.db.types import utcnow
from gateway.errors import InvalidRequest, NotFound

SCOPES = ("read", "write", "admin")  # each includes the ones before it
KEY_PREFIX = "kgw_"
PREFIX_LENGTH = 12  # "kgw_" + 8 random characters: shown in lists, indexed for lookup
TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at is written at most this often per key


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def scope_allows(granted: str, needed: str) -> bool:
    """read < write < admin; unknown scopes allow nothing."""
    if granted not in SCOPES or needed not in SCOPES:
        return False
    return SCOPES.index(granted) >= SCOPES.index(needed)


async def create_key(session: AsyncSession, *, name: str, scope: str) -> tuple[ApiKey, str]:
    """A new key; returns (row, plaintext). The plaintext exists only in this return value."""
    if scope not in SCOPES:
        raise InvalidRequest(f"scope must be one of {', '.join(SCOPES)}", field="scope")
    if not name.strip():
        raise InvalidRequest("name must not be empty", field="name")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name.strip()[:128], prefix=key[:PREFIX_LENGTH], key_hash=hash_key(key), scope=scope)
    session.add(row)
    await session.flush()
    return row, key


async def authenticate(session: AsyncSession, key: str) -> ApiKey | None:
    """The live (not revoked) key matching `key`, or None. Compares hashes in constant time."""
    if not key.startswith(KEY_PREFIX) or len(key) <= PREFIX_LENGTH:
        return None
    digest = hash_key(key)
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.prefix == key[:PREFIX_LENGTH], ApiKey.revoked_at.is_(None))
    )
    for row in rows:
        if hmac.compare_digest(row.key_hash, digest):
            return row
    return None


def touch_due(key: ApiKey, now: datetime | None = None) -> bool:
    """Whether `touch` would write: the last recorded use is TOUCH_INTERVAL old or older."""
    return key.last_used_at is None or (now or utcnow()) - key.last_used_at >= TOUCH_INTERVAL


async def touch(session: AsyncSession, key: ApiKey, now: datetime | None = None) -> bool:
    """Record use, unless it was recorded less than TOUCH_INTERVAL ago; True when written.

    The conditional UPDATE keeps replicas from all writing the same row in the same minute.
    """
    now = now or utcnow()
    if not touch_due(key, now):
        return False
    stale = now - TOUCH_INTERVAL
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key.id)
        .where((ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < stale))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    key.last_used_at = now
    # an UPDATE without RETURNING gives a CursorResult; Session.execute is typed Result (sqlalchemy#12913)
    return bool(cast(CursorResult[Any], result).rowcount)


async def list_keys(
    session: AsyncSession, *, include_revoked: bool = True, after_id: int | None = None, limit: int | None = None
) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id).limit(limit)
    if after_id is not None:
        query = query.where(ApiKey.id > after_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(await session.scalars(query))


async def get_key(session: AsyncSession, key_id: int) -> ApiKey:
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} not found")
    return row


async def revoke_key(session: AsyncSession, key_id: int) -> ApiKey:
    """Revoke (idempotent: a revoked key keeps its first revocation time)."""
    row = await get_key(session, key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
    return row
