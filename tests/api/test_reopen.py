"""Reopen over REST with the simulator as the platform: MP re-creates the kf session, WeCom (no API
for it) reopens in the gateway and the customer's next message lands in the reopened conversation;
refusals (not resolved, superseded) answer 409 with stable codes and write nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from gateway.db.models import Conversation, DomainEvent, Message
from gateway.db.people import AuditEntry
from gateway.db.types import utcnow
from tests.api.test_actions import CORP, wecom_conversation
from tests.api.test_sessions import APPID, agent_id, mp_with_kfs


async def conversations(db) -> list[Conversation]:
    async with db.sessions() as session:
        return list(await session.scalars(select(Conversation).order_by(Conversation.id)))


async def written(db) -> tuple[int, int]:
    async with db.sessions() as session:
        return (
            await session.scalar(select(func.count()).select_from(DomainEvent)),
            await session.scalar(select(func.count()).select_from(AuditEntry)),
        )


async def reopen_events(sim_api, conversation_id: int) -> list[dict]:
    feed = (await sim_api.get("/api/v1/events", params={"types": "conversation.updated", "limit": 500})).json()
    data = [e["data"] for e in feed["data"]]
    return [d for d in data if d["conversation_id"] == conversation_id and d.get("reopened")]


async def mp_served(sim_api) -> tuple[int, int, str]:
    """An MP user alice@gh_oa serves: (channel id, conversation id, openid)."""
    h = sim_api.h
    channel_id = await mp_with_kfs(h)
    openid = (await h.driver.mp_add_follower(APPID))["openid"]
    await h.driver.mp_user_text(APPID, openid, "hello")
    await h.driver.mp_kf_accept(APPID, "alice@gh_oa", openid)
    await h.driver.flush_callbacks()
    (conversation,) = await conversations(h.db)
    assert conversation.status == "open"
    return channel_id, conversation.id, openid


async def test_mp_reopen_recreates_the_kf_session(sim_api) -> None:
    h = sim_api.h
    channel_id, conversation_id, openid = await mp_served(sim_api)
    alice = await agent_id(h.db, channel_id, "alice@gh_oa")
    before = await written(h.db)
    still_open = await sim_api.post(f"/api/v1/conversations/{conversation_id}/reopen")
    assert still_open.status_code == 409 and still_open.json()["error"]["code"] == "conversation_not_resolved"
    assert await written(h.db) == before

    assert (await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")).json()["status"] == "resolved"
    await h.driver.flush_callbacks()
    again = await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conversation_ended"
    channel = await h.runtime.channels.get(channel_id)
    assert (await channel.client.get_session(openid)).kf_account == ""

    h.world.clock.advance(2)  # MP dedupes events on user, second and event name
    creates = len(await h.driver.calls(path="/customservice/kfsession/create"))
    reopened = await sim_api.post(f"/api/v1/conversations/{conversation_id}/reopen")
    assert reopened.status_code == 200, reopened.text
    assert reopened.json() == {
        "conversation_id": conversation_id,
        "status": "open",
        "platform_state": "kfsession",
        "assignee_id": alice,
        "platform_reopened": True,
        "reason": None,
        "detail": "kfsession/create for alice@gh_oa",
    }
    assert len(await h.driver.calls(path="/customservice/kfsession/create")) == creates + 1
    assert (await channel.client.get_session(openid)).kf_account == "alice@gh_oa"
    await h.driver.flush_callbacks()  # kf_create_session finds the reopened conversation live
    (row,) = await conversations(h.db)
    assert (row.id, row.status, row.assignee_id, row.resolved_at) == (conversation_id, "open", alice, None)
    (event,) = await reopen_events(sim_api, conversation_id)
    assert event["changes"]["status"] == "open" and event["actor"]["name"] == "test-write"
    detail = (await sim_api.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert detail["status"] == "open" and detail["resolved_at"] is None

    await h.driver.mp_user_text(APPID, openid, "thanks for coming back")
    await h.driver.flush_callbacks()
    async with h.db.sessions() as session:
        assert set(await session.scalars(select(Message.conversation_id))) == {conversation_id}
    assert len(await conversations(h.db)) == 1


async def test_mp_reopen_without_a_kf_or_window_is_gateway_side_and_the_next_message_lands_there(sim_api) -> None:
    h = sim_api.h
    channel_id, conversation_id, openid = await mp_served(sim_api)
    await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")
    await h.driver.flush_callbacks()
    async with h.db.session() as session:  # the user's last message is 49 h old
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_incoming_at=utcnow() - timedelta(hours=49))
        )
    creates = len(await h.driver.calls(path="/customservice/kfsession/create"))
    reopened = await sim_api.post(f"/api/v1/conversations/{conversation_id}/reopen")
    assert reopened.status_code == 200
    assert (
        reopened.json()
        | {
            "status": "open",
            "platform_state": "reopened",
            "platform_reopened": False,
            "reason": "window_closed",
        }
        == reopened.json()
    )
    assert len(await h.driver.calls(path="/customservice/kfsession/create")) == creates
    channel = await h.runtime.channels.get(channel_id)
    assert (await channel.client.get_session(openid)).kf_account == ""

    h.world.clock.advance(2)
    await h.driver.mp_user_text(APPID, openid, "are you there?")
    await h.driver.flush_callbacks()
    assert [c.id for c in await conversations(h.db)] == [conversation_id]
    thread = (await sim_api.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["data"]
    assert thread[-1]["content"] == "are you there?"

    # a kf that is offline: the platform refuses, the gateway-side reopen stands and says why
    await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")
    await h.driver.flush_callbacks()
    await h.driver.mp_kf_online(APPID, "alice@gh_oa", False)
    h.world.clock.advance(2)
    refused = await sim_api.post(f"/api/v1/conversations/{conversation_id}/reopen")
    assert refused.status_code == 200
    body = refused.json()
    assert body["platform_reopened"] is False and body["status"] == "open" and body["platform_state"] == "reopened"
    assert body["reason"] == "agent_unavailable" and "65415" in body["detail"]


async def test_mp_reopen_of_a_superseded_conversation_is_409_and_writes_nothing(sim_api) -> None:
    h = sim_api.h
    _, first, openid = await mp_served(sim_api)
    await sim_api.post(f"/api/v1/conversations/{first}/resolve")
    await h.driver.flush_callbacks()
    h.world.clock.advance(2)
    await h.driver.mp_user_text(APPID, openid, "new question")
    await h.driver.flush_callbacks()
    rows = await conversations(h.db)
    assert rows[0].id == first and len(rows) == 2
    second = rows[1].id
    before = await written(h.db)
    superseded = await sim_api.post(f"/api/v1/conversations/{first}/reopen")
    assert superseded.status_code == 409
    error = superseded.json()["error"]
    assert error | {"code": "conversation_superseded", "conversation_id": second} == error
    assert await written(h.db) == before
    assert (await conversations(h.db))[0].status == "resolved"
    # the newer one resolved too: the older still may not come back (the thread would fork)
    await sim_api.post(f"/api/v1/conversations/{second}/resolve")
    again = await sim_api.post(f"/api/v1/conversations/{first}/reopen")
    assert again.status_code == 409 and again.json()["error"]["conversation_id"] == second
    assert (await sim_api.post(f"/api/v1/conversations/{second}/reopen")).status_code == 200
    assert (await sim_api.post("/api/v1/conversations/999999/reopen")).status_code == 404
    assert (await sim_api.post(f"/api/v1/conversations/{second}/reopen", as_="read")).status_code == 403


async def test_wecom_reopen_is_gateway_side_survives_a_state_read_and_takes_the_next_message(sim_api) -> None:
    h = sim_api.h
    conversation_id, kf, customer = await wecom_conversation(sim_api, servicer=True)
    await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 0)
    zhangsan = await agent_id(h.db, 1, "zhangsan")
    assert (
        await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": zhangsan})
    ).status_code == 200
    open_one = await sim_api.post(f"/api/v1/conversations/{conversation_id}/reopen")
    assert open_one.status_code == 409 and open_one.json()["error"]["code"] == "conversation_not_resolved"
    resolved = await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")
    assert resolved.json() | {"status": "resolved", "platform_state": "4"} == resolved.json()
    again = await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conversation_ended"

    trans = len(await h.driver.calls(path="/cgi-bin/kf/service_state/trans"))
    reopened = await sim_api.post(f"/api/v1/conversations/{conversation_id}/reopen")
    assert reopened.status_code == 200, reopened.text
    assert (
        reopened.json()
        | {
            "status": "open",
            "platform_state": "reopened",
            "platform_reopened": False,
            "reason": "platform_cannot_reopen",
        }
        == reopened.json()
    )
    assert len(await h.driver.calls(path="/cgi-bin/kf/service_state/trans")) == trans
    (event,) = await reopen_events(sim_api, conversation_id)
    assert event | {"status": "open", "platform_state": "reopened"} == event
    assert event["changes"] == {"status": "open", "platform_state": "reopened"} and event["actor"]["type"] == "api_key"

    # state reads find the platform's state 4 (those queued by the resolve, then a stale one): the
    # reopened conversation stays open
    await h.runtime.jobs.drain()
    (row,) = await conversations(h.db)
    assert (row.status, row.platform_state) == ("open", "reopened")
    async with h.db.session() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(state_checked_at=utcnow() - timedelta(hours=1))
        )
    reads = len(await h.driver.calls(path="/cgi-bin/kf/service_state/get"))
    await sim_api.get(f"/api/v1/conversations/{conversation_id}")
    await h.runtime.jobs.drain()
    assert len(await h.driver.calls(path="/cgi-bin/kf/service_state/get")) == reads + 1
    (row,) = await conversations(h.db)
    assert (row.status, row.platform_state) == ("open", "reopened")

    # the customer writes: the message lands in the reopened conversation, whose state is read again
    await h.driver.wecom_customer_send(CORP, kf, customer, content="one more thing")
    await h.sync_all()
    await h.runtime.jobs.drain()
    (row,) = await conversations(h.db)
    assert row.id == conversation_id and row.status != "resolved" and row.platform_state in ("0", "1", "3")
    thread = (await sim_api.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["data"]
    assert thread[-1]["content"] == "one more thing"


async def test_wecom_gateway_side_reopen_resolves_without_a_platform_call(sim_api) -> None:
    h = sim_api.h
    conversation_id, _, _ = await wecom_conversation(sim_api, servicer=True)
    await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 0)
    zhangsan = await agent_id(h.db, 1, "zhangsan")
    await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": zhangsan})
    await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")
    assert (await sim_api.post(f"/api/v1/conversations/{conversation_id}/reopen")).status_code == 200
    trans = len(await h.driver.calls(path="/cgi-bin/kf/service_state/trans"))
    resolved = await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert len(await h.driver.calls(path="/cgi-bin/kf/service_state/trans")) == trans
