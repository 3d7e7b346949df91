"""Group commit of callbacks (gateway.inbound.callbacks): callbacks arriving together share one transaction,
each is answered after it, duplicates inside a group count once, a bad callback fails alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

import gateway.inbound.callbacks as intake_module
from gateway.db.models import InboundEvent, SyncCursor
from gateway.wechat.xmlmsg import parse_xml
from kefu_sim.callbacks import CallbackRecord
from tests.conftest import TEST_SECRET_KEY
from tests.harness import Harness, harness
from tests.reliability.conftest import APPID, CORP, exactly_once, stored_messages


async def recorded_pushes(h: Harness, make: Any) -> list[CallbackRecord]:
    """What the platform pushes while `make()` runs, kept for the test to deliver."""
    await h.driver.flush_callbacks()
    before = len(h.sim_app.state.dispatcher.records)
    await h.driver.callback_faults(drop_next=1_000_000)
    await make()
    await h.driver.callback_faults(drop_next=0)
    return list(h.sim_app.state.dispatcher.records)[before:]


async def deliver(h: Harness, record: CallbackRecord) -> tuple[int, str]:
    response = await h.client.post(
        record.url.removeprefix("http://gateway"),
        params=record.query,
        content=record.body.encode(),
        headers={"Content-Type": "text/xml; charset=utf-8"},
    )
    return response.status_code, response.text


async def inbound_count(h: Harness) -> int:
    async with h.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(InboundEvent)) or 0)


async def test_callbacks_arriving_together_share_a_transaction_and_each_is_stored_once(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        await h.mp_channel(appid=APPID)
        followers = [(await h.driver.mp_add_follower(APPID))["openid"] for _ in range(4)]

        async def write() -> None:
            for n in range(40):
                await h.driver.mp_user_text(APPID, followers[n % 4], f"m{n}")

        records = await recorded_pushes(h, write)
        assert len(records) == 40
        plan = records + records[:10]  # ten of them twice, in the same burst
        batches = h.runtime.callbacks.batches
        answers = await asyncio.gather(*(deliver(h, r) for r in plan))
        assert answers == [(200, "success")] * len(plan)
        assert h.runtime.callbacks.batches - batches < len(plan) // 2, "the callbacks were not grouped"
        assert await inbound_count(h) == 40 + 4  # and the four subscribe events delivered before
        stored = [m for m in await stored_messages(db, inbox_source_id=APPID) if not m.source_id.endswith(":subscribe")]
        exactly_once([m.source_id for m in stored], {parse_xml(r.plaintext)["MsgId"] for r in records})
        for openid in followers:  # within a conversation, the platform's order
            thread = [m.content for m in stored if m.content and int(m.content[1:]) % 4 == followers.index(openid)]
            assert thread == sorted(thread, key=lambda c: int(c[1:]))


async def test_a_bad_callback_in_a_group_fails_alone(db, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared transaction fails; each callback is written again on its own: only the bad one fails,
    and it leaves no row, so the platform's retry is stored later."""
    real_ingest = intake_module.ingest
    poisoned = {"on": True}

    async def ingest(session: Any, batch: Any) -> Any:
        if poisoned["on"] and any(m.content == "poison" for m in batch.messages):
            raise RuntimeError("cannot store this one")
        return await real_ingest(session, batch)

    monkeypatch.setattr(intake_module, "ingest", ingest)
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        await h.mp_channel(appid=APPID)
        openid = (await h.driver.mp_add_follower(APPID))["openid"]

        async def write() -> None:
            for text in ("a", "b", "poison", "c", "d"):
                await h.driver.mp_user_text(APPID, openid, text)

        records = await recorded_pushes(h, write)
        answers = await asyncio.gather(*(deliver(h, r) for r in records))
        assert [status for status, _ in answers] == [500 if "poison" in r.plaintext else 200 for r in records]
        assert h.runtime.callbacks.batches < len(records)  # they did arrive together
        texts = [m for m in await stored_messages(db, inbox_source_id=APPID) if not m.source_id.endswith(":subscribe")]
        assert sorted(m.content for m in texts) == ["a", "b", "c", "d"]
        assert await inbound_count(h) == 4 + 1  # and the subscribe event delivered before
        poisoned["on"] = False
        poison = next(r for r in records if "poison" in r.plaintext)
        assert await deliver(h, poison) == (200, "success")  # the platform's retry
        assert len(await stored_messages(db, inbox_source_id=APPID)) == 5 + 1


async def test_wecom_callbacks_in_a_group_save_a_token_and_wake_the_sync(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id = await h.wecom_channel()
        kf = (await h.driver.wecom_add_kf_account(CORP, name="kf"))["open_kfid"]
        customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]

        async def write() -> None:
            for n in range(6):
                await h.driver.wecom_customer_send(CORP, kf, customer, content=f"w{n}")

        records = [r for r in await recorded_pushes(h, write) if r.platform == "wecom"]
        assert len(records) >= 2
        answers = await asyncio.gather(*(deliver(h, r) for r in records))
        assert answers == [(200, "success")] * len(records)
        async with db.sessions() as session:
            cursor = await session.scalar(select(SyncCursor).where(SyncCursor.channel_id == channel_id))
        assert cursor is not None and cursor.stream == kf
        assert cursor.callback_token in {parse_xml(r.plaintext)["Token"] for r in records}  # each valid 10 min
        assert h.runtime.syncer._streams[(channel_id, kf)].kicked.is_set()
        await h.sync_all()
        exactly_once(
            [m.source_id for m in await stored_messages(db, inbox_source_id=kf) if m.message_type == "incoming"],
            {m["msgid"] for m in await h.driver.wecom_messages(CORP) if m["origin"] == 3},
        )


async def test_a_callback_after_shutdown_is_refused_and_stored_later(db) -> None:
    """Once the runtime stops, a callback gets 503 service_stopping (the platform retries), no row is
    written behind the shutdown, and a restarted runtime stores the retry."""
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        await h.mp_channel(appid=APPID)
        openid = (await h.driver.mp_add_follower(APPID))["openid"]

        async def write() -> None:
            await h.driver.mp_user_text(APPID, openid, "late")

        [record] = await recorded_pushes(h, write)
        before = await inbound_count(h)
        await h.runtime.stop()
        status, body = await deliver(h, record)
        assert status == 503 and "service_stopping" in body
        assert await inbound_count(h) == before
        await h.runtime.start(sync=False, jobs=False)
        assert await deliver(h, record) == (200, "success")
        assert await inbound_count(h) == before + 1
