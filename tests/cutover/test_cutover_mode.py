"""Cutover mode on an MP channel: a follower's first message in a conversation is answered with their
personal WeCom kf link, within the reply policy; the channel says it is migrating; off ends it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gateway.cutover.apply import apply_plan
from gateway.cutover.links import auto_reply
from gateway.cutover.mode import set_cutover
from gateway.cutover.plan import propose
from gateway.db.cutover import CutoverInvitation
from gateway.db.models import Channel, Conversation, Message
from gateway.db.types import utcnow
from tests.api.support import make_keys
from tests.conftest import TEST_SECRET_KEY
from tests.cutover.support import APPID, setup
from tests.harness import Harness, harness


async def _linked_replies(h: Harness, openid: str) -> list[str]:
    deliveries = await h.driver.deliveries(platform="mp", touser=openid)
    return [str(d["payload"]) for d in deliveries if "scene_param=mp" in str(d["payload"])]


async def test_cutover_mode_answers_new_conversations_with_the_personal_link(db) -> None:
    async with harness(db, TEST_SECRET_KEY) as h:
        s = await setup(h)
        plan = (await propose(h.db, h.runtime.channels, s.mp, s.wecom, {"Carol": "bob"})).plan
        await apply_plan(h.db, h.runtime.channels, plan)
        line = await set_cutover(h.db, s.mp, plan, "我们搬家了 {name}: {link}")
        assert "cutover mode on" in line
        keys = await make_keys(h.db)
        channel = (
            await h.client.get(f"/api/v1/channels/{s.mp}", headers={"Authorization": f"Bearer {keys['admin']}"})
        ).json()
        assert channel["settings"]["cutover"]["plan"] == plan.name
        assert any("migrating to WeCom kf" in w for w in channel["warnings"])

        amy = (await h.driver.mp_add_follower(APPID, unionid="U-amy", nickname="amy"))["openid"]
        quiet = (await h.driver.mp_add_follower(APPID, unionid="U-quiet", nickname="quiet"))["openid"]
        await h.driver.mp_user_text(APPID, amy, "hello?")

        async def answered() -> bool:
            return len(await _linked_replies(h, amy)) == 1

        await h.settle(answered)
        await h.driver.mp_user_text(APPID, amy, "anyone?")  # same conversation: no second link

        async def both_stored() -> bool:
            async with h.db.sessions() as session:
                n = len(list(await session.scalars(select(Message.id).where(Message.message_type == "incoming"))))
            return n == 2

        await h.settle(both_stored)
        assert len(await _linked_replies(h, amy)) == 1 and "我们搬家了 " in (await _linked_replies(h, amy))[0]
        assert await _linked_replies(h, quiet) == []  # subscribed, never wrote: not answered

        async def recorded() -> bool:
            async with h.db.sessions() as session:
                invitation = await session.scalar(select(CutoverInvitation))
                return await session.scalar(select(Message.status).where(Message.id == invitation.message_id)) == "sent"

        await h.settle(recorded)
        async with h.db.sessions() as session:
            invitation = await session.scalar(select(CutoverInvitation))
            reply = await session.get(Message, invitation.message_id)
            conversation = await session.get(Conversation, reply.conversation_id)
        assert invitation.via == "auto_reply"
        assert conversation.replies_since_incoming == 0  # the second message restarted the grant
        assert invitation.token in (await _linked_replies(h, amy))[0]
        auth = {"Authorization": f"Bearer {keys['read']}"}
        one = (await h.client.get(f"/api/v1/conversations/{conversation.id}", headers=auth)).json()
        listed = (await h.client.get("/api/v1/conversations", headers=auth)).json()["data"]
        assert one["inbox"]["migrating"] is True and {c["inbox"]["migrating"] for c in listed} == {True}

        assert "cutover mode off" in await set_cutover(h.db, s.mp, None, None)
        ken = (await h.driver.mp_add_follower(APPID, unionid="U-ken", nickname="ken"))["openid"]
        await h.driver.mp_user_text(APPID, ken, "hi")

        async def ken_stored() -> bool:
            async with h.db.sessions() as session:
                return bool(await session.scalar(select(Message.id).where(Message.content == "hi")))

        await h.settle(ken_stored)
        assert await _linked_replies(h, ken) == []
        channel = (
            await h.client.get(f"/api/v1/channels/{s.mp}", headers={"Authorization": f"Bearer {keys['admin']}"})
        ).json()
        assert "cutover" not in channel["settings"] and not any("migrating" in w for w in channel["warnings"])
        one = (await h.client.get(f"/api/v1/conversations/{conversation.id}", headers=auth)).json()
        listed = (await h.client.get("/api/v1/conversations", headers=auth)).json()["data"]
        assert one["inbox"]["migrating"] is False and {c["inbox"]["migrating"] for c in listed} == {False}


async def test_auto_reply_stays_within_the_reply_policy(db) -> None:
    async with harness(db, TEST_SECRET_KEY) as h:
        s = await setup(h)
        plan = (await propose(h.db, h.runtime.channels, s.mp, s.wecom, {"Carol": "bob"})).plan
        await apply_plan(h.db, h.runtime.channels, plan)
        amy = (await h.driver.mp_add_follower(APPID, unionid="U-amy", nickname="amy"))["openid"]
        await h.driver.mp_user_text(APPID, amy, "hello?")  # cutover mode still off: no link

        async def stored() -> bool:
            async with h.db.sessions() as session:
                return bool(await session.scalar(select(Message.id).where(Message.content == "hello?")))

        await h.settle(stored)
        await set_cutover(h.db, s.mp, plan, None)
        async with h.db.session() as session:
            conversation = await session.scalar(select(Conversation))
            cutover = (await session.get(Channel, s.mp)).settings["cutover"]
            conversation.last_incoming_at = utcnow() - timedelta(hours=49)  # the 48 h grant has lapsed
            conversation.last_event_at = utcnow() - timedelta(hours=49)
        async with h.db.session() as session:
            assert await auto_reply(session, s.mp, cutover, [conversation.id]) == 0
        async with h.db.session() as session:
            conversation = await session.get(Conversation, conversation.id)
            conversation.last_incoming_at = utcnow()
            conversation.replies_since_incoming = 5  # the grant's 5 replies are used up
        async with h.db.session() as session:
            assert await auto_reply(session, s.mp, cutover, [conversation.id]) == 0
        async with h.db.session() as session:
            conversation = await session.get(Conversation, conversation.id)
            conversation.replies_since_incoming = 4
        async with h.db.session() as session:
            assert await auto_reply(session, s.mp, cutover, [conversation.id]) == 1
        async with h.db.sessions() as session:
            outgoing = list(await session.scalars(select(Message).where(Message.message_type == "outgoing")))
        assert len(outgoing) == 1 and "scene_param=mp" in (outgoing[0].content or "")
