"""The shapes of messages, conversations and contacts as the gateway shows them (msgspec Structs).

Below the API layer on purpose: the REST API answers them (gateway.api.schemas re-exports them,
so the OpenAPI names are unchanged) and the event feed embeds the same objects in its payloads
(gateway.db.repositories.snapshots), so a webhook receiver gets the very fields `GET /api/v1/…`
answers. No field holds a secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from msgspec import Struct

from gateway.db.models import Contact, ContactIdentity, Conversation, Media, Message
from gateway.db.repositories.browse import Context, LastMessage
from gateway.db.repositories.media import MEDIA_KINDS
from gateway.db.types import utcnow
from gateway.domain import ContentType, MessageType, event_code_expired, event_code_expires_at


class IdentityOut(Struct, kw_only=True):
    id: int
    channel_id: int
    source_id: str  # external_userid / openid
    unionid: str | None
    profile: dict[str, Any]
    created_at: datetime


class ContactOut(Struct, kw_only=True):
    id: int
    name: str
    avatar_url: str | None
    gender: int | None
    unionid: str | None
    external_id: str | None
    attributes: dict[str, Any]
    merged_into_id: int | None
    identities: list[IdentityOut]
    labels: list[str] = msgspec.field(default_factory=list)  # sorted label names
    created_at: datetime
    updated_at: datetime


class ContactSummary(Struct, kw_only=True):
    id: int
    name: str
    avatar_url: str | None
    external_id: str | None


class InboxSummary(Struct, kw_only=True):
    id: int
    channel_id: int
    kind: str
    source_id: str
    name: str
    migrating: bool = False  # its MP channel is in cutover mode: new followers are sent to WeCom kf


class AgentSummary(Struct, kw_only=True):
    id: int
    source_id: str
    name: str
    status: str


class ReplyPolicy(Struct, kw_only=True):
    can_reply: bool
    reason: str | None  # window_closed | quota_exhausted | state_forbids_api
    detail: str
    grant: str | None  # which allowance a send would spend: message | event
    window_closes_at: datetime | None = None  # when allowed: when the last open grant lapses
    replies_left: int | None = None  # when allowed: sends left across open grants, queued ones counted


class EventCodeOut(Struct, kw_only=True):
    """The WeCom send_msg_on_event code a conversation holds (POST …/event-reply uses it)."""

    code: str
    kind: str | None  # welcome | queue | taken | closing
    issued_at: datetime | None
    expires_at: datetime | None  # welcome and closing codes live 20 s, queue and taken codes 48 h
    expired: bool  # also: each code works once, and event-reply drops it after use


class ConversationOut(Struct, kw_only=True):
    id: int
    status: str  # pending | queued | open | resolved
    platform_state: str | None
    state_checked_at: datetime | None  # when the platform's session state was last read
    inbox_id: int
    contact_id: int
    assignee_id: int | None
    last_activity_at: datetime
    last_incoming_at: datetime | None
    first_reply_at: datetime | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    contact: ContactSummary | None
    inbox: InboxSummary | None
    assignee: AgentSummary | None
    event_code: EventCodeOut | None = None
    reply_policy: ReplyPolicy | None = None  # on GET /conversations/{id} only
    operator_id: int | None = None  # the operator (person) assigned
    waiting_since: datetime | None = None  # the customer's oldest unanswered message; null if none waits
    unread_count: int | None = None  # for the operator looking; null for an API key without operator_id
    last_message: LastMessageOut | None = None
    labels: list[str] = msgspec.field(default_factory=list)


class LastMessageOut(Struct, kw_only=True):
    """A conversation's newest incoming or outgoing message as a list shows it."""

    id: int
    message_type: str  # incoming | outgoing
    content_type: str
    preview: str  # up to 80 characters of text (a menu: its head or first option), else e.g. "[image]"
    created_at: datetime


class AttachmentOut(Struct, kw_only=True):
    """The file of an image, voice, video or file message; the URLs need the same key or session."""

    media_id: int | None  # GET /api/v1/media/{media_id}; None while the gateway has no row for it
    kind: str  # image | voice | video | file
    mime: str | None
    size: int | None
    filename: str | None
    status: str  # pending | stored | failed | expired | unavailable (an upload the gateway kept no copy of)
    url: str | None
    playable_url: str | None = None  # voice: the MP3 a browser plays
    thumb_url: str | None = None  # image: a JPEG preview, at most 320 px on the long side


class MessageOut(Struct, kw_only=True):
    id: int
    conversation_id: int
    inbox_id: int
    source_id: str | None
    message_type: str
    sender_type: str
    sender_agent_id: int | None
    content_type: str
    content: str | None
    content_attributes: dict[str, Any]
    status: str
    error_code: str | None
    error_message: str | None
    recalled_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    raw: dict[str, Any] | None = None  # the platform payload, with ?include_raw=true
    author: dict[str, Any] | None = None  # notes: who wrote it ({type: operator | api_key, id, name})
    attachment: AttachmentOut | None = None  # media messages, in message lists


# --------------------------------------------------------------------------- rows → Structs


def identity_out(row: ContactIdentity) -> IdentityOut:
    return IdentityOut(
        id=row.id,
        channel_id=row.channel_id,
        source_id=row.source_id,
        unionid=row.unionid,
        profile=dict(row.profile),
        created_at=row.created_at,
    )


def contact_out(row: Contact, identities: list[ContactIdentity], labels: list[str] | None = None) -> ContactOut:
    return ContactOut(
        id=row.id,
        name=row.name,
        avatar_url=row.avatar_url,
        gender=row.gender,
        unionid=row.unionid,
        external_id=row.external_id,
        attributes=dict(row.attributes),
        merged_into_id=row.merged_into_id,
        identities=[identity_out(i) for i in identities if i.contact_id == row.id],
        labels=list(labels or []),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def event_code_out(row: Conversation, now: datetime) -> EventCodeOut | None:
    if not row.event_code:
        return None
    return EventCodeOut(
        code=row.event_code,
        kind=row.event_code_kind,
        issued_at=row.event_code_at,
        expires_at=event_code_expires_at(row.event_code_kind, row.event_code_at),
        expired=event_code_expired(row.event_code_kind, row.event_code_at, now),
    )


def conversation_out(row: Conversation, ctx: Context, reply_policy: ReplyPolicy | None = None) -> ConversationOut:
    contact = ctx.contacts.get(row.contact_id)
    inbox = ctx.inboxes.get(row.inbox_id)
    agent = ctx.agents.get(row.assignee_id) if row.assignee_id is not None else None
    return ConversationOut(
        id=row.id,
        status=row.status,
        platform_state=row.platform_state,
        state_checked_at=row.state_checked_at,
        inbox_id=row.inbox_id,
        contact_id=row.contact_id,
        assignee_id=row.assignee_id,
        last_activity_at=row.last_activity_at,
        last_incoming_at=row.last_incoming_at,
        first_reply_at=row.first_reply_at,
        resolved_at=row.resolved_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        contact=ContactSummary(
            id=contact.id, name=contact.name, avatar_url=contact.avatar_url, external_id=contact.external_id
        )
        if contact
        else None,
        inbox=InboxSummary(
            id=inbox[0].id,
            channel_id=inbox[0].channel_id,
            kind=inbox[1],
            source_id=inbox[0].source_id,
            name=inbox[0].name,
            migrating=inbox[0].channel_id in ctx.migrating,
        )
        if inbox
        else None,
        assignee=AgentSummary(id=agent.id, source_id=agent.source_id, name=agent.name, status=agent.status)
        if agent
        else None,
        event_code=event_code_out(row, utcnow()),
        reply_policy=reply_policy,
        operator_id=row.operator_id,
        waiting_since=row.waiting_since,
        unread_count=ctx.unread.get(row.id),
        last_message=last_message_out(ctx.last_messages.get(row.id)),
        labels=ctx.labels.get(row.id, []),
    )


PREVIEW_CHARS = 80


def last_message_out(row: LastMessage | None) -> LastMessageOut | None:
    if row is None:
        return None
    return LastMessageOut(
        id=row.id,
        message_type=row.message_type,
        content_type=row.content_type,
        preview=preview(row.content_type, row.content, row.attributes),
        created_at=row.created_at,
    )


def preview(content_type: str, content: str | None, attributes: dict[str, Any] | None = None) -> str:
    """A line for a list: the text (whitespace folded, cut at PREVIEW_CHARS with "…"), else what the
    message says of itself (a menu: its head text, or its first option), else "[type]"."""
    text = " ".join((content or _own_words(content_type, attributes or {})).split())
    if not text:
        return f"[{content_type}]"
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _own_words(content_type: str, attributes: dict[str, Any]) -> str:
    """The text a message without `content` carries in its attributes (a menu sent through the API)."""
    if content_type != ContentType.MENU:
        return ""
    head = attributes.get("head_content")
    if isinstance(head, str) and head.strip():
        return head
    items = attributes.get("items")
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    option = first.get("content")
    return option if isinstance(option, str) else ""


def attachment_out(row: Message, media: Media | None) -> AttachmentOut | None:
    """The media of an image/voice/video/file message (`media`: its row, batch-loaded for the page)."""
    if row.content_type not in MEDIA_KINDS:
        return None
    if media is None:  # a reply whose media the gateway did not upload, or a failure from before media rows
        fallback = "pending" if row.message_type == "incoming" else "unavailable"
        status = str(row.content_attributes.get("media_status") or fallback)
        return AttachmentOut(
            media_id=None, kind=row.content_type, mime=None, size=None, filename=None, status=status, url=None
        )
    url = f"/api/v1/media/{media.id}"
    ready = {name for name, v in media.variants.items() if isinstance(v, dict) and v.get("path")}
    return AttachmentOut(
        media_id=media.id,
        kind=media.kind or row.content_type,
        mime=media.mime,
        size=media.size,
        filename=media.filename,
        status="unavailable" if media.status == "stored" and not media.path else media.status,
        url=url,
        playable_url=f"{url}?variant=playable" if "playable" in ready else None,
        thumb_url=f"{url}?variant=thumb" if "thumb" in ready else None,
    )


def message_out(row: Message, *, include_raw: bool = False, attachment: AttachmentOut | None = None) -> MessageOut:
    return MessageOut(
        id=row.id,
        conversation_id=row.conversation_id,
        inbox_id=row.inbox_id,
        source_id=row.source_id,
        message_type=row.message_type,
        sender_type=row.sender_type,
        sender_agent_id=row.sender_agent_id,
        content_type=row.content_type,
        content=row.content,
        content_attributes=dict(row.content_attributes),
        status=row.status,
        error_code=row.error_code,
        error_message=row.error_message,
        recalled_at=row.recalled_at,
        sent_at=row.sent_at,
        created_at=row.created_at,
        raw=dict(row.raw) if include_raw else None,
        author=_author(row),
        attachment=attachment,
    )


def _author(row: Message) -> dict[str, Any] | None:
    """Who wrote a private note (the actor's `ref()`); None for every other message."""
    author = row.content_attributes.get("author") if row.message_type == MessageType.NOTE else None
    return dict(author) if isinstance(author, dict) else None
