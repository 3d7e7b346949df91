"""Directory sync: a channel's inboxes and agents (with online status) read from the platform into the tables.

WeCom: account/list + servicer/list; MP: getkflist + getonlinekflist. New rows are added, statuses
and memberships replaced, inboxes the platform no longer lists disabled, agents it no longer lists
marked offline. Runs on demand (POST /api/v1/agents/sync) and periodically inside `serve`.

`KfAccounts` answers which kf accounts a channel really has, for callbacks that name one: an id
the table does not know triggers one inbox refresh (at most every few seconds per channel), and an
id still unknown after it is remembered as unknown for a minute. So a forged OpenKfId never becomes
a sync stream or an inbox, and a flood of them costs one account/list call per interval.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Collection

from gateway.channels.base import Channel
from gateway.channels.pool import ChannelPool
from gateway.db.engine import Database
from gateway.db.repositories import directory
from gateway.db.repositories.channels import enabled_channel_ids
from gateway.db.repositories.inbound import enabled_inbox_ids

log = logging.getLogger(__name__)


async def sync_directory(db: Database, adapter: Channel, channel_id: int) -> tuple[int, int]:
    """Returns (inboxes, agents) the platform listed. Platform calls happen before the transaction."""
    inboxes = await adapter.list_inboxes()
    agents = await adapter.list_agents()
    async with db.session() as session:
        by_source = {}
        for info in inboxes:
            by_source[info.source_id] = await directory.upsert_inbox(
                session, channel_id, info.source_id, name=info.name, avatar_url=info.avatar_url
            )
        await directory.disable_inboxes_except(session, channel_id, by_source)
        members: list[tuple[int, int, str]] = []
        listed: set[int] = set()
        for agent_info in agents:
            agent = await directory.upsert_agent(
                session,
                channel_id,
                agent_info.source_id,
                name=agent_info.name or None,
                status=agent_info.status,
                raw=agent_info.raw,
            )
            listed.add(agent.id)
            members += [
                (by_source[s].id, agent.id, agent_info.status) for s in agent_info.inbox_source_ids if s in by_source
            ]
        for agent, _ in await directory.list_agents(session, channel_id=channel_id):
            if agent.id not in listed and agent.status != directory.DELETED:
                agent.status = "offline"
        await directory.replace_memberships(session, channel_id, members)
    return len(inboxes), len(agents)


async def refresh_inboxes(db: Database, adapter: Channel, channel_id: int) -> int:
    """Only the inboxes (one account/list walk): added, re-enabled, or disabled when no longer listed."""
    inboxes = await adapter.list_inboxes()
    async with db.session() as session:
        for info in inboxes:
            await directory.upsert_inbox(
                session, channel_id, info.source_id, name=info.name, avatar_url=info.avatar_url
            )
        await directory.disable_inboxes_except(session, channel_id, [info.source_id for info in inboxes])
    return len(inboxes)


class KfAccounts:
    """The kf accounts (enabled inboxes) of each channel, refreshed from the platform when one is unknown.

    `known_ttl`: seconds an enabled account is trusted without reading the table again (a callback
    then costs no query); `unknown_ttl`: seconds an id the platform did not list stays unknown;
    `refresh_interval`: the least time between two refreshes of one channel; `refresh_timeout`: how
    long a callback waits for one (the platform gives it 5 s in all).
    """

    MAX_ENTRIES = 10_000  # remembered ids of each kind, all channels; past it the oldest are dropped

    def __init__(
        self,
        db: Database,
        *,
        known_ttl: float = 30.0,
        unknown_ttl: float = 60.0,
        refresh_interval: float = 10.0,
        refresh_timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.known_ttl = known_ttl
        self.unknown_ttl = unknown_ttl
        self.refresh_interval = refresh_interval
        self.refresh_timeout = refresh_timeout
        self.clock = clock
        self._known: dict[tuple[int, str], float] = {}  # (channel, id) → trusted until
        self._unknown: dict[tuple[int, str], float] = {}  # (channel, id) → unknown until
        self._refreshed: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self.refreshes = 0  # platform refreshes made (tests read it)

    async def known(self, adapter: Channel, channel_id: int, ids: Collection[str]) -> set[str]:
        """Those of `ids` that are enabled kf accounts of the channel, after a refresh if needed."""
        wanted = set(ids)
        now = self.clock()
        if all(self._known.get((channel_id, i), -math.inf) > now for i in wanted):
            return wanted
        async with self.db.sessions() as session:
            found = await enabled_inbox_ids(session, channel_id, wanted)
        ask = {i for i in wanted - found if self._unknown.get((channel_id, i), -math.inf) <= now}
        if ask:
            listed, refreshed = await self._refresh(adapter, channel_id, ask)
            found |= listed
            if refreshed:  # only what the platform itself did not list is remembered as unknown
                until = self.clock() + self.unknown_ttl
                for source_id in ask - listed:
                    self._unknown[(channel_id, source_id)] = until
        until = self.clock() + self.known_ttl
        for source_id in found:
            self._known[(channel_id, source_id)] = until
        self._prune()
        return found

    def forget(self, channel_id: int, ids: Collection[str]) -> None:
        """These accounts changed (withdrawn from the app): read them again next time."""
        for source_id in ids:
            self._known.pop((channel_id, source_id), None)

    async def _refresh(self, adapter: Channel, channel_id: int, ask: set[str]) -> tuple[set[str], bool]:
        """(those of `ask` now enabled, whether the platform was read just now)."""
        refreshed = False
        async with self._locks.setdefault(channel_id, asyncio.Lock()):  # one refresh at a time per channel
            if self.clock() - self._refreshed.get(channel_id, -math.inf) >= self.refresh_interval:
                self._refreshed[channel_id] = self.clock()
                self.refreshes += 1
                try:
                    await asyncio.wait_for(refresh_inboxes(self.db, adapter, channel_id), self.refresh_timeout)
                    refreshed = True
                except Exception as exc:  # the platform is slow or down: the ids stay unknown for now
                    log.warning("kf account refresh of channel %s failed: %s", channel_id, exc)
            async with self.db.sessions() as session:
                return await enabled_inbox_ids(session, channel_id, ask), refreshed

    def _prune(self) -> None:
        now = self.clock()
        for name in ("_known", "_unknown"):
            entries: dict[tuple[int, str], float] = getattr(self, name)
            if len(entries) > self.MAX_ENTRIES:
                entries = {k: v for k, v in entries.items() if v > now}
                while len(entries) > self.MAX_ENTRIES:  # still full of live entries: drop the oldest
                    entries.pop(next(iter(entries)))
                setattr(self, name, entries)


class DirectoryRefresher:
    """Refreshes every enabled channel's directory every `interval` seconds (inside `serve`)."""

    def __init__(self, db: Database, channels: ChannelPool, interval: float) -> None:
        self.db = db
        self.channels = channels
        self.interval = interval

    async def refresh_all(self) -> None:
        """Inboxes and agents (online status) of every enabled channel, from the platforms."""
        async with self.db.sessions() as session:
            ids = await enabled_channel_ids(session)
        for channel_id in ids:
            try:
                await sync_directory(self.db, await self.channels.get(channel_id), channel_id)
            except Exception as exc:  # one channel's trouble must not stop the others
                log.warning("directory refresh of channel %s failed: %s", channel_id, exc)

    async def run(self) -> None:
        while True:
            await self.refresh_all()
            await asyncio.sleep(self.interval)
