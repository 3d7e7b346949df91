"""Conversation actions over REST with the simulator as the platform: send, assign, handover, resolve, typing."""

from __future__ import annotations

from sqlalchemy import select

from gateway.db.models import Agent, Conversation

CORP, APPID = "wwcorp0001", "wxapp0000000001"


async def wecom_conversation(sim_api, *, servicer: bool = False) -> tuple[int, str, str]:
    h = sim_api.h
    await h.wecom_channel()
    if servicer:
        await h.driver.wecom_add_member(CORP, "zhangsan", name="张三")
    kf = (await h.driver.wecom_add_kf_account(CORP, **({"servicers": ["zhangsan"]} if servicer else {})))["open_kfid"]
    if servicer:  # off duty, so the session stays with the API (state 0)
        await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 1)
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="hello")
    await h.sync_all()
    async with h.db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    return conversation.id, kf, customer


async def test_send_is_queued_then_delivered_and_idempotent(sim_api) -> None:
    conversation_id, _, customer = await wecom_conversation(sim_api)
    body = {"content_type": "text", "content": "hi from the CRM"}
    first = await sim_api.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers={"Idempotency-Key": "abc"}
    )
    assert first.status_code == 202 and first.json()["status"] == "queued"
    again = await sim_api.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers={"Idempotency-Key": "abc"}
    )
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    other = await sim_api.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"content": "different"},
        headers={"Idempotency-Key": "abc"},
    )
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    await sim_api.h.runtime.jobs.drain()
    deliveries = [d for d in await sim_api.h.driver.deliveries(platform="wecom") if d["touser"] == customer]
    assert len(deliveries) == 1
    thread = (await sim_api.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["data"]
    assert [m["status"] for m in thread if m["message_type"] == "outgoing"] == ["sent"]


async def test_an_idempotency_key_past_its_documented_length_is_422_not_500(sim_api) -> None:
    """The column holds 256 characters (an operator's key with a prefix): the bound is checked first,
    on PostgreSQL too, where an over-long value would otherwise fail in SQL."""
    conversation_id, _, _ = await wecom_conversation(sim_api)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    too_long = await sim_api.post(url, json={"content": "x"}, headers={"Idempotency-Key": "k" * 201})
    assert too_long.status_code == 422
    assert too_long.json()["error"] == {
        "code": "validation_error",
        "message": "Idempotency-Key is longer than 200 characters",
        "field": "Idempotency-Key",
    }
    longest = await sim_api.post(url, json={"content": "x"}, headers={"Idempotency-Key": "k" * 200})
    assert longest.status_code == 202
    again = await sim_api.post(url, json={"content": "x"}, headers={"Idempotency-Key": "k" * 200})
    assert again.json()["id"] == longest.json()["id"]


async def test_policy_refusal_is_409_with_reason_and_no_platform_call(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api)
    for n in range(5):
        assert (
            await sim_api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": f"r{n}"})
        ).status_code == 202
    refused = await sim_api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": "r6"})
    assert refused.status_code == 409
    assert (
        refused.json()["error"] | {"code": "reply_not_allowed", "reason": "quota_exhausted"} == refused.json()["error"]
    )
    await sim_api.h.runtime.jobs.drain()
    assert len(await sim_api.h.driver.calls(path="/cgi-bin/kf/send_msg")) == 5


async def test_validation_and_scopes(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api)
    bad = await sim_api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content_type": "hologram"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "content_type"
    read_only = await sim_api.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"content": "x"}, as_="read"
    )
    assert read_only.status_code == 403
    missing = await sim_api.post("/api/v1/conversations/999999/messages", json={"content": "x"})
    assert missing.status_code == 404


async def test_assign_servicer_then_api_may_not_send(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api, servicer=True)
    await sim_api.h.driver.wecom_set_servicer_status(CORP, "zhangsan", 0)
    async with sim_api.db.session() as session:
        from gateway.db.repositories.conversations import agent_by_source

        agent = await agent_by_source(session, 1, "zhangsan")
        agent_id = agent.id
    assigned = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": agent_id})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json() | {"status": "open", "platform_state": "3", "assignee_id": agent_id} == assigned.json()
    refused = await sim_api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": "x"})
    assert refused.status_code == 409 and refused.json()["error"]["reason"] == "state_forbids_api"


async def test_assign_gateway_agent_makes_no_platform_call(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api)
    async with sim_api.db.session() as session:
        agent = Agent(channel_id=None, source_id="crm-agent-7", name="Agent 7", raw={})
        session.add(agent)
        await session.flush()
        agent_id = agent.id
    calls = len(await sim_api.h.driver.calls(host="wecom"))
    result = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": agent_id})
    assert result.status_code == 200 and result.json()["assignee_id"] == agent_id
    assert len(await sim_api.h.driver.calls(host="wecom")) == calls


async def test_handover_queue_then_resolve(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api, servicer=True)
    queued = await sim_api.post(f"/api/v1/conversations/{conversation_id}/handover", json={"target": "queue"})
    assert queued.status_code == 200 and queued.json()["status"] == "queued"
    await sim_api.h.driver.wecom_set_servicer_status(CORP, "zhangsan", 0)
    async with sim_api.db.session() as session:
        from gateway.db.repositories.conversations import agent_by_source

        agent_id = (await agent_by_source(session, 1, "zhangsan")).id
    assert (
        await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": agent_id})
    ).status_code == 200
    resolved = await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    bad = await sim_api.post(f"/api/v1/conversations/{conversation_id}/handover", json={"target": "moon"})
    assert bad.status_code == 422


async def test_typing_is_unsupported_on_wecom_and_works_on_mp(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api)
    wecom = await sim_api.post(f"/api/v1/conversations/{conversation_id}/typing", json={"on": True})
    assert wecom.status_code == 422 and wecom.json()["error"]["code"] == "unsupported_by_channel"
    h = sim_api.h
    await h.mp_channel(appid=APPID)
    openid = (await h.driver.mp_add_follower(APPID))["openid"]
    await h.driver.mp_user_text(APPID, openid, "hi")
    await h.driver.flush_callbacks()
    async with h.db.sessions() as session:
        mp_conversation = await session.scalar(select(Conversation).order_by(Conversation.id.desc()))
    typing = await sim_api.post(f"/api/v1/conversations/{mp_conversation.id}/typing", json={"on": True})
    assert typing.status_code == 204, typing.text
    assert len(await h.driver.calls(path="/cgi-bin/message/custom/typing")) == 1
    queue = await sim_api.post(f"/api/v1/conversations/{mp_conversation.id}/handover", json={"target": "queue"})
    assert queue.status_code == 422 and queue.json()["error"]["code"] == "unsupported_by_channel"


async def test_event_reply_uses_the_conversation_code_once(sim_api) -> None:
    h = sim_api.h
    await h.wecom_channel()  # no welcome_message configured: the code waits for the CRM
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_enter(CORP, customer, kf)
    await h.sync_all()
    async with h.db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    sent = await sim_api.post(f"/api/v1/conversations/{conversation.id}/event-reply", json={"content": "欢迎"})
    assert sent.status_code == 200, sent.text
    again = await sim_api.post(f"/api/v1/conversations/{conversation.id}/event-reply", json={"content": "欢迎"})
    assert again.status_code == 409
    deliveries = [d for d in await h.driver.deliveries(platform="wecom") if d["touser"] == customer]
    assert len(deliveries) == 1


async def test_a_type_the_platform_cannot_send_is_refused_up_front(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api)
    refused = await sim_api.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"content_type": "news", "articles": [{"title": "t", "url": "https://x"}]},
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unsupported_by_channel"
    assert refused.json()["error"]["field"] == "content_type"
