"""Read state: what an operator has read of each conversation, and the unread totals for badges.

A read state keeps the last message read and `read_incoming`, the number of customer messages up
to it, so a conversation's unread count is `incoming_count - read_incoming` without counting
messages. Marking read never moves backwards: an older message than the one already read changes
nothing (two tabs may race; the newer position wins in the upsert itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from gateway.db.models import Conversation, Message
from gateway.db.people import Operator, ReadState
from gateway.db.repositories import browse, search
from gateway.db.repositories.util import insert_for
from gateway.db.types import utcnow
from gateway.domain import ConversationStatus, MessageType
from gateway.errors import InvalidRequest

LIVE = [str(s) for s in ConversationStatus if s != ConversationStatus.RESOLVED]


class UnknownOperator(InvalidRequest):
    code = "unknown_operator"


class MessageNotInConversation(InvalidRequest):
    code = "message_not_in_conversation"


@dataclass(frozen=True, slots=True)
class ReadPosition:
    conversation_id: int
    operator_id: int
    last_read_message_id: int
    unread_count: int
    changed: bool  # whether this call moved the position


async def find_operator(session: AsyncSession, operator_id: int, *, field: str, active: bool = True) -> Operator:
    """An operator named in a request; 422 unknown_operator if there is none (or, with `active`,
    it is deactivated)."""
    operator = await session.get(Operator, operator_id)
    if operator is None or (active and not operator.active):
        raise UnknownOperator(f"no {'active ' if active else ''}operator {operator_id}", field=field)
    return operator


async def mark_read(
    session: AsyncSession, conversation: Conversation, operator_id: int, message_id: int | None
) -> ReadPosition:
    """Mark the conversation read up to `message_id` (default: its last message) for the operator."""
    read_incoming: int | None
    if message_id is None:
        # the row's last message and its count are moved by the same UPDATE: one consistent pair
        upto, read_incoming = conversation.last_message_id or 0, conversation.incoming_count
    else:
        found = await session.scalar(
            select(Message.id).where(Message.id == message_id, Message.conversation_id == conversation.id)
        )
        if found is None:
            raise MessageNotInConversation(
                f"message {message_id} is not in conversation {conversation.id}", field="message_id"
            )
        upto = message_id
        read_incoming = await session.scalar(
            select(func.count()).where(
                Message.conversation_id == conversation.id,
                Message.id <= message_id,
                Message.message_type == str(MessageType.INCOMING),
            )
        )
    before = await _position(session, operator_id, conversation.id)
    statement = insert_for(session, ReadState).values(
        operator_id=operator_id,
        conversation_id=conversation.id,
        last_read_message_id=upto,
        read_incoming=read_incoming or 0,
        updated_at=utcnow(),
    )
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["operator_id", "conversation_id"],
            set_={
                "last_read_message_id": excluded.last_read_message_id,
                "read_incoming": excluded.read_incoming,
                "updated_at": excluded.updated_at,
            },
            where=ReadState.last_read_message_id < excluded.last_read_message_id,
        )
    )
    after = await _position(session, operator_id, conversation.id)
    assert after is not None  # just upserted
    return ReadPosition(
        conversation_id=conversation.id,
        operator_id=operator_id,
        last_read_message_id=after[0],
        unread_count=max(0, conversation.incoming_count - after[1]),
        changed=before != after,
    )


async def _position(session: AsyncSession, operator_id: int, conversation_id: int) -> tuple[int, int] | None:
    found = await session.execute(
        select(ReadState.last_read_message_id, ReadState.read_incoming).where(
            ReadState.operator_id == operator_id, ReadState.conversation_id == conversation_id
        )
    )
    row = found.first()
    return (row[0], row[1]) if row is not None else None


async def unread_totals(session: AsyncSession, f: browse.ConversationFilter, operator_id: int) -> tuple[int, int]:
    """(conversations with unread customer messages, unread customer messages) among the
    conversations matching `f` that are not resolved, for the operator."""
    grams, plan = await browse.text_plan(session, f)
    conversations, messages = (await session.execute(unread_query(f, operator_id, grams, plan))).one()
    return int(conversations), int(messages)


def unread_query(
    f: browse.ConversationFilter, operator_id: int, name_grams: list[str] | None, text_plan: search.TextPlan
) -> Select[int, int]:
    """One pass over the live conversations the filter keeps, probing the operator's read state of
    each (ix_conversations_status_unread covers what it reads of a conversation)."""
    unread = Conversation.incoming_count - func.coalesce(ReadState.read_incoming, 0)
    query = (
        select(func.count(), func.coalesce(func.sum(unread), 0))
        .select_from(Conversation)
        .outerjoin(ReadState, and_(ReadState.operator_id == operator_id, ReadState.conversation_id == Conversation.id))
        .where(Conversation.status.in_(LIVE), unread > 0)
    )
    return browse.filtered(query, f, name_grams, text_plan)
