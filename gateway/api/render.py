"""Rows → response Structs (gateway.api.schemas). The one place that decides what leaves the process.

Channel secrets never pass through here: `channel_out` takes only the *names* of the stored
secrets. Message `raw` payloads are included only when asked for.
"""

from __future__ import annotations

from gateway.api import schemas as s
from gateway.db.models import Agent, ApiKey, Channel, Contact, ContactIdentity, Conversation, Inbox, InboxAgent, Message
from gateway.db.repositories.browse import Context
from gateway.policy import Decision
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


def contact_out(row: Contact, identities: list[ContactIdentity]) -> s.ContactOut:
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
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def policy_out(decision: Decision) -> s.ReplyPolicy:
    return s.ReplyPolicy(
        can_reply=decision.allowed, reason=decision.reason, detail=decision.detail, grant=decision.grant
    )


def conversation_out(row: Conversation, ctx: Context, policy: Decision | None = None) -> s.ConversationOut:
    contact = ctx.contacts.get(row.contact_id)
    inbox = ctx.inboxes.get(row.inbox_id)
    agent = ctx.agents.get(row.assignee_id) if row.assignee_id is not None else None
    return s.ConversationOut(
        id=row.id,
        status=row.status,
        platform_state=row.platform_state,
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
        )
        if inbox
        else None,
        assignee=s.AgentSummary(id=agent.id, source_id=agent.source_id, name=agent.name, status=agent.status)
        if agent
        else None,
        reply_policy=policy_out(policy) if policy is not None else None,
    )


def message_out(row: Message, *, include_raw: bool = False) -> s.MessageOut:
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
    )
