"""The objects an event is about, embedded in its payload as they stand when the event commits.

`message.created` / `message.updated` get `message`, `conversation` and `contact`;
`conversation.created` / `conversation.updated` get `conversation` and `contact`. Each is the
plain-JSON form of what the REST API answers for the same id (gateway.db.views renders both):
the message as `GET /conversations/{id}/messages` lists it, the conversation as the list shows it
(no `reply_policy`, `unread_count` null: both depend on the moment or the viewer), the contact as
`GET /contacts/{id}`. The ids the payloads carried before stay.

Why at commit and not at delivery: a receiver that was down for hours then gets what was true
when each event happened (a `conversation.updated` shows the assignee of that change, not a later
one), every retry and redelivery sends the same bytes, the feed and SSE carry the same objects,
and a deleted or merged row cannot leave a queued delivery without its object. The rows are read
in the committing transaction, after its last flush, so they include everything it changed; the
price is a few batched queries per committing transaction that writes these events (one set for
a whole sync page), taken before the feed counter lock so event writers do not queue behind them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import views
from gateway.db.models import ContactIdentity, Conversation, Message
from gateway.db.repositories import feed
from gateway.db.repositories.browse import conversation_context
from gateway.db.repositories.contacts import list_identities
from gateway.db.repositories.labels import labels_of_contacts
from gateway.db.repositories.media import for_messages

MESSAGE_EVENTS = frozenset({"message.created", "message.updated"})
CONVERSATION_EVENTS = frozenset({"conversation.created", "conversation.updated"})


def _conversation_of(event: Any) -> int | None:
    cid = event.conversation_id if event.conversation_id is not None else event.payload.get("conversation_id")
    return int(cid) if isinstance(cid, int) else None


async def embed(session: AsyncSession, events: Sequence[Any]) -> None:
    """Add `message` / `conversation` / `contact` to the payloads of `events` (in place), in a few queries."""
    wanted = [e for e in events if e.type in MESSAGE_EVENTS or e.type in CONVERSATION_EVENTS]
    if not wanted:
        return
    message_ids = {
        e.payload["message_id"]
        for e in wanted
        if e.type in MESSAGE_EVENTS and isinstance(e.payload.get("message_id"), int)
    }
    messages: dict[int, Message] = {}
    if message_ids:
        found = await session.scalars(
            select(Message).where(Message.id.in_(message_ids)).execution_options(populate_existing=True)
        )
        messages = {m.id: m for m in found}
    conversation_ids = {cid for e in wanted if (cid := _conversation_of(e)) is not None}
    conversation_ids |= {m.conversation_id for m in messages.values()}
    conversations: dict[int, Conversation] = {}
    if conversation_ids:
        found_c = await session.scalars(
            select(Conversation).where(Conversation.id.in_(conversation_ids)).execution_options(populate_existing=True)
        )
        conversations = {c.id: c for c in found_c}
    ctx = await conversation_context(session, conversations.values())
    contact_ids = sorted({c.contact_id for c in conversations.values()})
    contacts: dict[int, dict[str, Any]] = {}
    if contact_ids:  # the rows conversation_context loaded; their identities and labels besides
        # each contact gets its own identities: contact_out over all of them would be quadratic in the
        # contacts of a batch (a sync page or a group commit), an ORM attribute read per pair
        identities: dict[int, list[ContactIdentity]] = {}
        for identity in await list_identities(session, contact_ids):
            identities.setdefault(identity.contact_id, []).append(identity)
        labels = await labels_of_contacts(session, contact_ids)
        contacts = {
            cid: _plain(views.contact_out(ctx.contacts[cid], identities.get(cid, []), labels[cid]))
            for cid in contact_ids
            if cid in ctx.contacts
        }
    media = await for_messages(session, list(messages.values())) if messages else {}
    rendered: dict[int, dict[str, Any]] = {c.id: _plain(views.conversation_out(c, ctx)) for c in conversations.values()}
    for e in wanted:
        message = messages.get(e.payload.get("message_id")) if e.type in MESSAGE_EVENTS else None
        cid = message.conversation_id if message is not None else _conversation_of(e)
        conversation = conversations.get(cid) if cid is not None else None
        if message is not None:
            attachment = views.attachment_out(message, media.get(message.id))
            e.payload["message"] = _plain(views.message_out(message, attachment=attachment))
        if conversation is not None:
            e.payload["conversation"] = rendered[conversation.id]
            e.payload["contact"] = contacts.get(conversation.contact_id)


def _plain(struct: msgspec.Struct) -> dict[str, Any]:
    """JSON-ready builtins (datetimes as the API's RFC 3339 strings)."""
    out: dict[str, Any] = msgspec.to_builtins(struct)
    return out


feed.embed_objects_with(embed)
