"""Imported history becomes the conversations that happened: MP session closes where msgrecord lists
them, else an idle gap (`gap_hours`), across import windows and runs, not one conversation per day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.db.models import Conversation, Message
from gateway.db.repositories.channels import ChannelRepository
from gateway.migrate.history import ImportSummary, describe, import_history
from gateway.migrate.records import split, to_rows
from gateway.wechat.mp_kefu_types import MsgRecord
from kefu_sim import SimClock
from tests.conftest import TEST_SECRET_KEY
from tests.harness import SIM, Harness, harness

APPID = "wxgrouping00001"
SECRET = "mp-grouping-secret"
KF = "kf1@gh_group"
START = datetime(2024, 5, 1, 20, tzinfo=UTC)  # 20:00: a conversation runs past midnight, across two windows


@pytest.fixture
async def mp(db) -> AsyncIterator[tuple[Harness, int]]:
    async with harness(db, TEST_SECRET_KEY, start=False, clock=SimClock(START.timestamp(), frozen=True)) as h:
        async with h.db.session() as session:
            row = await ChannelRepository(session, h.runtime.box).create(
                kind="mp",
                name="oa-group",
                app_id=APPID,
                secrets={"secret": SECRET, "token": "MpToken1"},
                settings={"api_base": f"{SIM}/mp", "callback_mode": "plain"},
            )
        await h.driver.mp_create_app(appid=APPID, secret=SECRET, wechat_id="gh_group", transfer_to_kf=True)
        channel = await h.runtime.channels.get(row.id)
        await channel.client.add_account(KF, "kf1")
        await h.driver.mp_kf_bind(APPID, KF, "wx_kf_1")
        await h.driver.mp_kf_online(APPID, KF, True)
        yield h, row.id


async def _conversations(h: Harness) -> list[list[str]]:
    """Each conversation's message contents (None for media/activity shown as the type), oldest first."""
    async with h.db.sessions() as session:
        conversations = list(await session.scalars(select(Conversation).order_by(Conversation.created_at)))
        return [
            [
                m.content or m.content_type
                for m in await session.scalars(
                    select(Message).where(Message.conversation_id == c.id).order_by(Message.sent_at, Message.id)
                )
            ]
            for c in conversations
        ]


async def _chat(h: Harness, openid: str, *lines: str, close: bool = True) -> None:
    for line in lines:
        await h.driver.mp_user_text(APPID, openid, line)
        await h.driver.advance(60)
    await h.driver.mp_kf_accept(APPID, KF, openid)
    await h.driver.mp_kf_send(APPID, KF, openid, text={"content": f"re: {lines[-1]}"})
    if close:
        await h.driver.mp_kf_close(APPID, KF, openid)


async def test_idle_gap_splits_and_a_conversation_spans_midnight(mp) -> None:
    h, channel_id = mp
    openid = (await h.driver.mp_add_follower(APPID))["openid"]
    await _chat(h, openid, "evening")  # 20:00
    await h.driver.advance(5 * 3600)  # 01:0x next day: 5 h < 6 h, same conversation, second window
    await _chat(h, openid, "after midnight")
    await h.driver.advance(7 * 3600)  # 08:0x: 7 h > 6 h, a new one
    await _chat(h, openid, "morning")
    until = START + timedelta(days=2)
    summary = await import_history(h.runtime.db, h.runtime.channels, channel_id, START, until, profiles=False)
    assert summary.windows == 2 and summary.conversations == 2
    assert await _conversations(h) == [
        ["evening", "re: evening", "after midnight", "re: after midnight"],
        ["morning", "re: morning"],
    ]


async def test_a_wider_gap_joins_and_runs_split_in_two_continue_one_conversation(mp) -> None:
    h, channel_id = mp
    openid = (await h.driver.mp_add_follower(APPID))["openid"]
    await _chat(h, openid, "one")
    await h.driver.advance(8 * 3600)
    await _chat(h, openid, "two")
    # two runs: the first ends between the two chats, the second starts there; 12 h gap joins them
    middle = START + timedelta(hours=4)
    await import_history(h.runtime.db, h.runtime.channels, channel_id, START, middle, gap_hours=12, profiles=False)
    await import_history(
        h.runtime.db, h.runtime.channels, channel_id, middle, START + timedelta(days=1), gap_hours=12, profiles=False
    )
    assert await _conversations(h) == [["one", "re: one", "two", "re: two"]]


async def test_session_records_split_at_each_close_whatever_the_gap(mp) -> None:
    h, channel_id = mp
    await h.driver.mp_configure(APPID, session_records=True)
    openid = (await h.driver.mp_add_follower(APPID))["openid"]
    await _chat(h, openid, "first", close=False)
    await h.driver.advance(10 * 3600)  # a long pause inside one open session: still one conversation
    await h.driver.mp_user_text(APPID, openid, "still there?")
    await h.driver.mp_kf_send(APPID, KF, openid, text={"content": "yes"})
    await h.driver.mp_kf_close(APPID, KF, openid)
    await h.driver.advance(60)  # a minute later, a new session
    await _chat(h, openid, "second")
    summary = await import_history(
        h.runtime.db, h.runtime.channels, channel_id, START, START + timedelta(days=1), profiles=False
    )
    assert summary.conversations == 2
    first, second = await _conversations(h)
    assert first == ["first", "session_accepted", "re: first", "still there?", "yes", "session_closed"]
    assert second == ["second", "session_accepted", "re: second", "session_closed"]


def test_split_by_gap_and_by_close() -> None:
    def rec(t: int, code: int = 2003, text: str = "x") -> MsgRecord:
        return MsgRecord(openid="o", opercode=code, text=f"{text}{t}", time=t, worker="")

    rows = to_rows([rec(0), rec(100), rec(100 + 3601), rec(100 + 3601 + 5)])
    assert [len(g) for g in split(rows, 3600)] == [2, 2]
    assert [len(g) for g in split(rows, 7200)] == [4]
    sessions = to_rows([rec(0), rec(1, 1001), rec(2, 1004), rec(3), rec(99_999)])
    assert [len(g) for g in split(sessions, 60)] == [3, 2]  # with session codes the gap does not cut


def test_the_summary_line_counts_every_kind() -> None:
    summary = ImportSummary(
        new_messages=5, conversations=2, present=3, by_gateway=1, live=4, records=13, windows=2, profiles=0
    )
    line = describe(summary)
    assert "\n" not in line
    for part in ("5 new messages in 2 new conversations", "3 already present", "1 sent by the gateway", "4 skipped"):
        assert part in line
