"""`/api/v1/conversations` (read side): filtered keyset list, one conversation with its reply policy, its messages.

Actions on a conversation (send, assign, resolve, typing, …) live in their own modules; read
state and unread totals in gateway.api.reading; the people filters and cursors in gateway.api.listing.
The list is ordered by last activity, newest first (or `sort=waiting`: longest-waiting customer
first); `next_cursor` is opaque (it encodes the sort and the last row's position) and stays valid
while rows change: a conversation whose activity moves past the cursor shows up on a later first
page, never twice in one walk.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter

from gateway.api import listing, render
from gateway.api.actor import current_actor
from gateway.api.auth import SECURITY
from gateway.api.listing import CursorParam, Limit, Retired
from gateway.api.schemas import ConversationOut, ConversationPage, MessageOut, MessagePage
from gateway.db.engine import Database
from gateway.db.models import Message
from gateway.db.repositories import browse
from gateway.db.repositories import media as media_repo
from gateway.db.repositories.labels import labels_of_conversations
from gateway.domain import ConversationStatus
from gateway.errors import InvalidRequest, NotFound
from gateway.inbound.sessions import SessionTruth
from gateway.outbound.replies import reply_decision

Id = Annotated[int | None, Parameter(ge=1)]
Assignee = Annotated[
    str | None,
    Parameter(
        max_length=20,
        description="all (default) | me (the operator's conversations) | unassigned (no operator and no "
        "platform agent) | an operator id",
    ),
]
ActingOperator = Annotated[
    int | None,
    Parameter(ge=1, le=2**63 - 1, description="API keys: the operator to act for (read state, assignee=me)"),
]
LabelName = Annotated[str | None, Parameter(min_length=1, max_length=64, description="a label name")]
Sort = Annotated[
    Literal["last_activity", "waiting"],
    Parameter(
        description="last_activity (newest first, default) | waiting (longest-waiting customer first; "
        "conversations nobody waits on are left out)"
    ),
]


def _aware(value: datetime | None) -> datetime | None:
    """Query timestamps without a zone are read as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class ConversationController(Controller):
    path = "/api/v1/conversations"
    tags = ("conversations",)
    security = SECURITY

    @get("/")
    async def list_conversations(
        self,
        request: Request,
        db: Database,
        status: ConversationStatus | None = None,
        channel_id: Id = None,
        inbox_id: Id = None,
        assignee_id: Id = None,
        contact_id: Id = None,
        updated_after: Annotated[datetime | None, Parameter(description="ISO 8601; UTC when no zone")] = None,
        q: Annotated[
            str | None,
            Parameter(
                max_length=256,
                description="text in a message or the contact's name (case-insensitive for ASCII; "
                "indexed from 3 characters, shorter text in messages is a scan)",
            ),
        ] = None,
        cursor: CursorParam = None,
        limit: Limit = listing.PAGE_DEFAULT,
        assignee: Assignee = None,
        operator_id: ActingOperator = None,
        label: LabelName = None,
        sort: Sort = "last_activity",
    ) -> ConversationPage:
        """Conversations across every channel, newest activity first; filters and keyset pages. Each row
        carries `unread_count` for the operator looking (a signed-in operator, or `operator_id` with an
        API key; null without one), `last_message` (newest incoming or outgoing message with a short
        preview), `operator_id`, `waiting_since` and `labels`."""
        base = browse.ConversationFilter(
            status=str(status) if status is not None else None,
            channel_id=channel_id,
            inbox_id=inbox_id,
            assignee_id=assignee_id,
            contact_id=contact_id,
            updated_after=_aware(updated_after),
            q=q or None,
            sort=sort,
        )
        after = listing.conversation_position(cursor, sort)
        async with db.sessions() as session:
            filters = await listing.conversation_filter(
                session, current_actor(request), base, assignee=assignee, operator_id=operator_id, label=label
            )
            rows, ctx = await browse.conversation_page(session, filters, after=after, limit=limit + 1)
        page, more = listing.cut(
            rows, limit, listing.conversation_kind(sort), lambda c: listing.conversation_key(c, sort)
        )
        return ConversationPage(data=[render.conversation_out(c, ctx) for c in page], next_cursor=more)

    @get("/{conversation_id:int}")
    async def get_conversation(
        self,
        request: Request,
        conversation_id: int,
        db: Database,
        sessions: SessionTruth,
        operator_id: ActingOperator = None,
    ) -> ConversationOut:
        """With contact, inbox and assignee summaries, its `labels`, the event code it holds and `reply_policy`:
        whether the platform would accept a send right now, and if not why (window_closed,
        quota_exhausted, state_forbids_api). A platform state older than GATEWAY_SESSION_STATE_TTL
        (`state_checked_at`) is read again in the background: a change follows as conversation.updated."""
        async with db.sessions() as session:
            conversation = await browse.get_conversation(session, conversation_id)
            who = await listing.viewer(session, current_actor(request), operator_id)
            ctx = await browse.conversation_context(session, [conversation], viewer=who)
            kind = ctx.inboxes[conversation.inbox_id][1]
            decision = await reply_decision(session, conversation, kind)  # the same answer POST …/messages acts on
            labels = await labels_of_conversations(session, [conversation.id])
        await sessions.refresh_if_stale(conversation, ctx.inboxes[conversation.inbox_id][0].channel_id)
        out = render.conversation_out(conversation, ctx, decision)
        return msgspec.structs.replace(out, labels=labels[conversation.id])

    @get("/{conversation_id:int}/messages/{message_id:int}")
    async def get_message(
        self,
        conversation_id: int,
        message_id: int,
        db: Database,
        include_raw: Annotated[bool, Parameter(description="add the platform's payload")] = False,
    ) -> MessageOut:
        """One message of the conversation as the thread lists it: what a client reads again on
        `message.updated` (404 for a message of another conversation)."""
        async with db.sessions() as session:
            await browse.get_conversation(session, conversation_id)
            message = await session.get(Message, message_id)
            if message is None or message.conversation_id != conversation_id:
                raise NotFound(f"message {message_id} not found in conversation {conversation_id}")
            media = await media_repo.for_messages(session, [message])
        attachment = render.attachment_out(message, media.get(message.id))
        return render.message_out(message, include_raw=include_raw, attachment=attachment)


Direction = Annotated[
    Literal["older", "newer"] | None,
    Parameter(
        description="older (default: from the newest message back) | newer (from the oldest forward); "
        "a cursor carries its own direction, and naming the other one is 422"
    ),
]


def _message_kind(conversation_id: int, direction: str) -> str:
    return f"messages:{conversation_id}:{direction}"


def _message_position(conversation_id: int, cursor: str | None, direction: str | None) -> tuple[str, int | None]:
    """(direction, the message id the cursor points past). A cursor carries its direction; `direction`
    only picks where a walk without one starts, and contradicting the cursor's is 422."""
    if cursor is None:
        return direction or "older", None
    for way in ("older", "newer"):
        if direction in (None, way):
            try:
                key = listing.decode(cursor, _message_kind(conversation_id, way), (int,))
            except InvalidRequest:
                continue
            return way, int(key[0]) if key else None
    raise InvalidRequest("cursor was handed out for another list or direction", field="cursor")


# A plain handler, not a controller method: Litestar 2.x refuses a second Controller on a path that
# already has a route (both bring their own OPTIONS handler), and POST on this path lives in
# gateway.api.actions.ActionController. app.py registers this handler after that controller.
@get("/api/v1/conversations/{conversation_id:int}/messages", tags=("conversations",), security=SECURITY)
async def list_messages(
    conversation_id: int,
    db: Database,
    cursor: CursorParam = None,
    limit: Limit = listing.PAGE_DEFAULT,
    direction: Direction = None,
    include_raw: Annotated[bool, Parameter(description="add the platform's payload")] = False,
    before: Retired = None,
    after: Retired = None,
) -> MessagePage:
    """Oldest → newest within a page, whichever way the pages go. Without a cursor: the newest `limit`
    messages (`direction=newer`: the oldest). `next_cursor` continues the same way (older pages when
    scrolling back) and is null at the end; `newer_cursor` (never null) asks for what arrived after
    this page: poll it to catch up, and keep following the `newer_cursor` of each answer."""
    listing.refuse_retired(before=before, after=after)
    way, position = _message_position(conversation_id, cursor, direction)
    older_than, newer_than = (None, position or 0) if way == "newer" else (position, None)
    async with db.sessions() as session:
        await browse.get_conversation(session, conversation_id)
        rows, more = await browse.list_messages(
            session, conversation_id, before=older_than, after=newer_than, limit=limit
        )
        media = await media_repo.for_messages(session, rows)
    edge = (rows[0].id if way == "older" else rows[-1].id) if rows else None
    newest = rows[-1].id if rows else (newer_than if newer_than is not None else (older_than or 1) - 1)
    return MessagePage(
        data=[
            render.message_out(m, include_raw=include_raw, attachment=render.attachment_out(m, media.get(m.id)))
            for m in rows
        ],
        next_cursor=listing.encode(_message_kind(conversation_id, way), (edge,)) if more and edge else None,
        newer_cursor=listing.encode(_message_kind(conversation_id, "newer"), (newest,)),
    )
