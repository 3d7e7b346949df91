"""Rows → response Structs (gateway.api.schemas). The one place that decides what leaves the process.

Channel secrets never pass through here: `channel_out` takes only the *names* of the stored
secrets. Message `raw` payloads are included only when asked for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.api import inbox_schemas as ib
from gateway.api import schemas as s
from gateway.channels.advice import channel_warnings
from gateway.db.models import (
    Agent,
    ApiKey,
    Channel,
    Contact,
    ContactIdentity,
    Conversation,
    Inbox,
    InboxAgent,
    Media,
    Message,
)
from gateway.db.people import CannedResponse, Label
from gateway.db.repositories.browse import Context, LastMessage
from gateway.db.repositories.media import MEDIA_KINDS
from gateway.db.types import utcnow
from gateway.domain import MessageType
from gateway.inbound.codes import event_code_expired, event_code_expires_at
from gateway.outbound.policy import Decision
from gateway.settings import Settings


def callback_base(settings: Settings) -> str:
    """How the platforms reach us: GATEWAY_PUBLIC_URL, else the listening host and port."""
    return settings.server.public_url or f"http://{settings.server.host}:{settings.server.port}"


def channel_out(row: Channel, secret_names: list[str], base: str) -> s.ChannelOut:
    return s.ChannelOut(
        id=row.id,
        kind=row.kind,
        name=row.name,
        app_id=row.app_id,
        enabled=row.enabled,
        settings=dict(row.settings),
        secrets_set=sorted(secret_names),
        callback_url=f"{base}/callbacks/{row.id}",
        created_at=row.created_at,
        updated_at=row.updated_at,
        warnings=channel_warnings(row.kind, row.settings),
    )


def apikey_out(row: ApiKey) -> s.ApiKeyOut:
    return s.ApiKeyOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scope=row.scope,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def inbox_out(row: Inbox) -> s.InboxOut:
    ways = [
        s.ContactWayOut(
            url=str(w.get("url", "")),
            scene=w.get("scene"),
            scene_param=w.get("scene_param"),
            created_at=str(w.get("created_at", "")),
        )
        for w in row.settings.get("contact_ways") or []
        if isinstance(w, dict)
    ]
    return s.InboxOut(
        id=row.id,
        channel_id=row.channel_id,
        source_id=row.source_id,
        name=row.name,
        avatar_url=row.avatar_url,
        enabled=row.enabled,
        contact_ways=ways,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def agent_out(row: Agent, members: list[InboxAgent]) -> s.AgentOut:
    return s.AgentOut(
        id=row.id,
        channel_id=row.channel_id,
        source_id=row.source_id,
        name=row.name,
        email=row.email,
        status=row.status,
        inboxes=[s.InboxMembership(inbox_id=m.inbox_id, status=m.status) for m in members],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def identity_out(row: ContactIdentity) -> s.IdentityOut:
    return s.IdentityOut(
        id=row.id,
        channel_id=row.channel_id,
        source_id=row.source_id,
        unionid=row.unionid,
        profile=dict(row.profile),
        created_at=row.created_at,
    )


def contact_out(row: Contact, identities: list[ContactIdentity], labels: list[str] | None = None) -> s.ContactOut:
    return s.ContactOut(
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


def policy_out(decision: Decision) -> s.ReplyPolicy:
    return s.ReplyPolicy(
        can_reply=decision.allowed,
        reason=decision.reason,
        detail=decision.detail,
        grant=decision.grant,
        window_closes_at=decision.window_closes_at,
        replies_left=decision.replies_left,
    )


def event_code_out(row: Conversation, now: datetime) -> s.EventCodeOut | None:
    if not row.event_code:
        return None
    return s.EventCodeOut(
        code=row.event_code,
        kind=row.event_code_kind,
        issued_at=row.event_code_at,
        expires_at=event_code_expires_at(row.event_code_kind, row.event_code_at),
        expired=event_code_expired(row.event_code_kind, row.event_code_at, now),
    )


def conversation_out(row: Conversation, ctx: Context, policy: Decision | None = None) -> s.ConversationOut:
    contact = ctx.contacts.get(row.contact_id)
    inbox = ctx.inboxes.get(row.inbox_id)
    agent = ctx.agents.get(row.assignee_id) if row.assignee_id is not None else None
    return s.ConversationOut(
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
        contact=s.ContactSummary(
            id=contact.id, name=contact.name, avatar_url=contact.avatar_url, external_id=contact.external_id
        )
        if contact
        else None,
        inbox=s.InboxSummary(
            id=inbox[0].id,
            channel_id=inbox[0].channel_id,
            kind=inbox[1],
            source_id=inbox[0].source_id,
            name=inbox[0].name,
            migrating=inbox[0].channel_id in ctx.migrating,
        )
        if inbox
        else None,
        assignee=s.AgentSummary(id=agent.id, source_id=agent.source_id, name=agent.name, status=agent.status)
        if agent
        else None,
        event_code=event_code_out(row, utcnow()),
        reply_policy=policy_out(policy) if policy is not None else None,
        operator_id=row.operator_id,
        waiting_since=row.waiting_since,
        unread_count=ctx.unread.get(row.id),
        last_message=last_message_out(ctx.last_messages.get(row.id)),
        labels=ctx.labels.get(row.id, []),
    )


PREVIEW_CHARS = 80


def last_message_out(row: LastMessage | None) -> s.LastMessageOut | None:
    if row is None:
        return None
    return s.LastMessageOut(
        id=row.id,
        message_type=row.message_type,
        content_type=row.content_type,
        preview=preview(row.content_type, row.content),
        created_at=row.created_at,
    )


def preview(content_type: str, content: str | None) -> str:
    """A line for a list: the text (whitespace folded, cut at PREVIEW_CHARS with "…"), else "[type]"."""
    text = " ".join((content or "").split())
    if not text:
        return f"[{content_type}]"
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def attachment_out(row: Message, media: Media | None) -> s.AttachmentOut | None:
    """The media of an image/voice/video/file message (`media`: its row, batch-loaded for the page)."""
    if row.content_type not in MEDIA_KINDS:
        return None
    if media is None:  # a reply whose media the gateway did not upload, or a failure from before media rows
        fallback = "pending" if row.message_type == "incoming" else "unavailable"
        status = str(row.content_attributes.get("media_status") or fallback)
        return s.AttachmentOut(
            media_id=None, kind=row.content_type, mime=None, size=None, filename=None, status=status, url=None
        )
    url = f"/api/v1/media/{media.id}"
    ready = {name for name, v in media.variants.items() if isinstance(v, dict) and v.get("path")}
    return s.AttachmentOut(
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


def message_out(row: Message, *, include_raw: bool = False, attachment: s.AttachmentOut | None = None) -> s.MessageOut:
    return s.MessageOut(
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


def label_out(row: Label) -> ib.LabelOut:
    return ib.LabelOut(
        id=row.id,
        name=row.name,
        color=row.color,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def canned_out(row: CannedResponse) -> ib.CannedOut:
    return ib.CannedOut(
        id=row.id, short_code=row.short_code, content=row.content, created_at=row.created_at, updated_at=row.updated_at
    )
