"""Idempotency-Key records: the first answer to a keyed request, replayed for its repeats."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import IdempotencyKey
from gateway.db.repositories.util import insert_for
from gateway.db.types import utcnow


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
