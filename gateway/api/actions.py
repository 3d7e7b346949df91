"""Conversation actions under /api/v1/conversations/{id}: send (202 + outbox), assign, handover, resolve,
typing, upgrade-service and event replies.

A send checks the reply policy first (409 with the reason instead of a doomed platform call), then
stores the message as `queued` with its job in one transaction. `Idempotency-Key` makes a repeated
request return the first answer (same key with a different body → 422 idempotency_key_reused).
Actions a platform lacks answer 422 unsupported_by_channel; platform refusals carry errcode/errmsg.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from msgspec import Struct

from gateway.api import assigning, render
from gateway.api.actor import current_actor
from gateway.api.assigning import ActionResult, Assign, apply_change, refuse_if_resolved
from gateway.api.auth import SECURITY
from gateway.api.schemas import MessageOut
from gateway.api.sending import SendMessage, queue_reply
from gateway.channels.base import EventCodes, OutboundMessage, UpgradesService, require
from gateway.channels.base import Typing as TypingIndicator
from gateway.channels.pool import ChannelPool
from gateway.db.engine import Database
from gateway.db.repositories import audit
from gateway.db.repositories import reopen as reopen_repo
from gateway.db.types import utcnow
from gateway.domain import ConversationStatus, StateChange, new_msgid
from gateway.errors import Conflict, InvalidRequest
from gateway.inbound.sessions import check_event_code
from gateway.inbound.updates import Attribution
from gateway.outbound import replies
from gateway.outbound.jobs import JobRunner


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


def _attributes(body: Struct, skip: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None and k not in skip}


class ActionController(Controller):
    path = "/api/v1/conversations"
    tags = ("actions",)
    security = SECURITY

    @post("/{conversation_id:int}/messages", status_code=202)
    async def send(
        self, request: Request, conversation_id: int, data: SendMessage, db: Database, jobs: JobRunner
    ) -> Response[MessageOut]:
        """Queue a reply (202). 422 naming the field when the platform would refuse its shape (checked
        per type and platform before anything is written; docs/replies.md); 409 reply_not_allowed
        with `reason` when the platform would refuse a reply now. Replies of one conversation reach
        the customer in the order they were accepted."""
        return await queue_reply(request, conversation_id, data, db, jobs)

    @post("/{conversation_id:int}/assign", status_code=200)
    async def assign(
        self, request: Request, conversation_id: int, data: Assign, channels: ChannelPool, db: Database
    ) -> ActionResult:
        """Assign to a gateway agent (no platform call), a WeCom servicer (state 3), an MP kf account
        (kfsession/create) or an operator (`{"operator_id": N}`: through the platform agent linked to
        them on this channel, else in the gateway only: `assigned_on_platform: false`); null unassigns.
        Answered without a platform call: 409 conversation_ended for a resolved conversation, 422
        agent_not_servicer for an agent the directory does not list in this inbox."""
        return await assigning.assign(db, channels, conversation_id, data, current_actor(request))

    @post("/{conversation_id:int}/handover", status_code=200)
    async def handover(
        self, request: Request, conversation_id: int, data: Handover, channels: ChannelPool, db: Database
    ) -> ActionResult:
        """Hand the conversation to the bot/API (WeCom state 1) or the queue (WeCom state 2)."""
        if data.target not in ("bot", "queue"):
            raise InvalidRequest("target must be bot or queue (use /assign for an agent)", field="target")
        channel, ref, channel_id = await _live_platform(channels, db, conversation_id)
        change = await channel.handover(ref, data.target)
        by = Attribution(actor=current_actor(request).ref())
        detail = {"target": data.target}
        return await apply_change(
            db, channel_id, conversation_id, change, by, action="conversation.handed_over", detail=detail
        )

    @post("/{conversation_id:int}/resolve", status_code=200)
    async def resolve(
        self, request: Request, conversation_id: int, channels: ChannelPool, db: Database
    ) -> ActionResult:
        """End the conversation on the platform (WeCom state 4, MP kfsession/close); 409
        conversation_ended when it is resolved already (no platform call) or the platform ended it.
        One reopened by the gateway alone (platform_state `reopened`: the platform holds no session)
        ends without a platform call."""
        channel, ref, channel_id = await _live_platform(channels, db, conversation_id)
        async with db.sessions() as session:
            alone = await reopen_repo.reopened_alone(session, conversation_id)
        if alone:
            change = StateChange(
                inbox_source_id=ref.inbox_source_id,
                contact_source_id=ref.contact_source_id,
                at=utcnow(),
                status=ConversationStatus.RESOLVED,
            )
        else:
            change = await channel.resolve(ref)
        by = Attribution(actor=current_actor(request).ref())
        return await apply_change(db, channel_id, conversation_id, change, by, action="conversation.resolved")

    @post("/{conversation_id:int}/typing", status_code=204)
    async def typing(self, conversation_id: int, data: Typing, channels: ChannelPool, db: Database) -> None:
        """Typing indicator (MP only; WeCom answers 422 unsupported_by_channel)."""
        channel, ref, _ = await _platform(channels, db, conversation_id)
        await require(channel, TypingIndicator, "show a typing indicator").typing(ref, data.on)  # type: ignore[type-abstract]  # protocol class as type[T] (python/mypy#4717)

    @post("/{conversation_id:int}/upgrade-service", status_code=200)
    async def upgrade_service(
        self, request: Request, conversation_id: int, data: UpgradeService, channels: ChannelPool, db: Database
    ) -> dict[str, Any]:
        """WeCom: recommend a member (type member, userid) or a group chat (type groupchat, chat_id);
        422 upgrade_target_not_configured when 升级服务 does not list them (95021)."""
        _check_upgrade(data)
        channel, ref, _ = await _platform(channels, db, conversation_id)
        upgrader = require(channel, UpgradesService, "offer an upgrade service")  # type: ignore[type-abstract]  # protocol class as type[T] (python/mypy#4717)
        await upgrader.upgrade_service(
            ref,
            userid=data.userid if data.type == "member" else None,
            chat_id=data.chat_id if data.type == "groupchat" else None,
            wording=data.wording,
        )
        async with db.session() as session:
            await audit.record(
                session,
                current_actor(request).ref(),
                "conversation.upgrade_service",
                subject_type="conversation",
                subject_id=conversation_id,
                detail={"type": data.type, "userid": data.userid, "chat_id": data.chat_id},
            )
        return {"conversation_id": conversation_id, "upgraded": data.type}

    @post("/{conversation_id:int}/event-reply", status_code=200)
    async def event_reply(
        self, request: Request, conversation_id: int, data: EventReply, channels: ChannelPool, db: Database
    ) -> MessageOut:
        """WeCom send_msg_on_event with the code the conversation holds (welcome / queue / taken /
        closing notice). 409 when there is no code; 95007 when it expired or was used."""
        channel, ref, _ = await _platform(channels, db, conversation_id)
        coded = require(channel, EventCodes, "reply with event codes")  # type: ignore[type-abstract]  # protocol class as type[T] (python/mypy#4717)
        if not ref.event_code:
            raise Conflict("the conversation holds no event code", reason="no_event_code")
        await check_event_code(db, conversation_id)
        outbound = OutboundMessage(
            msgid=new_msgid(),
            content_type=data.content_type,
            content=data.content,
            attributes=_attributes(data, ("content_type", "content")),
        )
        sent = await coded.send_on_event(ref.event_code, outbound)
        actor = current_actor(request).ref()
        message = await replies.record_event_reply(db, conversation_id, ref, outbound, sent, actor)
        async with db.session() as session:
            await audit.record(
                session,
                actor,
                "message.event_reply",
                subject_type="message",
                subject_id=message.id,
                detail={"conversation_id": conversation_id, "kind": ref.event_code_kind},
            )
        return render.message_out(message)


async def _platform(channels: ChannelPool, db: Database, conversation_id: int) -> tuple[Any, Any, int]:
    async with db.sessions() as session:
        conversation, inbox, channel_row, identity = await replies.load_context(session, conversation_id)
        ref = await replies.conversation_ref(session, conversation, inbox, identity)
    return await channels.get(channel_row.id), ref, channel_row.id


async def _live_platform(channels: ChannelPool, db: Database, conversation_id: int) -> tuple[Any, Any, int]:
    """`_platform` for actions that change the session: a resolved conversation is refused first."""
    async with db.sessions() as session:
        conversation, inbox, channel_row, identity = await replies.load_context(session, conversation_id)
        refuse_if_resolved(conversation)
        ref = await replies.conversation_ref(session, conversation, inbox, identity)
    return await channels.get(channel_row.id), ref, channel_row.id


def _check_upgrade(data: UpgradeService) -> None:
    """The target the type needs (a missing one used to reach the platform client as a crash)."""
    if data.type not in ("member", "groupchat"):
        raise InvalidRequest("type must be member or groupchat", field="type")
    if data.type == "member" and not data.userid:
        raise InvalidRequest("type member needs the member's userid", field="userid")
    if data.type == "groupchat" and not data.chat_id:
        raise InvalidRequest("type groupchat needs the group chat's chat_id", field="chat_id")
