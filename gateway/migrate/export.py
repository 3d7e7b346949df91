"""JSONL export: one line per conversation with its inbox, its contact (identities) and its messages.

Streams: conversations are read in pages by id, and each conversation's messages in pages by id,
so memory holds one page of conversations and one conversation's line at a time. Channel secrets
are never read; platform payloads (`raw`) and identity profiles only with `raw=True`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

import msgspec
from sqlalchemy import select

from gateway.db.engine import Database
from gateway.db.models import Agent, Channel, Contact, ContactIdentity, Conversation, Inbox, Message
from gateway.errors import ChannelNotFound

PAGE = 200

_encoder = msgspec.json.Encoder()


@dataclass(slots=True)
class ExportSummary:
    conversations: int = 0
    messages: int = 0


# The export reads across every table in pages; there is no repository for it yet, so its
# read-only queries live here.


async def iter_conversations(
    db: Database,
    *,
    since: datetime | None = None,
    channel_id: int | None = None,
    raw: bool = False,
    page: int = PAGE,
) -> AsyncIterator[dict[str, Any]]:
    """Export records in conversation id order; `since` keeps conversations active at or after it."""
    after = 0
    agents: dict[int, str] = {}
    while True:
        async with db.sessions() as session:
            query = (
                select(Conversation, Inbox, Channel.kind)
                .join(Inbox, Inbox.id == Conversation.inbox_id)
                .join(Channel, Channel.id == Inbox.channel_id)
                .where(Conversation.id > after)
                .order_by(Conversation.id)
                .limit(page)
            )
            if since is not None:
                query = query.where(Conversation.last_activity_at >= since)
            if channel_id is not None:
                query = query.where(Inbox.channel_id == channel_id)
            rows = (await session.execute(query)).all()
            if not rows:
                return
            contact_ids = {conversation.contact_id for conversation, _, _ in rows}
            contacts = {c.id: c for c in await session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))}
            identities: dict[int, list[ContactIdentity]] = {}
            for identity in await session.scalars(
                select(ContactIdentity).where(ContactIdentity.contact_id.in_(contact_ids)).order_by(ContactIdentity.id)
            ):
                identities.setdefault(identity.contact_id, []).append(identity)
            missing = {c.assignee_id for c, _, _ in rows if c.assignee_id and c.assignee_id not in agents}
            if missing:
                for agent in await session.scalars(select(Agent).where(Agent.id.in_(missing))):
                    agents[agent.id] = agent.source_id
        for conversation, inbox, kind in rows:
            contact = contacts[conversation.contact_id]
            messages = [m async for m in _messages(db, conversation.id, agents, raw=raw, page=page)]
            yield {
                "conversation": {
                    "id": conversation.id,
                    "status": conversation.status,
                    "platform_state": conversation.platform_state,
                    "assignee": agents.get(conversation.assignee_id) if conversation.assignee_id else None,
                    "created_at": conversation.created_at,
                    "last_activity_at": conversation.last_activity_at,
                    "resolved_at": conversation.resolved_at,
                },
                "inbox": {"id": inbox.id, "channel_id": inbox.channel_id, "kind": kind, "source_id": inbox.source_id},
                "contact": {
                    "id": contact.id,
                    "name": contact.name,
                    "unionid": contact.unionid,
                    "external_id": contact.external_id,
                    "attributes": contact.attributes,
                    "identities": [
                        {
                            "channel_id": i.channel_id,
                            "source_id": i.source_id,
                            "unionid": i.unionid,
                            **({"profile": i.profile} if raw else {}),
                        }
                        for i in identities.get(contact.id, [])
                    ],
                },
                "messages": messages,
            }
        after = rows[-1][0].id


async def _messages(
    db: Database, conversation_id: int, agents: dict[int, str], *, raw: bool, page: int
) -> AsyncIterator[dict[str, Any]]:
    after = 0
    while True:
        async with db.sessions() as session:
            batch = list(
                await session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conversation_id, Message.id > after)
                    .order_by(Message.id)
                    .limit(page)
                )
            )
            unknown = {m.sender_agent_id for m in batch if m.sender_agent_id and m.sender_agent_id not in agents}
            if unknown:
                for agent in await session.scalars(select(Agent).where(Agent.id.in_(unknown))):
                    agents[agent.id] = agent.source_id
        if not batch:
            return
        for m in batch:
            item: dict[str, Any] = {
                "id": m.id,
                "source_id": m.source_id,
                "message_type": m.message_type,
                "sender_type": m.sender_type,
                "agent": agents.get(m.sender_agent_id) if m.sender_agent_id else None,
                "content_type": m.content_type,
                "content": m.content,
                "content_attributes": m.content_attributes,
                "status": m.status,
                "error_code": m.error_code,
                "sent_at": m.sent_at,
                "created_at": m.created_at,
            }
            if raw:
                item["raw"] = m.raw
            yield item
        after = batch[-1].id


async def check_channel(db: Database, channel_id: int) -> None:
    """A --channel that names no channel is an error, not an empty export."""
    async with db.sessions() as session:
        if await session.get(Channel, channel_id) is None:
            raise ChannelNotFound(f"channel {channel_id} not found (see `kefu-gateway channel list`)")


async def export_jsonl(
    db: Database,
    out: IO[bytes],
    *,
    since: datetime | None = None,
    channel_id: int | None = None,
    raw: bool = False,
) -> ExportSummary:
    """Write one JSON line per conversation to the binary stream `out`."""
    summary = ExportSummary()
    async for record in iter_conversations(db, since=since, channel_id=channel_id, raw=raw):
        out.write(_encoder.encode(record) + b"\n")
        summary.conversations += 1
        summary.messages += len(record["messages"])
    out.flush()
    return summary
