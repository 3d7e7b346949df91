"""Inbound callback events: stored once per (channel, event key), kept for audit and replay."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import InboundEvent
from gateway.db.repositories.util import insert_for
from gateway.db.types import utcnow


async def record_inbound_many(
    session: AsyncSession, events: Sequence[tuple[int, str, str, str]]
) -> set[tuple[int, str]]:
    """Store (channel_id, event_key, kind, payload) callbacks at once; the (channel_id, key) stored new.

    Keys must be distinct. One cached executemany (insertmanyvalues) whatever the count.
    """
    if not events:
        return set()
    now = utcnow()
    table = InboundEvent.__table__  # Core: no ORM bulk-persistence bookkeeping per row
    stmt = (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["channel_id", "event_key"])
        .returning(table.c.channel_id, table.c.event_key)
    )
    rows = [
        {
            "channel_id": channel_id,
            "event_key": key[:256],
            "kind": kind[:64],
            "payload": payload,
            "received_at": now,
            "processed_at": now,
        }
        for channel_id, key, kind, payload in events
    ]
    result = await (await session.connection()).execute(stmt, rows)
    return {(channel_id, key) for channel_id, key in result}
