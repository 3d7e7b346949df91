"""MP msgrecord history import against the simulator: once, idempotent, resumable, agents, identity merge."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from gateway import cli
from gateway.db.models import Agent, ContactIdentity, Conversation, Message, SyncCursor
from gateway.db.repositories.channels import ChannelRepository
from gateway.domain import (
    Batch,
    ContactProfile,
    ContentType,
    InboundMessage,
    MessageType,
    SenderType,
    WindowTrigger,
)
from gateway.inbound.ingest import ingest
from gateway.migrate.history import Window, import_history
from gateway.migrate.records import source_id, to_rows
from gateway.wechat.mp_kefu_types import MsgRecord
from kefu_sim import SimClock
from tests.conftest import TEST_SECRET_KEY
from tests.harness import SIM, Harness, harness

APPID = "wxhistory000001"
SECRET = "mp-history-secret-01"
START = datetime(2024, 3, 1, tzinfo=UTC)
DAYS = 3
KFS = ("alice@gh_hist", "bob@gh_hist")


async def _mp_channel(h: Harness) -> int:
    """An MP account with no callback URL (its live traffic never reached us) and its channel row."""
    async with h.db.session() as session:
        row = await ChannelRepository(session, h.runtime.box).create(
            kind="mp",
            name="oa-history",
            app_id=APPID,
            secrets={"secret": SECRET, "token": "MpToken1"},
            settings={"api_base": f"{SIM}/mp", "callback_mode": "plain"},
        )
        channel_id = row.id
    await h.driver.mp_create_app(appid=APPID, secret=SECRET, wechat_id="gh_hist", transfer_to_kf=True)
    return channel_id


@pytest.fixture
async def history(db) -> AsyncIterator[tuple[Harness, int, list[dict]]]:
    """Three followers write and two kfs answer over DAYS days on a frozen clock starting at midnight.

    Day n's traffic happens at exactly START + n days, i.e. on the boundary second shared by two
    import windows; a follower also sends the same text twice in one second.
    """
    async with harness(db, TEST_SECRET_KEY, start=False, clock=SimClock(START.timestamp(), frozen=True)) as h:
        channel_id = await _mp_channel(h)
        channel = await h.runtime.channels.get(channel_id)
        for n, account in enumerate(KFS):
            await channel.client.add_account(account, account.split("@")[0])
            await h.driver.mp_kf_bind(APPID, account, f"wx_kf_{n}")
            await h.driver.mp_kf_online(APPID, account, True)
        followers = [
            (await h.driver.mp_add_follower(APPID, nickname=f"F{n}", unionid=f"union-{n}"))["openid"] for n in range(3)
        ]
        for day in range(DAYS):
            for n, openid in enumerate(followers):
                kf = KFS[(n + day) % 2]
                await h.driver.mp_user_text(APPID, openid, f"day {day} hello from {n}")
                await h.driver.mp_user_text(APPID, openid, "same")
                await h.driver.mp_user_text(APPID, openid, "same")
                await h.driver.mp_kf_accept(APPID, kf, openid)
                await h.driver.mp_user_message(APPID, openid, "image")
                await h.driver.mp_kf_send(APPID, kf, openid, text={"content": f"reply {day}/{n}"})
                await h.driver.mp_kf_close(APPID, kf, openid)
            await h.driver.advance(24 * 3600)
        records = [
            {"openid": r.openid, "opercode": r.opercode, "text": r.text, "time": r.time, "worker": r.worker}
            for r in h.world.state.mp_apps[APPID].records
        ]
        yield h, channel_id, records


async def _count(h: Harness, model, *where) -> int:
    async with h.db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def _rows(h: Harness) -> list[tuple]:
    async with h.db.sessions() as session:
        rows = await session.execute(
            select(
                Message.source_id,
                Message.message_type,
                Message.sender_type,
                Message.content_type,
                Message.content,
                Agent.source_id,
                Message.sent_at,
            )
            .outerjoin(Agent, Agent.id == Message.sender_agent_id)
            .order_by(Message.source_id)
        )
        return [tuple(r) for r in rows]


UNTIL = START + timedelta(days=DAYS)  # the last traffic (day DAYS-1) is before this


async def test_every_record_imported_once_and_rerun_imports_nothing(history) -> None:
    h, channel_id, records = history
    assert len(records) == DAYS * 3 * 5
    windows: list[Window] = []
    summary = await import_history(h.runtime.db, h.runtime.channels, channel_id, START, UNTIL, on_window=windows.append)
    assert summary.windows == DAYS == len(windows)
    assert summary.records == len(records)
    assert summary.new_messages == len(records) == await _count(h, Message)
    assert (summary.present, summary.live, summary.by_gateway) == (0, 0, 0)
    # the stored rows are exactly the simulator's records, content types mapped
    rows = await _rows(h)
    assert len({r[0] for r in rows}) == len(records)
    assert sum(1 for r in rows if r[3] == "image" and r[4] is None) == DAYS * 3
    assert sum(1 for r in rows if r[4] == "same") == DAYS * 3 * 2  # identical records in one second kept apart

    again = await import_history(h.runtime.db, h.runtime.channels, channel_id, START, UNTIL)
    assert (again.new_messages, again.windows) == (0, 0)  # the cursor says it is done
    assert await _count(h, Message) == len(records)

    async with h.db.session() as session:  # forget the cursor: a full re-walk still stores nothing new
        await session.delete(await session.get(SyncCursor, (channel_id, "msgrecord")))
    walk = await import_history(h.runtime.db, h.runtime.channels, channel_id, START, UNTIL)
    assert walk.new_messages == 0
    assert walk.present == len(records)
    assert await _rows(h) == rows


async def test_outgoing_records_carry_the_kf_and_imports_leave_reply_windows_closed(history) -> None:
    h, channel_id, records = history
    await import_history(h.runtime.db, h.runtime.channels, channel_id, START, UNTIL)
    rows = await _rows(h)
    outgoing = [r for r in rows if r[1] == "outgoing"]
    assert len(outgoing) == DAYS * 3
    assert all(r[2] == "agent" and r[5] in KFS for r in outgoing)
    expected = {(r["openid"], r["time"], r["text"], r["worker"]) for r in records if r["opercode"] == 2002}
    async with h.db.sessions() as session:
        stored = {
            (m.raw["openid"], m.raw["time"], m.raw["text"], m.raw["worker"])
            for m in await session.scalars(select(Message).where(Message.message_type == "outgoing"))
        }
        assert stored == expected
        incoming = list(await session.scalars(select(Message).where(Message.message_type == "incoming")))
        assert all(m.sender_agent_id is None and m.sender_type == "contact" for m in incoming)
        conversations = list(await session.scalars(select(Conversation)))
    # one conversation per follower per day (a day apart is longer than the 6 h gap), all resolved,
    # no reply window open
    assert len(conversations) == 3 * DAYS
    assert {c.status for c in conversations} == {"resolved"}
    assert all(c.last_incoming_at is None and c.active_key is None for c in conversations)


async def test_a_live_conversation_is_left_alone(history) -> None:
    h, channel_id, records = history
    openid = records[0]["openid"]
    async with h.db.session() as session:  # the follower is talking right now (a conversation the gateway holds)
        await ingest(
            session,
            Batch(
                channel_id=channel_id,
                messages=[
                    InboundMessage(
                        source_id="4242",
                        inbox_source_id=APPID,
                        contact_source_id=openid,
                        message_type=MessageType.INCOMING,
                        sender_type=SenderType.CONTACT,
                        content_type=ContentType.TEXT,
                        sent_at=UNTIL + timedelta(hours=1),
                        content="I am here now",
                        window_trigger=WindowTrigger.USER_MESSAGE,
                    )
                ],
            ),
        )
    await import_history(h.runtime.db, h.runtime.channels, channel_id, START, UNTIL, profiles=False)
    async with h.db.sessions() as session:
        live = await session.scalar(select(Conversation).where(Conversation.active_key.is_not(None)))
        assert live is not None and live.status == "pending"
        count = select(func.count()).select_from(Message).where(Message.conversation_id == live.id)
        assert await session.scalar(count) == 1  # history never joins (nor resolves) the live conversation
        history_count = await session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.active_key.is_(None))
        )
    assert history_count == 3 * DAYS


async def test_interrupted_import_resumes_with_the_same_rows(history) -> None:
    h, channel_id, records = history

    class Boom(Exception):
        pass

    def fail_after_first(window: Window) -> None:
        raise Boom(window)

    with pytest.raises(Boom):
        await import_history(h.runtime.db, h.runtime.channels, channel_id, START, UNTIL, on_window=fail_after_first)
    first = await _count(h, Message)
    assert 0 < first < len(records)
    async with h.db.sessions() as session:
        cursor = await session.get(SyncCursor, (channel_id, "msgrecord"))
        assert cursor is not None
        assert json.loads(cursor.cursor) == {"since": int(START.timestamp()), "done": int(START.timestamp()) + 86400}

    summary = await import_history(h.runtime.db, h.runtime.channels, channel_id, START, UNTIL)
    assert summary.resumed_from == int((START + timedelta(days=1)).timestamp())
    assert summary.windows == DAYS - 1
    assert summary.new_messages == len(records) - first
    interrupted = await _rows(h)

    # exactly the rows an uninterrupted import makes: one per record, same ids, same directions
    expected = {(m.source_id, str(m.message_type)) for m in to_rows([MsgRecord(**r) for r in records])}
    assert {(r[0], r[1]) for r in interrupted} == expected
    assert len(interrupted) == len(records)


async def test_identity_merge_with_wecom_identities(history) -> None:
    h, channel_id, _ = history
    async with h.db.session() as session:  # the same people, already known through WeCom
        wecom = await ChannelRepository(session, h.runtime.box).create(
            kind="wecom", name="corp", app_id="wwcorp", secrets={"secret": "s"}, settings={}
        )
        await ingest(
            session,
            Batch(
                channel_id=wecom.id,
                profiles=[ContactProfile(source_id=f"wm_ext_{n}", unionid=f"union-{n}") for n in range(3)],
            ),
        )
    summary = await import_history(h.runtime.db, h.runtime.channels, channel_id, START, UNTIL)
    assert summary.profiles == 3
    async with h.db.sessions() as session:
        identities = list(await session.scalars(select(ContactIdentity)))
        conversations = list(await session.scalars(select(Conversation)))
    by_contact: dict[int, set[str]] = {}
    for identity in identities:
        by_contact.setdefault(identity.contact_id, set()).add(identity.source_id)
    merged = [ids for ids in by_contact.values() if len(ids) == 2]
    assert len(merged) == 3  # each MP openid joined its WeCom identity's contact
    contacts_of_mp = {i.contact_id for i in identities if i.channel_id == channel_id}
    assert {c.contact_id for c in conversations} <= contacts_of_mp
    assert all(i.unionid for i in identities if i.channel_id == channel_id)


def test_source_id_is_deterministic() -> None:
    record = MsgRecord(openid="o1", opercode=2002, text="hi", time=100, worker="a@gh")
    assert source_id(record) == source_id(MsgRecord(openid="o1", opercode=2002, text="hi", time=100, worker="a@gh"))
    assert source_id(record) != source_id(MsgRecord(openid="o1", opercode=2003, text="hi", time=100, worker="a@gh"))
    assert len(source_id(record)) <= 128  # fits messages.source_id
    twins = to_rows([record, record])
    assert twins[0].source_id != twins[1].source_id
    assert twins[1].source_id == source_id(record) + ":1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--channel", "1"], "Missing option '--since'"),
        (["--channel", "1", "--since", "2024/03/01"], "is not a date"),
        (["--channel", "1", "--since", "2024-03-02", "--until", "2024-03-01"], "is before --since"),
        (["--since", "2024-03-01"], "Missing option '--channel'"),
    ],
)
def test_cli_import_arguments(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli.main, ["import", "mp-history", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_import_refuses_a_non_mp_channel(tmp_path, monkeypatch) -> None:
    """The command runs against the configured database: an unknown channel is a one-line error."""
    from gateway.db import migrate
    from gateway.settings import get_settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", url)
    monkeypatch.setenv("GATEWAY_SECRET_KEY", TEST_SECRET_KEY)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.main, ["import", "mp-history", "--channel", "7", "--since", "2024-03-01", "-q"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "channel 7 not found" in result.output
