"""WeCom end to end: the simulator pushes real encrypted callbacks, the gateway pulls and stores."""

from __future__ import annotations

from sqlalchemy import func, select

from gateway.db.models import Conversation, InboundEvent, Message
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness

CORP = "wwcorp0001"


async def count(db, model, *where) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def test_customer_messages_reach_sql_once(db) -> None:
    async with harness(db, TEST_SECRET_KEY) as h:
        await h.wecom_channel()
        kf = (await h.driver.wecom_add_kf_account(CORP, name="Support"))["open_kfid"]
        customer = (await h.driver.wecom_add_customer(CORP, nickname="Ann", unionid="U-ann"))["external_userid"]
        for n in range(3):
            await h.driver.wecom_customer_send(CORP, kf, customer, content=f"hello {n}")

        async def three() -> bool:
            return await count(h.db, Message) == 3

        await h.settle(three)
        async with h.db.sessions() as session:
            rows = list(await session.scalars(select(Message).order_by(Message.id)))
            conversation = await session.scalar(select(Conversation))
        assert [m.content for m in rows] == ["hello 0", "hello 1", "hello 2"]
        assert {m.message_type for m in rows} == {"incoming"}
        assert conversation.status == "pending"
        # every push was verified, decrypted and stored once
        callbacks = await h.driver.callbacks()
        assert callbacks and all(c["state"] == "delivered" for c in callbacks)
        assert await count(h.db, InboundEvent) == len(callbacks)


async def test_duplicated_callbacks_store_each_message_once(db) -> None:
    async with harness(db, TEST_SECRET_KEY) as h:
        await h.wecom_channel()
        kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
        customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
        await h.driver.callback_faults(duplicate_next=5)
        for n in range(5):
            await h.driver.wecom_customer_send(CORP, kf, customer, content=f"m{n}")

        async def five() -> bool:
            return await count(h.db, Message) == 5

        await h.settle(five)
        assert await count(h.db, Message) == 5


async def test_welcome_message_goes_out_with_the_enter_session_code(db) -> None:
    async with harness(db, TEST_SECRET_KEY) as h:
        await h.wecom_channel(welcome_message="欢迎！")
        kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
        customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
        entered = await h.driver.wecom_enter(CORP, customer, kf, scene="ad", scene_param="spring")
        assert entered["welcome_code"]

        async def welcomed() -> bool:
            return await count(h.db, Message, Message.message_type == "outgoing") == 1

        await h.settle(welcomed)
        deliveries = [d for d in await h.driver.deliveries(platform="wecom") if d["touser"] == customer]
        assert len(deliveries) == 1 and "欢迎！" in str(deliveries[0]["payload"])
        async with h.db.sessions() as session:
            activity = await session.scalar(select(Message).where(Message.message_type == "activity"))
        assert activity is not None and activity.content_attributes.get("scene_param") == "spring"
