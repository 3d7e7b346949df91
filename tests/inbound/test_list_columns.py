"""The conversation list columns stay true on every write path: incoming_count, last_message_id and
waiting_since move with the bulk ingest (customer messages, servicer replies from the WeCom app,
activity lines) and with replies queued through the API; duplicates move nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import import_module

from sqlalchemy import select

from gateway.db.models import Conversation, Message
from gateway.domain import Batch, ContentType, InboundMessage, MessageType, SenderType
from gateway.inbound.ingest import ingest_batch
from tests.api.support import message
from tests.inbound.test_ingest import make_channel

migration = import_module("migrations.versions.20261206_0007_people")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def activity(n: int, when: datetime) -> InboundMessage:
    return InboundMessage(
        source_id=f"act{n}",
        inbox_source_id="wkKF1",
        contact_source_id="wmA",
        message_type=MessageType.ACTIVITY,
        sender_type=SenderType.SYSTEM,
        content_type=ContentType.EVENT,
        content=None,
        sent_at=when,
        raw={},
        content_attributes={"event_type": "user_recall_msg"},
        seq=n,
    )


async def columns(db) -> tuple[int, int | None, datetime | None, list[int]]:
    async with db.sessions() as session:
        conversation = (await session.scalars(select(Conversation))).one()
        ids = list(await session.scalars(select(Message.id).order_by(Message.id)))
        return conversation.incoming_count, conversation.last_message_id, conversation.waiting_since, ids


async def test_customer_messages_count_and_start_the_wait_once(db, box) -> None:
    channel = await make_channel(db, box)
    await ingest_batch(
        db,
        Batch(
            channel_id=channel,
            messages=[
                message("wkKF1", "wmA", "one", at(0), source_id="a1", seq=1),
                message("wkKF1", "wmA", "two", at(5), source_id="a2", seq=2),
            ],
        ),
    )
    count, last, waiting, ids = await columns(db)
    assert (count, last, waiting) == (2, ids[-1], at(0))

    # a later page: the wait keeps its start, the count grows; an activity line is not the last message
    await ingest_batch(
        db,
        Batch(
            channel_id=channel, messages=[message("wkKF1", "wmA", "three", at(9), source_id="a3"), activity(4, at(10))]
        ),
    )
    count, last, waiting, ids = await columns(db)
    assert count == 3 and waiting == at(0)
    assert last == ids[-2]  # "three", not the activity after it

    # a duplicate delivery moves nothing
    await ingest_batch(
        db, Batch(channel_id=channel, messages=[message("wkKF1", "wmA", "three", at(9), source_id="a3")])
    )
    assert (await columns(db))[:3] == (3, last, at(0))


async def test_a_servicer_reply_ends_the_wait_and_a_later_message_starts_it_again(db, box) -> None:
    channel = await make_channel(db, box)
    await ingest_batch(db, Batch(channel_id=channel, messages=[message("wkKF1", "wmA", "hi", at(0), source_id="b1")]))
    # one page: reply, then the customer again → waiting from that message
    await ingest_batch(
        db,
        Batch(
            channel_id=channel,
            messages=[
                message("wkKF1", "wmA", "answer", at(20), source_id="b2", outgoing=True, seq=1),
                message("wkKF1", "wmA", "thanks", at(30), source_id="b3", seq=2),
            ],
        ),
    )
    count, last, waiting, ids = await columns(db)
    assert (count, last, waiting) == (2, ids[-1], at(30))
    # customer then reply in one page → nobody waits
    await ingest_batch(
        db,
        Batch(
            channel_id=channel,
            messages=[
                message("wkKF1", "wmA", "more", at(40), source_id="b4", seq=1),
                message("wkKF1", "wmA", "done", at(50), source_id="b5", outgoing=True, seq=2),
            ],
        ),
    )
    count, last, waiting, ids = await columns(db)
    assert (count, last, waiting) == (3, ids[-1], None)


async def test_migration_backfill_matches_the_ingest(db, box) -> None:
    """The UPDATE of migration 0007 recomputes what the ingest maintained, on both databases."""
    channel = await make_channel(db, box)
    await ingest_batch(
        db,
        Batch(
            channel_id=channel,
            messages=[
                message("wkKF1", "wmA", "q1", at(0), source_id="c1", seq=1),
                message("wkKF1", "wmA", "r1", at(5), source_id="c2", outgoing=True, seq=2),
                message("wkKF1", "wmA", "q2", at(7), source_id="c3", seq=3),
                message("wkKF1", "wmA", "q3", at(8), source_id="c4", seq=4),
                activity(5, at(9)),
            ],
        ),
    )
    expected = (await columns(db))[:3]
    assert expected[0] == 3 and expected[2] == at(7)
    async with db.session() as session:
        await session.execute(
            Conversation.__table__.update().values(incoming_count=0, last_message_id=None, waiting_since=None)
        )
        await session.execute(migration.BACKFILL)
    assert (await columns(db))[:3] == expected
