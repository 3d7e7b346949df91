"""Write imported conversations: resolved, with their messages, never touching a live conversation.

The live write path (`gateway.inbound.ingest`) files every message into the contact's live
conversation; history must not join it (nor resolve it), so imported groups are written here, with
the same repositories and the same unique (inbox_id, source_id) key:

* a group one of whose rows is already stored continues that row's conversation (re-runs, the
  second read of a window's boundary second);
* else a group that starts within `gap` of the contact's latest imported message continues its
  conversation, unless that message was a session close (runs that split a day between them);
* else a new conversation, created `resolved` with no active key and no reply window
  (`last_incoming_at` stays NULL: gateway.outbound.policy never counts imported messages).

Messages go in with INSERT … ON CONFLICT DO NOTHING, so two imports at once store each row once; a
conversation created here whose rows all went to a concurrent run is deleted again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Conversation, Message
from gateway.db.repositories import contacts as contact_repo
from gateway.db.repositories import conversations as conv_repo
from gateway.db.repositories.feed import append_event
from gateway.db.types import utcnow
from gateway.domain import MessageStatus, MessageType
from gateway.inbound.codes import entry_fields
from gateway.migrate.records import OPERCODE_SESSION_CLOSED, PREFIX, Row

NO_ENTRY = entry_fields(None, None, None, datetime.min)  # history has no entry scene


async def identities(session: AsyncSession, channel_id: int, openids: set[str]) -> dict[str, tuple[int, int]]:
    """openid → (identity id, contact id), creating the missing identities (and contacts)."""
    found = {
        s: (ref.id, ref.contact_id)
        for s, ref in (await contact_repo.identity_refs_by_source(session, channel_id, openids)).items()
    }
    for openid in sorted(openids - set(found)):
        try:
            async with session.begin_nested():
                identity, _ = await contact_repo.create_identity(session, channel_id, openid, None)
            found[openid] = (identity.id, identity.contact_id)
        except IntegrityError:  # a live callback created it first
            ref = (await contact_repo.identity_refs_by_source(session, channel_id, [openid]))[openid]
            found[openid] = (ref.id, ref.contact_id)
    return found


async def write_group(
    session: AsyncSession,
    channel_id: int,
    inbox_id: int,
    identity: tuple[int, int],
    group: list[Row],
    existing: dict[str, int],
    gap: float,
) -> tuple[int, bool]:
    """Store the group's rows not yet stored (`existing`: source id → message id).

    Returns (rows stored, whether a conversation was created)."""
    fresh = [r for r in group if r.source_id not in existing]
    if not fresh:
        return 0, False
    conversation_id = await _conversation_of(session, inbox_id, identity[0], group, existing, gap)
    created = conversation_id is None
    if conversation_id is None:
        conversation_id = await _create(session, inbox_id, identity, fresh)
    agents: dict[str, int] = {}
    for row in fresh:
        if row.agent and row.agent not in agents:
            agents[row.agent] = (await conv_repo.agent_by_source(session, channel_id, row.agent)).id
    inserted = await conv_repo.insert_messages(
        session, [_message(conversation_id, inbox_id, row, agents.get(row.agent or "")) for row in fresh]
    )
    if created and not inserted:  # a concurrent import stored them all: drop the empty conversation
        await session.execute(delete(Conversation).where(Conversation.id == conversation_id))
        return 0, False
    if inserted:
        await _refresh(session, conversation_id)
    if created:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        await append_event(
            session,
            "conversation.created",
            {
                "conversation_id": conversation_id,
                "inbox_id": inbox_id,
                "contact_id": identity[1],
                "status": conversation.status,
                **NO_ENTRY,
                "imported": True,
            },
            conversation_id=conversation_id,
            contact_id=identity[1],
        )
    return len(inserted), created


async def _conversation_of(
    session: AsyncSession, inbox_id: int, identity_id: int, group: list[Row], existing: dict[str, int], gap: float
) -> int | None:
    stored = [existing[r.source_id] for r in group if r.source_id in existing]
    if stored:  # only a conversation of history (imports before this one filed some into live ones)
        found: int | None = await session.scalar(
            select(Message.conversation_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.id == stored[0], Conversation.active_key.is_(None))
        )
        return found
    first = group[0].sent_at
    previous = (
        await session.execute(
            select(Message.conversation_id, Message.raw)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Message.inbox_id == inbox_id,
                Conversation.identity_id == identity_id,
                Conversation.active_key.is_(None),
                Message.source_id.like(f"{PREFIX}%"),
                Message.sent_at <= first,
                Message.sent_at >= first - timedelta(seconds=gap),
            )
            .order_by(Message.sent_at.desc(), Message.id.desc())
            .limit(1)
        )
    ).first()
    if previous is None or (previous.raw or {}).get("opercode") == OPERCODE_SESSION_CLOSED:
        return None
    return int(previous.conversation_id)


async def _create(session: AsyncSession, inbox_id: int, identity: tuple[int, int], rows: list[Row]) -> int:
    first, last = rows[0].sent_at, rows[-1].sent_at
    conversation = Conversation(
        inbox_id=inbox_id,
        identity_id=identity[0],
        contact_id=identity[1],
        active_key=None,
        status="resolved",
        platform_state="imported",
        replies_since_incoming=0,
        replies_since_event=0,
        incoming_count=0,
        last_activity_at=last,
        resolved_at=last,
        created_at=first,
        updated_at=utcnow(),
    )
    session.add(conversation)
    await session.flush()
    return conversation.id


async def _refresh(session: AsyncSession, conversation_id: int) -> None:
    """Counters and times of an imported conversation from its messages (after each insert)."""
    m = Message
    incoming = select(func.count()).where(m.conversation_id == conversation_id, m.message_type == "incoming")
    first_reply = select(func.min(m.sent_at)).where(m.conversation_id == conversation_id, m.message_type == "outgoing")
    last_at = select(func.max(m.sent_at)).where(m.conversation_id == conversation_id)
    last_id = select(m.id).where(m.conversation_id == conversation_id).order_by(m.sent_at.desc(), m.id.desc()).limit(1)
    first_at = select(func.min(m.sent_at)).where(m.conversation_id == conversation_id)
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(
            incoming_count=incoming.scalar_subquery(),
            first_reply_at=first_reply.scalar_subquery(),
            last_activity_at=func.coalesce(last_at.scalar_subquery(), Conversation.last_activity_at),
            resolved_at=func.coalesce(last_at.scalar_subquery(), Conversation.resolved_at),
            created_at=func.coalesce(first_at.scalar_subquery(), Conversation.created_at),
            last_message_id=last_id.scalar_subquery(),
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


def _message(conversation_id: int, inbox_id: int, row: Row, agent_id: int | None) -> dict[str, Any]:
    outgoing = row.message_type == MessageType.OUTGOING
    return {
        "conversation_id": conversation_id,
        "inbox_id": inbox_id,
        "source_id": row.source_id,
        "message_type": str(row.message_type),
        "sender_type": str(row.sender_type),
        "sender_agent_id": agent_id,
        "content_type": str(row.content_type),
        "content": row.content,
        "content_attributes": row.attributes,
        "raw": row.raw,
        "status": str(MessageStatus.SENT if outgoing else MessageStatus.RECEIVED),
        "sent_at": row.sent_at,
    }
