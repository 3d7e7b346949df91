"""Conversation actions the CRM asks for: queue a reply (policy first), and the send job that delivers it.

Queueing writes the message (`queued`) and its job in one transaction, so an accepted reply is
never lost. The job sends through the channel with the message's own id as WeCom `msgid`: a retry
after a timeout is recognised by the platform (duplicate msgid) and counts as sent, never twice.
MP has no idempotency key, so an MP send whose outcome is unknown (timeout, crash mid-call) is
failed with `delivery_unknown` instead of risking a second copy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels.base import ConversationRef, OutboundMessage, SendResult
from gateway.channels.pool import ChannelPool
from gateway.channels.send_specs import SPECS, canonical
from gateway.channels.sendspec import validate
from gateway.db.engine import Database
from gateway.db.models import Agent, Channel, ContactIdentity, Conversation, Inbox, Job, Message
from gateway.db.repositories import conversations as conv_repo
from gateway.db.repositories.feed import append_event
from gateway.db.types import utcnow
from gateway.domain import ChannelKind, MessageStatus, new_msgid
from gateway.errors import (
    GatewayError,
    InvalidRequest,
    NotFound,
    PlatformError,
    ReplyNotAllowed,
    SessionStateForbids,
    TransportError,
)
from gateway.metrics import Metrics
from gateway.outbound.jobs import RetryLater, enqueue
from gateway.outbound.pacing import Limiter
from gateway.outbound.policy import Decision, can_reply, reason_for, record_reply

log = logging.getLogger(__name__)

SENDING = "sending"  # MP only: the call may have reached the platform


async def load_context(
    session: AsyncSession, conversation_id: int, *, lock: bool = False
) -> tuple[Conversation, Inbox, Channel, ContactIdentity]:
    """The conversation (row-locked with `lock`, so reply counters never lose an update) and its context.

    The lock is FOR NO KEY UPDATE: it serializes counter updates without blocking rows that merely
    reference the conversation (messages, events), which FOR UPDATE would, deadlocking with ingest.
    """
    conversation = await session.get(
        Conversation, conversation_id, with_for_update={"key_share": True} if lock else None, populate_existing=lock
    )
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    inbox = await session.get(Inbox, conversation.inbox_id)
    channel = await session.get(Channel, inbox.channel_id) if inbox else None
    identity = await session.get(ContactIdentity, conversation.identity_id)
    assert inbox is not None and channel is not None and identity is not None
    return conversation, inbox, channel, identity


async def reply_decision(
    session: AsyncSession, conversation: Conversation, kind: str, *, before: int | None = None
) -> Decision:
    """The one answer to "may we reply now?": the policy over the conversation's counters and the
    replies already queued ahead (older than `before`). `GET /conversations/{id}` shows it as
    `can_reply`; `POST …/messages` and the send job act on it, so they cannot disagree."""
    pending = await count_unsent(session, conversation.id, before=before)
    return can_reply(conversation, kind, utcnow(), pending=pending)


async def queue_message(
    session: AsyncSession,
    conversation_id: int,
    body: Mapping[str, Any],
    *,
    agent_id: int | None = None,
    operator_id: int | None = None,
    actor: Mapping[str, Any] | None = None,
) -> Message:
    """Check the reply against its platform's spec and the reply policy, then store it as `queued`
    with its send job (same transaction; the job joins the conversation's lane, so replies go out
    in the order they were accepted).

    `body` is the flat REST body: `content_type` and the type's fields by their platform names.
    Raises InvalidRequest / UnsupportedByChannel (422) for a reply the platform would refuse for
    its shape, ReplyNotAllowed (409) with the policy's reason when it would refuse it now.
    `operator_id` is the person who wrote it (messages.operator_id); `actor` (Actor.ref()) goes
    into the message.created event.
    """
    conversation, inbox, channel, _ = await load_context(session, conversation_id, lock=True)
    content_type = canonical(str(body.get("content_type") or "text"))
    fields = validate(SPECS[channel.kind], channel.kind, {**body, "content_type": content_type})
    decision = await reply_decision(session, conversation, channel.kind)
    if not decision:
        raise ReplyNotAllowed(decision.reason or "refused", decision.detail)
    content = fields.pop("content", None)
    message = Message(
        conversation_id=conversation.id,
        inbox_id=inbox.id,
        source_id=new_msgid(),
        message_type="outgoing",
        sender_type="agent" if agent_id or operator_id else "bot",
        sender_agent_id=agent_id,
        operator_id=operator_id,
        content_type=content_type,
        content=content,
        content_attributes=fields,
        raw={},
        status=str(MessageStatus.QUEUED),
    )
    session.add(message)
    await session.flush()
    await enqueue(
        session,
        "send_message",
        {"message_id": message.id},
        dedupe_key=f"send:{message.id}",
        channel_id=channel.id,
        max_attempts=8,
        lane=conversation_lane(conversation.id),
    )
    await _outgoing_created(session, message, conversation, actor)
    return message


def conversation_lane(conversation_id: int) -> str:
    """The job lane of a conversation's sends: one at a time, in acceptance order."""
    return f"conv:{conversation_id}"


async def _outgoing_created(
    session: AsyncSession, message: Message, conversation: Conversation, actor: Mapping[str, Any] | None = None
) -> None:
    """The `message.created` event of a message we send (queued reply or event-code reply); `actor`
    (who asked for it) and the authoring operator ride along when known. The message becomes the
    conversation's last one and the customer no longer waits."""
    conversation.last_message_id = max(conversation.last_message_id or 0, message.id)
    conversation.waiting_since = None
    extra: dict[str, Any] = {"actor": dict(actor)} if actor else {}
    if message.operator_id is not None:
        extra["operator_id"] = message.operator_id
    await append_event(
        session,
        "message.created",
        {
            "message_id": message.id,
            "conversation_id": conversation.id,
            "inbox_id": message.inbox_id,
            "message_type": "outgoing",
            "content_type": message.content_type,
            "content": message.content,
            "status": message.status,
            **extra,
        },
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
    )


async def count_unsent(session: AsyncSession, conversation_id: int, *, before: int | None = None) -> int:
    """Outgoing messages of the conversation still queued or in flight (older than `before`)."""
    return await conv_repo.count_unsent(session, conversation_id, before=before)


async def conversation_ref(
    session: AsyncSession, conversation: Conversation, inbox: Inbox, identity: ContactIdentity
) -> ConversationRef:
    assignee = await session.get(Agent, conversation.assignee_id) if conversation.assignee_id else None
    return ConversationRef(
        inbox_source_id=inbox.source_id,
        contact_source_id=identity.source_id,
        assignee_source_id=assignee.source_id if assignee and assignee.channel_id else None,
        event_code=conversation.event_code,
        event_code_kind=conversation.event_code_kind,
    )


async def _finish(
    session: AsyncSession,
    message: Message,
    conversation: Conversation,
    *,
    status: str,
    error_code: str | None = None,
    error_message: str | None = None,
) -> None:
    message.status = status
    message.error_code = error_code
    message.error_message = error_message
    message.updated_at = utcnow()
    if status == MessageStatus.SENT:
        message.sent_at = message.updated_at
        if conversation.first_reply_at is None:
            conversation.first_reply_at = message.sent_at
    await append_event(
        session,
        "message.updated",
        {
            "message_id": message.id,
            "conversation_id": conversation.id,
            "changes": {"status": status},
            "error_code": error_code,
            "error_message": error_message,
        },
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
    )


class Sender:
    """The send_message job handler: delivers queued messages through the channel adapters, paced."""

    def __init__(self, db: Database, channels: ChannelPool, pacing: Limiter, metrics: Metrics) -> None:
        self.db = db
        self.channels = channels
        self.pacing = pacing
        self.metrics = metrics

    async def send_message(self, job: Job) -> None:
        """Deliver one queued message (see the module docstring for the retry rules).

        Whatever goes wrong, the message does not stay queued: an error no retry can fix ends it
        `failed` with a stable code (and `message.updated`), which also frees the reply allowance
        it was holding."""
        try:
            await self._deliver(job)
        except RetryLater:
            raise
        except Exception as exc:
            if isinstance(exc, GatewayError):
                code = "invalid_message" if type(exc) is InvalidRequest else exc.code
                log.warning("send of message %s failed: %s", job.payload.get("message_id"), exc)
            else:
                code = "send_error"
                log.exception("send of message %s crashed", job.payload.get("message_id"))
            await self._fail_outright(job.payload["message_id"], code, str(exc) or type(exc).__name__)

    async def _fail_outright(self, message_id: int, code: str, detail: str) -> None:
        try:
            async with self.db.session() as session:
                message = await session.get(Message, message_id)
                if message is None or message.status not in (MessageStatus.QUEUED, SENDING):
                    return
                conversation = await session.get(Conversation, message.conversation_id)
                assert conversation is not None
                inbox = await session.get(Inbox, message.inbox_id)
                channel = str(inbox.channel_id) if inbox is not None else "unknown"
                self.metrics.send_failures.labels(channel, code).inc()
                await _finish(
                    session, message, conversation, status=MessageStatus.FAILED, error_code=code, error_message=detail
                )
        except Exception as exc:  # the database itself failed: keep the job (and so the message) alive
            raise RetryLater(f"could not record the failure: {exc}") from exc

    async def _deliver(self, job: Job) -> None:
        db = self.db
        message_id = job.payload["message_id"]
        async with db.session() as session:
            message = await session.get(Message, message_id)
            if message is None or message.status in (MessageStatus.SENT, MessageStatus.FAILED):
                return
            conversation, inbox, channel_row, identity = await load_context(session, message.conversation_id)
            if message.status == SENDING:  # an MP call was in flight when its worker died
                await _finish(
                    session,
                    message,
                    conversation,
                    status=MessageStatus.FAILED,
                    error_code="delivery_unknown",
                    error_message="the send may or may not have reached the platform; not repeated",
                )
                return
            decision = await reply_decision(session, conversation, channel_row.kind, before=message.id)
            if not decision:
                await _finish(
                    session,
                    message,
                    conversation,
                    status=MessageStatus.FAILED,
                    error_code=decision.reason,
                    error_message=decision.detail,
                )
                return
            ref = await conversation_ref(session, conversation, inbox, identity)
            outbound = OutboundMessage(
                msgid=message.source_id or new_msgid(),
                content_type=message.content_type,
                content=message.content,
                attributes=dict(message.content_attributes),
            )
            if channel_row.kind == ChannelKind.MP:
                if ref.assignee_source_id and "kf_account" not in outbound.attributes:
                    outbound.attributes["kf_account"] = ref.assignee_source_id
                message.status = SENDING
        channel = await self.channels.get(channel_row.id)
        await self.pacing.acquire(channel_row.id)
        try:
            await channel.send(ref, outbound)
        except PlatformError as exc:
            await self._send_failed(
                message_id, channel_row.id, channel_row.kind, exc, last_attempt=job.attempts >= job.max_attempts
            )
            return
        self.metrics.messages_out.labels(str(channel_row.id)).inc()
        async with db.session() as session:
            message = await session.get(Message, message_id)
            if message is None:
                raise NotFound(f"message {message_id} was deleted while it was being sent")
            conversation, *_ = await load_context(session, message.conversation_id, lock=True)
            await _finish(session, message, conversation, status=MessageStatus.SENT)
            record_reply(conversation, channel_row.kind, message.updated_at)  # the window's counters

    async def _send_failed(
        self, message_id: int, channel_id: int, kind: str, exc: PlatformError, *, last_attempt: bool = False
    ) -> None:
        unknown = isinstance(exc, TransportError) and exc.http_status is None  # timeout / connection cut
        # on the job's last attempt the message is failed here: left queued it would count against the
        # reply quota (policy `pending`) for ever while its job is already given up
        retry = exc.transient and (kind == ChannelKind.WECOM or not unknown) and not last_attempt
        async with self.db.session() as session:
            message = await session.get(Message, message_id)
            conversation = await session.get(Conversation, message.conversation_id) if message is not None else None
            if message is None or conversation is None:
                raise NotFound(f"message {message_id} (or its conversation) was deleted while it was being sent")
            if retry:
                message.status = str(MessageStatus.QUEUED)  # nothing reached the platform (or msgid makes it safe)
            elif kind == ChannelKind.MP and unknown:
                await _finish(
                    session,
                    message,
                    conversation,
                    status=MessageStatus.FAILED,
                    error_code="delivery_unknown",
                    error_message=f"{exc.message}; not repeated (MP has no idempotency key)",
                )
            else:
                code = str(exc.errcode) if exc.errcode is not None else exc.code
                self.metrics.send_failures.labels(str(channel_id), code).inc()
                await _finish(
                    session,
                    message,
                    conversation,
                    status=MessageStatus.FAILED,
                    error_code=code,
                    error_message=exc.errmsg or exc.message,
                )
                reason = reason_for(exc)
                if reason is not None:
                    message.content_attributes = {**message.content_attributes, "policy_reason": reason}
                if isinstance(exc, SessionStateForbids):  # our view of the session is stale: read the platform's
                    await enqueue(
                        session,
                        "refresh_session_state",
                        {"channel_id": channel_id, "conversation_id": conversation.id},
                        dedupe_key=f"state:{conversation.id}:send:{message.id}",
                        channel_id=channel_id,
                        max_attempts=3,
                    )
        if retry:
            raise RetryLater(exc.message)


async def record_event_reply(
    db: Database,
    conversation_id: int,
    ref: ConversationRef,
    outbound: OutboundMessage,
    sent: SendResult,
    actor: Mapping[str, Any] | None = None,
) -> Message:
    """Store a sent send_msg_on_event reply as an outgoing bot message; the code is spent."""
    async with db.session() as session:
        conversation, inbox, _, _ = await load_context(session, conversation_id, lock=True)
        message = Message(
            conversation_id=conversation.id,
            inbox_id=inbox.id,
            source_id=sent.source_id,
            message_type="outgoing",
            sender_type="bot",
            content_type=outbound.content_type,
            content=outbound.content,
            content_attributes={**outbound.attributes, "event_code_kind": ref.event_code_kind},
            raw=sent.raw,
            status=str(MessageStatus.SENT),
            sent_at=utcnow(),
        )
        session.add(message)
        conversation.event_code = None
        conversation.event_code_kind = None
        await session.flush()
        await _outgoing_created(session, message, conversation, actor)
        return message
