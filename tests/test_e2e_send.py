"""Replies queued through gateway.outbound.replies reach the simulated customer exactly once, or fail with a reason."""

from __future__ import annotations

from sqlalchemy import select

from gateway.db.models import Conversation, Message
from gateway.errors import ReplyNotAllowed
from gateway.outbound.replies import queue_message
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness

CORP = "wwcorp0001"


async def _conversation(h) -> Conversation:
    async with h.db.sessions() as session:
        return await session.scalar(select(Conversation))


async def _wecom_customer_wrote(h) -> tuple[str, str, int]:
    await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="hi")

    async def stored() -> bool:
        return await _conversation(h) is not None

    await h.settle(stored)
    return kf, customer, (await _conversation(h)).id


async def _queue(h, conversation_id: int, text: str) -> int:
    async with h.db.session() as session:
        message = await queue_message(session, conversation_id, {"content_type": "text", "content": text})
        return message.id


async def _message(h, message_id: int) -> Message:
    async with h.db.sessions() as session:
        return await session.get(Message, message_id)


async def test_wecom_reply_is_delivered_once_with_our_msgid(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        _, customer, conversation_id = await _wecom_customer_wrote(h)
        message_id = await _queue(h, conversation_id, "hello from the CRM")
        await h.runtime.jobs.drain()
        message = await _message(h, message_id)
        assert message.status == "sent"
        deliveries = [d for d in await h.driver.deliveries(platform="wecom") if d["touser"] == customer]
        assert [d["msgid"] for d in deliveries] == [message.source_id]
        assert (await _conversation(h)).replies_since_incoming == 1


async def test_transient_platform_failures_still_deliver_once(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        _, customer, conversation_id = await _wecom_customer_wrote(h)
        await h.driver.add_fault("/cgi-bin/kf/send_msg", "http_status", 502, remaining=2)
        await h.driver.add_fault("/cgi-bin/kf/send_msg", "errcode", -1, remaining=1)
        message_id = await _queue(h, conversation_id, "persistent")
        for _ in range(5):  # the runner retries with backoff; make retries due immediately
            await h.runtime.jobs.drain()
            async with h.db.session() as session:
                from sqlalchemy import update

                from gateway.db.models import Job
                from gateway.db.types import utcnow

                await session.execute(update(Job).where(Job.status == "pending").values(run_at=utcnow()))
        assert (await _message(h, message_id)).status == "sent"
        deliveries = [d for d in await h.driver.deliveries(platform="wecom") if d["touser"] == customer]
        assert len(deliveries) == 1


async def test_sixth_reply_is_refused_before_calling_the_platform(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        _, _, conversation_id = await _wecom_customer_wrote(h)
        for n in range(5):
            await _queue(h, conversation_id, f"r{n}")
        await h.runtime.jobs.drain()
        calls = len(await h.driver.calls(path="/cgi-bin/kf/send_msg"))
        try:
            await _queue(h, conversation_id, "one too many")
        except ReplyNotAllowed as exc:
            assert exc.reason == "quota_exhausted"
        else:
            raise AssertionError("the sixth reply was accepted")
        assert len(await h.driver.calls(path="/cgi-bin/kf/send_msg")) == calls == 5


async def test_permanent_refusal_marks_the_message_failed_with_errcode(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        _, _, conversation_id = await _wecom_customer_wrote(h)
        await h.driver.add_fault("/cgi-bin/kf/send_msg", "errcode", 95018, remaining=1)
        message_id = await _queue(h, conversation_id, "doomed")
        await h.runtime.jobs.drain()
        message = await _message(h, message_id)
        assert (message.status, message.error_code) == ("failed", "95018")
        assert message.content_attributes.get("policy_reason") == "state_forbids_api"


async def test_mp_reply_goes_out_as_the_assigned_kf(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        appid = "wxapp0000000001"
        await h.mp_channel(appid=appid)
        follower = await h.driver.mp_add_follower(appid)
        openid = follower["openid"]
        await h.driver.mp_user_text(appid, openid, "hello MP")

        async def stored() -> bool:
            return await _conversation(h) is not None

        await h.settle(stored)
        conversation_id = (await _conversation(h)).id
        message_id = await _queue(h, conversation_id, "hi from MP")
        await h.runtime.jobs.drain()
        assert (await _message(h, message_id)).status == "sent"
        deliveries = [d for d in await h.driver.deliveries(platform="mp") if d["touser"] == openid]
        assert len(deliveries) == 1


async def test_sends_are_paced_per_channel(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        _, _, conversation_id = await _wecom_customer_wrote(h)
        seen: list[object] = []
        real = h.runtime.pacing.acquire

        async def counting(key: object) -> float:
            seen.append(key)
            return await real(key)

        h.runtime.pacing.acquire = counting  # type: ignore[method-assign]
        for n in range(3):
            await _queue(h, conversation_id, f"m{n}")
        await h.runtime.jobs.drain()
        channel_id = (await h.runtime.syncer.known_streams())[0][0]
        assert seen == [channel_id] * 3
