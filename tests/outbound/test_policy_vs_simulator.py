"""The policy's answer and the simulated platform's answer agree, case by case (windows, quotas, state).

Each case builds a real conversation through callbacks and sync on a frozen simulator clock, asks
gateway.outbound.policy.can_reply at simulator time, then sends for real (bypassing the policy) and
compares: allowed ⇔ accepted, and a refusal's errcode maps to the policy's reason.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from gateway.channels.base import ConversationRef, OutboundMessage
from gateway.db.models import Conversation
from gateway.errors import PlatformError
from gateway.outbound.policy import can_reply, reason_for, record_reply
from kefu_sim import SimClock
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness

T0 = 1_767_225_600.0
H = 3600.0
CORP, APPID = "wwcorp0001", "wxapp0000000001"


async def _conversation(h) -> Conversation:
    async with h.db.sessions() as session:
        return await session.scalar(select(Conversation).order_by(Conversation.id.desc()))


async def _attempt(h, channel_id: int, ref: ConversationRef, kind: str, n: int) -> tuple[bool, str | None]:
    channel = await h.runtime.channels.get(channel_id)
    try:
        await channel.send(
            ref, OutboundMessage(msgid=f"p{n:04d}x{int(h.world.now())}", content_type="text", content=f"reply {n}")
        )
    except PlatformError as exc:
        return False, reason_for(exc)
    return True, None


async def _check(h, channel_id: int, ref: ConversationRef, kind: str, sends: int) -> list[tuple]:
    """Send `sends` times; before each, compare the policy with the platform. Returns the mismatches."""
    mismatches = []
    for n in range(sends):
        now = datetime.fromtimestamp(h.world.now(), UTC)
        decision = can_reply(await _conversation(h), kind, now)
        accepted, reason = await _attempt(h, channel_id, ref, kind, n)  # never inside a DB transaction
        if (decision.allowed, decision.reason) != (accepted, reason):
            mismatches.append((n, decision.allowed, decision.reason, accepted, reason))
        if accepted:
            async with h.db.session() as session:
                conversation = await session.scalar(select(Conversation).order_by(Conversation.id.desc()))
                record_reply(conversation, kind, now)
    return mismatches


@pytest.mark.parametrize(("advance", "sends"), [(47 * H + 59 * 60, 1), (48 * H + 60, 1), (H, 7)])
async def test_wecom_window_and_quota(db, advance: float, sends: int) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False, clock=SimClock(T0, frozen=True)) as h:
        channel_id = await h.wecom_channel()
        kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
        customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
        await h.driver.wecom_customer_send(CORP, kf, customer, content="hi")
        await h.sync_all()
        await h.driver.advance(advance)
        ref = ConversationRef(inbox_source_id=kf, contact_source_id=customer)
        assert await _check(h, channel_id, ref, "wecom", sends) == []


async def test_wecom_servicer_holding_the_session(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False, clock=SimClock(T0, frozen=True)) as h:
        channel_id = await h.wecom_channel()
        await h.driver.wecom_add_member(CORP, "zhangsan")
        kf = (await h.driver.wecom_add_kf_account(CORP, servicers=["zhangsan"]))["open_kfid"]
        await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 1)
        customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
        await h.driver.wecom_customer_send(CORP, kf, customer, content="hi")
        await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 0)
        channel = await h.runtime.channels.get(channel_id)
        ref = ConversationRef(inbox_source_id=kf, contact_source_id=customer)
        await h.sync_all()
        change = await channel.handover(ref, "agent", "zhangsan")  # the platform says state 3
        from gateway.domain import Batch
        from gateway.inbound.ingest import ingest_batch

        await ingest_batch(h.db, Batch(channel_id=channel_id, state_changes=[change]))
        assert (await _conversation(h)).platform_state == "3"
        assert await _check(h, channel_id, ref, "wecom", 1) == []


@pytest.mark.parametrize(("advance", "sends"), [(47 * H + 59 * 60, 1), (48 * H + 60, 1), (H, 7)])
async def test_mp_window_and_quota(db, advance: float, sends: int) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False, clock=SimClock(T0, frozen=True)) as h:
        channel_id = await h.mp_channel(appid=APPID)
        openid = (await h.driver.mp_add_follower(APPID))["openid"]
        await h.driver.advance(2 * H)  # the subscribe grant (1 min) is long gone
        await h.driver.mp_user_text(APPID, openid, "hi")
        await h.driver.flush_callbacks()
        await h.driver.advance(advance)
        ref = ConversationRef(inbox_source_id=APPID, contact_source_id=openid)
        assert await _check(h, channel_id, ref, "mp", sends) == []


async def test_mp_menu_click_grant(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False, clock=SimClock(T0, frozen=True)) as h:
        channel_id = await h.mp_channel(appid=APPID)
        openid = (await h.driver.mp_add_follower(APPID))["openid"]
        await h.driver.advance(2 * H)
        await h.driver.mp_event(APPID, openid, "CLICK", "MENU_1")
        await h.driver.flush_callbacks()
        await h.driver.advance(10)
        ref = ConversationRef(inbox_source_id=APPID, contact_source_id=openid)
        assert await _check(h, channel_id, ref, "mp", 5) == []  # 3 accepted, then 45047 twice
