"""Inbound callback events: stored once per (channel, event key), kept for audit and replay; and the
kf accounts a callback may name."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import InboundEvent, Inbox
from gateway.db.repositories.util import insert_for
from gateway.db.types import utcnow

REJECTED = "rejected"  # the kind of a verified callback refused for its content (its reason in `error`)


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


async def record_rejected(session: AsyncSession, channel_id: int, event_key: str, payload: str, reason: str) -> bool:
    """Keep a refused callback (kind "rejected", never processed, `error` = why); False when kept before."""
    table = InboundEvent.__table__
    stmt = (
        insert_for(session, table)
        .values(
            channel_id=channel_id,
            event_key=event_key[:256],
            kind=REJECTED,
            payload=payload,
            received_at=utcnow(),
            processed_at=None,
            error=reason,
        )
        .on_conflict_do_nothing(index_elements=["channel_id", "event_key"])
        .returning(table.c.id)
    )
    return (await session.execute(stmt)).first() is not None


async def enabled_inbox_ids(session: AsyncSession, channel_id: int, source_ids: Collection[str]) -> set[str]:
    """Which of `source_ids` are enabled inboxes (kf accounts) of the channel."""
    if not source_ids:
        return set()
    query = select(Inbox.source_id).where(
        Inbox.channel_id == channel_id, Inbox.enabled.is_(True), Inbox.source_id.in_(sorted(source_ids))
    )
    return set(await session.scalars(query))


async def inbox_ids(session: AsyncSession, channel_id: int, source_ids: Collection[str]) -> set[str]:
    """Which of `source_ids` are inboxes of the channel, enabled or not."""
    if not source_ids:
        return set()
    query = select(Inbox.source_id).where(Inbox.channel_id == channel_id, Inbox.source_id.in_(sorted(source_ids)))
    return set(await session.scalars(query))
