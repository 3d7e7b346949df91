"""How each channel is doing, from what the gateway already records: the last callback it accepted,
the last successful pull per stream and the pull errors still standing (sync_cursors)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import InboundEvent, SyncCursor


@dataclass(slots=True)
class ChannelHealth:
    last_callback_at: datetime | None = None
    last_pull_at: datetime | None = None
    errors: dict[str, str] = field(default_factory=dict)  # stream → its last error, while it stands


async def channel_health(session: AsyncSession, channel_ids: Sequence[int]) -> dict[int, ChannelHealth]:
    out = {channel_id: ChannelHealth() for channel_id in channel_ids}
    if not out:
        return out
    cursors = await session.execute(
        select(SyncCursor.channel_id, SyncCursor.stream, SyncCursor.last_synced_at, SyncCursor.last_error).where(
            SyncCursor.channel_id.in_(out)
        )
    )
    for channel_id, stream, synced, error in cursors:
        health = out[channel_id]
        if synced is not None and (health.last_pull_at is None or synced > health.last_pull_at):
            health.last_pull_at = synced
        if error:
            health.errors[stream] = error[:500]
    for channel_id, health in out.items():
        # newest first along the primary key: the latest rows are found without reading the channel's history
        health.last_callback_at = await session.scalar(
            select(InboundEvent.received_at)
            .where(InboundEvent.channel_id == channel_id)
            .order_by(InboundEvent.id.desc())
            .limit(1)
        )
    return out
