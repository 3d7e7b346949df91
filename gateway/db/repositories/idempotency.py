"""Idempotency-Key records: the first answer to a keyed request, replayed for its repeats.

The contract (README, "Idempotency-Key") is the same on both databases: a keyed request first
takes the key's turn (`hold`), then looks for an earlier answer (`find`), and only if there is none
does its work and stores its answer (`remember`), all in one transaction. Concurrent repeats wait
for that transaction and answer what it stored; if it fails, nothing is stored and the next one
does the work. SQLite gets the turn from BEGIN IMMEDIATE (one writer at a time); PostgreSQL from a
transaction-scoped advisory lock on the key, which also covers operators' keys (api_key_id NULL,
which the unique constraint does not see).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import IdempotencyKey
from gateway.db.repositories.util import insert_for, is_postgres
from gateway.db.types import utcnow


class KeyBusy(Exception):
    """Another transaction held the key's turn for longer than the wait allowed."""


def lock_id(api_key_id: int | None, key: str) -> int:
    """A signed 64-bit advisory-lock id for (api key, key)."""
    digest = hashlib.sha256(f"idempotency:{api_key_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def hold(session: AsyncSession, api_key_id: int | None, key: str, *, wait: float) -> None:
    """Take the key's turn for the rest of the transaction, waiting at most `wait` seconds (KeyBusy)."""
    if not is_postgres(session):
        return  # the write transaction's BEGIN IMMEDIATE already serializes writers
    await session.execute(text(f"SET LOCAL lock_timeout = '{int(wait * 1000)}ms'"))
    try:
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id(api_key_id, key)})
    except DBAPIError as exc:
        if "lock timeout" in str(exc) or "LockNotAvailable" in type(exc.orig).__name__:
            raise KeyBusy from None
        raise
    await session.execute(text("SET LOCAL lock_timeout = 0"))


async def find(session: AsyncSession, api_key_id: int | None, key: str) -> IdempotencyKey | None:
    return await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key)
    )


async def remember(
    session: AsyncSession,
    api_key_id: int | None,
    key: str,
    request_hash: str,
    status_code: int,
    response: dict[str, Any],
) -> bool:
    """Store the answer in the caller's transaction; False if a concurrent request stored one first."""
    result = await session.execute(
        insert_for(session, IdempotencyKey)
        .values(
            api_key_id=api_key_id,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response=response,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["api_key_id", "key"])
        .returning(IdempotencyKey.id)
    )
    return result.scalar() is not None
