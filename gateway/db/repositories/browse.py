"""The read side of conversations and messages for the API: filtered keyset pages and their context.

Conversation pages run newest activity first on (last_activity_at DESC, id DESC), or with
`sort="waiting"` longest-waiting customer first on (waiting_since ASC, id ASC), rows nobody waits
on left out. The keyset condition is written as `last_activity_at <= t AND (last_activity_at < t
OR id < i)` rather than a row-value comparison so every index that leads with the sort column
(alone, after status, inbox_id or operator_id) can range-scan it on both SQLite and PostgreSQL.

A page carries, for the operator viewing it (`viewer`), each row's unread count (incoming_count
minus their read_states.read_incoming), the last message and the label names: two outer joins by
primary key in the page statement and one query for the labels of the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, null, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlalchemy.sql import Select

from gateway.db.models import Agent, Channel, Contact, Conversation, Inbox, Message
from gateway.db.people import ConversationLabel, ReadState
from gateway.db.repositories import search
from gateway.db.repositories.labels import labels_of_conversations
from gateway.db.repositories.util import is_postgres
from gateway.domain import ContentType
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
    # the people side: conversations of this operator (conversations.operator_id), or with neither
    # an operator nor a platform agent (`unassigned`), or carrying this label
    operator_id: int | None = None
    unassigned: bool = False
    label_id: int | None = None
    sort: str = "last_activity"  # last_activity | waiting
    viewer: int | None = None  # whose read state the unread counts are (operators.id)


SORTS = ("last_activity", "waiting")


def filtered(query: Select, f: ConversationFilter, name_grams: list[str] | None, text_plan: search.TextPlan) -> Select:
    """`query` narrowed by the filter's conditions (not its sort)."""
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
    if f.operator_id is not None:
        query = query.where(Conversation.operator_id == f.operator_id)
    if f.unassigned:
        query = query.where(Conversation.operator_id.is_(None), Conversation.assignee_id.is_(None))
    if f.label_id is not None:
        query = query.where(
            Conversation.id.in_(
                select(ConversationLabel.conversation_id).where(ConversationLabel.label_id == f.label_id)
            )
        )
    return query


def conversation_query(
    f: ConversationFilter,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
    name_grams: list[str] | None = None,
    text_plan: search.TextPlan = search.TextPlan.SCAN,
) -> Select[Conversation]:
    """The page query. With `q`, `name_grams` are search.plan_grams(q) (None: no name can match)
    and `text_plan` is search.plan_text(q)."""
    query = filtered(select(Conversation), f, name_grams, text_plan)
    if f.sort == "waiting":
        query = query.where(Conversation.waiting_since.is_not(None))
        if after is not None:
            query = query.where(_keyset(Conversation.waiting_since, after, older=False))
        return query.order_by(Conversation.waiting_since, Conversation.id).limit(limit)
    if after is not None:
        query = query.where(_keyset(Conversation.last_activity_at, after, older=True))
    return query.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(limit)


def _keyset(column: InstrumentedAttribute[Any], after: tuple[datetime, int], *, older: bool) -> ColumnElement[bool]:
    """Rows past the keyset position `after` (column value, id), walking down (`older`) or up."""
    at, last_id = after
    if older:
        return and_(column <= at, or_(column < at, and_(column == at, Conversation.id < last_id)))
    return and_(column >= at, or_(column > at, and_(column == at, Conversation.id > last_id)))


async def text_plan(session: AsyncSession, f: ConversationFilter) -> tuple[list[str] | None, search.TextPlan]:
    """How `f.q` is searched (search.plan_grams, search.plan_text); a scan when there is no `q`."""
    if not f.q:
        return None, search.TextPlan.SCAN
    return await search.plan_grams(session, f.q), await search.plan_text(session, f.q)


async def _page_query(
    session: AsyncSession, f: ConversationFilter, *, after: tuple[datetime, int] | None, limit: int
) -> Select[Conversation]:
    grams, plan = await text_plan(session, f)
    return conversation_query(f, after=after, limit=limit, name_grams=grams, text_plan=plan)


async def list_conversations(
    session: AsyncSession, f: ConversationFilter, *, after: tuple[datetime, int] | None, limit: int
) -> list[Conversation]:
    """Up to `limit` conversations after the keyset position `after` (last_activity_at, id)."""
    return list(await session.scalars(await _page_query(session, f, after=after, limit=limit)))


async def conversation_page(
    session: AsyncSession, f: ConversationFilter, *, after: tuple[datetime, int] | None, limit: int
) -> tuple[list[Conversation], Context]:
    """`list_conversations` and `conversation_context` in one statement instead of four (and one
    for the page's labels).

    The page query outer-joins what each row refers to by primary key (the viewer's read state and
    the last message too). SQLite never reorders a LEFT JOIN, so conversations stay the outer loop
    and keep their keyset index plan, stopping at the LIMIT; PostgreSQL walks the same index under
    the LIMIT and probes the rest per row. A page no index delivers in order (`_sorted`: a label's
    conversations, an operator's by waiting time) is found by sorting its candidates: then the
    keyset query is a subquery that selects only ids and the sort key, which indexes answer
    without reading conversation rows (PostgreSQL walks the activity index index-only, probing the
    label), and the full rows and joins are read for the page's rows only. Not always: that costs
    ~2 ms a page that an index already delivers in order.
    """
    keyset = await _page_query(session, f, after=after, limit=limit)
    query: Select[Any]
    if _sorted(f):
        by_waiting = f.sort == "waiting"
        sort_column = Conversation.waiting_since if by_waiting else Conversation.last_activity_at
        inner = keyset.with_only_columns(Conversation.id, sort_column.label("sort_key")).subquery("page")
        order = (inner.c.sort_key, inner.c.id) if by_waiting else (inner.c.sort_key.desc(), inner.c.id.desc())
        query = select(Conversation).select_from(inner).join(Conversation, Conversation.id == inner.c.id)
        query = query.order_by(*order)
    else:
        query = keyset
    last = aliased(Message)
    query = (
        query.add_columns(Contact, Inbox, Channel.kind, Agent, _read_incoming(f.viewer), *_last_columns(last))
        .outerjoin(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(Inbox, Inbox.id == Conversation.inbox_id)
        .outerjoin(Channel, Channel.id == Inbox.channel_id)
        .outerjoin(Agent, Agent.id == Conversation.assignee_id)
        .outerjoin(last, last.id == Conversation.last_message_id)
    )
    if f.viewer is not None:
        query = query.outerjoin(
            ReadState, and_(ReadState.operator_id == f.viewer, ReadState.conversation_id == Conversation.id)
        )
    await keep_join_order(session, custom=f.sort == "waiting" and f.operator_id is not None)
    rows: list[Conversation] = []
    ctx = Context({}, {}, {})
    for conversation, contact, inbox, kind, agent, read, *message in await session.execute(query):
        rows.append(conversation)
        if contact is not None:
            ctx.contacts[contact.id] = contact
        if inbox is not None:
            ctx.inboxes[inbox.id] = (inbox, kind)
        if agent is not None:
            ctx.agents[agent.id] = agent
        if f.viewer is not None:
            ctx.unread[conversation.id] = max(0, conversation.incoming_count - (read or 0))
        if message[0] is not None:
            ctx.last_messages[conversation.id] = LastMessage(*message)
    ctx.labels = await labels_of_conversations(session, [c.id for c in rows])
    ctx.migrating = await migrating_channels(session, {inbox.channel_id for inbox, _ in ctx.inboxes.values()})
    return rows, ctx


async def keep_join_order(session: AsyncSession, *, custom: bool = False) -> None:
    """PostgreSQL: plan the rest of this transaction's joins in the order they are written.

    The page statement outer-joins six tables to the page's conversations by primary key. Left to
    itself, PostgreSQL searches the join orders of all seven and spends ~7 ms planning a statement
    that runs in ~1 ms (EXPLAIN ANALYZE at 100k conversations), on every run that gets a custom
    plan (prepared statements do not spare it). Written order is already the right one: the
    page first, each join a primary-key probe per row. SQLite never reorders an outer join.

    `custom`: plan this statement for its parameters every time. A sorted page (an operator's
    conversations by waiting time) otherwise gets PostgreSQL's generic plan after five runs, which
    does not know that one operator holds a few hundred of 100k conversations and walks the whole
    waiting index (~15 ms instead of ~1).
    """
    if is_postgres(session):
        mode = "force_custom_plan" if custom else "auto"
        await session.execute(
            text("SELECT set_config('join_collapse_limit', '1', true), set_config('plan_cache_mode', :mode, true)"),
            {"mode": mode},
        )


def _sorted(f: ConversationFilter) -> bool:
    """Whether the page is found by sorting candidates rather than walking an index in page order."""
    return f.label_id is not None or (f.sort == "waiting" and f.operator_id is not None)


def _read_incoming(viewer: int | None) -> Any:
    return ReadState.read_incoming if viewer is not None else null()


def _last_columns(last: type[Message]) -> tuple[Any, ...]:
    # a menu's attributes alone: its preview is read from them; no other row's JSON is read and decoded
    attributes = case((last.content_type == ContentType.MENU, last.content_attributes), else_=null())
    return (last.id, last.message_type, last.content_type, last.content, last.created_at, attributes)


@dataclass(frozen=True, slots=True)
class LastMessage:
    """What a list shows of a conversation's newest incoming or outgoing message."""

    id: int
    message_type: str
    content_type: str
    content: str | None
    created_at: datetime
    attributes: dict[str, Any] | None = None  # content_attributes: what a menu shows when it has no text


async def migrating_channels(session: AsyncSession, channel_ids: set[int]) -> set[int]:
    """Which of the channels are in cutover mode, so a conversation shows agents its channel is migrating
    (a handful of channels per page: their settings are read and looked at here, not in SQL)."""
    if not channel_ids:
        return set()
    found = await session.execute(select(Channel.id, Channel.settings).where(Channel.id.in_(channel_ids)))
    return {cid for cid, settings in found if isinstance((settings or {}).get("cutover"), dict)}


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
    unread: dict[int, int] = field(default_factory=dict)  # conversation id → unread count (with a viewer)
    last_messages: dict[int, LastMessage] = field(default_factory=dict)
    labels: dict[int, list[str]] = field(default_factory=dict)
    migrating: set[int] = field(default_factory=set)  # channel ids in cutover mode (gateway.cutover.mode)


async def conversation_context(
    session: AsyncSession, conversations: Iterable[Conversation], viewer: int | None = None
) -> Context:
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
    ctx = Context(contacts, inboxes, agents, labels=await labels_of_conversations(session, [c.id for c in rows]))
    ctx.migrating = await migrating_channels(session, {inbox.channel_id for inbox, _ in inboxes.values()})
    message_ids = [c.last_message_id for c in rows if c.last_message_id is not None]
    if message_ids:
        newest = await session.execute(
            select(Message.conversation_id, *_last_columns(Message)).where(Message.id.in_(message_ids))
        )
        ctx.last_messages = {row[0]: LastMessage(*row[1:]) for row in newest}
    if viewer is not None and rows:
        states = await session.execute(
            select(ReadState.conversation_id, ReadState.read_incoming).where(
                ReadState.operator_id == viewer, ReadState.conversation_id.in_([c.id for c in rows])
            )
        )
        read: dict[int, int] = {cid: n for cid, n in states}
        ctx.unread = {c.id: max(0, c.incoming_count - read.get(c.id, 0)) for c in rows}
    return ctx


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
