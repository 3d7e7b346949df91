"""MP end to end in every callback mode: messages stored once, kf session events move the conversation."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gateway.db.models import Agent, Conversation, InboundEvent, Message
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness

APPID = "wxapp0000000001"


async def count(db, model, *where) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_follower_messages_reach_sql_once(db, mode: str) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        await h.mp_channel(appid=APPID, mode=mode)
        openid = (await h.driver.mp_add_follower(APPID, nickname="Ann"))["openid"]
        await h.driver.callback_faults(duplicate_next=3)
        for n in range(3):
            await h.driver.mp_user_text(APPID, openid, f"hello {n}")
        await h.driver.mp_user_message(APPID, openid, "location", location_x=31.2, location_y=121.4, label="上海")
        await h.driver.flush_callbacks()
        incoming = await count(h.db, Message, Message.message_type == "incoming")
        assert incoming == 4
        assert all(c["state"] == "delivered" for c in await h.driver.callbacks())
        # subscribe (activity) + 4 messages, each stored as one inbound event despite the duplicates
        assert await count(h.db, InboundEvent) == 5


async def test_kf_session_events_move_status_and_assignee(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id = await h.mp_channel(appid=APPID, wechat_id="gh_oa")
        await h.driver.mp_configure(APPID, transfer_to_kf=True)
        channel = await h.runtime.channels.get(channel_id)
        for n, account in enumerate(("alice@gh_oa", "bob@gh_oa")):
            await channel.client.add_account(account, account.split("@")[0])
            await h.driver.mp_kf_bind(APPID, account, f"wx_kf_{n}")
            await h.driver.mp_kf_online(APPID, account, True)
        openid = (await h.driver.mp_add_follower(APPID))["openid"]
        await h.driver.mp_user_text(APPID, openid, "need a human")
        await h.driver.mp_kf_accept(APPID, "alice@gh_oa", openid)
        await h.driver.flush_callbacks()

        async def state() -> tuple[str, str | None]:
            async with h.db.sessions() as session:
                conversation = await session.scalar(select(Conversation).order_by(Conversation.id.desc()))
                agent = await session.get(Agent, conversation.assignee_id) if conversation.assignee_id else None
                return conversation.status, agent.source_id if agent else None

        assert await state() == ("open", "alice@gh_oa")
        await h.driver.mp_kf_switch(APPID, openid, "bob@gh_oa")
        await h.driver.flush_callbacks()
        assert await state() == ("open", "bob@gh_oa")
        await h.driver.mp_kf_close(APPID, "bob@gh_oa", openid)
        await h.driver.flush_callbacks()
        assert (await state())[0] == "resolved"
        await h.driver.mp_user_text(APPID, openid, "one more thing")
        await h.driver.flush_callbacks()
        assert await count(h.db, Conversation) == 2  # a message after resolved opens a new conversation


async def test_kf_accounts_are_agents_with_refreshed_online_status(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id = await h.mp_channel(appid=APPID, wechat_id="gh_oa")
        channel = await h.runtime.channels.get(channel_id)
        await channel.client.add_account("alice@gh_oa", "Alice")
        await h.driver.mp_kf_bind(APPID, "alice@gh_oa", "wx_kf_alice")
        await h.driver.mp_kf_online(APPID, "alice@gh_oa", True)

        async def status() -> str:
            async with h.db.sessions() as session:
                agent = await session.scalar(select(Agent).where(Agent.source_id == "alice@gh_oa"))
                return agent.status

        await h.runtime.directory.refresh_all()
        assert await status() == "online"
        await h.driver.mp_kf_online(APPID, "alice@gh_oa", False)
        await h.runtime.directory.refresh_all()
        assert await status() == "offline"
