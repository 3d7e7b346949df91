"""Session truth: the platform's own session state read into conversations, and event-code lifetimes.

WeCom never announces an auto-assignment (a new session given to an on-duty servicer, state 3), so
the gateway reads `service_state/get` (docs/platforms.md §2.3): after enter_session and
session_status_change events, when a conversation with an unknown or ended state gets a customer
message (that is when the platform assigns), after a send refused with 95018, and when
`GET /api/v1/conversations/{id}` finds the state older than GATEWAY_SESSION_STATE_TTL. MP lists
waiting users only in `getwaitcase`, polled every GATEWAY_WAIT_QUEUE_INTERVAL and shortly after
kf_create/close/switch_session events and user messages, so they show as `queued`.

Every read is a `refresh_session_state` or `poll_wait_queue` job (durable, deduplicated by key);
what it learns goes through the one write path (gateway.inbound.ingest).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels.base import Channel, ConversationRef
from gateway.channels.pool import ChannelPool
from gateway.db.engine import Database
from gateway.db.models import Conversation, Job
from gateway.db.repositories import conversations as conv_repo
from gateway.db.repositories import session_state
from gateway.db.repositories.channels import enabled_channel_ids
from gateway.db.types import utcnow
from gateway.domain import Batch, ChannelKind, ConversationStatus, StateChange
from gateway.inbound.codes import EventCodeExpired, event_code_expired, event_code_expires_at
from gateway.inbound.ingest import IngestResult, ingest
from gateway.outbound.jobs import Handler, enqueue

log = logging.getLogger(__name__)

REFRESH_JOB = "refresh_session_state"
WAIT_QUEUE_JOB = "poll_wait_queue"
WAITING = "waitcase"  # platform_state of an MP conversation the wait queue lists


@runtime_checkable
class WaitQueue(Protocol):
    """A platform with a wait queue the gateway can read (MP getwaitcase)."""

    async def waiting(self) -> tuple[list[str], bool]:
        """(contact source ids waiting, oldest first; whether that list is complete)."""
        ...


async def queue_state_refresh(session: AsyncSession, channel_id: int, conversation_id: int, *, key: str) -> bool:
    """In the caller's transaction: read the platform's state of this conversation soon. `key` names
    the trigger (an event's message id, `send:<message id>`, a time slice): the same key queues once."""
    return (
        await enqueue(
            session,
            REFRESH_JOB,
            {"channel_id": channel_id, "conversation_id": conversation_id},
            dedupe_key=f"state:{conversation_id}:{key}",
            channel_id=channel_id,
            max_attempts=3,
        )
        is not None
    )


async def queue_wait_queue_poll(session: AsyncSession, channel_id: int) -> bool:
    """In the caller's transaction: read the channel's wait queue now, unless a read that has not
    started yet is already queued (it will see what this transaction commits: coalesced)."""
    if await session_state.job_waiting(session, WAIT_QUEUE_JOB, channel_id):
        return False
    return (
        await enqueue(
            session,
            WAIT_QUEUE_JOB,
            {"channel_id": channel_id},
            dedupe_key=f"waitq:{channel_id}:{utcnow().timestamp():.6f}",
            channel_id=channel_id,
            max_attempts=3,
        )
        is not None
    )


async def refresh_session_state(db: Database, channels: ChannelPool, channel_id: int, conversation_id: int) -> bool:
    """Read the platform's session state of a live conversation and write it; False when there was
    nothing to read (resolved, gone). WeCom state 3 → `open` with that servicer; state 4 of a session
    the customer never wrote in ("not started") leaves the conversation as it is; a gateway agent's
    assignment survives a platform answer without a servicer. So does state 4 of a conversation the
    gateway reopened alone (`session_state.REOPENED`): the platform session starts when the customer
    writes again. PlatformError propagates."""
    async with db.sessions() as session:
        target = await session_state.state_target(session, conversation_id)
    if target is None:
        return False
    adapter = await channels.get(channel_id)
    ref = ConversationRef(
        inbox_source_id=target.inbox_source_id,
        contact_source_id=target.contact_source_id,
        assignee_source_id=target.assignee_source_id if target.assignee_is_platform else None,
    )
    change = await adapter.session_state(ref)
    async with db.session() as session:
        conversation = await session_state.lock_live(session, conversation_id)
        if conversation is None:
            return False
        if (
            adapter.kind == ChannelKind.WECOM
            and change.platform_state == "4"
            and (conversation.last_incoming_at is None or conversation.platform_state == session_state.REOPENED)
        ):
            change = StateChange(
                inbox_source_id=change.inbox_source_id, contact_source_id=change.contact_source_id, at=change.at
            )
        if change.assignee_source_id == "" and target.assignee_id is not None and not target.assignee_is_platform:
            change.assignee_source_id = None  # keep the gateway agent working a bot / API conversation
        await ingest(session, Batch(channel_id=channel_id, state_changes=[change]))
        await session_state.stamp_state_checked(session, conversation_id, utcnow())
    return True


async def check_event_code(db: Database, conversation_id: int) -> None:
    """409 event_code_expired when the conversation's event code is past its lifetime (no platform call)."""
    async with db.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
    if conversation is None or not conversation.event_code:
        return
    if event_code_expired(conversation.event_code_kind, conversation.event_code_at, utcnow()):
        expires = event_code_expires_at(conversation.event_code_kind, conversation.event_code_at)
        raise EventCodeExpired(
            f"the {conversation.event_code_kind or 'event'} code expired at {expires.isoformat() if expires else '?'}; "
            "the platform would refuse it (95007)",
            kind=conversation.event_code_kind,
            expired_at=expires.isoformat() if expires else None,
        )


async def poll_wait_queue(db: Database, adapter: Channel, channel_id: int) -> int:
    """Read the wait queue and mark its users `queued` (from `pending` or no live conversation);
    when the list is complete, queued users no longer on it go back to `pending`. A user a kf holds
    is left to the kf_create_session event. Returns how many conversations changed."""
    if not isinstance(adapter, WaitQueue):
        return 0
    openids, complete = await adapter.waiting()
    now = utcnow()
    async with db.session() as session:
        inbox = (await conv_repo.inboxes_by_source(session, channel_id, [adapter.app_id]))[adapter.app_id]
        live = await session_state.live_states(session, inbox.id, openids)
        changes = []
        for openid in openids:
            status = live.get(openid)
            if status is None or status[0] == ConversationStatus.PENDING:
                changes.append(_waiting(adapter.app_id, openid, now, True))
        if complete:
            listed = set(openids)
            changes += [
                _waiting(adapter.app_id, openid, now, False)
                for openid, (status, state) in live.items()
                if openid not in listed and status == ConversationStatus.QUEUED and state == WAITING
            ]
        if changes:
            await ingest(session, Batch(channel_id=channel_id, state_changes=changes))
    return len(changes)


def _waiting(app_id: str, openid: str, at: datetime, waiting: bool) -> StateChange:
    return StateChange(
        inbox_source_id=app_id,
        contact_source_id=openid,
        at=at,
        status=ConversationStatus.QUEUED if waiting else ConversationStatus.PENDING,
        platform_state=WAITING if waiting else "none",
    )


class SessionTruth:
    """The ingest hook that queues state reads, their job handlers, and the MP wait-queue poller."""

    def __init__(
        self,
        db: Database,
        channels: ChannelPool,
        notify: Callable[[], None],
        *,
        interval: float = 30.0,
        ttl: float = 30.0,
    ) -> None:
        self.db = db
        self.channels = channels
        self.notify = notify
        self.interval = interval  # wait-queue polls
        self.ttl = ttl  # how long a read platform state counts as fresh

    async def refresh_if_stale(self, conversation: Conversation, channel_id: int) -> bool:
        """Queue a state read of a live conversation whose state is older than the TTL (one per TTL
        slice, however many readers ask); the read lands a moment later, with conversation.updated."""
        now = utcnow()
        checked = conversation.state_checked_at
        if conversation.active_key is None or self.ttl <= 0 or (checked is not None and now - checked < self.ttl_delta):
            return False
        async with self.db.session() as session:
            slot = int(now.timestamp() // self.ttl)
            queued = await queue_state_refresh(session, channel_id, conversation.id, key=f"ttl{slot}")
        if queued:
            self.notify()
        return queued

    @property
    def ttl_delta(self) -> timedelta:
        return timedelta(seconds=self.ttl)

    def handlers(self) -> dict[str, Handler]:
        return {REFRESH_JOB: self._refresh, WAIT_QUEUE_JOB: self._poll}

    async def after_ingest(self, session: AsyncSession, batch: Batch, result: IngestResult) -> None:
        """In the ingest transaction: WeCom session events and customer messages on conversations of
        unknown or ended state queue a state read; MP session events and user messages queue a
        wait-queue read (coalesced while one is pending)."""
        if not (result.incoming or result.session_events or batch.state_changes):
            return
        kind = (await self.channels.get(batch.channel_id)).kind
        queued = False
        if kind == ChannelKind.MP:
            queued = await queue_wait_queue_poll(session, batch.channel_id)
        else:
            triggers = dict(result.session_events)
            stale = await session_state.unknown_states(session, [c for c in result.incoming if c not in triggers])
            triggers.update((c, result.incoming[c]) for c in stale)
            for conversation_id, message_id in sorted(triggers.items()):
                queued |= await queue_state_refresh(session, batch.channel_id, conversation_id, key=str(message_id))
        if queued:
            self.notify()

    async def _refresh(self, job: Job) -> None:
        await refresh_session_state(self.db, self.channels, job.payload["channel_id"], job.payload["conversation_id"])

    async def _poll(self, job: Job) -> None:
        channel_id = job.payload["channel_id"]
        await poll_wait_queue(self.db, await self.channels.get(channel_id), channel_id)

    async def poll_all(self) -> None:
        """The wait queue of every enabled channel that has one."""
        async with self.db.sessions() as session:
            ids = await enabled_channel_ids(session)
        for channel_id in ids:
            try:
                await poll_wait_queue(self.db, await self.channels.get(channel_id), channel_id)
            except Exception as exc:  # one channel's trouble must not stop the others
                log.warning("wait queue poll of channel %s failed: %s", channel_id, exc)

    async def run(self) -> None:
        while True:
            await self.poll_all()
            await asyncio.sleep(self.interval)
