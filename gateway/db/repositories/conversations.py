"""Inboxes, agents, conversations and messages: the rows the ingest path and the API work on."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    String,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Agent, Conversation, Inbox, InboxAgent, Message
from gateway.db.repositories.util import insert_for, is_postgres
from gateway.db.types import utcnow


async def inboxes_by_source(
    session: AsyncSession, channel_id: int, source_ids: Iterable[str], *, create: bool = True
) -> dict[str, Inbox]:
    """Inboxes of a channel by source id (open_kfid / appid), created on first sight."""
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    query = select(Inbox).where(Inbox.channel_id == channel_id, Inbox.source_id.in_(ids))
    found = {row.source_id: row for row in await session.scalars(query)}
    if len(found) == len(ids) or not create:
        return found  # the usual case: every inbox of the page exists, one cached SELECT
    now = utcnow()
    await session.execute(
        insert_for(session, Inbox)
        .values(
            [
                {
                    "channel_id": channel_id,
                    "source_id": sid,
                    "name": "",
                    "enabled": True,
                    "settings": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for sid in ids
                if sid not in found
            ]
        )
        .on_conflict_do_nothing(index_elements=["channel_id", "source_id"])
    )
    return {row.source_id: row for row in await session.scalars(query)}


async def agent_by_source(session: AsyncSession, channel_id: int, source_id: str, *, name: str | None = None) -> Agent:
    """The agent with this source id (servicer userid / kf_account), created on first sight."""
    await session.execute(
        insert_for(session, Agent)
        .values(
            channel_id=channel_id,
            source_id=source_id,
            name=name or source_id,
            status="offline",
            raw={},
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["channel_id", "source_id"])
    )
    agent = await session.scalar(select(Agent).where(Agent.channel_id == channel_id, Agent.source_id == source_id))
    assert agent is not None
    if name and agent.name != name:
        agent.name = name
    return agent


async def set_membership(session: AsyncSession, inbox_id: int, agent_id: int, status: str) -> None:
    stmt = insert_for(session, InboxAgent).values(
        inbox_id=inbox_id, agent_id=agent_id, status=status, created_at=utcnow()
    )
    await session.execute(stmt.on_conflict_do_update(index_elements=["inbox_id", "agent_id"], set_={"status": status}))


def where_in(session: AsyncSession, query: Any, column: Any, values: list[Any]) -> Any:
    """`query` restricted to rows whose `column` is one of `values` (distinct), where `column` and
    the query's conditions form a unique key: at most one row per value. `values` are strings.

    On PostgreSQL one index probe per value, whatever the plan: `unnest(:array)` joined LATERAL to
    the query with LIMIT 1. A plain IN/ANY list is checked by a linear search of the list for every
    row of the inbox once a prepared statement goes generic (after five runs), and a plain join
    with unnest is planned as a hash join over every message of the inbox; both grow with the inbox
    (60–100 ms per 1000 ids at a few thousand rows) where the probes stay at 1–2 ms.
    """
    if not is_postgres(session):  # SQLite: one JSON parameter (json_each), not a thousand binds to render
        listed = func.json_each(bindparam(None, json.dumps(values), type_=String)).table_valued("value")
        return query.where(column.in_(select(listed.c.value)))
    wanted = func.unnest(bindparam(None, values, type_=ARRAY(column.type))).table_valued("value").render_derived()
    one = query.where(column == wanted.c.value).limit(literal_column("1")).lateral()  # not a parameter: planned as 1
    return select(*one.c).select_from(wanted).join(one, true())


def active_key(inbox_id: int, identity_id: int) -> str:
    return f"{inbox_id}:{identity_id}"


async def active_conversation(session: AsyncSession, inbox_id: int, identity_id: int) -> Conversation | None:
    return await session.scalar(
        select(Conversation).where(Conversation.active_key == active_key(inbox_id, identity_id))
    )


class ConversationRef(NamedTuple):
    """A live conversation's keys without an ORM object (what a sync page files messages under)."""

    id: int
    inbox_id: int
    identity_id: int
    contact_id: int
    status: str


_CONVERSATIONS = Conversation.__table__
_c = _CONVERSATIONS.c
_MESSAGES = Message.__table__
# table columns, not ORM attributes: a plain Core SELECT, no ORM compile or row pass
_REF_COLUMNS = (_c.id, _c.inbox_id, _c.identity_id, _c.contact_id, _c.status)


async def live_conversation_refs(
    session: AsyncSession, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], ConversationRef]:
    """The live conversations of (inbox_id, identity_id) pairs, as plain rows, in one query."""
    keys = sorted({active_key(inbox_id, identity_id) for inbox_id, identity_id in pairs})
    if not keys:
        return {}
    rows = await session.execute(where_in(session, select(*_REF_COLUMNS), _c.active_key, keys))
    return {(row.inbox_id, row.identity_id): ConversationRef(*row) for row in rows}


async def open_conversations(
    session: AsyncSession, wanted: dict[tuple[int, int], tuple[int, datetime]]
) -> tuple[dict[tuple[int, int], ConversationRef], set[tuple[int, int]]]:
    """Open `pending` conversations for many (inbox_id, identity_id) → (contact_id, first activity) at once.

    One executemany INSERT … ON CONFLICT DO NOTHING RETURNING and one SELECT; a pair a concurrent
    writer opened first gets theirs. Returns (conversations by pair, the pairs this call created).
    """
    if not wanted:
        return {}, set()
    now = utcnow()
    rows = [
        {
            "inbox_id": inbox_id,
            "identity_id": identity_id,
            "contact_id": contact_id,
            "active_key": active_key(inbox_id, identity_id),
            "status": "pending",
            "replies_since_incoming": 0,
            "replies_since_event": 0,
            "last_activity_at": at,
            "created_at": now,
            "updated_at": now,
        }
        for (inbox_id, identity_id), (contact_id, at) in sorted(wanted.items())
    ]
    result = await session.execute(
        insert_for(session, Conversation)
        .on_conflict_do_nothing(index_elements=["active_key"])
        .returning(Conversation.inbox_id, Conversation.identity_id),
        rows,
    )
    created = {(inbox_id, identity_id) for inbox_id, identity_id in result}
    keys = [row["active_key"] for row in rows]
    found = await session.execute(where_in(session, select(*_REF_COLUMNS), _c.active_key, keys))
    return {(row.inbox_id, row.identity_id): ConversationRef(*row) for row in found}, created


@dataclass(slots=True)
class Touch:
    """What a page's new messages do to one conversation: latest activity, first reply, the last
    contact message (48 h window) and the last MP event (1 min window), each None if none; and the
    list columns: customer messages added, the newest incoming/outgoing message id, whether a reply
    was among them (`answered`: the wait ends) and the customer's first message after the page's
    last reply (`waiting`: the wait starts there unless it already runs)."""

    conversation_id: int
    activity: datetime
    first_reply: datetime | None = None
    incoming: datetime | None = None
    event: datetime | None = None
    incoming_count: int = 0
    last_message: int | None = None
    answered: bool = False
    waiting: datetime | None = None


def _touch_statement(first_reply: bool, incoming: bool, event: bool) -> Any:
    """SQLite: the executemany UPDATE for a page's touches, setting only the columns some touch moves.

    Relative to the row as it is when the UPDATE runs, so a concurrent writer's changes (a reply
    counted by the send job, a first reply set) are never overwritten with what this page read.
    max() is SQLite's two-argument one (the timestamps are stored as comparable text); a window's
    reply count is multiplied by 0 (reset) or 1 (kept), each bind appearing once.
    """
    stamp = _c.last_activity_at.type
    values: dict[str, Any] = {
        "last_activity_at": func.max(_c.last_activity_at, bindparam("t_activity", type_=stamp)),
        "updated_at": bindparam("t_now", type_=stamp),
        "incoming_count": _c.incoming_count + bindparam("t_count", type_=Integer),
        # 0 stands for "none" on both sides: SQLite's max() of anything and NULL is NULL
        "last_message_id": func.nullif(
            func.max(func.coalesce(_c.last_message_id, 0), bindparam("t_last", type_=BigInteger)), 0
        ),
        # a reply in the page ends the wait (then only a customer message after it starts one)
        "waiting_since": func.coalesce(
            case((bindparam("t_answered", type_=Integer) == 1, null()), else_=_c.waiting_since),
            bindparam("t_waiting", type_=stamp),
        ),
    }
    if first_reply:
        values["first_reply_at"] = func.coalesce(_c.first_reply_at, bindparam("t_first_reply", type_=stamp))
    if incoming:
        values["last_incoming_at"] = func.coalesce(bindparam("t_incoming", type_=stamp), _c.last_incoming_at)
        values["replies_since_incoming"] = _c.replies_since_incoming * bindparam("t_keep_incoming", type_=Integer)
    if event:
        values["last_event_at"] = func.coalesce(bindparam("t_event", type_=stamp), _c.last_event_at)
        values["replies_since_event"] = _c.replies_since_event * bindparam("t_keep_event", type_=Integer)
    return update(_CONVERSATIONS).where(_c.id == bindparam("t_id")).values(**values)


_TOUCHES = {
    (first_reply, incoming, event): _touch_statement(first_reply, incoming, event)
    for first_reply in (False, True)
    for incoming in (False, True)
    for event in (False, True)
}


_STAMPS = ARRAY(DateTime(timezone=True))
# PostgreSQL: the whole page in one statement (an executemany is one UPDATE per conversation)
_TOUCH_PG = text(
    """
    UPDATE conversations AS c SET
        last_activity_at = GREATEST(c.last_activity_at, t.activity),
        first_reply_at = COALESCE(c.first_reply_at, t.first_reply),
        last_incoming_at = COALESCE(t.incoming, c.last_incoming_at),
        replies_since_incoming = CASE WHEN t.incoming IS NULL THEN c.replies_since_incoming ELSE 0 END,
        last_event_at = COALESCE(t.event, c.last_event_at),
        replies_since_event = CASE WHEN t.event IS NULL THEN c.replies_since_event ELSE 0 END,
        incoming_count = c.incoming_count + t.count,
        last_message_id = GREATEST(c.last_message_id, t.last),
        waiting_since = COALESCE(CASE WHEN t.answered THEN NULL ELSE c.waiting_since END, t.waiting),
        updated_at = :now
    FROM unnest(:ids, :activity, :first_reply, :incoming, :event, :count, :last, :answered, :waiting)
        AS t(id, activity, first_reply, incoming, event, count, last, answered, waiting)
    WHERE c.id = t.id
    """
).bindparams(
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("ids", type_=ARRAY(BigInteger)),
    bindparam("count", type_=ARRAY(Integer)),
    bindparam("last", type_=ARRAY(BigInteger)),
    bindparam("answered", type_=ARRAY(Boolean)),
    bindparam("waiting", type_=_STAMPS),
    *(bindparam(name, type_=_STAMPS) for name in ("activity", "first_reply", "incoming", "event")),
)


async def touch_conversations(session: AsyncSession, touches: Iterable[Touch]) -> None:
    """Apply a page's `Touch`es in one statement (Core: no ORM object per conversation)."""
    now = utcnow()
    touches = sorted(touches, key=lambda t: t.conversation_id)  # one lock order for every writer
    if not touches:
        return
    if is_postgres(session):
        await session.execute(
            _TOUCH_PG,
            {
                "now": now,
                "ids": [t.conversation_id for t in touches],
                "activity": [t.activity for t in touches],
                "first_reply": [t.first_reply for t in touches],
                "incoming": [t.incoming for t in touches],
                "event": [t.event for t in touches],
                "count": [t.incoming_count for t in touches],
                "last": [t.last_message for t in touches],
                "answered": [t.answered for t in touches],
                "waiting": [t.waiting for t in touches],
            },
        )
        return
    shape = (
        any(t.first_reply is not None for t in touches),
        any(t.incoming is not None for t in touches),
        any(t.event is not None for t in touches),
    )
    rows = []
    for t in touches:
        row = {
            "t_id": t.conversation_id,
            "t_activity": t.activity,
            "t_now": now,
            "t_count": t.incoming_count,
            "t_last": t.last_message or 0,
            "t_answered": int(t.answered),
            "t_waiting": t.waiting,
        }
        if shape[0]:
            row["t_first_reply"] = t.first_reply
        if shape[1]:
            row["t_incoming"] = t.incoming
            row["t_keep_incoming"] = int(t.incoming is None)
        if shape[2]:
            row["t_event"] = t.event
            row["t_keep_event"] = int(t.event is None)
        rows.append(row)
    await session.execute(_TOUCHES[shape], rows)


async def find_or_open_conversation(
    session: AsyncSession, *, inbox_id: int, identity_id: int, contact_id: int, at: datetime
) -> tuple[Conversation, bool]:
    """The live conversation of this identity in this inbox, or a new `pending` one.

    The unique `active_key` makes this safe against a concurrent opener: INSERT … ON CONFLICT
    DO NOTHING, then read whichever row won. Returns (conversation, created).
    """
    key = active_key(inbox_id, identity_id)
    existing = await active_conversation(session, inbox_id, identity_id)
    if existing is not None:
        return existing, False
    result = await session.execute(
        insert_for(session, Conversation)
        .values(
            inbox_id=inbox_id,
            identity_id=identity_id,
            contact_id=contact_id,
            active_key=key,
            status="pending",
            replies_since_incoming=0,
            replies_since_event=0,
            last_activity_at=at,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["active_key"])
        .returning(Conversation.id)
    )
    new_id = result.scalar()
    conversation = await session.scalar(
        select(Conversation).where(Conversation.active_key == key).execution_options(populate_existing=True)
    )
    assert conversation is not None
    return conversation, new_id is not None


async def existing_message_ids(session: AsyncSession, inbox_id: int, source_ids: Iterable[str]) -> dict[str, int]:
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    query = select(_MESSAGES.c.source_id, _MESSAGES.c.id).where(_MESSAGES.c.inbox_id == inbox_id)
    rows = await session.execute(where_in(session, query, _MESSAGES.c.source_id, ids))
    return {source_id: message_id for source_id, message_id in rows}


async def insert_messages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[tuple[int, str], int]:
    """Bulk insert, ignoring rows whose (inbox_id, source_id) exists; returns what was inserted."""
    if not rows:
        return {}
    now = utcnow()
    values = [{**_MESSAGE_DEFAULTS, "created_at": now, "updated_at": now, **row} for row in rows]
    if is_postgres(session):
        # one array per column: half the time of a 1000-row VALUES list of 17,000 parameters
        columns = {f"a_{name}": [row[name] for row in values] for name in _INSERT_COLUMNS}
        result = await session.execute(_INSERT_MESSAGES_PG, columns)
        return {(inbox_id, source_id): message_id for message_id, inbox_id, source_id in result}
    # executemany of one cached Core statement (the table, not the entity: no ORM bulk-insert pass
    # over the rows); SQLAlchemy batches it into multi-row INSERT … RETURNING ("insertmanyvalues")
    result = await session.execute(
        insert_for(session, _MESSAGES)
        .on_conflict_do_nothing(index_elements=["inbox_id", "source_id"])
        .returning(_MESSAGES.c.id, _MESSAGES.c.inbox_id, _MESSAGES.c.source_id),
        values,
    )
    return {(inbox_id, source_id): message_id for message_id, inbox_id, source_id in result}


# every column the ingest rows may leave out, so all rows of an executemany have the same keys
_MESSAGE_DEFAULTS: dict[str, Any] = {
    "sender_agent_id": None,
    "content": None,
    "error_code": None,
    "error_message": None,
    "recalled_at": None,
    "sent_at": None,
}


def _array_of(name: str) -> Any:
    return ARRAY(_MESSAGES.c[name].type)


_INSERT_COLUMNS = (
    "conversation_id",
    "inbox_id",
    "source_id",
    "message_type",
    "sender_type",
    "sender_agent_id",
    "content_type",
    "content",
    "content_attributes",
    "raw",
    "status",
    "error_code",
    "error_message",
    "recalled_at",
    "sent_at",
    "created_at",
    "updated_at",
)
_unnest = (
    func.unnest(*(cast(bindparam(f"a_{name}", type_=_array_of(name)), _array_of(name)) for name in _INSERT_COLUMNS))
    .table_valued(*_INSERT_COLUMNS)
    .render_derived()
)
_INSERT_MESSAGES_PG = (
    pg_insert(_MESSAGES)
    .from_select(list(_INSERT_COLUMNS), select(*(_unnest.c[name] for name in _INSERT_COLUMNS)))
    .on_conflict_do_nothing(index_elements=["inbox_id", "source_id"])
    .returning(_MESSAGES.c.id, _MESSAGES.c.inbox_id, _MESSAGES.c.source_id)
)


async def message_by_source(session: AsyncSession, inbox_id: int, source_id: str) -> Message | None:
    return await session.scalar(select(Message).where(Message.inbox_id == inbox_id, Message.source_id == source_id))


async def count_unsent(session: AsyncSession, conversation_id: int, *, before: int | None = None) -> int:
    """Outgoing messages still queued or being sent (they will spend reply allowance when they go)."""
    query = (
        select(func.count())
        .select_from(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.message_type == "outgoing",
            Message.status.in_(("queued", "sending")),
        )
    )
    if before is not None:
        query = query.where(Message.id < before)
    return int(await session.scalar(query) or 0)
