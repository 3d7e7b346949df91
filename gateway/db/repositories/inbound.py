"""Inbound callback events: stored once per (channel, event key), kept for audit and replay."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import InboundEvent
from gateway.db.repositories.util import insert_for
from gateway.db.types import utcnow


async def record_inbound(session: AsyncSession, channel_id: int, event_key: str, kind: str, payload: str) -> bool:
    """Store a callback; False when this key was stored before (a platform retry or duplicate)."""
    now = utcnow()
    result = await session.execute(
        insert_for(session, InboundEvent)
        .values(
            channel_id=channel_id,
            event_key=event_key[:256],
            kind=kind[:64],
            payload=payload,
            received_at=now,
            processed_at=now,
        )
        .on_conflict_do_nothing(index_elements=["channel_id", "event_key"])
        .returning(InboundEvent.id)
    )
    return result.scalar() is not None
