"""ingest() of whole pages through the bulk path: each message once, events in order, counters, crash safety."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

import gateway.inbound.ingest as ingest_module
from gateway.db.models import Contact, ContactIdentity, Conversation, DomainEvent, Message, SyncCursor
from gateway.db.repositories.contacts import merge_contacts
from gateway.db.repositories.conversations import where_in
from gateway.domain import (
    Batch,
    ContactProfile,
    ConversationStatus,
    InboundMessage,
    MessageType,
    SenderType,
    StateChange,
    WindowTrigger,
)
from gateway.inbound.ingest import ingest, ingest_batch
from tests.inbound.test_ingest import T0, count, make_channel, text


def reply(n: int, *, user: str = "wmUSER", kf: str = "wkKF1") -> InboundMessage:
    """A servicer's reply from the WeCom client (sync_msg origin 5): outgoing, opens no window."""
    return msgspec.structs.replace(
        text(n, user=user, kf=kf),
        source_id=f"out{n}",
        message_type=MessageType.OUTGOING,
        sender_type=SenderType.AGENT,
        content=f"reply {n}",
        raw={"msgid": f"out{n}"},
        agent_source_id="zhangsan",
        window_trigger=None,
    )


async def events(db) -> list[DomainEvent]:
    async with db.sessions() as session:
        return list(await session.scalars(select(DomainEvent).order_by(DomainEvent.id)))


async def messages(db) -> list[Message]:
    async with db.sessions() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))


async def test_duplicates_inside_a_page_and_against_earlier_pages_are_stored_once(db, box) -> None:
    cid = await make_channel(db, box)
    users = [f"wmU{n % 7}" for n in range(40)]
    first = [text(n, user=users[n]) for n in range(20)]
    await ingest_batch(db, Batch(channel_id=cid, messages=first, stream="wkKF1", cursor="p1"))
    before = await events(db)

    # page 2: ten repeats of page 1, every new message twice, in a shuffled platform order by seq
    again = [text(n, user=users[n]) for n in range(10, 20)]
    new = [text(n, user=users[n]) for n in range(20, 40)]
    page = [*again, *new, *[text(n, user=users[n]) for n in range(39, 19, -1)]]
    result = await ingest_batch(db, Batch(channel_id=cid, messages=page, stream="wkKF1", cursor="p2"))

    assert result.duplicates == 10 + 20 and len(result.inserted) == 20
    stored = await messages(db)
    assert [m.source_id for m in stored] == [f"msg{n}" for n in range(40)]
    assert result.inserted == [m.id for m in stored[20:]]  # ids in page (seq) order
    after = (await events(db))[len(before) :]
    assert [e.type for e in after] == ["message.created"] * 20  # the 7 conversations already exist
    assert [e.payload["message_id"] for e in after] == result.inserted
    assert [e.id for e in after] == list(range(before[-1].id + 1, before[-1].id + 21))
    by_message = {m.id: m for m in stored}
    for event in after:
        message = by_message[event.payload["message_id"]]
        assert event.conversation_id == message.conversation_id == event.payload["conversation_id"]
        assert event.payload["content"] == message.content and event.payload["inbox_id"] == message.inbox_id
    async with db.sessions() as session:
        conversations = {c.id: c for c in await session.scalars(select(Conversation))}
        assert (await session.get(SyncCursor, (cid, "wkKF1"))).cursor == "p2"
    assert len(conversations) == 7
    for event in after:
        assert event.contact_id == conversations[event.conversation_id].contact_id


async def test_a_new_contacts_first_page_emits_contact_conversation_then_message_events(db, box) -> None:
    cid = await make_channel(db, box)
    page = [text(n, user=f"wmU{n % 3}") for n in range(9)]
    await ingest_batch(db, Batch(channel_id=cid, messages=page, stream="wkKF1", cursor="p1"))
    types = [e.type for e in await events(db)]
    assert types == ["contact.created"] * 3 + ["conversation.created"] * 3 + ["message.created"] * 9


async def test_counters_move_relative_to_the_row_not_to_what_the_page_read(db, box) -> None:
    cid = await make_channel(db, box)
    await ingest_batch(db, Batch(channel_id=cid, messages=[text(10)]))
    async with db.session() as session:  # e.g. the send job counted three API replies meanwhile
        await session.execute(update(Conversation).values(replies_since_incoming=3))

    # servicer replies only: no window opens, so the reply count stays; the first reply is the earliest
    await ingest_batch(db, Batch(channel_id=cid, messages=[reply(20), reply(30)]))
    async with db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation.replies_since_incoming == 3
    assert conversation.first_reply_at == T0 + timedelta(seconds=20)
    assert conversation.last_activity_at == T0 + timedelta(seconds=30)
    assert conversation.last_incoming_at == T0 + timedelta(seconds=10)

    # a late page with older messages: activity never goes back, the first reply is kept
    await ingest_batch(db, Batch(channel_id=cid, messages=[reply(5), text(6)]))
    async with db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation.first_reply_at == T0 + timedelta(seconds=20)
    assert conversation.last_activity_at == T0 + timedelta(seconds=30)
    assert conversation.last_incoming_at == T0 + timedelta(seconds=6) and conversation.replies_since_incoming == 0
    assert conversation.last_event_at is None


async def test_mp_event_message_opens_the_short_window(db, box) -> None:
    cid = await make_channel(db, box, "mp", "oa")
    click = text(7, user="oUSER", kf="wxAPP")
    click.window_trigger = WindowTrigger.MENU_CLICK
    await ingest_batch(db, Batch(channel_id=cid, messages=[text(3, user="oUSER", kf="wxAPP"), click]))
    async with db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation.last_event_at == T0 + timedelta(seconds=7) and conversation.replies_since_event == 0
    assert conversation.last_incoming_at == T0 + timedelta(seconds=3)


async def test_state_changes_inside_a_page_see_the_messages_before_them(db, box) -> None:
    cid = await make_channel(db, box)
    await ingest_batch(db, Batch(channel_id=cid, messages=[text(1)]))
    taken = StateChange(
        inbox_source_id="wkKF1",
        contact_source_id="wmUSER",
        at=T0 + timedelta(seconds=3),
        status=ConversationStatus.OPEN,
        platform_state="3",
        seq=3,
    )
    ended = StateChange(
        inbox_source_id="wkKF1",
        contact_source_id="wmUSER",
        at=T0 + timedelta(seconds=6),
        status=ConversationStatus.RESOLVED,
        platform_state="4",
        seq=6,
    )
    page = [text(2), text(4), reply(5), text(7), text(8)]
    result = await ingest_batch(db, Batch(channel_id=cid, messages=page, state_changes=[taken, ended]))
    assert len(result.inserted) == 5 and len(result.conversations_opened) == 1
    async with db.sessions() as session:
        old, new = list(await session.scalars(select(Conversation).order_by(Conversation.id)))
        threads = {
            c.id: [
                m.source_id
                for m in await session.scalars(
                    select(Message).where(Message.conversation_id == c.id).order_by(Message.id)
                )
            ]
            for c in (old, new)
        }
    assert threads == {old.id: ["msg1", "msg2", "msg4", "out5"], new.id: ["msg7", "msg8"]}
    assert (old.status, old.platform_state, old.active_key) == ("resolved", "4", None)
    assert old.last_activity_at == T0 + timedelta(seconds=6) and old.first_reply_at == T0 + timedelta(seconds=5)
    assert old.last_incoming_at == T0 + timedelta(seconds=4)
    assert (new.status, new.last_activity_at) == ("pending", T0 + timedelta(seconds=8))
    types = [e.type for e in await events(db)][3:]  # after page 1's contact, conversation, message
    assert types == [
        *["message.created", "conversation.updated"],  # msg2, taken (seq 3)
        *["message.created", "message.created", "conversation.updated"],  # msg4, out5, ended (seq 6)
        *["conversation.created", "message.created", "message.created"],  # msg7 opens anew, msg8
    ]


async def test_a_merge_in_the_page_files_the_other_identities_under_the_surviving_contact(db, box) -> None:
    """oB belongs to oA's contact (merged by hand); oA's profile merges that contact into the unionid
    owner: oB's new conversation in the same page must belong to the owner, not to the merged contact."""
    wecom = await make_channel(db, box, "wecom", "corp")
    mp = await make_channel(db, box, "mp", "oa")
    await ingest_batch(
        db, Batch(channel_id=wecom, messages=[text(1)], profiles=[ContactProfile(source_id="wmUSER", unionid="U1")])
    )
    await ingest_batch(
        db, Batch(channel_id=mp, messages=[text(2, user="oA", kf="wxAPP"), text(3, user="oB", kf="wxB")])
    )
    async with db.session() as session:
        owners = dict((await session.execute(select(ContactIdentity.source_id, ContactIdentity.contact_id))).all())
        await merge_contacts(
            session,
            source=await session.get(Contact, owners["oB"]),
            target=await session.get(Contact, owners["oA"]),
            reason="manual",
        )
    page = [text(4, user="oA", kf="wxAPP"), text(5, user="oB", kf="wxC")]
    await ingest_batch(db, Batch(channel_id=mp, messages=page, profiles=[ContactProfile(source_id="oA", unionid="U1")]))
    async with db.sessions() as session:
        live = list(await session.scalars(select(Contact).where(Contact.merged_into_id.is_(None))))
        assert len(live) == 1 and live[0].id == owners["wmUSER"]
        assert set(await session.scalars(select(Conversation.contact_id))) == {live[0].id}
        assert set(await session.scalars(select(ContactIdentity.contact_id))) == {live[0].id}
    created = [e for e in await events(db) if e.type == "message.created"]
    assert created[-1].contact_id == live[0].id


@pytest.mark.parametrize("after", ["append_events", "touch"])
async def test_a_crash_after_the_bulk_writes_leaves_nothing(db, box, monkeypatch, after: str) -> None:
    cid = await make_channel(db, box)
    await ingest_batch(db, Batch(channel_id=cid, messages=[text(1)], stream="wkKF1", cursor="c1"))
    written = await count(db, DomainEvent), await count(db, Message)

    class Killed(Exception):
        pass

    if after == "append_events":
        real = ingest_module.append_events

        async def killer(*args, **kwargs) -> None:
            await real(*args, **kwargs)
            raise Killed

        monkeypatch.setattr(ingest_module, "append_events", killer)
    else:
        real_touch = ingest_module.conv_repo.touch_conversations

        async def killer(*args, **kwargs) -> None:
            await real_touch(*args, **kwargs)
            raise Killed

        monkeypatch.setattr(ingest_module.conv_repo, "touch_conversations", killer)
    with pytest.raises(Killed):
        async with db.session() as session:
            await ingest(
                session, Batch(channel_id=cid, messages=[text(2), text(3, user="wmNEW")], stream="wkKF1", cursor="c2")
            )
    assert (await count(db, DomainEvent), await count(db, Message)) == written
    monkeypatch.undo()
    result = await ingest_batch(
        db, Batch(channel_id=cid, messages=[text(2), text(3, user="wmNEW")], stream="wkKF1", cursor="c2")
    )
    assert len(result.inserted) == 2
    async with db.sessions() as session:
        assert (await session.get(SyncCursor, (cid, "wkKF1"))).cursor == "c2"
    assert [e.type for e in await events(db)][written[0] :] == [
        "contact.created",
        "conversation.created",
        "message.created",
        "message.created",
    ]


async def test_bulk_rows_round_trip_every_column(db, box) -> None:
    cid = await make_channel(db, box)
    item = text(1)
    item.content_attributes = {"menu_id": "101", "nested": {"a": [1, 2]}}
    item.media_id = "MEDIA1"
    out = reply(2)
    await ingest_batch(db, Batch(channel_id=cid, messages=[item, out]))
    stored = {m.source_id: m for m in await messages(db)}
    first, second = stored["msg1"], stored["out2"]
    assert first.raw == {"msgid": "msg1"} and isinstance(first.raw, dict)
    assert first.content_attributes == {"menu_id": "101", "nested": {"a": [1, 2]}, "media_id": "MEDIA1"}
    assert (first.message_type, first.sender_type, first.content_type, first.status) == (
        "incoming",
        "contact",
        "text",
        "received",
    )
    assert first.sent_at == T0 + timedelta(seconds=1) and first.sent_at.tzinfo is not None
    assert first.created_at is not None and first.recalled_at is None and first.sender_agent_id is None
    assert (second.message_type, second.status, second.content) == ("outgoing", "sent", "reply 2")
    assert second.sender_agent_id is not None


async def test_page_lookups_stay_index_probes_on_postgresql(db, box) -> None:
    """Whatever the statistics, looking up a page's 1000 source ids probes the unique index per id:
    no hash join or filter over every message of the inbox (those grow with the inbox)."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL planner")
    cid = await make_channel(db, box)
    for n in range(3):
        page = [text(1000 * n + i, user=f"wmU{i % 50}") for i in range(1000)]
        await ingest_batch(db, Batch(channel_id=cid, messages=page))
    wanted = [f"msg{i}" for i in range(1500, 2500)]
    messages_ = Message.__table__
    async with db.engine.connect() as connection:
        inbox_id = (await connection.execute(select(messages_.c.inbox_id).limit(1))).scalar_one()
        for analyzed in (False, True):
            if analyzed:
                await connection.exec_driver_sql("ANALYZE messages")
            async with AsyncSession(bind=connection) as session:
                query = select(messages_.c.source_id).where(messages_.c.inbox_id == inbox_id)
                compiled = where_in(session, query, messages_.c.source_id, wanted).compile(dialect=connection.dialect)
            params = tuple(compiled.params[name] for name in compiled.positiontup)
            for mode in ("force_custom_plan", "force_generic_plan"):
                await connection.exec_driver_sql(f"SET plan_cache_mode = {mode}")
                plan = "\n".join((await connection.exec_driver_sql(f"EXPLAIN {compiled}", params)).scalars())
                assert "Hash" not in plan and "Seq Scan on messages" not in plan, plan
                assert "Index Cond" in plan and "source_id" in plan.split("Index Cond", 1)[1], plan
                found = (await connection.exec_driver_sql(str(compiled), params)).scalars().all()
                assert sorted(found) == sorted(wanted)
