"""`/api/v1/conversations` (read side): filtered keyset list, one conversation with its reply policy, its messages.

Actions on a conversation (send, assign, resolve, typing, …) live in their own modules.
The list is ordered by last activity, newest first; `next_cursor` is opaque (it encodes the last
row's last_activity_at and id) and stays valid while rows change: a conversation whose activity
moves past the cursor shows up on a later first page, never twice in one walk.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from gateway.api import render
from gateway.api.auth import SECURITY
from gateway.api.schemas import ConversationOut, ConversationPage, MessagePage
from gateway.db.repositories import browse
from gateway.db.types import utcnow
from gateway.domain import ConversationStatus
from gateway.errors import InvalidRequest
from gateway.policy import can_reply
from gateway.runtime import Runtime

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1–200, default 50)")]
Id = Annotated[int | None, Parameter(ge=1)]


def encode_cursor(at: datetime, conversation_id: int) -> str:
    raw = f"{at.astimezone(UTC).isoformat()}|{conversation_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, ident = raw.partition("|")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at, int(ident)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("cursor is not one this API handed out", field="cursor") from None


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
        runtime: Runtime,
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
        cursor: Annotated[str | None, Parameter(max_length=256, description="the previous page's next_cursor")] = None,
        limit: Limit = 50,
    ) -> ConversationPage:
        filters = browse.ConversationFilter(
            status=str(status) if status is not None else None,
            channel_id=channel_id,
            inbox_id=inbox_id,
            assignee_id=assignee_id,
            contact_id=contact_id,
            updated_after=_aware(updated_after),
            q=q or None,
        )
        after = decode_cursor(cursor) if cursor else None
        async with runtime.db.sessions() as session:
            rows, ctx = await browse.conversation_page(session, filters, after=after, limit=limit + 1)
            page = rows[:limit]
        last = page[-1] if len(rows) > limit else None
        return ConversationPage(
            data=[render.conversation_out(c, ctx) for c in page],
            next_cursor=encode_cursor(last.last_activity_at, last.id) if last is not None else None,
        )

    @get("/{conversation_id:int}")
    async def get_conversation(self, conversation_id: int, runtime: Runtime) -> ConversationOut:
        """With contact, inbox and assignee summaries and `reply_policy`: whether the platform
        would accept a send right now, and if not why (window_closed, quota_exhausted, state_forbids_api)."""
        async with runtime.db.sessions() as session:
            conversation = await browse.get_conversation(session, conversation_id)
            ctx = await browse.conversation_context(session, [conversation])
        kind = ctx.inboxes[conversation.inbox_id][1]
        return render.conversation_out(conversation, ctx, can_reply(conversation, kind, utcnow()))


# A plain handler, not a controller method: Litestar 2.x refuses a second Controller on a path that
# already has a route (both bring their own OPTIONS handler), and POST on this path lives in
# gateway.api.actions.ActionController. app.py registers this handler after that controller.
@get("/api/v1/conversations/{conversation_id:int}/messages", tags=("conversations",), security=SECURITY)
async def list_messages(
    conversation_id: int,
    runtime: Runtime,
    before: Annotated[int | None, Parameter(ge=1, description="messages older than this message id")] = None,
    after: Annotated[int | None, Parameter(ge=0, description="messages newer than this message id")] = None,
    limit: Limit = 50,
    include_raw: Annotated[bool, Parameter(description="add the platform's payload")] = False,
) -> MessagePage:
    """Oldest → newest within a page. Without cursors: the newest `limit` messages. Page back with
    `before=<first id>` while has_more; page forward with `after=<last id>`."""
    async with runtime.db.sessions() as session:
        await browse.get_conversation(session, conversation_id)
        rows, more = await browse.list_messages(session, conversation_id, before=before, after=after, limit=limit)
    return MessagePage(data=[render.message_out(m, include_raw=include_raw) for m in rows], has_more=more)
