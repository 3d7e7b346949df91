"""Rows → response Structs (gateway.api.schemas). With gateway.db.views, the place that decides what leaves the process.

Channel secrets never pass through here: `channel_out` takes only the *names* of the stored
secrets. Message `raw` payloads are included only when asked for.
"""

from __future__ import annotations

from gateway.api import inbox_schemas as ib
from gateway.api import schemas as s
from gateway.channels.advice import channel_warnings
from gateway.db import views
from gateway.db.models import Agent, ApiKey, Channel, Conversation, Inbox, InboxAgent
from gateway.db.people import CannedResponse, Label
from gateway.db.repositories.browse import Context
from gateway.db.views import (
    PREVIEW_CHARS,
    attachment_out,
    contact_out,
    event_code_out,
    identity_out,
    last_message_out,
    message_out,
    preview,
)
from gateway.outbound.policy import Decision
from gateway.settings import Settings

# with the renderers gateway.db.views shares with the event payloads (controllers call render.*)
__all__ = [
    "PREVIEW_CHARS",
    "agent_out",
    "apikey_out",
    "attachment_out",
    "callback_base",
    "canned_out",
    "channel_out",
    "contact_out",
    "conversation_out",
    "event_code_out",
    "identity_out",
    "inbox_out",
    "label_out",
    "last_message_out",
    "message_out",
    "policy_out",
    "preview",
]


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


def policy_out(decision: Decision) -> s.ReplyPolicy:
    return s.ReplyPolicy(
        can_reply=decision.allowed,
        reason=decision.reason,
        detail=decision.detail,
        grant=decision.grant,
        window_closes_at=decision.window_closes_at,
        replies_left=decision.replies_left,
    )


def conversation_out(row: Conversation, ctx: Context, policy: Decision | None = None) -> s.ConversationOut:
    """gateway.db.views.conversation_out, with the reply policy a single GET adds."""
    return views.conversation_out(row, ctx, policy_out(policy) if policy is not None else None)


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
