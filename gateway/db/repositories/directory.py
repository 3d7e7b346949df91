"""Inboxes and agents as the API manages them: listing, upserts after platform calls, memberships."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Agent, Channel, Inbox, InboxAgent
from gateway.db.repositories.conversations import agent_by_source, inboxes_by_source, set_membership
from gateway.db.types import utcnow
from gateway.errors import NotFound

DELETED = "deleted"  # an agent removed on the platform; the row stays so past messages keep their sender


async def list_inboxes(
    session: AsyncSession, *, channel_id: int | None = None, after_id: int | None = None, limit: int | None = None
) -> list[Inbox]:
    """By id; `after_id`/`limit` cut one page of it."""
    query = select(Inbox).order_by(Inbox.id).limit(limit)
    if channel_id is not None:
        query = query.where(Inbox.channel_id == channel_id)
    if after_id is not None:
        query = query.where(Inbox.id > after_id)
    return list(await session.scalars(query))


async def get_inbox(session: AsyncSession, inbox_id: int) -> tuple[Inbox, Channel]:
    """The inbox and its channel (the adapter to call is picked from the channel)."""
    row = (
        await session.execute(
            select(Inbox, Channel).join(Channel, Channel.id == Inbox.channel_id).where(Inbox.id == inbox_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"inbox {inbox_id} not found")
    return row[0], row[1]


async def upsert_inbox(
    session: AsyncSession, channel_id: int, source_id: str, *, name: str | None = None, avatar_url: str | None = None
) -> Inbox:
    """The inbox for a platform account (created if new, re-enabled if it was withdrawn)."""
    inbox = (await inboxes_by_source(session, channel_id, [source_id]))[source_id]
    inbox.enabled = True
    if name is not None:
        inbox.name = name
    if avatar_url is not None:
        inbox.avatar_url = avatar_url
    inbox.updated_at = utcnow()
    await session.flush()
    return inbox


async def add_contact_way(session: AsyncSession, inbox: Inbox, entry: dict[str, Any]) -> None:
    """Remember a contact-way link (kept in inbox.settings["contact_ways"], newest last)."""
    ways = list(inbox.settings.get("contact_ways") or [])
    ways.append(entry)
    inbox.settings = {**inbox.settings, "contact_ways": ways}
    inbox.updated_at = utcnow()
    await session.flush()


async def list_agents(
    session: AsyncSession,
    *,
    channel_id: int | None = None,
    inbox_id: int | None = None,
    status: str | None = None,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[tuple[Agent, list[InboxAgent]]]:
    """Agents with their memberships, by id; `inbox_id` keeps members of that inbox only;
    `after_id`/`limit` cut one page."""
    query = select(Agent).order_by(Agent.id).limit(limit)
    if status is not None:
        query = query.where(Agent.status == status)
    if after_id is not None:
        query = query.where(Agent.id > after_id)
    if channel_id is not None:
        query = query.where(Agent.channel_id == channel_id)
    if inbox_id is not None:
        query = query.where(Agent.id.in_(select(InboxAgent.agent_id).where(InboxAgent.inbox_id == inbox_id)))
    agents = list(await session.scalars(query))
    members = await memberships(session, [a.id for a in agents])
    return [(agent, members.get(agent.id, [])) for agent in agents]


async def memberships(session: AsyncSession, agent_ids: Iterable[int]) -> dict[int, list[InboxAgent]]:
    ids = sorted(set(agent_ids))
    out: dict[int, list[InboxAgent]] = defaultdict(list)
    if ids:
        rows = await session.scalars(
            select(InboxAgent).where(InboxAgent.agent_id.in_(ids)).order_by(InboxAgent.inbox_id)
        )
        for row in rows:
            out[row.agent_id].append(row)
    return out


async def get_agent(session: AsyncSession, agent_id: int) -> tuple[Agent, Channel | None]:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    channel = await session.get(Channel, agent.channel_id) if agent.channel_id is not None else None
    return agent, channel


async def upsert_agent(
    session: AsyncSession,
    channel_id: int,
    source_id: str,
    *,
    name: str | None = None,
    status: str | None = None,
    raw: dict[str, Any] | None = None,
) -> Agent:
    agent = await agent_by_source(session, channel_id, source_id, name=name)
    if status is not None:
        agent.status = status
    if raw is not None:
        agent.raw = raw
    agent.updated_at = utcnow()
    await session.flush()
    return agent


async def join_inbox(session: AsyncSession, inbox_id: int, agent_id: int, status: str) -> None:
    await set_membership(session, inbox_id, agent_id, status)


async def leave_inbox(session: AsyncSession, inbox_id: int, agent_id: int) -> None:
    await session.execute(delete(InboxAgent).where(InboxAgent.inbox_id == inbox_id, InboxAgent.agent_id == agent_id))


async def mark_agent_deleted(session: AsyncSession, agent: Agent) -> None:
    """Keep the row (messages and conversations point at it), drop its memberships."""
    await session.execute(delete(InboxAgent).where(InboxAgent.agent_id == agent.id))
    agent.status = DELETED
    agent.updated_at = utcnow()
    await session.flush()


async def agent_by_channel_source(session: AsyncSession, channel_id: int, source_id: str) -> Agent | None:
    return await session.scalar(select(Agent).where(Agent.channel_id == channel_id, Agent.source_id == source_id))


async def replace_memberships(session: AsyncSession, channel_id: int, members: list[tuple[int, int, str]]) -> None:
    """Make (inbox_id, agent_id, status) the whole membership of this channel's inboxes."""
    inbox_ids = select(Inbox.id).where(Inbox.channel_id == channel_id)
    await session.execute(delete(InboxAgent).where(InboxAgent.inbox_id.in_(inbox_ids)))
    for inbox_id, agent_id, status in members:
        await set_membership(session, inbox_id, agent_id, status)


async def disable_inboxes_except(session: AsyncSession, channel_id: int, source_ids: Iterable[str]) -> int:
    """Disable this channel's inboxes the platform no longer lists; returns how many changed."""
    keep = set(source_ids)
    changed = 0
    for inbox in await list_inboxes(session, channel_id=channel_id):
        if inbox.enabled and inbox.source_id not in keep:
            inbox.enabled = False
            inbox.updated_at = utcnow()
            changed += 1
    await session.flush()
    return changed


async def serves(session: AsyncSession, inbox: Inbox, agent_id: int) -> bool | None:
    """Whether the agent serves the inbox as the directory last saw it (a read or a servicer event);
    None when no membership of the inbox's channel is on record at all: only the platform knows."""
    member = await session.scalar(
        select(InboxAgent.agent_id).where(InboxAgent.inbox_id == inbox.id, InboxAgent.agent_id == agent_id)
    )
    if member is not None:
        return True
    known = await session.scalar(
        select(InboxAgent.inbox_id)
        .join(Inbox, Inbox.id == InboxAgent.inbox_id)
        .where(Inbox.channel_id == inbox.channel_id)
        .limit(1)
    )
    return None if known is None else False
