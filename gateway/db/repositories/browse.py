"""The read side of conversations and messages for the API: filtered keyset pages and their context.

Conversation pages run newest activity first on (last_activity_at DESC, id DESC). The keyset
condition is written as `last_activity_at <= t AND (last_activity_at < t OR id < i)` rather than
a row-value comparison so every index that leads with last_activity_at (alone, after status or
after inbox_id) can range-scan it on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from gateway.db.models import Agent, Channel, Contact, Conversation, Inbox, Message
from gateway.db.repositories import search
from gateway.errors import NotFound


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    status: str | None = None
    channel_id: int | None = None
    inbox_id: int | None = None
    assignee_id: int | None = None
    contact_id: int | None = None
    updated_after: datetime | None = None
    q: str | None = None  # substring of a message's content or the contact's name


def conversation_query(
    f: ConversationFilter,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
    name_grams: list[str] | None = None,
    text_plan: search.TextPlan = search.TextPlan.SCAN,
) -> Select[tuple[Conversation]]:
    """The page query. With `q`, `name_grams` are search.plan_grams(q) (None: no name can match)
    and `text_plan` is search.plan_text(q)."""
    query = select(Conversation)
    if f.status is not None:
        query = query.where(Conversation.status == f.status)
    if f.inbox_id is not None:
        query = query.where(Conversation.inbox_id == f.inbox_id)
    if f.channel_id is not None:
        query = query.where(Conversation.inbox_id.in_(select(Inbox.id).where(Inbox.channel_id == f.channel_id)))
    if f.assignee_id is not None:
        query = query.where(Conversation.assignee_id == f.assignee_id)
    if f.contact_id is not None:
        query = query.where(Conversation.contact_id == f.contact_id)
    if f.updated_after is not None:
        query = query.where(Conversation.updated_at > f.updated_after)
    if f.q:
        by_text = search.conversations_with_text(f.q, text_plan)
        if name_grams is None:
            query = query.where(by_text)
        else:
            query = query.where(or_(Conversation.contact_id.in_(search.contacts_named(name_grams, f.q)), by_text))
    if after is not None:
        at, last_id = after
        query = query.where(
            Conversation.last_activity_at <= at,
            or_(
                Conversation.last_activity_at < at,
                and_(Conversation.last_activity_at == at, Conversation.id < last_id),
            ),
        )
    return query.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(limit)


async def _page_query(
    session: AsyncSession, f: ConversationFilter, *, after: tuple[datetime, int] | None, limit: int
) -> Select[tuple[Conversation]]:
    if not f.q:
        return conversation_query(f, after=after, limit=limit)
    grams = await search.plan_grams(session, f.q)
    plan = await search.plan_text(session, f.q)
    return conversation_query(f, after=after, limit=limit, name_grams=grams, text_plan=plan)


async def list_conversations(
    session: AsyncSession, f: ConversationFilter, *, after: tuple[datetime, int] | None, limit: int
) -> list[Conversation]:
    """Up to `limit` conversations after the keyset position `after` (last_activity_at, id)."""
    return list(await session.scalars(await _page_query(session, f, after=after, limit=limit)))


async def conversation_page(
    session: AsyncSession, f: ConversationFilter, *, after: tuple[datetime, int] | None, limit: int
) -> tuple[list[Conversation], Context]:
    """`list_conversations` and `conversation_context` in one statement instead of four.

    The page query outer-joins what each row refers to by primary key. SQLite never reorders a LEFT
    JOIN, so conversations stay the outer loop and keep their keyset index plan; PostgreSQL walks
    the same index under the LIMIT and probes the rest per row.
    """
    query = (
        (await _page_query(session, f, after=after, limit=limit))
        .add_columns(Contact, Inbox, Channel.kind, Agent)
        .outerjoin(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(Inbox, Inbox.id == Conversation.inbox_id)
        .outerjoin(Channel, Channel.id == Inbox.channel_id)
        .outerjoin(Agent, Agent.id == Conversation.assignee_id)
    )
    rows: list[Conversation] = []
    ctx = Context({}, {}, {})
    for conversation, contact, inbox, kind, agent in await session.execute(query):
        rows.append(conversation)
        if contact is not None:
            ctx.contacts[contact.id] = contact
        if inbox is not None:
            ctx.inboxes[inbox.id] = (inbox, kind)
        if agent is not None:
            ctx.agents[agent.id] = agent
    return rows, ctx


async def get_conversation(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


@dataclass(slots=True)
class Context:
    """What a page of conversations refers to, loaded in one query per table."""

    contacts: dict[int, Contact]
    inboxes: dict[int, tuple[Inbox, str]]  # inbox id → (inbox, channel kind)
    agents: dict[int, Agent]


async def conversation_context(session: AsyncSession, conversations: Iterable[Conversation]) -> Context:
    rows = list(conversations)
    contact_ids = {c.contact_id for c in rows}
    inbox_ids = {c.inbox_id for c in rows}
    agent_ids = {c.assignee_id for c in rows if c.assignee_id is not None}
    contacts: dict[int, Contact] = {}
    inboxes: dict[int, tuple[Inbox, str]] = {}
    agents: dict[int, Agent] = {}
    if contact_ids:
        contacts = {c.id: c for c in await session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))}
    if inbox_ids:
        found = await session.execute(
            select(Inbox, Channel.kind).join(Channel, Channel.id == Inbox.channel_id).where(Inbox.id.in_(inbox_ids))
        )
        inboxes = {inbox.id: (inbox, kind) for inbox, kind in found}
    if agent_ids:
        agents = {a.id: a for a in await session.scalars(select(Agent).where(Agent.id.in_(agent_ids)))}
    return Context(contacts, inboxes, agents)


async def list_messages(
    session: AsyncSession, conversation_id: int, *, before: int | None, after: int | None, limit: int
) -> tuple[list[Message], bool]:
    """A page of messages, oldest → newest, and whether more lie in the paging direction.

    `after` pages forward (the `limit` messages following it); otherwise the page is the newest
    `limit` messages older than `before` (or the newest of all). Both bound a window.
    """
    query = select(Message).where(Message.conversation_id == conversation_id)
    if before is not None:
        query = query.where(Message.id < before)
    if after is not None:
        query = query.where(Message.id > after)
        rows = list(await session.scalars(query.order_by(Message.id).limit(limit + 1)))
        return rows[:limit], len(rows) > limit
    rows = list(await session.scalars(query.order_by(Message.id.desc()).limit(limit + 1)))
    return list(reversed(rows[:limit])), len(rows) > limit
