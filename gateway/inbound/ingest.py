"""THE write path for inbound traffic of both platforms: one Batch → rows + cursor + events, one commit.

Order of work: inboxes and identities (profiles, unionid merge) → walk the page's items in order
(find-or-open the conversation; messages go in bulk, ignoring source ids already stored; state
changes, recalls and send failures apply to what exists) → agents → cursor → commit. A duplicate
delivery changes nothing: the unique (inbox_id, source_id) key drops its messages and only the
messages actually inserted move counters or emit events.

A page of messages costs a handful of statements and no ORM object per message: identities and
live conversations are read as plain rows, messages go in with one executemany, their
`message.created` events with another at COMMIT (gateway.db.repositories.feed) and the counters
they move with one UPDATE executemany. The ORM only handles the rare items (state changes,
profiles, recalls), each after the messages before it are written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.engine import Database
from gateway.db.models import ContactIdentity, Conversation, Inbox
from gateway.db.repositories import contacts as contact_repo
from gateway.db.repositories import conversations as conv_repo
from gateway.db.repositories import session_state
from gateway.db.repositories.contacts import IdentityRef
from gateway.db.repositories.conversations import ConversationRef, Touch
from gateway.db.repositories.feed import NewEvent, append_event, append_events, save_cursor
from gateway.db.types import utcnow
from gateway.domain import (
    Batch,
    ContactProfile,
    ConversationStatus,
    InboundMessage,
    MessageStatus,
    MessageType,
    MessageUpdate,
    StateChange,
    WindowTrigger,
    without_nul,
)
from gateway.inbound import moves
from gateway.inbound.codes import batch_entries, entry_fields
from gateway.inbound.updates import Attribution, announce, snapshot

Identity = ContactIdentity | IdentityRef
SESSION_EVENTS = frozenset({"enter_session", "session_status_change"})  # WeCom events that re-read the state
NO_ENTRY = entry_fields(None, None, None, datetime.min)  # a conversation not opened by enter_session
Live = Conversation | ConversationRef  # both have id, inbox_id, identity_id, contact_id, status


@dataclass(slots=True)
class IngestResult:
    inserted: list[int] = field(default_factory=list)  # message ids, in page order
    duplicates: int = 0
    conversations_opened: list[int] = field(default_factory=list)
    media: list[tuple[int, str]] = field(default_factory=list)  # (message id, platform media_id) to download
    new_identities: list[str] = field(default_factory=list)  # contact source ids first seen, without a profile
    # conversation id → its first newly stored customer message / session event (enter_session,
    # session_status_change) of this batch: what gateway.inbound.sessions reads the platform state after
    incoming: dict[int, int] = field(default_factory=dict)
    session_events: dict[int, int] = field(default_factory=dict)
    # (inbox_id, identity_id) → the enter_session facts of this batch (gateway.inbound.codes.entry_fields)
    entries: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)


async def ingest_batch(db: Database, batch: Batch) -> IngestResult:
    """Ingest in a transaction of its own (commit once)."""
    async with db.session() as session:
        return await ingest(session, batch)


async def ingest(session: AsyncSession, batch: Batch, by: Attribution | None = None) -> IngestResult:
    """Write `batch` in the caller's transaction; the caller commits. `by`: the API action that caused
    the batch's state changes (its actor goes into conversation.updated; it may set the operator)."""
    batch = without_nul(batch)
    result = IngestResult()
    channel_id = batch.channel_id
    items = _ordered(batch)
    inbox_ids = {i.inbox_source_id for i in items} | {c.inbox_source_id for c in batch.inbox_changes}
    inboxes = await conv_repo.inboxes_by_source(session, channel_id, inbox_ids)
    for change in batch.inbox_changes:
        inbox = inboxes[change.inbox_source_id]
        inbox.enabled = change.added
        if change.name:
            inbox.name = change.name

    identities = await _identities(session, batch, items, result)
    result.entries = batch_entries(
        batch, {k: i.id for k, i in inboxes.items()}, {k: i.id for k, i in identities.items()}
    )
    # one SELECT for the live conversations the page touches; the rest of the page reuses them
    live: dict[tuple[int, int], Live] = dict(
        await conv_repo.live_conversation_refs(
            session,
            {
                (inboxes[i.inbox_source_id].id, identities[i.contact_source_id].id)
                for i in items
                if isinstance(i, InboundMessage | StateChange)
            },
        )
    )
    # pairs that need a new conversation and see no state change in this page: open them in bulk
    changing = {(inboxes[c.inbox_source_id].id, identities[c.contact_source_id].id) for c in batch.state_changes}
    known: dict[str, dict[str, int]] = {}
    for source in {m.inbox_source_id for m in batch.messages}:
        ids = [m.source_id for m in batch.messages if m.inbox_source_id == source]
        known[source] = await conv_repo.existing_message_ids(session, inboxes[source].id, ids)
    fresh: dict[tuple[int, int], tuple[int, datetime]] = {}
    for m in batch.messages:
        pair = (inboxes[m.inbox_source_id].id, identities[m.contact_source_id].id)
        if m.source_id in known[m.inbox_source_id]:
            continue  # already stored: a duplicate opens nothing
        if pair not in live and pair not in changing and pair not in fresh:
            fresh[pair] = (identities[m.contact_source_id].contact_id, m.sent_at)
    opened, created = await conv_repo.open_conversations(session, fresh)
    live.update(opened)
    for pair in sorted(created):
        await _opened(session, result, opened[pair])
    writer = _MessageWriter(session, result)
    senders: dict[str, int] = {}
    for item in items:
        if isinstance(item, InboundMessage):
            inbox = inboxes[item.inbox_source_id]
            seen = known[item.inbox_source_id]
            if item.source_id in seen:
                result.duplicates += 1
                continue
            seen[item.source_id] = -1  # a repeat inside the same page is a duplicate too
            identity = identities[item.contact_source_id]
            conversation = live.get((inbox.id, identity.id))
            if conversation is None:
                conversation = live[(inbox.id, identity.id)] = await _conversation(
                    session, result, inbox, identity, item.sent_at
                )
            sender = None
            if item.agent_source_id:
                if item.agent_source_id not in senders:
                    senders[item.agent_source_id] = (
                        await conv_repo.agent_by_source(session, channel_id, item.agent_source_id)
                    ).id
                sender = senders[item.agent_source_id]
            writer.add(item, conversation, sender)
        elif isinstance(item, StateChange):
            await writer.flush()  # the ORM object below must see what the messages before it did
            inbox, identity = inboxes[item.inbox_source_id], identities[item.contact_source_id]
            current = live.get((inbox.id, identity.id))
            if current is not None:  # re-read under a row lock: a concurrent action may have moved it
                current = await session_state.lock_live(session, current.id)
            conversation = await _apply_state(session, result, channel_id, inbox, identity, item, current, by)
            await session.flush()  # now, so no later ORM flush rewrites what the next messages move
            if conversation is None or conversation.active_key is None:  # resolved: the next message opens anew
                live.pop((inbox.id, identity.id), None)
            else:
                live[(inbox.id, identity.id)] = conversation
        elif isinstance(item, MessageUpdate):
            await writer.flush()
            await _apply_update(session, inboxes[item.inbox_source_id], item)
    await writer.flush()

    for agent_change in batch.agent_changes:
        agent = await conv_repo.agent_by_source(
            session, channel_id, agent_change.agent_source_id, name=agent_change.name
        )
        agent.status = str(agent_change.status)
        if agent_change.inbox_source_id is not None:
            inbox = (await conv_repo.inboxes_by_source(session, channel_id, [agent_change.inbox_source_id]))[
                agent_change.inbox_source_id
            ]
            await conv_repo.set_membership(session, inbox.id, agent.id, str(agent_change.status))

    if batch.stream is not None:
        await save_cursor(session, channel_id, batch.stream, batch.cursor)
    await session.flush()
    return result


class _MessageWriter:
    """The page's new messages, written in bulk: rows, then their events and conversation counters."""

    def __init__(self, session: AsyncSession, result: IngestResult) -> None:
        self.session = session
        self.result = result
        self.rows: list[dict[str, Any]] = []
        self.items: list[tuple[InboundMessage, Live]] = []

    def add(self, item: InboundMessage, conversation: Live, sender_id: int | None) -> None:
        self.rows.append(_message_row(conversation, item, sender_id))
        self.items.append((item, conversation))

    async def flush(self) -> None:
        if not self.rows:
            return
        inserted = await conv_repo.insert_messages(self.session, self.rows)
        events: list[NewEvent] = []
        touches: dict[int, Touch] = {}
        for item, conversation in self.items:
            message_id = inserted.get((conversation.inbox_id, item.source_id))
            if message_id is None:  # a concurrent writer stored it first
                self.result.duplicates += 1
                continue
            self.result.inserted.append(message_id)
            if item.media_id:
                self.result.media.append((message_id, item.media_id))
            _touch(touches, conversation.id, item, message_id)
            payload = {
                "message_id": message_id,
                "conversation_id": conversation.id,
                "inbox_id": conversation.inbox_id,
                "message_type": str(item.message_type),
                "content_type": str(item.content_type),
                "content": item.content,
            }
            event_type = item.content_attributes.get("event_type")
            if item.message_type == MessageType.INCOMING:
                self.result.incoming.setdefault(conversation.id, message_id)
            elif event_type in SESSION_EVENTS:
                self.result.session_events.setdefault(conversation.id, message_id)
                if event_type == "enter_session":
                    payload["event_type"] = event_type
                    payload.update(self.result.entries.get((conversation.inbox_id, conversation.identity_id), {}))
            events.append(NewEvent("message.created", payload, conversation.id, conversation.contact_id))
        await append_events(self.session, events)
        await conv_repo.touch_conversations(self.session, touches.values())
        self.rows.clear()
        self.items.clear()


def _ordered(batch: Batch) -> list[InboundMessage | StateChange | MessageUpdate]:
    items: list[InboundMessage | StateChange | MessageUpdate] = [
        *batch.messages,
        *batch.state_changes,
        *batch.message_updates,
    ]

    def key(item: InboundMessage | StateChange | MessageUpdate) -> tuple[int, datetime, int]:
        at = item.sent_at if isinstance(item, InboundMessage) else item.at
        return (item.seq, at, 0 if isinstance(item, InboundMessage) else 1)

    return sorted(items, key=key)


async def _identities(
    session: AsyncSession,
    batch: Batch,
    items: Iterable[InboundMessage | StateChange | MessageUpdate],
    result: IngestResult,
) -> dict[str, Identity]:
    channel_id = batch.channel_id
    wanted = {i.contact_source_id for i in items if isinstance(i, InboundMessage | StateChange)}
    profiles = {p.source_id: p for p in batch.profiles}
    sources = wanted | set(profiles)
    found: dict[str, Identity] = dict(await contact_repo.identity_refs_by_source(session, channel_id, sources))
    missing = [(source_id, profiles.get(source_id)) for source_id in sorted(sources - set(found))]
    made: dict[str, IdentityRef] = {}
    if len(missing) > 1:  # first sight of many contacts (a sync page): create them in bulk
        try:
            async with session.begin_nested():
                made = await contact_repo.create_identities(session, channel_id, missing)
        except IntegrityError:
            made = {}  # a concurrent writer got one of them first: go one by one below
        found.update(made)
        result.new_identities.extend(s for s, profile in missing if profile is None and s in made)
    profiled = False
    for source_id in sorted(sources):
        if source_id in made:
            continue  # created just now, with its profile
        profile = profiles.get(source_id)
        if source_id not in found:
            identity, created = await _create_identity(session, channel_id, source_id, profile)
            found[source_id] = identity
            if not created and profile is not None:  # a concurrent writer made it first: still apply ours
                await contact_repo.apply_profile(session, identity, profile)
                profiled = True
            elif created and profile is None:
                result.new_identities.append(source_id)
        elif profile is not None:
            identity = (await contact_repo.identities_by_source(session, channel_id, [source_id]))[source_id]
            found[source_id] = identity
            await contact_repo.apply_profile(session, identity, profile)
            profiled = True
    if profiled:  # a unionid merge moves every identity of the merged contact: re-read the plain rows
        plain = [s for s, identity in found.items() if isinstance(identity, IdentityRef)]
        found.update(await contact_repo.identity_refs_by_source(session, channel_id, plain))
    return found


async def _create_identity(
    session: AsyncSession, channel_id: int, source_id: str, profile: ContactProfile | None
) -> tuple[ContactIdentity, bool]:
    """Create the identity in a savepoint: a concurrent writer (another replica, a parallel MP callback)
    may create the same identity or the same unionid contact first; then use theirs (created=False)."""
    for attempt in range(3):
        try:
            async with session.begin_nested():
                identity, _ = await contact_repo.create_identity(session, channel_id, source_id, profile)
            return identity, True
        except IntegrityError:
            existing = await contact_repo.identities_by_source(session, channel_id, [source_id])
            if source_id in existing:
                return existing[source_id], False
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _conversation(
    session: AsyncSession, result: IngestResult, inbox: Inbox, identity: Identity, at: datetime
) -> Conversation:
    # identity.contact_id is current: a unionid merge's ORM UPDATE synchronizes the session's
    # objects, and _identities re-reads the plain rows after one
    conversation, created = await conv_repo.find_or_open_conversation(
        session, inbox_id=inbox.id, identity_id=identity.id, contact_id=identity.contact_id, at=at
    )
    if created:
        await _opened(session, result, conversation)
    return conversation


async def _opened(session: AsyncSession, result: IngestResult, conversation: Live) -> None:
    result.conversations_opened.append(conversation.id)
    await append_event(
        session,
        "conversation.created",
        {
            "conversation_id": conversation.id,
            "inbox_id": conversation.inbox_id,
            "contact_id": conversation.contact_id,
            "status": conversation.status,
            **result.entries.get((conversation.inbox_id, conversation.identity_id), NO_ENTRY),
        },
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
    )


def _message_row(conversation: Live, item: InboundMessage, sender_id: int | None) -> dict[str, Any]:
    attributes = dict(item.content_attributes)
    if item.media_id:
        attributes.setdefault("media_id", item.media_id)
    outgoing = item.message_type == MessageType.OUTGOING
    return {
        "conversation_id": conversation.id,
        "inbox_id": conversation.inbox_id,
        "source_id": item.source_id,
        "message_type": str(item.message_type),
        "sender_type": str(item.sender_type),
        "sender_agent_id": sender_id,
        "content_type": str(item.content_type),
        "content": item.content,
        "content_attributes": attributes,
        "raw": item.raw,
        "status": str(MessageStatus.SENT if outgoing else MessageStatus.RECEIVED),
        "sent_at": item.sent_at,
    }


def _touch(touches: dict[int, Touch], conversation_id: int, item: InboundMessage, message_id: int) -> None:
    """Counters and timestamps a newly stored message moves (never for duplicates), summed up per
    conversation for one UPDATE: activity only moves forward, the first reply is kept, the last
    contact message (or MP menu click / subscribe / scan) reopens its reply window. For the lists:
    a customer message counts and starts the wait if none runs; a reply (a servicer's in the WeCom
    app) ends it; both become the last message (activity lines never do)."""
    touch = touches.get(conversation_id)
    if touch is None:
        touch = touches[conversation_id] = Touch(conversation_id, item.sent_at)
    elif item.sent_at > touch.activity:
        touch.activity = item.sent_at
    if item.message_type == MessageType.OUTGOING and touch.first_reply is None:
        touch.first_reply = item.sent_at
    if item.message_type == MessageType.INCOMING:
        touch.incoming_count += 1
        touch.waiting = touch.waiting or item.sent_at
    elif item.message_type == MessageType.OUTGOING:
        touch.answered, touch.waiting = True, None
    if item.message_type != MessageType.ACTIVITY:
        touch.last_message = max(touch.last_message or 0, message_id)
    if item.window_trigger == WindowTrigger.USER_MESSAGE:
        touch.incoming = item.sent_at
    elif item.window_trigger is not None:
        touch.event = item.sent_at


async def _apply_state(
    session: AsyncSession,
    result: IngestResult,
    channel_id: int,
    inbox: Inbox,
    identity: Identity,
    change: StateChange,
    conversation: Conversation | None,
    by: Attribution | None = None,
) -> Conversation | None:
    """Apply a platform state change to the live conversation (opening one unless it is an end)."""
    if conversation is None:
        if change.status == ConversationStatus.RESOLVED:
            return None  # nothing live to end
        conversation = await _conversation(session, result, inbox, identity, change.at)
    if by is None and await moves.stale_session_event(session, channel_id, conversation, change):
        return conversation
    before = snapshot(conversation)
    if change.platform_state is not None:
        conversation.platform_state = change.platform_state
    if change.assignee_source_id is not None:
        conversation.assignee_id = (
            (await conv_repo.agent_by_source(session, channel_id, change.assignee_source_id)).id
            if change.assignee_source_id
            else None
        )
    if change.event_code is not None:
        conversation.event_code = change.event_code
        conversation.event_code_kind = change.event_code_kind
        conversation.event_code_at = change.at
    if change.status is not None:
        conversation.status = str(change.status)
        if change.status == ConversationStatus.RESOLVED:
            conversation.active_key = None
            conversation.resolved_at = change.at
    if change.at > conversation.last_activity_at:
        conversation.last_activity_at = change.at
    if by is not None and by.sets_operator:
        conversation.operator_id = by.operator_id
    await announce(session, conversation, before, by.actor if by is not None else None)
    return conversation


async def _apply_update(session: AsyncSession, inbox: Inbox, update: MessageUpdate) -> None:
    message = await conv_repo.message_by_source(session, inbox.id, update.message_source_id)
    if message is None:
        return  # e.g. a send that failed before we stored it; nothing to mark
    changes: dict[str, Any] = {}
    if update.recalled and message.recalled_at is None:
        message.recalled_at = update.at
        changes["recalled"] = True
    if update.failed_reason is not None and message.status != MessageStatus.FAILED:
        message.status = str(MessageStatus.FAILED)
        message.error_code = str(update.failed_code) if update.failed_code is not None else None
        message.error_message = update.failed_reason
        changes["status"] = "failed"
    if changes:
        message.updated_at = utcnow()
        await append_event(
            session,
            "message.updated",
            {
                "message_id": message.id,
                "conversation_id": message.conversation_id,
                "changes": changes,
                "error_code": message.error_code,
                "error_message": message.error_message,
            },
            conversation_id=message.conversation_id,
        )
