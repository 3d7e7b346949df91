"""Conversation actions the CRM asks for: queue a reply (policy first), and the send job that delivers it.

Queueing writes the message (`queued`) and its job in one transaction, so an accepted reply is
never lost. The job sends through the channel with the message's own id as WeCom `msgid`: a retry
after a timeout is recognised by the platform (duplicate msgid) and counts as sent, never twice.
MP has no idempotency key, so an MP send whose outcome is unknown (timeout, crash mid-call) is
failed with `delivery_unknown` instead of risking a second copy.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels import channel_classes
from gateway.channels.base import ConversationRef, OutboundMessage
from gateway.db.engine import Database
from gateway.db.models import Agent, Channel, ContactIdentity, Conversation, Inbox, Job, Message
from gateway.db.repositories import conversations as conv_repo
from gateway.db.repositories.feed import append_event
from gateway.db.types import utcnow
from gateway.domain import MessageStatus
from gateway.errors import NotFound, PlatformError, ReplyNotAllowed, TransportError, UnsupportedByChannel
from gateway.jobs import RetryLater, enqueue
from gateway.policy import can_reply, reason_for, record_reply
from gateway.runtime import Runtime

SENDING = "sending"  # MP only: the call may have reached the platform


def new_msgid() -> str:
    """Our message id: WeCom accepts ≤32 bytes of [0-9a-zA-Z_-] and requires it unique per kf account."""
    return "gw" + secrets.token_hex(12)


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


async def queue_message(
    session: AsyncSession,
    conversation_id: int,
    *,
    content_type: str,
    content: str | None,
    attributes: dict[str, Any],
    agent_id: int | None = None,
) -> Message:
    """Check the reply policy, then store the message as `queued` with its send job (same transaction).

    Raises ReplyNotAllowed (409) with the policy's reason when the platform would refuse.
    """
    conversation, inbox, channel, _ = await load_context(session, conversation_id, lock=True)
    supported = channel_classes()[channel.kind].capabilities.send_types
    if content_type not in supported:
        raise UnsupportedByChannel(
            f"{channel.kind} cannot send {content_type!r} (it sends: {', '.join(sorted(supported))})",
            field="content_type",
        )
    pending = await count_unsent(session, conversation.id)
    decision = can_reply(conversation, channel.kind, utcnow(), pending=pending)
    if not decision:
        raise ReplyNotAllowed(decision.reason or "refused", decision.detail)
    message = Message(
        conversation_id=conversation.id,
        inbox_id=inbox.id,
        source_id=new_msgid(),
        message_type="outgoing",
        sender_type="agent" if agent_id else "bot",
        sender_agent_id=agent_id,
        content_type=content_type,
        content=content,
        content_attributes=attributes,
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
    )
    await _outgoing_created(session, message, conversation)
    return message


async def _outgoing_created(session: AsyncSession, message: Message, conversation: Conversation) -> None:
    """The `message.created` event of a message we send (queued reply or event-code reply)."""
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
        record_reply(
            conversation,
            (await session.get(Channel, (await session.get(Inbox, message.inbox_id)).channel_id)).kind,
            message.updated_at,
        )
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


async def send_message_job(runtime: Runtime, job: Job) -> None:
    """Job handler: deliver one queued message (see the module docstring for the retry rules)."""
    db: Database = runtime.db
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
        decision = can_reply(
            conversation,
            channel_row.kind,
            utcnow(),
            pending=await count_unsent(session, conversation.id, before=message.id),
        )
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
        if channel_row.kind == "mp":
            if ref.assignee_source_id and "kf_account" not in outbound.attributes:
                outbound.attributes["kf_account"] = ref.assignee_source_id
            message.status = SENDING
    channel = await runtime.channel(channel_row.id)
    await runtime.send_limiter.acquire(channel_row.id)
    try:
        await channel.send(ref, outbound)
    except PlatformError as exc:
        await _send_failed(runtime, message_id, channel_row.kind, exc, last_attempt=job.attempts >= job.max_attempts)
        return
    runtime.metrics.messages_out.labels(str(channel_row.id)).inc()
    async with db.session() as session:
        message = await session.get(Message, message_id)
        conversation, *_ = await load_context(session, message.conversation_id, lock=True)
        await _finish(session, message, conversation, status=MessageStatus.SENT)


async def _send_failed(
    runtime: Runtime, message_id: int, kind: str, exc: PlatformError, *, last_attempt: bool = False
) -> None:
    unknown = isinstance(exc, TransportError) and exc.http_status is None  # timeout / connection cut
    # on the job's last attempt the message is failed here: left queued it would count against the
    # reply quota (policy `pending`) for ever while its job is already given up
    retry = exc.transient and (kind == "wecom" or not unknown) and not last_attempt
    async with runtime.db.session() as session:
        message = await session.get(Message, message_id)
        conversation = await session.get(Conversation, message.conversation_id)
        if retry:
            message.status = str(MessageStatus.QUEUED)  # nothing reached the platform (or msgid makes it safe)
        elif kind == "mp" and unknown:
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
            runtime.metrics.send_failures.labels(str(message.inbox_id), code).inc()
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
    if retry:
        raise RetryLater(exc.message)


async def record_event_reply(
    runtime: Runtime, channel_id: int, conversation_id: int, ref: ConversationRef, outbound: OutboundMessage, sent: Any
) -> Any:
    """Store a sent send_msg_on_event reply as an outgoing bot message; the code is spent."""
    from gateway.api import render  # the API's view of a message

    async with runtime.db.session() as session:
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
        await _outgoing_created(session, message, conversation)
        return render.message_out(message)
