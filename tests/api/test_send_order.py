"""The send path end to end with the job runner running: replies in acceptance order per conversation,
no message left stuck, one answer to "may we reply", and a stop that lets platform calls finish."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select, update

from gateway.db.engine import Database
from gateway.db.models import Conversation, DomainEvent, Job, Message
from gateway.sealing import SecretBox
from tests.api.support import SimApi, make_keys
from tests.api.test_send_types import upload
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness

CORP = "wwcorp0001"
SEND = "/cgi-bin/kf/send_msg"


@pytest.fixture
async def live(db: Database, box: SecretBox) -> AsyncIterator[SimApi]:
    """Gateway + simulator with the sync loop and the job runner (4 jobs at a time) running."""
    async with harness(db, TEST_SECRET_KEY) as h:
        yield SimApi(h.client, db, box, await make_keys(db), h=h)


async def count(api: SimApi, *where: Any) -> int:
    async with api.h.db.sessions() as session:
        return (await session.scalar(select(func.count()).select_from(Message).where(*where))) or 0


async def wecom_setup(api: SimApi, customers: int) -> tuple[int, str, list[str]]:
    channel_id = await api.h.wecom_channel()
    kf = (await api.h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    users = [(await api.h.driver.wecom_add_customer(CORP))["external_userid"] for _ in range(customers)]
    return channel_id, kf, users


async def customers_write(api: SimApi, kf: str, users: list[str]) -> dict[str, int]:
    """Each customer writes once (re-opening 5 replies each); returns customer → conversation id."""
    incoming = await count(api, Message.message_type == "incoming")
    for user in users:
        await api.h.driver.wecom_customer_send(CORP, kf, user, content="hello")

    async def stored() -> bool:
        return await count(api, Message.message_type == "incoming") == incoming + len(users)

    await api.h.settle(stored)
    async with api.h.db.sessions() as session:
        rows = await session.execute(select(Conversation.id, Conversation.identity_id).order_by(Conversation.id))
        by_identity = [conversation_id for conversation_id, _ in rows]
    return dict(zip(users, by_identity, strict=True))


async def platform_called(api: SimApi) -> bool:
    return bool(await api.h.driver.calls(path=SEND))


async def test_replies_reach_each_customer_in_the_order_they_were_accepted(live: SimApi) -> None:
    channel_id, kf, users = await wecom_setup(live, 2)
    media = {k: await upload(live, channel_id, k) for k in ("image", "voice", "video", "file", "thumb")}
    kinds: list[dict[str, Any]] = [
        {"content_type": "text"},
        {"content_type": "image", "media_id": media["image"]},
        {"content_type": "voice", "media_id": media["voice"]},
        {"content_type": "video", "media_id": media["video"]},
        {"content_type": "file", "media_id": media["file"]},
        {"content_type": "link", "title": "t", "url": "https://e.com", "thumb_media_id": media["thumb"]},
        {"content_type": "location", "latitude": 1.5, "longitude": 2.5},
    ]
    # uneven platform latency reorders concurrent sends; one failure makes the lane's head wait to retry
    await live.h.driver.add_fault(SEND, "latency", 0.05, probability=0.5)
    await live.h.driver.add_fault(SEND, "http_status", 502, remaining=1)
    bodies = itertools.cycle(kinds)
    accepted: dict[int, list[int]] = {}
    for wave in range(4):  # 4 × 5 replies per conversation: the platform allows 5 per customer message
        conversations = await customers_write(live, kf, users)

        async def post(conversation_id: int, n: int, body: dict[str, Any]) -> tuple[int, int]:
            extra = {"content": f"reply {n}"} if body["content_type"] == "text" else {}
            answer = await live.post(f"/api/v1/conversations/{conversation_id}/messages", json={**body, **extra})
            assert answer.status_code == 202, answer.text
            return conversation_id, answer.json()["id"]

        posts = [
            post(conversations[user], wave * 5 + n, next(bodies)) for n in range(5) for user in users
        ]  # the two conversations' replies interleave
        for conversation_id, message_id in await asyncio.gather(*posts):
            accepted.setdefault(conversation_id, []).append(message_id)

        async def all_sent(expected: int = (wave + 1) * 10) -> bool:
            return await count(live, Message.message_type == "outgoing", Message.status == "sent") == expected

        await live.h.settle(all_sent, timeout=30)
    assert any(c["http_status"] == 502 for c in await live.h.driver.calls(path=SEND))
    async with live.h.db.sessions() as session:
        msgid_of: dict[str, int] = {
            source: id_ for source, id_ in await session.execute(select(Message.source_id, Message.id))
        }
    for user in users:
        delivered = [msgid_of[d["msgid"]] for d in await live.h.driver.deliveries(platform="wecom", touser=user)]
        conversation_ids = {c for c, ids in accepted.items() if set(ids) & set(delivered)}
        assert len(conversation_ids) == 1
        assert delivered == sorted(accepted[conversation_ids.pop()])  # acceptance order == id order
        assert len(delivered) == 20


async def test_a_send_that_cannot_succeed_fails_frees_its_quota_and_says_so(sim_api: SimApi) -> None:
    live = sim_api  # loops stopped: jobs run when this test says
    _, kf, users = await wecom_setup(live, 1)
    conversation_id = (await customers_write(live, kf, users))[users[0]]
    path = f"/api/v1/conversations/{conversation_id}/messages"
    ids = [(await live.post(path, json={"content": f"r{n}"})).json()["id"] for n in range(5)]
    view = (await live.get(f"/api/v1/conversations/{conversation_id}")).json()["reply_policy"]
    refused = await live.post(path, json={"content": "r6"})
    assert (view["can_reply"], view["reason"]) == (False, "quota_exhausted")
    assert refused.status_code == 409 and refused.json()["error"]["reason"] == view["reason"]
    # two queued rows the adapter cannot send (as an older gateway might have written them)
    async with live.h.db.session() as session:
        await session.execute(update(Message).where(Message.id.in_(ids[1:3])).values(content_type="hologram"))
    await live.h.runtime.jobs.drain()
    async with live.h.db.sessions() as session:
        rows = list(await session.execute(select(Message.id, Message.status, Message.error_code).order_by(Message.id)))
        events = list(await session.scalars(select(DomainEvent).where(DomainEvent.type == "message.updated")))
        jobs = list(await session.scalars(select(Job.status).where(Job.kind == "send_message")))
    outgoing = {i: (status, code) for i, status, code in rows if i in ids}
    assert [outgoing[i] for i in ids] == [
        ("sent", None),
        ("failed", "unsupported_by_channel"),
        ("failed", "unsupported_by_channel"),
        ("sent", None),
        ("sent", None),
    ]
    failed = [e.payload for e in events if e.payload["changes"] == {"status": "failed"}]
    assert sorted(p["message_id"] for p in failed) == ids[1:3]
    assert all(p["error_code"] == "unsupported_by_channel" for p in failed)
    assert set(jobs) == {"done"}  # nothing queued without a live job
    # the two failures hold no allowance: GET and POST agree that two more may go
    view = (await live.get(f"/api/v1/conversations/{conversation_id}")).json()["reply_policy"]
    assert view["can_reply"] is True
    assert [(await live.post(path, json={"content": f"s{n}"})).status_code for n in range(3)] == [202, 202, 409]
    view = (await live.get(f"/api/v1/conversations/{conversation_id}")).json()["reply_policy"]
    assert (view["can_reply"], view["reason"]) == (False, "quota_exhausted")


async def test_stop_lets_an_inflight_send_finish_and_record_it(live: SimApi) -> None:
    _, kf, users = await wecom_setup(live, 1)
    conversation_id = (await customers_write(live, kf, users))[users[0]]
    await live.h.driver.add_fault(SEND, "latency", 1.0, remaining=1)
    answer = await live.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": "slow"})
    message_id = answer.json()["id"]
    await live.h.settle(lambda: platform_called(live))
    await live.h.runtime.stop(grace=10)  # the platform answers after 1 s: well inside the grace period
    async with live.h.db.sessions() as session:
        message = await session.get(Message, message_id)
        job = await session.scalar(select(Job).where(Job.kind == "send_message"))
    assert message is not None and job is not None
    assert (message.status, job.status) == ("sent", "done")
    assert len(await live.h.driver.deliveries(platform="wecom", touser=users[0])) == 1


async def test_stop_hands_back_a_send_that_outlasts_the_grace_period(live: SimApi) -> None:
    _, kf, users = await wecom_setup(live, 1)
    conversation_id = (await customers_write(live, kf, users))[users[0]]
    await live.h.driver.add_fault(SEND, "latency", 5.0, remaining=1)
    answer = await live.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": "slow"})
    await live.h.settle(lambda: platform_called(live))
    await live.h.runtime.stop(grace=0.2)
    async with live.h.db.sessions() as session:
        job = await session.scalar(select(Job).where(Job.kind == "send_message"))
    assert job is not None
    assert (job.status, job.locked_by, job.attempts) == ("pending", None, 0)  # due now, for any worker
    await live.h.runtime.start()

    async def sent() -> bool:
        return await count(live, Message.id == answer.json()["id"], Message.status == "sent") == 1

    await live.h.settle(sent)
    assert len(await live.h.driver.deliveries(platform="wecom", touser=users[0])) == 1
