"""How each channel and the job queue are doing, from what the gateway already records: the last
callback it accepted, the last successful pull per stream and the pull errors still standing
(sync_cursors), how far pulls are behind their callbacks, and the oldest job that could run but has
not (GET /api/v1/channels, /readyz, /metrics). Every read is bounded: per channel or kf account, or LIMIT 1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Channel, InboundEvent, Job, SyncCursor


@dataclass(slots=True)
class ChannelHealth:
    last_callback_at: datetime | None = None
    last_pull_at: datetime | None = None
    errors: dict[str, str] = field(default_factory=dict)  # stream → its last error, while it stands
    pulls: dict[str, datetime] = field(default_factory=dict)  # stream → its last successful pull


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
        if synced is not None:
            health.pulls[stream] = synced
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


@dataclass(slots=True)
class Backlog:
    """The job that has waited longest although it could run: due and pending, or running on a lapsed lease."""

    kind: str
    due_at: datetime  # run_at of a pending job, locked_until of a lapsed lease


async def oldest_runnable_job(session: AsyncSession, now: datetime) -> Backlog | None:
    """Two index-ordered LIMIT 1 reads (ix_jobs_status_run_at for the pending side)."""
    found = []
    pending = (
        await session.execute(
            select(Job.kind, Job.run_at).where(Job.status == "pending", Job.run_at <= now).order_by(Job.run_at).limit(1)
        )
    ).first()
    if pending is not None:
        found.append(Backlog(pending[0], pending[1]))
    lapsed = (
        await session.execute(
            select(Job.kind, Job.locked_until)
            .where(Job.status == "running", Job.locked_until < now)
            .order_by(Job.locked_until)
            .limit(1)
        )
    ).first()
    if lapsed is not None and lapsed[1] is not None:
        found.append(Backlog(lapsed[0], lapsed[1]))
    return min(found, key=lambda b: b.due_at) if found else None


@dataclass(slots=True)
class StreamLag:
    channel_id: int
    stream: str  # the WeCom open_kfid
    seconds: float  # since the last successful pull, while a callback newer than it waits; else 0
    callback_at: datetime | None
    last_pull_at: datetime | None


async def sync_lags(session: AsyncSession, now: datetime) -> list[StreamLag]:
    """How far each pulled stream of an enabled channel is behind what its callbacks announced.

    A stream whose newest callback (sync Token) is newer than its last successful pull has messages
    waiting on the platform: its lag is the time since that pull (the puller polls quiet streams
    every GATEWAY_SYNC_POLL_INTERVAL, so a working one is never far behind). One row per kf account.
    """
    rows = await session.execute(
        select(SyncCursor.channel_id, SyncCursor.stream, SyncCursor.callback_token_at, SyncCursor.last_synced_at)
        .join(Channel, Channel.id == SyncCursor.channel_id)
        .where(Channel.enabled, SyncCursor.callback_token_at.is_not(None))
        .order_by(SyncCursor.channel_id, SyncCursor.stream)
    )
    out = []
    for channel_id, stream, callback_at, pulled_at in rows:
        assert callback_at is not None  # the WHERE
        since = callback_at if pulled_at is None else pulled_at
        waiting = pulled_at is None or callback_at > pulled_at
        seconds = max(0.0, (now - since).total_seconds()) if waiting else 0.0
        out.append(StreamLag(channel_id, stream, seconds, callback_at, pulled_at))
    return out
