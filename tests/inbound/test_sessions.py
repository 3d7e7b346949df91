"""Session truth with the gateway's loops running against the simulator: an auto-assignment the
platform never announces shows as `open` with the servicer within seconds."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from gateway.db.models import Agent, Conversation
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness

CORP = "wwcorp0001"


async def state(db) -> tuple[str, str | None, str | None] | None:
    async with db.sessions() as session:
        conversation = await session.scalar(select(Conversation).order_by(Conversation.id.desc()))
        if conversation is None:
            return None
        agent = await session.get(Agent, conversation.assignee_id) if conversation.assignee_id else None
        return conversation.status, conversation.platform_state, agent.source_id if agent else None


async def test_auto_assigned_session_shows_open_with_the_servicer_within_seconds(db) -> None:
    async with harness(db, TEST_SECRET_KEY) as h:
        await h.wecom_channel()
        await h.driver.wecom_add_member(CORP, "lisi", name="李四")
        kf = (await h.driver.wecom_add_kf_account(CORP, servicers=["lisi"]))["open_kfid"]
        customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
        await h.driver.wecom_enter(CORP, customer, kf, scene="web")
        written = await h.driver.wecom_customer_send(CORP, kf, customer, content="hello")
        assert written["state"] == 3 and written["servicer_userid"] == "lisi"  # the platform assigned it

        loop = asyncio.get_running_loop()
        started = loop.time()

        async def assigned() -> bool:
            return await state(h.db) == ("open", "3", "lisi")

        await h.settle(assigned, timeout=5.0)
        assert loop.time() - started < 5.0
        assert await h.driver.calls(path="/cgi-bin/kf/service_state/get")


async def test_a_session_nobody_takes_stays_pending(db) -> None:
    async with harness(db, TEST_SECRET_KEY) as h:
        await h.wecom_channel()
        kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]  # no servicers: state 0
        customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
        await h.driver.wecom_enter(CORP, customer, kf)
        await h.driver.wecom_customer_send(CORP, kf, customer, content="hello")

        async def read() -> bool:
            async with h.db.sessions() as session:
                conversation = await session.scalar(select(Conversation))
                return (
                    conversation is not None
                    and conversation.state_checked_at is not None
                    and (conversation.last_incoming_at is not None and conversation.platform_state == "0")
                )

        await h.settle(read, timeout=5.0)
        assert await state(h.db) == ("pending", "0", None)
