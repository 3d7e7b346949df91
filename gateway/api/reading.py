"""Read state over REST: mark a conversation read, and the unread total behind a badge.

`POST /api/v1/conversations/{id}/read` marks the conversation read for the operator calling (an
API key names the operator with `operator_id`, else 422 operator_required) up to `message_id` or
its last message. It never moves backwards. When it moves, `conversation.updated` goes out with
`changes: {"unread_count": n}` and the operator's id, so the operator's other tabs follow.

`GET /api/v1/conversations/unread` takes the list's filters and answers
`{"conversations": n, "messages": m}`: the operator's conversations with unread customer messages
and how many, among conversations that are not resolved.

Plain handlers, not a controller: gateway.api.conversations explains why (one controller per path).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.params import Parameter

from gateway.api import listing
from gateway.api.actor import current_actor
from gateway.api.auth import SECURITY
from gateway.api.conversations import ActingOperator, Assignee, Id, LabelName
from gateway.api.schemas import ReadIn, ReadOut, UnreadOut
from gateway.db.engine import Database
from gateway.db.repositories import browse, reading
from gateway.db.repositories.feed import append_event
from gateway.domain import ConversationStatus

TAGS = ("conversations",)


@post("/api/v1/conversations/{conversation_id:int}/read", tags=TAGS, security=SECURITY, status_code=200)
async def mark_read(conversation_id: int, request: Request, db: Database, data: ReadIn | None = None) -> ReadOut:
    """Mark read up to `message_id` (default: the last message) for the operator; answers the
    position and the unread count that remains."""
    body = data or ReadIn()
    actor = current_actor(request)
    async with db.session() as session:
        conversation = await browse.get_conversation(session, conversation_id)
        operator_id = await listing.acting_operator(session, actor, body.operator_id)
        position = await reading.mark_read(session, conversation, operator_id, body.message_id)
        if position.changed:
            await append_event(
                session,
                "conversation.updated",
                {
                    "conversation_id": conversation.id,
                    "changes": {"unread_count": position.unread_count},
                    "status": conversation.status,
                    "assignee_id": conversation.assignee_id,
                    "platform_state": conversation.platform_state,
                    "operator_id": operator_id,
                    "last_read_message_id": position.last_read_message_id,
                    "actor": actor.ref(),
                },
                conversation_id=conversation.id,
                contact_id=conversation.contact_id,
            )
    return ReadOut(
        conversation_id=position.conversation_id,
        operator_id=position.operator_id,
        last_read_message_id=position.last_read_message_id,
        unread_count=position.unread_count,
    )


@get("/api/v1/conversations/unread", tags=TAGS, security=SECURITY)
async def unread_total(
    request: Request,
    db: Database,
    status: ConversationStatus | None = None,
    channel_id: Id = None,
    inbox_id: Id = None,
    assignee: Assignee = None,
    operator_id: ActingOperator = None,
    label: LabelName = None,
    q: Annotated[str | None, Parameter(max_length=256, description="as on the list")] = None,
) -> UnreadOut:
    """The operator's unread conversations and messages under the list's filters; resolved
    conversations never count. An API key must pass `operator_id`."""
    base = browse.ConversationFilter(
        status=str(status) if status is not None else None, channel_id=channel_id, inbox_id=inbox_id, q=q or None
    )
    async with db.sessions() as session:
        operator_id = await listing.acting_operator(session, current_actor(request), operator_id)
        filters = await listing.conversation_filter(
            session,
            current_actor(request),
            base,
            assignee=assignee,
            operator_id=operator_id,
            label=label,
        )
        conversations, messages = await reading.unread_totals(session, filters, operator_id)
    return UnreadOut(conversations=conversations, messages=messages)
