"""History import meeting live traffic, end to end through the simulator: every message exactly once.

An MP account talks for a while without callbacks (history only msgrecord knows), then its callbacks
are pointed at the gateway (live capture begins), the gateway replies through custom/send, and the
import runs over the whole range: before, after, again, overlapping and concurrently with callbacks.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.db.models import Conversation, Message, SyncCursor
from gateway.db.repositories.apikeys import create_key
from gateway.errors import GatewayError
from gateway.migrate.history import import_history
from gateway.outbound.replies import queue_message
from kefu_sim import SimClock
from tests.conftest import TEST_SECRET_KEY
from tests.harness import GATEWAY, Harness, harness

APPID = "wxlivehistory01"
KF = "alice@gh_live"


@dataclass
class World:
    h: Harness
    channel_id: int
    since: datetime
    followers: list[str]
    history_texts: list[str]  # everything said before live capture began (customers and the kf)


async def _texts(h: Harness) -> Counter[tuple[str, str]]:
    async with h.db.sessions() as session:
        rows = await session.execute(select(Message.message_type, Message.content))
        return Counter((t, c) for t, c in rows)


async def _say(h: Harness, openid: str, text: str, log: list[str] | None = None) -> None:
    await h.driver.mp_user_text(APPID, openid, text)
    if log is not None:
        log.append(text)


@pytest.fixture
async def world(db) -> AsyncIterator[World]:
    """Two days of history without callbacks, then live capture, three live messages and a gateway reply."""
    clock = SimClock(time.time() - 2 * 86400)
    async with harness(db, TEST_SECRET_KEY, start=False, clock=clock) as h:
        channel_id = await h.mp_channel(appid=APPID, mode="plain", wechat_id="gh_live")
        await h.driver.mp_configure(APPID, callback_url=None, transfer_to_kf=True)  # history: nobody listens
        channel = await h.runtime.channels.get(channel_id)
        await channel.client.add_account(KF, "Alice")
        await h.driver.mp_kf_bind(APPID, KF, "wx_kf_alice")
        await h.driver.mp_kf_online(APPID, KF, True)
        since = datetime.fromtimestamp(clock.now(), tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        followers = [(await h.driver.mp_add_follower(APPID, nickname=f"F{n}"))["openid"] for n in range(2)]
        said: list[str] = []
        for n, openid in enumerate(followers):
            await _say(h, openid, f"history {n} a", said)
            await _say(h, openid, f"history {n} b", said)
            await h.driver.mp_kf_accept(APPID, KF, openid)
            await h.driver.mp_kf_send(APPID, KF, openid, text={"content": f"kf answer {n}"})
            said.append(f"kf answer {n}")
            await h.driver.mp_kf_close(APPID, KF, openid)
        await h.driver.advance(8 * 3600)  # a second conversation for follower 0, after the idle gap
        await _say(h, followers[0], "history 0 later", said)
        # catch the simulator up with real time: the gateway stamps its own sends with the real clock
        await h.driver.advance(time.time() - clock.now())
        await h.driver.mp_configure(APPID, callback_url=f"{GATEWAY}/callbacks/{channel_id}")  # live from here
        for n in range(3):
            await _say(h, followers[0], f"live {n}")
        await h.driver.flush_callbacks()
        async with h.db.session() as session:
            live = await session.scalar(select(Conversation).where(Conversation.active_key.is_not(None)))
            assert live is not None
            await queue_message(session, live.id, {"content_type": "text", "content": "gateway reply"})
        await h.runtime.jobs.drain()
        yield World(h, channel_id, since, followers, said)


def _exactly_once(texts: Counter[tuple[str, str]], world: World) -> None:
    for text in world.history_texts:
        kind = "outgoing" if text.startswith("kf answer") else "incoming"
        assert texts[(kind, text)] == 1, text
    for n in range(3):
        assert texts[("incoming", f"live {n}")] == 1
    assert texts[("outgoing", "gateway reply")] == 1
    assert sum(texts.values()) == len(world.history_texts) + 3 + 1


async def test_live_import_reimport_and_overlap_store_each_message_once(world: World) -> None:
    h = world.h
    first = await import_history(h.runtime.db, h.runtime.channels, world.channel_id, world.since, profiles=False)
    assert first.new_messages == len(world.history_texts)
    assert (first.live, first.by_gateway, first.present) == (3, 1, 0)
    assert first.live_since is not None
    assert first.conversations == 3  # follower 0: two (8 h apart), follower 1: one
    _exactly_once(await _texts(h), world)

    again = await import_history(h.runtime.db, h.runtime.channels, world.channel_id, world.since, profiles=False)
    assert again.new_messages == 0
    async with h.db.session() as session:  # forget where the import stopped: a full re-walk
        await session.delete(await session.get(SyncCursor, (world.channel_id, "msgrecord")))
    walk = await import_history(h.runtime.db, h.runtime.channels, world.channel_id, world.since, profiles=False)
    assert (walk.new_messages, walk.present, walk.live, walk.by_gateway) == (0, len(world.history_texts), 3, 1)
    overlap = await import_history(
        h.runtime.db, h.runtime.channels, world.channel_id, world.since + timedelta(hours=12), profiles=False
    )
    assert overlap.new_messages == 0 and overlap.conversations == 0
    _exactly_once(await _texts(h), world)


async def test_imported_conversations_are_resolved_marked_and_open_no_reply_window(world: World) -> None:
    h = world.h
    await import_history(h.runtime.db, h.runtime.channels, world.channel_id, world.since, profiles=False)
    async with h.db.sessions() as session:
        imported = list(await session.scalars(select(Message).where(Message.source_id.like("msgrecord:%"))))
        live = list(await session.scalars(select(Message).where(Message.source_id.not_like("msgrecord:%"))))
        conversations = {m.conversation_id for m in imported}
        rows = [await session.get(Conversation, c) for c in conversations]
    assert imported and all(m.content_attributes["imported"] is True for m in imported)
    assert not any(m.content_attributes.get("imported") for m in live)
    assert not conversations & {m.conversation_id for m in live}  # history never joins the live conversation
    assert all(c.status == "resolved" and c.active_key is None and c.last_incoming_at is None for c in rows)
    assert all(c.incoming_count > 0 and c.last_message_id for c in rows)
    for conversation in rows:  # the policy refuses a reply into history
        with pytest.raises(GatewayError):
            async with h.db.session() as session:
                await queue_message(session, conversation.id, {"content_type": "text", "content": "late"})


async def test_the_gateways_reply_is_recognised_without_a_live_mark(world: World) -> None:
    """The live customer messages are gone (e.g. deleted), so no mark protects the reply: its content,
    contact and time still tell it is the gateway's own, stored when it was sent."""
    h = world.h
    async with h.db.session() as session:
        for message in await session.scalars(select(Message).where(Message.message_type == "incoming")):
            await session.delete(message)
    summary = await import_history(
        h.runtime.db, h.runtime.channels, world.channel_id, world.since, settle=0, profiles=False
    )
    assert summary.live_since is None
    assert (summary.by_gateway, summary.live) == (1, 0)
    assert summary.new_messages == len(world.history_texts) + 3  # the deleted live messages come back as history
    texts = await _texts(h)
    assert texts[("outgoing", "gateway reply")] == 1
    assert all(texts[("incoming", f"live {n}")] == 1 for n in range(3))


async def test_the_api_shows_imported_messages(world: World) -> None:
    h = world.h
    await import_history(h.runtime.db, h.runtime.channels, world.channel_id, world.since, profiles=False)
    async with h.db.session() as session:
        _, key = await create_key(session, name="t", scope="admin")
        conversation_id = await session.scalar(
            select(Message.conversation_id).where(Message.source_id.like("msgrecord:%")).limit(1)
        )
    answer = await h.client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    items = body["data"]
    assert items and all(m["content_attributes"]["imported"] is True for m in items)


async def test_import_concurrent_with_live_callbacks_stores_each_once(world: World) -> None:
    h = world.h
    more: list[str] = []

    async def callbacks() -> None:
        for n in range(5):
            await _say(h, world.followers[n % 2], f"during {n}", more)
            await h.driver.flush_callbacks()
            await asyncio.sleep(0)

    async def imports() -> None:
        for _ in range(2):
            await import_history(h.runtime.db, h.runtime.channels, world.channel_id, world.since, profiles=False)

    await asyncio.gather(imports(), callbacks(), imports())
    texts = await _texts(h)
    for text in more:
        assert texts[("incoming", text)] == 1, text
    assert sum(texts.values()) == len(world.history_texts) + 3 + 1 + len(more)
    _exactly_once(texts - Counter({("incoming", t): 1 for t in more}), world)
