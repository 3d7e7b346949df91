"""Private notes: a message of type `note` in a conversation's thread, for the team only.

A note is written here and nowhere else: no job is queued, so it never reaches a platform, and the
conversation row is left alone (reply window and quota, counters, `last_message_id`,
`waiting_since`, activity). It emits `note.created`, never `message.created`, so a consumer that
treats every `message.created` as something the customer saw is not misled (docs/webhooks.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Conversation, Message
from gateway.db.repositories import audit
from gateway.db.repositories.feed import append_event
from gateway.db.types import utcnow
from gateway.domain import ContentType, MessageStatus, MessageType
from gateway.errors import InvalidRequest

NOTE_MAX = 10_000  # characters


class NoteTooLong(InvalidRequest):
    code = "note_too_long"


class InvalidNote(InvalidRequest):
    code = "invalid_message"


def check_content(content: str | None) -> str:
    """1–10,000 characters with something besides white space: 422 invalid_message / note_too_long."""
    if content is None or not content.strip():
        raise InvalidNote("a note needs content (1–10,000 characters)", field="content")
    if len(content) > NOTE_MAX:
        raise NoteTooLong(f"a note is at most {NOTE_MAX:,} characters; this one has {len(content):,}", field="content")
    return content


async def add_note(
    session: AsyncSession,
    conversation: Conversation,
    actor: Mapping[str, Any],
    content: str,
    *,
    operator_id: int | None = None,
) -> Message:
    """Store the note (sender_type = the actor's type: operator or api_key) and its event."""
    content = check_content(content)
    author = dict(actor)
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        source_id=None,
        message_type=str(MessageType.NOTE),
        sender_type=str(author.get("type") or "api_key"),
        operator_id=operator_id,
        content_type=str(ContentType.TEXT),
        content=content,
        content_attributes={"author": author},
        raw={},
        status=str(MessageStatus.SENT),
        sent_at=now,
    )
    session.add(message)
    await session.flush()
    await append_event(
        session,
        "note.created",
        {
            "message_id": message.id,
            "conversation_id": conversation.id,
            "inbox_id": conversation.inbox_id,
            "message_type": message.message_type,
            "content_type": message.content_type,
            "content": content,
            "author": author,
            "actor": author,
        },
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
    )
    await audit.record(
        session,
        actor,
        "note.create",
        subject_type="conversation",
        subject_id=conversation.id,
        detail={"message_id": message.id},
    )
    return message
