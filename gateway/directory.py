"""Directory sync: a channel's inboxes and agents (with online status) read from the platform into the tables.

WeCom: account/list + servicer/list; MP: getkflist + getonlinekflist. New rows are added, statuses
and memberships replaced, inboxes the platform no longer lists disabled, agents it no longer lists
marked offline. Runs on demand (POST /api/v1/agents/sync) and periodically inside `serve`.
"""

from __future__ import annotations

from gateway.channels.base import Channel
from gateway.db.engine import Database
from gateway.db.repositories import directory


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
        for info in agents:
            agent = await directory.upsert_agent(
                session, channel_id, info.source_id, name=info.name or None, status=info.status, raw=info.raw
            )
            listed.add(agent.id)
            members += [(by_source[s].id, agent.id, info.status) for s in info.inbox_source_ids if s in by_source]
        for agent, _ in await directory.list_agents(session, channel_id=channel_id):
            if agent.id not in listed and agent.status != directory.DELETED:
                agent.status = "offline"
        await directory.replace_memberships(session, channel_id, members)
    return len(inboxes), len(agents)
