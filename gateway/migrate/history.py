"""MP chat-record history import: msgrecord/getmsglist → messages, through the one write path.

The range is walked in ≤24 h windows (the platform's limit). Each window's records become one
`Batch` ingested in one transaction together with the `msgrecord` sync cursor, so an interrupted
import resumes after the last committed window and a re-run stores nothing twice: source ids are
derived from the record itself (`msgrecord:{openid}:{time}:{hash}`, plus `:{n}` for the n-th
identical record of the same second).

Conversations: records go through `ingest`, which files them in the contact's live conversation.
When the contact had none, the conversation the import opened is resolved in the same transaction
(one resolved conversation per contact per window); when the contact is talking right now, its
history joins that live conversation. No imported message sets `window_trigger`: old messages must
not reopen the 48 h reply window.

Identity merge: after the windows, `channel.fetch_profiles` (user/info, unionid) runs in batches of
PROFILE_BATCH for every identity of the channel without a profile, and each batch is ingested as
`Batch(profiles=...)`, which merges contacts sharing a unionid (e.g. with WeCom identities). It is
done inline rather than through the `fetch_profiles` job so the command ends with merged contacts
even when no job runner is running.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from gateway.db.models import ContactIdentity
from gateway.db.repositories import contacts as contact_repo
from gateway.db.repositories import conversations as conv_repo
from gateway.db.repositories.feed import get_cursor
from gateway.domain import Batch, ContentType, ConversationStatus, InboundMessage, MessageType, SenderType, StateChange
from gateway.errors import InvalidRequest
from gateway.ingest import ingest
from gateway.wechat.mp_kefu import RECORD_WINDOW
from gateway.wechat.mp_kefu_types import MsgRecord

STREAM = "msgrecord"
PROFILE_BATCH = 100
OPERCODE_KF_SENT = 2002  # kf → user
INCOMING_OPERCODES = frozenset({2001, 2003})  # 2003 kf received; 2001 legacy "MP received"

# msgrecord shows non-text messages as "[type]" (API.md §4.4).
MEDIA_TEXT = {
    "[image]": ContentType.IMAGE,
    "[voice]": ContentType.VOICE,
    "[video]": ContentType.VIDEO,
    "[shortvideo]": ContentType.VIDEO,
    "[file]": ContentType.FILE,
    "[location]": ContentType.LOCATION,
    "[link]": ContentType.LINK,
    "[news]": ContentType.NEWS,
    "[mpnews]": ContentType.NEWS,
    "[miniprogrampage]": ContentType.MINIPROGRAM,
    "[msgmenu]": ContentType.MENU,
}


@dataclass(slots=True)
class Window:
    start: int  # epoch seconds, both ends inclusive (the platform's semantics)
    end: int
    records: int
    new_messages: int
    duplicates: int


@dataclass(slots=True)
class ImportSummary:
    start: int
    end: int
    resumed_from: int | None = None  # where a previous, interrupted run had stopped
    windows: int = 0
    records: int = 0
    new_messages: int = 0
    duplicates: int = 0
    profiles: int = 0


OnWindow = Callable[[Window], Awaitable[None] | None]


def source_id(record: MsgRecord, occurrence: int = 0) -> str:
    """Deterministic per record; `occurrence` tells apart identical records of the same second."""
    digest = hashlib.sha1(f"{record.opercode}\x1f{record.worker}\x1f{record.text}".encode()).hexdigest()[:8]
    base = f"msgrecord:{record.openid}:{record.time}:{digest}"
    return f"{base}:{occurrence}" if occurrence else base


def to_message(record: MsgRecord, inbox_source_id: str, occurrence: int = 0, seq: int = 0) -> InboundMessage:
    """One record as a unified message (incoming, outgoing with the kf as agent, or activity)."""
    raw = {
        "openid": record.openid,
        "opercode": record.opercode,
        "text": record.text,
        "time": record.time,
        "worker": record.worker,
    }
    media = MEDIA_TEXT.get(record.text.strip())
    content_type = media or ContentType.TEXT
    attributes: dict[str, Any] = {"imported": "msgrecord"}
    if record.worker:
        attributes["worker"] = record.worker
    agent: str | None = None
    if record.opercode == OPERCODE_KF_SENT:
        message_type = MessageType.OUTGOING
        sender = SenderType.AGENT if record.worker else SenderType.BOT  # no worker: sent through the API
        agent = record.worker or None
    elif record.opercode in INCOMING_OPERCODES:
        message_type, sender = MessageType.INCOMING, SenderType.CONTACT
    else:  # legacy session codes (1000 created … 1005 grabbed)
        message_type, sender, content_type = MessageType.ACTIVITY, SenderType.SYSTEM, ContentType.EVENT
        attributes["opercode"] = record.opercode
    return InboundMessage(
        source_id=source_id(record, occurrence),
        inbox_source_id=inbox_source_id,
        contact_source_id=record.openid,
        message_type=message_type,
        sender_type=sender,
        content_type=content_type,
        sent_at=datetime.fromtimestamp(record.time, tz=UTC),
        content=None if media else record.text,
        content_attributes=attributes,
        raw=raw,
        agent_source_id=agent,
        seq=seq,
    )


def to_messages(records: list[MsgRecord], inbox_source_id: str) -> list[InboundMessage]:
    seen: Counter[str] = Counter()
    messages = []
    for seq, record in enumerate(records):
        key = source_id(record)
        messages.append(to_message(record, inbox_source_id, seen[key], seq))
        seen[key] += 1
    return messages


def _resume_point(cursor: str | None, start: int, end: int) -> int | None:
    """Where to restart: the stored window end, if a previous run over a range containing `start`
    stopped inside [start, end)."""
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
        since, done = int(state["since"]), int(state["done"])
    except (ValueError, KeyError, TypeError):
        return None
    if since <= start < done:
        return min(done, end)
    return None


async def import_history(
    runtime: Any,
    channel_id: int,
    since: datetime,
    until: datetime | None = None,
    *,
    on_window: OnWindow | None = None,
    profiles: bool = True,
    page_size: int | None = None,
) -> ImportSummary:
    """Import chat records of the MP channel `channel_id` with since ≤ time ≤ until (default now).

    `runtime` is a gateway.runtime.Runtime (its db and channel adapters). `on_window` is called
    after each window's commit (progress bars; tests inject failures there).
    """
    channel = await runtime.channel(channel_id)
    if getattr(channel, "kind", None) != "mp":
        raise InvalidRequest(f"channel {channel_id} is not an MP channel", field="channel")
    start = int(since.timestamp())
    end = int((until or datetime.now(tz=UTC)).timestamp())
    if end < start:
        raise InvalidRequest("--until is before --since", field="until")
    db = runtime.db
    async with db.sessions() as session:
        stored = await get_cursor(session, channel_id, STREAM)
    resume = _resume_point(stored.cursor if stored else None, start, end)
    summary = ImportSummary(start=start, end=end, resumed_from=resume)
    range_since = start
    if resume is not None:
        range_since = json.loads(stored.cursor)["since"]  # type: ignore[union-attr]
        if resume >= end:
            return summary
    window_start = resume if resume is not None else start
    boundary: set[str] = set()  # source ids of the previous window's last second (asked again)
    while True:
        window_end = min(window_start + RECORD_WINDOW, end)
        kwargs = {"page_size": page_size} if page_size else {}
        records = [r async for r in channel.client.iter_msgrecords(window_start, window_end, **kwargs)]
        messages = to_messages(records, channel.app_id)
        repeated = sum(1 for m in messages if m.source_id in boundary)
        cursor = json.dumps({"since": range_since, "done": window_end})
        async with db.session() as session:
            result = await _ingest_window(session, channel_id, channel.app_id, messages, cursor)
        window = Window(
            start=window_start,
            end=window_end,
            records=len(records) - repeated,
            new_messages=len(result.inserted),
            duplicates=result.duplicates - repeated,
        )
        summary.windows += 1
        summary.records += window.records
        summary.new_messages += window.new_messages
        summary.duplicates += window.duplicates
        if on_window is not None:
            outcome = on_window(window)
            if outcome is not None:
                await outcome
        if window_end >= end:
            break
        boundary = {m.source_id for m in messages if m.sent_at.timestamp() == window_end}
        window_start = window_end
    if profiles:
        summary.profiles = await merge_identities(runtime, channel_id)
    return summary


async def _ingest_window(
    session: Any, channel_id: int, inbox_source_id: str, messages: list[InboundMessage], cursor: str
) -> Any:
    """The window's messages and the cursor; then resolve the conversations this window opened."""
    result = await ingest(session, Batch(channel_id=channel_id, messages=messages, stream=STREAM, cursor=cursor))
    if not result.conversations_opened:
        return result
    opened = set(result.conversations_opened)
    last_at: dict[str, datetime] = {}
    for message in messages:
        openid = message.contact_source_id
        last_at[openid] = max(message.sent_at, last_at.get(openid, message.sent_at))
    inbox = (await conv_repo.inboxes_by_source(session, channel_id, [inbox_source_id]))[inbox_source_id]
    identities = await contact_repo.identities_by_source(session, channel_id, last_at)
    changes = []
    for openid, identity in identities.items():
        conversation = await conv_repo.active_conversation(session, inbox.id, identity.id)
        if conversation is not None and conversation.id in opened:
            changes.append(
                StateChange(
                    inbox_source_id=inbox_source_id,
                    contact_source_id=openid,
                    at=last_at[openid],
                    status=ConversationStatus.RESOLVED,
                )
            )
    if changes:
        await ingest(session, Batch(channel_id=channel_id, state_changes=changes))
    return result


async def merge_identities(runtime: Any, channel_id: int) -> int:
    """Fetch profiles (unionid) for the channel's identities that have none; returns how many were applied."""
    channel = await runtime.channel(channel_id)
    async with runtime.db.sessions() as session:
        # Identity lookups for a whole channel have no repository helper yet; kept here, read-only.
        openids = list(
            await session.scalars(
                select(ContactIdentity.source_id)
                .where(ContactIdentity.channel_id == channel_id, ContactIdentity.profile_fetched_at.is_(None))
                .order_by(ContactIdentity.id)
            )
        )
    applied = 0
    for i in range(0, len(openids), PROFILE_BATCH):
        fetched = await channel.fetch_profiles(openids[i : i + PROFILE_BATCH])
        if fetched:
            async with runtime.db.session() as session:
                await ingest(session, Batch(channel_id=channel_id, profiles=fetched))
            applied += len(fetched)
    return applied
