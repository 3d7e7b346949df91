"""Inboxes, agents, conversations and messages: the rows the ingest path and the API work on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Agent, Conversation, Inbox, InboxAgent, Message
from gateway.db.repositories.util import insert_for
from gateway.db.types import utcnow


async def inboxes_by_source(
    session: AsyncSession, channel_id: int, source_ids: Iterable[str], *, create: bool = True
) -> dict[str, Inbox]:
    """Inboxes of a channel by source id (open_kfid / appid), created on first sight."""
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    if create:
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
                        "created_at": utcnow(),
                        "updated_at": utcnow(),
                    }
                    for sid in ids
                ]
            )
            .on_conflict_do_nothing(index_elements=["channel_id", "source_id"])
        )
    rows = await session.scalars(select(Inbox).where(Inbox.channel_id == channel_id, Inbox.source_id.in_(ids)))
    return {row.source_id: row for row in rows}


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


def active_key(inbox_id: int, identity_id: int) -> str:
    return f"{inbox_id}:{identity_id}"


async def active_conversation(session: AsyncSession, inbox_id: int, identity_id: int) -> Conversation | None:
    return await session.scalar(
        select(Conversation).where(Conversation.active_key == active_key(inbox_id, identity_id))
    )


async def active_conversations(
    session: AsyncSession, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], Conversation]:
    """The live conversations of (inbox_id, identity_id) pairs, in one query."""
    keys = sorted({active_key(inbox_id, identity_id) for inbox_id, identity_id in pairs})
    if not keys:
        return {}
    rows = await session.scalars(select(Conversation).where(Conversation.active_key.in_(keys)))
    return {(row.inbox_id, row.identity_id): row for row in rows}


async def open_conversations(
    session: AsyncSession, wanted: dict[tuple[int, int], tuple[int, datetime]]
) -> tuple[dict[tuple[int, int], Conversation], set[tuple[int, int]]]:
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
    found = await session.scalars(
        select(Conversation)
        .where(Conversation.active_key.in_([row["active_key"] for row in rows]))
        .execution_options(populate_existing=True)
    )
    return {(row.inbox_id, row.identity_id): row for row in found}, created


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
    rows = await session.execute(
        select(Message.source_id, Message.id).where(Message.inbox_id == inbox_id, Message.source_id.in_(ids))
    )
    return {source_id: message_id for source_id, message_id in rows}


async def insert_messages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[tuple[int, str], int]:
    """Bulk insert, ignoring rows whose (inbox_id, source_id) exists; returns what was inserted."""
    if not rows:
        return {}
    now = utcnow()
    values = [{**_MESSAGE_DEFAULTS, "created_at": now, "updated_at": now, **row} for row in rows]
    # executemany of one cached statement: SQLAlchemy batches it into multi-row INSERT … RETURNING
    # ("insertmanyvalues") without compiling a statement per page
    result = await session.execute(
        insert_for(session, Message)
        .on_conflict_do_nothing(index_elements=["inbox_id", "source_id"])
        .returning(Message.id, Message.inbox_id, Message.source_id),
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
