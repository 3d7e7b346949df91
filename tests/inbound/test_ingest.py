"""ingest(): one batch → rows + cursor + events in one commit; duplicates change nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy import func, select

from gateway.db.models import Contact, ContactIdentity, Conversation, DomainEvent, Message, SyncCursor
from gateway.db.repositories.channels import ChannelRepository
from gateway.domain import (
    AgentChange,
    AgentStatus,
    Batch,
    ContactProfile,
    ContentType,
    ConversationStatus,
    InboundMessage,
    MessageType,
    MessageUpdate,
    SenderType,
    StateChange,
    WindowTrigger,
    without_nul,
)
from gateway.inbound.ingest import ingest, ingest_batch

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def text(n: int, *, user: str = "wmUSER", kf: str = "wkKF1", at: datetime | None = None) -> InboundMessage:
    return InboundMessage(
        source_id=f"msg{n}",
        inbox_source_id=kf,
        contact_source_id=user,
        message_type=MessageType.INCOMING,
        sender_type=SenderType.CONTACT,
        content_type=ContentType.TEXT,
        content=f"hello {n}",
        sent_at=at or T0 + timedelta(seconds=n),
        raw={"msgid": f"msg{n}"},
        window_trigger=WindowTrigger.USER_MESSAGE,
        seq=n,
    )


async def make_channel(db, box, kind: str = "wecom", name: str = "corp") -> int:
    async with db.session() as session:
        channel = await ChannelRepository(session, box).create(kind=kind, name=name, app_id=f"{name}-id", secrets={})
        return channel.id


async def count(db, model) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_batch_creates_contact_conversation_messages_and_cursor(db, box) -> None:
    cid = await make_channel(db, box)
    batch = Batch(channel_id=cid, messages=[text(1), text(2), text(3)], stream="wkKF1", cursor="c1")
    result = await ingest_batch(db, batch)
    assert len(result.inserted) == 3 and result.duplicates == 0 and len(result.conversations_opened) == 1
    assert await count(db, Message) == 3
    assert await count(db, Contact) == 1 and await count(db, Conversation) == 1
    async with db.sessions() as session:
        cursor = await session.get(SyncCursor, (cid, "wkKF1"))
        assert cursor.cursor == "c1"
        conversation = await session.scalar(select(Conversation))
        assert conversation.status == "pending"
        assert conversation.last_incoming_at == T0 + timedelta(seconds=3)
        assert conversation.replies_since_incoming == 0 and conversation.last_event_at is None
        types = [e.type for e in await session.scalars(select(DomainEvent).order_by(DomainEvent.id))]
    assert types == ["contact.created", "conversation.created"] + ["message.created"] * 3


async def test_replayed_batch_changes_nothing(db, box) -> None:
    cid = await make_channel(db, box)
    batch = Batch(channel_id=cid, messages=[text(1), text(2)], stream="wkKF1", cursor="c1")
    await ingest_batch(db, batch)
    events = await count(db, DomainEvent)
    again = await ingest_batch(
        db, Batch(channel_id=cid, messages=[text(2), text(1), text(2)], stream="wkKF1", cursor="c2")
    )
    assert again.inserted == [] and again.duplicates == 3
    assert await count(db, Message) == 2 and await count(db, DomainEvent) == events


async def test_crash_after_rows_before_commit_writes_nothing(db, box, monkeypatch) -> None:
    cid = await make_channel(db, box)
    await ingest_batch(db, Batch(channel_id=cid, messages=[text(1)], stream="wkKF1", cursor="c1"))

    async def crash(*_args, **_kwargs) -> None:
        raise RuntimeError("killed between the rows and the cursor")

    monkeypatch.setattr("gateway.inbound.ingest.save_cursor", crash)
    with pytest.raises(RuntimeError, match="killed"):
        async with db.session() as session:
            await ingest(session, Batch(channel_id=cid, messages=[text(2), text(3)], stream="wkKF1", cursor="c2"))
    assert await count(db, Message) == 1
    async with db.sessions() as session:
        assert (await session.get(SyncCursor, (cid, "wkKF1"))).cursor == "c1"


async def test_message_after_resolved_opens_a_new_conversation(db, box) -> None:
    cid = await make_channel(db, box)
    end = StateChange(
        inbox_source_id="wkKF1",
        contact_source_id="wmUSER",
        at=T0 + timedelta(seconds=5),
        status=ConversationStatus.RESOLVED,
        platform_state="4",
        seq=2,
    )
    batch = Batch(channel_id=cid, messages=[text(1), text(3)], state_changes=[end])
    result = await ingest_batch(db, batch)
    assert len(result.conversations_opened) == 2
    async with db.sessions() as session:
        rows = list(await session.scalars(select(Conversation).order_by(Conversation.id)))
        assert [c.status for c in rows] == ["resolved", "pending"]
        assert rows[0].active_key is None and rows[1].active_key is not None
        firsts = await session.scalars(select(Message.source_id).where(Message.conversation_id == rows[0].id))
        assert list(firsts) == ["msg1"]


async def test_state_change_sets_assignee_and_emits_update(db, box) -> None:
    cid = await make_channel(db, box)
    taken = StateChange(
        inbox_source_id="wkKF1",
        contact_source_id="wmUSER",
        at=T0 + timedelta(seconds=9),
        status=ConversationStatus.OPEN,
        platform_state="3",
        assignee_source_id="zhangsan",
        event_code="CODE",
        event_code_kind="taken",
        seq=5,
    )
    await ingest_batch(
        db,
        Batch(
            channel_id=cid,
            messages=[text(1)],
            state_changes=[taken],
            agent_changes=[AgentChange(agent_source_id="zhangsan", status=AgentStatus.ONLINE, inbox_source_id="wkKF1")],
        ),
    )
    async with db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
        assert (conversation.status, conversation.platform_state, conversation.event_code) == ("open", "3", "CODE")
        assert conversation.assignee_id is not None
        update = await session.scalar(select(DomainEvent).where(DomainEvent.type == "conversation.updated"))
        assert update.payload["changes"]["status"] == "open"


async def test_recall_and_send_failure_update_messages(db, box) -> None:
    cid = await make_channel(db, box)
    await ingest_batch(db, Batch(channel_id=cid, messages=[text(1), text(2)]))
    updates = [
        MessageUpdate(inbox_source_id="wkKF1", message_source_id="msg1", at=T0, recalled=True),
        MessageUpdate(
            inbox_source_id="wkKF1", message_source_id="msg2", at=T0, failed_reason="user rejected", failed_code=10
        ),
        MessageUpdate(inbox_source_id="wkKF1", message_source_id="nope", at=T0, recalled=True),
    ]
    await ingest_batch(db, Batch(channel_id=cid, message_updates=updates))
    async with db.sessions() as session:
        rows = {m.source_id: m for m in await session.scalars(select(Message))}
    assert rows["msg1"].recalled_at is not None
    assert (rows["msg2"].status, rows["msg2"].error_code) == ("failed", "10")


async def test_unionid_merges_identities_across_channels(db, box) -> None:
    wecom = await make_channel(db, box, "wecom", "corp")
    mp = await make_channel(db, box, "mp", "oa")
    await ingest_batch(
        db,
        Batch(
            channel_id=wecom,
            messages=[text(1)],
            profiles=[ContactProfile(source_id="wmUSER", name="Ann", unionid="U1")],
        ),
    )
    mp_msg = text(2, user="oOPENID", kf="wxAPP")
    await ingest_batch(
        db, Batch(channel_id=mp, messages=[mp_msg], profiles=[ContactProfile(source_id="oOPENID", unionid="U1")])
    )
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 1
        owners = set(await session.scalars(select(ContactIdentity.contact_id)))
    assert len(owners) == 1


async def test_late_unionid_merges_two_existing_contacts(db, box) -> None:
    wecom = await make_channel(db, box, "wecom", "corp")
    mp = await make_channel(db, box, "mp", "oa")
    await ingest_batch(
        db, Batch(channel_id=wecom, messages=[text(1)], profiles=[ContactProfile(source_id="wmUSER", unionid="U1")])
    )
    await ingest_batch(db, Batch(channel_id=mp, messages=[text(2, user="oOPENID", kf="wxAPP")]))
    assert await count(db, Contact) == 2
    await ingest_batch(db, Batch(channel_id=mp, profiles=[ContactProfile(source_id="oOPENID", unionid="U1")]))
    async with db.sessions() as session:
        live = list(await session.scalars(select(Contact).where(Contact.merged_into_id.is_(None))))
        assert len(live) == 1 and live[0].unionid == "U1"
        conv_owners = set(await session.scalars(select(Conversation.contact_id)))
        assert conv_owners == {live[0].id}
        merged = await session.scalar(select(DomainEvent).where(DomainEvent.type == "contact.merged"))
        assert merged.payload["contact_id"] == live[0].id


async def test_concurrent_ingest_of_the_same_page_stores_each_message_once(db, box) -> None:
    cid = await make_channel(db, box)
    batch = Batch(channel_id=cid, messages=[text(n) for n in range(1, 51)], stream="wkKF1", cursor="c")

    async def attempt() -> int:
        for _ in range(5):  # a loser on PostgreSQL may hit the unique key mid-transaction: retry like sync does
            try:
                return len((await ingest_batch(db, batch)).inserted)
            except Exception:
                await asyncio.sleep(0.05)
        raise AssertionError("ingest kept failing")

    counts = await asyncio.gather(*(attempt() for _ in range(4)))
    assert sum(counts) == 50
    assert await count(db, Message) == 50 and await count(db, Conversation) == 1


async def test_concurrent_first_messages_of_one_new_contact_need_no_retry(db, box) -> None:
    """Parallel MP callbacks (or replicas) creating the same identity and unionid contact all succeed."""
    wecom = await make_channel(db, box, "wecom", "corp")
    mp = await make_channel(db, box, "mp", "oa")
    batches = [Batch(channel_id=mp, messages=[text(n, user="oNEW", kf="wxAPP")]) for n in range(6)]
    batches += [
        Batch(
            channel_id=wecom,
            messages=[text(100 + n, user="wmNEW")],
            profiles=[ContactProfile(source_id="wmNEW", unionid="U-new")],
        )
        for n in range(3)
    ]
    batches += [Batch(channel_id=mp, profiles=[ContactProfile(source_id="oNEW", unionid="U-new")])]
    await asyncio.gather(*(ingest_batch(db, b) for b in batches))  # no retries: every one must succeed
    async with db.sessions() as session:
        identities = list(await session.scalars(select(ContactIdentity)))
        live = list(await session.scalars(select(Contact).where(Contact.merged_into_id.is_(None))))
    assert len(identities) == 2 and len(live) == 1 and {i.contact_id for i in identities} == {live[0].id}
    assert await count(db, Message) == 9


async def test_nul_characters_are_stored_as_replacement_characters(db, box) -> None:
    """PostgreSQL stores no U+0000; a platform JSON may carry one. The page must not fail (it would
    on every retry, blocking its stream): NUL becomes U+FFFD, on both databases alike."""
    cid = await make_channel(db, box)
    bad = msgspec.structs.replace(text(1), content="a\x00b", raw={"text": {"content": "a\x00b"}, "k\x00": ["\x00"]})
    literal = msgspec.structs.replace(text(2), content="a \\u0000 is not a NUL")  # a backslash, then u0000
    profile = ContactProfile(source_id="wmUSER", name="Nul\x00Name", raw={"name": "Nul\x00Name"})
    clean = Batch(channel_id=cid, messages=[text(3)], stream="wkKF1", cursor="c0")
    assert without_nul(clean) is clean  # nothing to replace: the batch itself, no copy
    result = await ingest_batch(db, Batch(channel_id=cid, messages=[bad, literal], profiles=[profile], stream="wkKF1"))
    assert len(result.inserted) == 2
    async with db.sessions() as session:
        messages = list(await session.scalars(select(Message).order_by(Message.id)))
        contact = await session.scalar(select(Contact))
        payloads = [
            e.payload for e in await session.scalars(select(DomainEvent).where(DomainEvent.type == "message.created"))
        ]
    assert [m.content for m in messages] == ["a\ufffdb", "a \\u0000 is not a NUL"]
    assert messages[0].raw == {"text": {"content": "a\ufffdb"}, "k\ufffd": ["\ufffd"]}
    assert contact.name == "Nul\ufffdName"
    assert payloads[0]["content"] == "a\ufffdb"
