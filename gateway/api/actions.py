"""Conversation actions under /api/v1/conversations/{id}: send (202 + outbox), assign, handover, resolve,
typing, upgrade-service and event replies.

A send checks the reply policy first (409 with the reason instead of a doomed platform call), then
stores the message as `queued` with its job in one transaction. `Idempotency-Key` makes a repeated
request return the first answer (same key with a different body → 422 idempotency_key_reused).
Actions a platform lacks answer 422 unsupported_by_channel; platform refusals carry errcode/errmsg.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import msgspec
from litestar import Controller, Request, Response, post
from msgspec import Struct

from gateway import actions
from gateway.api import render
from gateway.api.auth import SECURITY, current_key
from gateway.api.schemas import MessageOut
from gateway.channels.base import OutboundMessage
from gateway.db.models import Agent
from gateway.db.repositories import idempotency
from gateway.domain import Batch
from gateway.errors import Conflict, IdempotencyKeyReused, InvalidRequest, UnsupportedByChannel
from gateway.ingest import ingest
from gateway.runtime import Runtime

CONTENT_TYPES = (
    "text",
    "image",
    "voice",
    "video",
    "file",
    "link",
    "miniprogram",
    "menu",
    "location",
    "news",
    "business_card",
    "music",
)


class SendMessage(Struct, kw_only=True, forbid_unknown_fields=True):
    """A reply. Type-specific fields: media_id (image/voice/video/file), url/title/description/
    thumb_media_id (link), appid/pagepath/title/thumb_media_id (miniprogram), head_content/items/
    tail_content (menu), latitude/longitude/name/address (location), articles (news), userid (business_card)."""

    content_type: str = "text"
    content: str | None = None
    media_id: str | None = None
    url: str | None = None
    title: str | None = None
    description: str | None = None
    thumb_media_id: str | None = None
    appid: str | None = None
    pagepath: str | None = None
    head_content: str | None = None
    items: list[dict[str, Any]] | None = None
    tail_content: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None
    articles: list[dict[str, Any]] | None = None
    userid: str | None = None
    agent_id: int | None = None  # the gateway agent replying (for the record)


class Assign(Struct, kw_only=True, forbid_unknown_fields=True):
    agent_id: int | None  # None unassigns (gateway agents only)


class Handover(Struct, kw_only=True, forbid_unknown_fields=True):
    target: str  # bot | queue


class Typing(Struct, kw_only=True, forbid_unknown_fields=True):
    on: bool = True


class UpgradeService(Struct, kw_only=True, forbid_unknown_fields=True):
    type: str  # member | groupchat
    userid: str | None = None
    chat_id: str | None = None
    wording: str | None = None


class EventReply(Struct, kw_only=True, forbid_unknown_fields=True):
    content_type: str = "text"
    content: str | None = None
    head_content: str | None = None
    items: list[dict[str, Any]] | None = None
    tail_content: str | None = None


class ActionResult(Struct, kw_only=True):
    conversation_id: int
    status: str
    platform_state: str | None
    assignee_id: int | None


def _attributes(body: Struct, skip: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None and k not in skip}


class ActionController(Controller):
    path = "/api/v1/conversations"
    tags: ClassVar[list[str]] = ["actions"]
    security = SECURITY

    @post("/{conversation_id:int}/messages", status_code=202)
    async def send(
        self, request: Request, conversation_id: int, data: SendMessage, runtime: Runtime
    ) -> Response[MessageOut]:
        """Queue a reply (202). 409 reply_not_allowed with `reason` when the platform would refuse."""
        if data.content_type not in CONTENT_TYPES:
            raise InvalidRequest(f"content_type must be one of {', '.join(CONTENT_TYPES)}", field="content_type")
        if data.content_type == "text" and not data.content:
            raise InvalidRequest("a text message needs content", field="content")
        key = request.headers.get("idempotency-key")
        api_key = current_key(request)
        digest = hashlib.sha256(msgspec.json.encode([conversation_id, data])).hexdigest()
        async with runtime.db.session() as session:
            if key:
                earlier = await idempotency.find(session, api_key.id, key)
                if earlier is not None:
                    if earlier.request_hash != digest:
                        raise IdempotencyKeyReused(
                            "Idempotency-Key was used for a different request", field="Idempotency-Key"
                        )
                    return Response(msgspec.convert(earlier.response, MessageOut), status_code=earlier.status_code)
            message = await actions.queue_message(
                session,
                conversation_id,
                content_type=data.content_type,
                content=data.content,
                attributes=_attributes(data, ("content_type", "content", "agent_id")),
                agent_id=data.agent_id,
            )
            out = render.message_out(message)
            if key and not await idempotency.remember(session, api_key.id, key, digest, 202, msgspec.to_builtins(out)):
                raise Conflict("a concurrent request with this Idempotency-Key is in progress; retry")
        runtime.jobs.notify()
        return Response(out, status_code=202)

    @post("/{conversation_id:int}/assign", status_code=200)
    async def assign(self, conversation_id: int, data: Assign, runtime: Runtime) -> ActionResult:
        """Assign to a gateway agent (no platform call), a WeCom servicer (state 3) or an MP kf account
        (kfsession/create)."""
        async with runtime.db.session() as session:
            conversation, inbox, channel_row, identity = await actions.load_context(session, conversation_id)
            agent = await session.get(Agent, data.agent_id) if data.agent_id is not None else None
            if data.agent_id is not None and agent is None:
                raise InvalidRequest(f"agent {data.agent_id} not found", field="agent_id")
            if agent is None or agent.channel_id is None:
                conversation.assignee_id = agent.id if agent else None
                return _result(conversation)
            if agent.channel_id != channel_row.id:
                raise InvalidRequest("the agent belongs to another channel", field="agent_id")
            ref = await actions.conversation_ref(session, conversation, inbox, identity)
        channel = await runtime.channel(channel_row.id)
        change = await channel.handover(ref, "agent", agent.source_id)
        return await _apply(runtime, channel_row.id, conversation_id, change)

    @post("/{conversation_id:int}/handover", status_code=200)
    async def handover(self, conversation_id: int, data: Handover, runtime: Runtime) -> ActionResult:
        """Hand the conversation to the bot/API (WeCom state 1) or the queue (WeCom state 2)."""
        if data.target not in ("bot", "queue"):
            raise InvalidRequest("target must be bot or queue (use /assign for an agent)", field="target")
        channel, ref, channel_id = await _platform(runtime, conversation_id)
        change = await channel.handover(ref, data.target)
        return await _apply(runtime, channel_id, conversation_id, change)

    @post("/{conversation_id:int}/resolve", status_code=200)
    async def resolve(self, conversation_id: int, runtime: Runtime) -> ActionResult:
        """End the conversation on the platform (WeCom state 4, MP kfsession/close)."""
        channel, ref, channel_id = await _platform(runtime, conversation_id)
        change = await channel.resolve(ref)
        return await _apply(runtime, channel_id, conversation_id, change)

    @post("/{conversation_id:int}/typing", status_code=204)
    async def typing(self, conversation_id: int, data: Typing, runtime: Runtime) -> None:
        """Typing indicator (MP only; WeCom answers 422 unsupported_by_channel)."""
        channel, ref, _ = await _platform(runtime, conversation_id)
        await channel.typing(ref, data.on)

    @post("/{conversation_id:int}/upgrade-service", status_code=200)
    async def upgrade_service(self, conversation_id: int, data: UpgradeService, runtime: Runtime) -> dict[str, Any]:
        """WeCom: recommend a member (type member, userid) or a group chat (type groupchat, chat_id)."""
        channel, ref, _ = await _platform(runtime, conversation_id)
        upgrade = getattr(channel, "upgrade_service", None)
        if upgrade is None:
            raise UnsupportedByChannel("this channel has no upgrade service")
        if data.type not in ("member", "groupchat"):
            raise InvalidRequest("type must be member or groupchat", field="type")
        await upgrade(
            ref,
            userid=data.userid if data.type == "member" else None,
            chat_id=data.chat_id if data.type == "groupchat" else None,
            wording=data.wording,
        )
        return {"conversation_id": conversation_id, "upgraded": data.type}

    @post("/{conversation_id:int}/event-reply", status_code=200)
    async def event_reply(self, conversation_id: int, data: EventReply, runtime: Runtime) -> MessageOut:
        """WeCom send_msg_on_event with the code the conversation holds (welcome / queue / taken /
        closing notice). 409 when there is no code; 95007 when it expired or was used."""
        channel, ref, channel_id = await _platform(runtime, conversation_id)
        send_on_event = getattr(channel, "send_on_event", None)
        if send_on_event is None:
            raise UnsupportedByChannel("this channel has no event replies")
        if not ref.event_code:
            raise Conflict("the conversation holds no event code", reason="no_event_code")
        outbound = OutboundMessage(
            msgid=actions.new_msgid(),
            content_type=data.content_type,
            content=data.content,
            attributes=_attributes(data, ("content_type", "content")),
        )
        sent = await send_on_event(ref.event_code, outbound)
        return await actions.record_event_reply(runtime, channel_id, conversation_id, ref, outbound, sent)


async def _platform(runtime: Runtime, conversation_id: int) -> tuple[Any, Any, int]:
    async with runtime.db.sessions() as session:
        conversation, inbox, channel_row, identity = await actions.load_context(session, conversation_id)
        ref = await actions.conversation_ref(session, conversation, inbox, identity)
    return await runtime.channel(channel_row.id), ref, channel_row.id


async def _apply(runtime: Runtime, channel_id: int, conversation_id: int, change: Any) -> ActionResult:
    """Write the platform's new state through the one write path, then answer with the conversation."""
    async with runtime.db.session() as session:
        await ingest(session, Batch(channel_id=channel_id, state_changes=[change]))
    async with runtime.db.sessions() as session:
        conversation, *_ = await actions.load_context(session, conversation_id)
        return _result(conversation)


def _result(conversation: Any) -> ActionResult:
    return ActionResult(
        conversation_id=conversation.id,
        status=conversation.status,
        platform_state=conversation.platform_state,
        assignee_id=conversation.assignee_id,
    )
