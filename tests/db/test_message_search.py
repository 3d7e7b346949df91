"""Conversation `q=` over message text: the trigram index answers exactly what the ILIKE scan did,
follows every write, and on SQLite is really used (FTS5, migration 0005)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update

from gateway.db import migrate
from gateway.db.engine import Database
from gateway.db.models import ContactIdentity, Conversation, Inbox, Message
from gateway.db.repositories import browse, search
from gateway.sealing import SecretBox
from tests.conftest import TEST_SECRET_KEY, fresh_database_url
from tests.db.test_search import add_contacts
from tests.harness import harness

CORP = "wwcorp0001"

TEXTS = [
    "你好，订单 123 什么时候发货？",
    "Hello World, ORDER #A-77 shipped",
    "hello again",
    'she said "quoted" words',
    "100% cotton_shirt and a back\\slash",
    "Émile écrit à l'équipe",
    "emoji 🎉🎉 party",
    "重复的重复的重复",
    None,  # an image: no text
    "abc",
]


async def seed(db: Database, box: SecretBox, texts: list[str | None]) -> dict[int, int]:
    """One conversation per text (contacts named so no name matches); returns message id → conversation id."""
    channel, _ = await add_contacts(db, ["Ж" * (n + 1) for n in range(len(texts))], box)
    out = {}
    async with db.session() as session:
        inbox = Inbox(channel_id=channel, source_id="kf1", settings={})
        session.add(inbox)
        await session.flush()
        for n, identity in enumerate(await session.scalars(select(ContactIdentity).order_by(ContactIdentity.id))):
            conversation = Conversation(inbox_id=inbox.id, contact_id=identity.contact_id, identity_id=identity.id)
            session.add(conversation)
            await session.flush()
            message = Message(
                conversation_id=conversation.id,
                inbox_id=inbox.id,
                source_id=f"m{n}",
                message_type="incoming",
                sender_type="contact",
                content_type="text" if texts[n] else "image",
                content=texts[n],
            )
            session.add(message)
            await session.flush()
            out[message.id] = conversation.id
    return out


async def searched(db: Database, q: str) -> set[int]:
    async with db.sessions() as session:
        rows = await browse.list_conversations(session, browse.ConversationFilter(q=q), after=None, limit=1000)
        return {c.id for c in rows}


async def scanned(db: Database, q: str) -> set[int]:
    """The reference: the unindexed ILIKE over every message."""
    condition = Message.content.ilike(search.like_pattern(q), escape="\\")
    async with db.sessions() as session:
        return set(await session.scalars(select(Message.conversation_id).where(condition).distinct()))


def queries(texts: list[str | None], rng: random.Random, count: int) -> list[str]:
    out = [
        "hello",
        "HELLO",
        "order #a",
        "订单 1",
        '"quoted"',
        "100%",
        "n_s",
        "k\\s",
        "émile",
        "ÉMILE",
        "🎉🎉",
        "重复的",
        "abc",
        "abcd",
        "nothing like it",
        "ab",
        "的",
        '"',
        "%",
        "_",
    ]
    words = [t for t in texts if t]
    while len(out) < count:
        source = rng.choice(words)
        start = rng.randrange(len(source))
        piece = source[start : start + rng.randint(1, 8)]
        out.append("".join(c.upper() if rng.random() < 0.3 else c for c in piece))
    return out


async def planned(db: Database, q: str, plan: search.TextPlan) -> set[int]:
    async with db.sessions() as session:
        query = browse.conversation_query(browse.ConversationFilter(q=q), after=None, limit=1000, text_plan=plan)
        return {c.id for c in await session.scalars(query)}


async def test_text_search_answers_what_the_scan_answers(db: Database, box: SecretBox) -> None:
    await seed(db, box, TEXTS)
    plans = list(search.TextPlan) if db.is_sqlite and _trigram_available() else [search.TextPlan.SCAN]
    for q in queries(TEXTS, random.Random(7), 300):
        expected = await scanned(db, q)
        assert await searched(db, q) == expected, q  # the plan the gateway picks
        for plan in plans:  # and every other plan
            assert await planned(db, q, plan) == expected, (q, plan)


async def test_a_common_q_walks_the_page_order_a_rare_one_takes_candidates(
    db: Database, box: SecretBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(db, box, TEXTS)
    monkeypatch.setattr(search, "WALK_AFTER", 2)
    async with db.sessions() as session:
        plans = {q: await search.plan_text(session, q) for q in ("hello", "abc", "he", "nothing like it")}
    if not (db.is_sqlite and _trigram_available()):
        assert set(plans.values()) == {search.TextPlan.SCAN}
        return
    assert plans == {
        "hello": search.TextPlan.WALK,  # two messages hold it: as common as WALK_AFTER
        "abc": search.TextPlan.CANDIDATES,
        "he": search.TextPlan.SCAN,  # too short for trigrams
        "nothing like it": search.TextPlan.CANDIDATES,
    }


async def test_the_index_follows_updates_and_deletes(db: Database, box: SecretBox) -> None:
    messages = await seed(db, box, TEXTS)
    by_text = {t: m for m, t in zip(messages, TEXTS, strict=True) if t}
    async with db.session() as session:
        await session.execute(update(Message).where(Message.id == by_text["hello again"]).values(content="goodbye now"))
        await session.execute(delete(Message).where(Message.id == by_text["abc"]))
        # a conversation deleted takes its messages along (ON DELETE CASCADE fires the triggers too)
        await session.execute(delete(Conversation).where(Conversation.id == messages[by_text["重复的重复的重复"]]))
    assert await searched(db, "again") == set()
    assert await searched(db, "goodbye") == {messages[by_text["hello again"]]}
    assert await searched(db, "abc") == set() and await searched(db, "重复的") == set()
    assert await searched(db, "hello") == {messages[by_text["Hello World, ORDER #A-77 shipped"]]}
    if db.is_sqlite:  # the external-content index agrees with the table, row by row
        async with db.session() as session:
            await session.execute(text("INSERT INTO message_fts (message_fts, rank) VALUES ('integrity-check', 1)"))


async def test_sqlite_search_uses_the_trigram_index(db: Database, box: SecretBox) -> None:
    await seed(db, box, TEXTS)
    async with db.sessions() as session:
        indexed = await search.message_index(session)
        if not db.is_sqlite:
            assert indexed is False  # PostgreSQL: pg_trgm serves ILIKE itself (0004)
            return
        assert indexed is _trigram_available()
        grams = await search.plan_grams(session, "hello")

        async def explain(q: str, plan: search.TextPlan) -> str:
            query = browse.conversation_query(
                browse.ConversationFilter(q=q), after=None, limit=10, name_grams=grams, text_plan=plan
            )
            compiled = query.compile(session.bind, compile_kwargs={"literal_binds": True})
            return " | ".join(row[-1] for row in await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))

        assert await search.plan_text(session, "hello") is search.TextPlan.CANDIDATES
        candidates = await explain("hello", search.TextPlan.CANDIDATES)
        assert "VIRTUAL TABLE INDEX" in candidates and "SCAN messages" not in candidates, candidates
        assert await search.plan_text(session, "he") is search.TextPlan.SCAN
        scan = await explain("he", search.TextPlan.SCAN)  # 1–2 characters: still the scan
        assert "VIRTUAL TABLE INDEX" not in scan and "SCAN messages" in scan, scan
        # a common q: conversations in page order, each probed through its messages' index
        walk = await explain("hello", search.TextPlan.WALK)
        assert "CORRELATED" in walk and "ix_messages_conversation_id_id" in walk, walk
        assert "SCAN messages" not in walk and "TEMP B-TREE" not in walk, walk


def _trigram_available() -> bool:
    import importlib

    return importlib.import_module("migrations.versions.20261122_0005_message_fts").trigram_available()


def test_upgrade_indexes_the_messages_already_stored(tmp_path: Path, box: SecretBox) -> None:
    url, cleanup = fresh_database_url(tmp_path)

    async def seeded() -> None:
        # the current models write columns later migrations add: lend them for the seeding only
        later = [
            ("conversations", "state_checked_at", "TIMESTAMP"),
            ("jobs", "lane", "VARCHAR(64)"),
            ("conversations", "operator_id", "BIGINT"),
            ("conversations", "last_message_id", "BIGINT"),
            ("conversations", "incoming_count", "INTEGER"),
            ("conversations", "waiting_since", "TIMESTAMP"),
            ("messages", "operator_id", "BIGINT"),
        ]
        db = Database(url)
        try:
            async with db.engine.begin() as connection:
                for table, column, type_ in later:
                    await connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {type_}"))
            await seed(db, box, TEXTS)
            async with db.engine.begin() as connection:
                for table, column, _ in later:
                    await connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        finally:
            await db.dispose()

    async def check() -> None:
        db = Database(url)
        try:
            assert await searched(db, "ORDER #a-7") == await scanned(db, "ORDER #a-7") != set()
            async with db.sessions() as session:
                assert await search.message_index(session) is (db.is_sqlite and _trigram_available())
        finally:
            await db.dispose()

    try:
        migrate.upgrade(url, "0004_inbox_reads")
        asyncio.run(seeded())
        migrate.upgrade(url)  # 0005 builds the index over what is there
        asyncio.run(check())
    finally:
        cleanup()


async def test_messages_the_sync_stores_are_found(db: Database) -> None:
    """The bulk write path (sync pages, executemany) maintains the index like any insert."""
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id = await h.wecom_channel()
        kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
        customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
        for text_ in ("where is parcel SF1234?", "退款申请已提交", "thanks"):
            await h.driver.wecom_customer_send(CORP, kf, customer, content=text_)
        assert await h.runtime.syncer.sync_stream(channel_id, kf) == 3
        assert len(await searched(db, "parcel sf12")) == 1
        assert await searched(db, "申请已") == await searched(db, "parcel sf12")
        assert await searched(db, "SF9") == set()
