"""MP chat-record history import: msgrecord/getmsglist → resolved conversations, meeting live traffic.

The range is walked in ≤24 h windows (the platform's limit). Each window is written in one
transaction together with the `msgrecord` sync cursor, so an interrupted import resumes after the
last committed window. Every row of a window is, in this order:

* present: its derived source id (gateway.migrate.records) is stored already (re-runs, overlapping
  or concurrent runs);
* sent by the gateway: a 2002 row recording a reply the gateway sent itself (gateway.migrate.overlap);
* live: at or after the channel's live mark, or too recent to tell (gateway.migrate.overlap);
* new: stored, grouped per contact into the conversations that happened (session closes or an idle
  gap) and written as resolved conversations (gateway.migrate.store) that never open a reply window.

Identity merge: after the windows, `channel.fetch_profiles` (user/info, unionid) runs in batches of
PROFILE_BATCH for every identity of the channel without a profile, and each batch is ingested as
`Batch(profiles=...)`, which merges contacts sharing a unionid (e.g. with WeCom identities). It is
done inline rather than through the `fetch_profiles` job so the command ends with merged contacts
even when no job runner is running.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels.mp import MpChannel
from gateway.channels.pool import ChannelPool
from gateway.db.engine import Database
from gateway.db.models import ContactIdentity
from gateway.db.repositories import contacts as contact_repo
from gateway.db.repositories import conversations as conv_repo
from gateway.db.repositories.feed import get_cursor, save_cursor
from gateway.domain import Batch
from gateway.errors import InvalidRequest
from gateway.inbound.ingest import ingest
from gateway.migrate import store
from gateway.migrate.overlap import SentByGateway, live_mark
from gateway.migrate.records import OPERCODE_KF_SENT, Row, split, to_rows
from gateway.wechat.mp_kefu import RECORD_WINDOW

STREAM = "msgrecord"
PROFILE_BATCH = 100
DEFAULT_GAP_HOURS = 6.0
SETTLE_SECONDS = 120.0  # rows younger than this are left to the callbacks (see gateway.migrate.overlap)


@dataclass(slots=True)
class Counts:
    records: int = 0
    new_messages: int = 0
    present: int = 0  # already stored by an earlier import
    by_gateway: int = 0  # replies the gateway sent itself, stored when it sent them
    live: int = 0  # at or after the live mark: stored by the callbacks
    conversations: int = 0  # conversations created

    def add(self, other: Counts) -> None:
        for f in fields(Counts):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(slots=True)
class Window(Counts):
    start: int = 0  # epoch seconds, both ends inclusive (the platform's semantics)
    end: int = 0


@dataclass(slots=True)
class ImportSummary(Counts):
    start: int = 0
    end: int = 0
    resumed_from: int | None = None  # where a previous, interrupted run had stopped
    windows: int = 0
    live_since: datetime | None = None  # the channel's live mark when the import ended
    profiles: int = 0


OnWindow = Callable[[Window], Awaitable[None] | None]


def _resume_point(cursor: str | None, start: int, end: int) -> int | None:
    """Where to restart: the stored window end, if a previous run over a range containing `start`
    stopped inside [start, end)."""
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
        since, done = int(state["since"]), int(state["done"])
    except (ValueError, KeyError, TypeError):
        return None
    if since <= start < done:
        return min(done, end)
    return None


async def import_history(
    db: Database,
    channels: ChannelPool,
    channel_id: int,
    since: datetime,
    until: datetime | None = None,
    *,
    gap_hours: float = DEFAULT_GAP_HOURS,
    settle: float = SETTLE_SECONDS,
    on_window: OnWindow | None = None,
    profiles: bool = True,
    page_size: int | None = None,
) -> ImportSummary:
    """Import chat records of the MP channel `channel_id` with since ≤ time ≤ until (default now).

    `on_window` is called after each window's commit (progress bars; tests inject failures there).
    """
    channel = await channels.get(channel_id)
    if not isinstance(channel, MpChannel):
        raise InvalidRequest(f"channel {channel_id} is not an MP channel", field="channel")
    if gap_hours <= 0:
        raise InvalidRequest("--gap-hours must be positive", field="gap_hours")
    start = int(since.timestamp())
    end = int((until or datetime.now(tz=UTC)).timestamp())
    if end < start:
        raise InvalidRequest("--until is before --since", field="until")
    async with db.sessions() as session:
        stored = await get_cursor(session, channel_id, STREAM)
    stored_cursor = stored.cursor if stored else None
    resume = _resume_point(stored_cursor, start, end)
    summary = ImportSummary(start=start, end=end, resumed_from=resume)
    range_since = json.loads(stored_cursor)["since"] if resume is not None and stored_cursor else start
    window_start = resume if resume is not None else start
    boundary: set[str] = set()  # source ids of the previous window's last second (asked again)
    if resume is not None and resume >= end:
        return summary  # a previous run imported this range to its end
    mark: datetime | None = None
    while True:
        window_end = min(window_start + RECORD_WINDOW, end)
        kwargs = {"page_size": page_size} if page_size else {}
        records = [r async for r in channel.client.iter_msgrecords(window_start, window_end, **kwargs)]
        rows = [r for r in to_rows(records) if r.source_id not in boundary]
        cursor = json.dumps({"since": range_since, "done": window_end})
        window = Window(start=window_start, end=window_end)
        async with db.session() as session:
            inbox = (await conv_repo.inboxes_by_source(session, channel_id, [channel.app_id]))[channel.app_id]
            if mark is None:  # once found, the earliest live row stays the earliest: no need to ask again
                mark = await live_mark(session, inbox.id)
            cutoff = min(mark.timestamp() if mark else float("inf"), time.time() - settle)
            await _write_window(session, channel_id, inbox.id, rows, cutoff, gap_hours * 3600, window)
            await save_cursor(session, channel_id, STREAM, cursor)
        summary.windows += 1
        summary.live_since = mark
        summary.add(window)
        if on_window is not None:
            outcome = on_window(window)
            if outcome is not None:
                await outcome
        if window_end >= end:
            break
        boundary = {r.source_id for r in rows if r.record.time == window_end}
        window_start = window_end
    if profiles:
        summary.profiles = await merge_identities(db, channels, channel_id)
    return summary


async def _write_window(
    session: AsyncSession, channel_id: int, inbox_id: int, rows: list[Row], cutoff: float, gap: float, counts: Counts
) -> None:
    """Classify the window's rows (present / by the gateway / live / new) and store the new ones."""
    counts.records = len(rows)
    if not rows:
        return
    existing = await conv_repo.existing_message_ids(session, inbox_id, [r.source_id for r in rows])
    known = await contact_repo.identity_refs_by_source(session, channel_id, {r.record.openid for r in rows})
    sent = await SentByGateway.load(
        session, inbox_id, {o: ref.id for o, ref in known.items()}, rows[0].sent_at, rows[-1].sent_at
    )
    kept: dict[str, list[Row]] = {}  # per contact: rows that belong to imported history
    for row in rows:
        if row.source_id in existing:
            counts.present += 1
        elif (
            row.record.opercode == OPERCODE_KF_SENT
            and row.record.openid in known
            and sent.match(row, known[row.record.openid].id) is not None
        ):
            counts.by_gateway += 1
            continue
        elif row.record.time >= cutoff:
            counts.live += 1
            continue
        kept.setdefault(row.record.openid, []).append(row)
    fresh = {openid for openid, kept_rows in kept.items() if any(r.source_id not in existing for r in kept_rows)}
    identities = await store.identities(session, channel_id, fresh)
    for openid in sorted(fresh):
        for group in split(sorted(kept[openid], key=lambda r: r.record.time), gap):
            inserted, created = await store.write_group(
                session, channel_id, inbox_id, identities[openid], group, existing, gap
            )
            counts.new_messages += inserted
            counts.present += len([r for r in group if r.source_id not in existing]) - inserted
            counts.conversations += int(created)


async def merge_identities(db: Database, channels: ChannelPool, channel_id: int) -> int:
    """Fetch profiles (unionid) for the channel's identities that have none; returns how many were applied."""
    channel = await channels.get(channel_id)
    async with db.sessions() as session:
        # Identity lookups for a whole channel have no repository helper yet; kept here, read-only.
        openids = list(
            await session.scalars(
                select(ContactIdentity.source_id)
                .where(ContactIdentity.channel_id == channel_id, ContactIdentity.profile_fetched_at.is_(None))
                .order_by(ContactIdentity.id)
            )
        )
    applied = 0
    for i in range(0, len(openids), PROFILE_BATCH):
        fetched = await channel.fetch_profiles(openids[i : i + PROFILE_BATCH])
        if fetched:
            async with db.session() as session:
                await ingest(session, Batch(channel_id=channel_id, profiles=fetched))
            applied += len(fetched)
    return applied


def describe(summary: ImportSummary) -> str:
    """The command's final summary line."""
    live = f", live since {summary.live_since:%Y-%m-%d %H:%M:%S}" if summary.live_since else ""
    return (
        f"{summary.new_messages} new messages in {summary.conversations} new conversations, "
        f"{summary.present} already present, {summary.by_gateway} sent by the gateway, "
        f"{summary.live} skipped as live{live}; {summary.records} records in {summary.windows} windows, "
        f"{summary.profiles} profiles"
    )
