"""Reopening a resolved conversation in the gateway's rows (POST …/reopen; gateway.api.reopen).

The conversation gets its `active_key` back, so it is again the one live conversation of its contact
identity and inbox: ingest files the customer's next message into it. That is refused (409
`conversation_superseded`, naming the other) when a newer conversation of the same identity and
inbox exists, live or not, or another is live: the thread would otherwise fork. The unique
`active_key` settles a race with a concurrent opener the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Conversation
from gateway.db.repositories import audit
from gateway.db.repositories.conversations import active_key
from gateway.db.repositories.feed import append_event
from gateway.db.repositories.session_state import REOPENED
from gateway.db.types import utcnow
from gateway.domain import ConversationStatus
from gateway.errors import Conflict, NotFound


class ConversationNotResolved(Conflict):
    """Only a resolved conversation can be reopened."""

    code = "conversation_not_resolved"


class ConversationSuperseded(Conflict):
    """A newer conversation of the same contact identity and inbox exists: reopen (or use) that one."""

    code = "conversation_superseded"


async def check_reopenable(session: AsyncSession, conversation: Conversation) -> None:
    """409 conversation_not_resolved / conversation_superseded (read-only; the write checks again)."""
    if conversation.status != ConversationStatus.RESOLVED or conversation.active_key is not None:
        raise ConversationNotResolved(
            f"conversation {conversation.id} is {conversation.status}, not resolved", status=conversation.status
        )
    key = active_key(conversation.inbox_id, conversation.identity_id)
    newer = (
        await session.execute(
            select(Conversation.id, Conversation.status)
            .where(
                Conversation.inbox_id == conversation.inbox_id,
                Conversation.identity_id == conversation.identity_id,
                or_(Conversation.active_key == key, Conversation.id > conversation.id),
            )
            .order_by(Conversation.active_key.is_(None), Conversation.id.desc())
            .limit(1)
        )
    ).first()
    if newer is not None:
        raise ConversationSuperseded(
            f"conversation {newer[0]} ({newer[1]}) of the same contact and inbox is newer: use that one",
            conversation_id=newer[0],
            conversation_status=newer[1],
        )


async def reopen(
    session: AsyncSession, conversation_id: int, actor: Mapping[str, Any], *, platform_state: str | None
) -> Conversation:
    """Status back to `open`, active_key restored, resolved_at cleared; `platform_state` replaces the
    platform's when given. Emits conversation.updated (changes, actor) and an audit entry."""
    conversation = await session.get(
        Conversation, conversation_id, with_for_update={"key_share": True}, populate_existing=True
    )
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    await check_reopenable(session, conversation)
    before = (conversation.status, conversation.platform_state)
    conversation.active_key = active_key(conversation.inbox_id, conversation.identity_id)
    conversation.status = str(ConversationStatus.OPEN)
    conversation.resolved_at = None
    if platform_state is not None:
        conversation.platform_state = platform_state
    conversation.updated_at = utcnow()
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a customer message opened a new conversation meanwhile
        raise ConversationSuperseded(
            f"a new conversation of the same contact and inbox opened while conversation {conversation_id} "
            "was being reopened: use that one"
        ) from None
    changes: dict[str, Any] = {"status": conversation.status}
    if conversation.platform_state != before[1]:
        changes["platform_state"] = conversation.platform_state
    await append_event(
        session,
        "conversation.updated",
        {
            "conversation_id": conversation.id,
            "changes": changes,
            "status": conversation.status,
            "assignee_id": conversation.assignee_id,
            "platform_state": conversation.platform_state,
            "reopened": True,
            "actor": dict(actor),
        },
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
    )
    await audit.record(
        session,
        actor,
        "conversation.reopen",
        subject_type="conversation",
        subject_id=conversation.id,
        detail={"from": {"status": before[0], "platform_state": before[1]}},
    )
    return conversation


async def reopened_alone(session: AsyncSession, conversation_id: int) -> bool:
    """Whether the live conversation was reopened by the gateway alone and the platform has not
    spoken since (its platform_state is still `REOPENED`): the platform holds no session to end."""
    state = await session.scalar(
        select(Conversation.platform_state).where(
            Conversation.id == conversation_id, Conversation.active_key.is_not(None)
        )
    )
    return state == REOPENED
