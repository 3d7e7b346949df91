"""Domain events (the ordered feed behind webhooks, /events and SSE) and sync cursors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import DomainEvent, SyncCursor
from gateway.db.repositories.util import insert_for
from gateway.db.types import utcnow

EVENT_TYPES = (
    "message.created",
    "message.updated",
    "conversation.created",
    "conversation.updated",
    "contact.created",
    "contact.updated",
    "contact.merged",
)


async def append_event(
    session: AsyncSession,
    type_: str,
    payload: dict[str, Any],
    *,
    conversation_id: int | None = None,
    contact_id: int | None = None,
) -> DomainEvent:
    """Add one event to the feed, in the caller's transaction (it commits with the rows)."""
    event = DomainEvent(type=type_, payload=payload, conversation_id=conversation_id, contact_id=contact_id)
    session.add(event)
    return event


async def events_after(
    session: AsyncSession, after_id: int, *, limit: int = 100, types: list[str] | None = None
) -> list[DomainEvent]:
    query = select(DomainEvent).where(DomainEvent.id > after_id).order_by(DomainEvent.id).limit(limit)
    if types:
        query = query.where(DomainEvent.type.in_(types))
    return list(await session.scalars(query))


async def get_cursor(session: AsyncSession, channel_id: int, stream: str) -> SyncCursor | None:
    return await session.get(SyncCursor, (channel_id, stream))


async def save_cursor(session: AsyncSession, channel_id: int, stream: str, cursor: str | None) -> None:
    """Upsert the stream's cursor in the caller's transaction (the one holding the rows)."""
    now = utcnow()
    stmt = insert_for(session, SyncCursor).values(
        channel_id=channel_id, stream=stream, cursor=cursor, last_synced_at=now, last_error=None, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel_id", "stream"],
        set_={"cursor": cursor, "last_synced_at": now, "last_error": None, "updated_at": now},
    )
    await session.execute(stmt)


async def save_callback_token(
    session: AsyncSession, channel_id: int, stream: str, token: str | None, at: datetime
) -> None:
    """Remember the newest sync Token of a stream (valid 10 min) for the puller."""
    stmt = insert_for(session, SyncCursor).values(
        channel_id=channel_id, stream=stream, callback_token=token, callback_token_at=at, updated_at=at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel_id", "stream"], set_={"callback_token": token, "callback_token_at": at}
    )
    await session.execute(stmt)


async def record_sync_error(session: AsyncSession, channel_id: int, stream: str, error: str) -> None:
    now = utcnow()
    stmt = insert_for(session, SyncCursor).values(
        channel_id=channel_id, stream=stream, last_error=error, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel_id", "stream"], set_={"last_error": error, "updated_at": now}
    )
    await session.execute(stmt)


async def list_cursors(session: AsyncSession, channel_id: int | None = None) -> list[SyncCursor]:
    query = select(SyncCursor).order_by(SyncCursor.channel_id, SyncCursor.stream)
    if channel_id is not None:
        query = query.where(SyncCursor.channel_id == channel_id)
    return list(await session.scalars(query))
