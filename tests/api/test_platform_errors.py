"""Platform errcodes reach the CRM by meaning, through the REST API against the simulator.

A caller's mistake is 422/409 with the errcode and a message saying what to change, a channel
problem 424 channel_misconfigured, an outage 502/503 with Retry-After. What the gateway knows
from its own tables is answered without a platform call (the simulator's call log shows none).
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from gateway.db.models import Agent, Conversation
from gateway.db.repositories import directory
from gateway.wechat.errcodes import ERRCODES
from tests.api.support import SimApi

CORP, APPID = "wwcorp0001", "wxapp0000000001"
TRANS = "/cgi-bin/kf/service_state/trans"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def error(response: httpx.Response, status: int, code: str, errcode: int | None = None) -> dict[str, Any]:
    """The error body, after checking status, code and errcode (and that a registered errcode's answer
    carries the registry's meaning as its message)."""
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    assert body.get("errcode") == errcode, body
    if errcode is not None:
        assert body["message"].startswith(ERRCODES[errcode].meaning), body
    return body


async def wecom(sim_api: SimApi) -> tuple[int, int, str, str]:
    """A kf account served by zhangsan (off duty: the session stays with the API) and by wangwu (not
    activated in WeCom); lisi is a member but no servicer. Returns (channel, conversation, kf, customer)."""
    h = sim_api.h
    assert h is not None
    channel_id = await h.wecom_channel()
    await h.driver.wecom_add_member(CORP, "zhangsan", name="张三")
    await h.driver.wecom_add_member(CORP, "wangwu", name="王五", active=False)
    await h.driver.wecom_add_member(CORP, "lisi", name="李四")
    kf = (await h.driver.wecom_add_kf_account(CORP, servicers=["zhangsan", "wangwu"]))["open_kfid"]
    await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 1)
    await h.driver.wecom_set_servicer_status(CORP, "wangwu", 1)
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="hello")
    await h.sync_all()
    async with h.db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    return channel_id, conversation.id, kf, customer


async def agent_id(sim_api: SimApi, channel_id: int, source_id: str) -> int:
    async with sim_api.db.session() as session:
        return (await directory.upsert_agent(session, channel_id, source_id)).id


async def calls(sim_api: SimApi, path: str | None = None) -> int:
    assert sim_api.h is not None
    return len(await sim_api.h.driver.calls(path=path))


async def test_assigning_a_member_the_directory_does_not_list_answers_without_the_platform(sim_api: SimApi) -> None:
    channel_id, conversation_id, _, _ = await wecom(sim_api)
    assert (await sim_api.post("/api/v1/agents/sync", json={"channel_id": channel_id})).status_code == 200
    lisi = await agent_id(sim_api, channel_id, "lisi")
    before = await calls(sim_api)
    refused = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": lisi})
    body = error(refused, 422, "agent_not_servicer")
    assert body["field"] == "agent_id" and "/api/v1/inboxes/" in body["message"]
    assert await calls(sim_api) == before  # not even a token fetch


async def test_assigning_a_servicer_wecom_refuses(sim_api: SimApi) -> None:
    """The directory lists both, so the platform is asked: 95014 (not activated) and 95019 (suspended)."""
    assert sim_api.h is not None
    channel_id, conversation_id, _, _ = await wecom(sim_api)
    assert (await sim_api.post("/api/v1/agents/sync", json={"channel_id": channel_id})).status_code == 200
    wangwu = await agent_id(sim_api, channel_id, "wangwu")
    inactive = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": wangwu})
    error(inactive, 422, "agent_not_servicer", 95014)
    await sim_api.h.driver.wecom_set_servicer_status(CORP, "zhangsan", 1, stop_type=1)  # 暂时挂起
    zhangsan = await agent_id(sim_api, channel_id, "zhangsan")
    suspended = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": zhangsan})
    body = error(suspended, 409, "agent_unavailable", 95019)
    assert body["path"] == TRANS and "Retry-After" not in suspended.headers
    assert await calls(sim_api, TRANS) == 2


async def test_resolving_an_ended_session(sim_api: SimApi) -> None:
    """The platform ended it (a servicer did, in the WeCom client): 409 with 95013. Resolved in the
    gateway: 409 conversation_ended again, without asking the platform."""
    assert sim_api.h is not None
    channel_id, conversation_id, kf, customer = await wecom(sim_api)
    await sim_api.h.driver.wecom_set_servicer_status(CORP, "zhangsan", 0)
    zhangsan = await agent_id(sim_api, channel_id, "zhangsan")
    assigned = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": zhangsan})
    assert assigned.status_code == 200, assigned.text
    await sim_api.h.driver.wecom_servicer(CORP, "end", kf, customer, "zhangsan")  # not synced yet
    ended = await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")
    error(ended, 409, "conversation_ended", 95013)
    await sim_api.h.sync_all()
    before = await calls(sim_api, TRANS)
    again = await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")
    error(again, 409, "conversation_ended")
    handover = await sim_api.post(f"/api/v1/conversations/{conversation_id}/handover", json={"target": "queue"})
    error(handover, 409, "conversation_ended")
    assign = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": zhangsan})
    error(assign, 409, "conversation_ended")
    assert await calls(sim_api, TRANS) == before


async def test_upgrade_service_needs_its_target_and_a_configured_one(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    _, conversation_id, _, _ = await wecom(sim_api)
    await sim_api.h.driver.wecom_set_upgrade_config(CORP, userid_list=["zhangsan"])
    path = f"/api/v1/conversations/{conversation_id}/upgrade-service"
    before = await calls(sim_api)
    assert error(await sim_api.post(path, json={"type": "member"}), 422, "validation_error")["field"] == "userid"
    no_chat = await sim_api.post(path, json={"type": "groupchat", "userid": "zhangsan"})
    assert error(no_chat, 422, "validation_error")["field"] == "chat_id"
    assert await calls(sim_api) == before
    unconfigured = await sim_api.post(path, json={"type": "member", "userid": "lisi"})
    error(unconfigured, 422, "upgrade_target_not_configured", 95021)
    configured = await sim_api.post(path, json={"type": "member", "userid": "zhangsan", "wording": "找张三"})
    assert configured.status_code == 200, configured.text


async def test_an_image_upload_that_is_a_pdf(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    wecom_id, *_ = await wecom(sim_api)
    mp_id = await sim_api.h.mp_channel(appid=APPID)
    files = {"file": ("scan.pdf", PDF, "application/pdf")}
    for channel_id in (wecom_id, mp_id):
        refused = await sim_api.post(f"/api/v1/channels/{channel_id}/media", data={"type": "image"}, files=files)
        error(refused, 422, "invalid_media", 40005)
    accepted = await sim_api.post(f"/api/v1/channels/{wecom_id}/media", data={"type": "file"}, files=files)
    assert accepted.status_code == 201, accepted.text


async def test_outages_answer_502_or_503_with_retry_after(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    _, conversation_id, _, _ = await wecom(sim_api)
    driver = sim_api.h.driver
    path = f"/api/v1/conversations/{conversation_id}/handover"
    for kind, value, status, code in [
        ("http_status", 500, 502, "platform_unreachable"),
        ("timeout", 0.2, 502, "platform_unreachable"),  # held, then 504
        ("errcode", -1, 503, "platform_busy"),
        ("errcode", 45009, 503, "platform_rate_limited"),
        ("errcode", 45033, 503, "platform_rate_limited"),
    ]:
        await driver.add_fault(TRANS, kind, value, remaining=1)
        response = await sim_api.post(path, json={"target": "bot"})
        error(response, status, code, int(value) if kind == "errcode" else None)
        assert int(response.headers["Retry-After"]) > 0
    # the handover itself was never sent twice: a state change is not idempotent
    assert len([c for c in await driver.calls(path=TRANS) if c.get("fault")]) == 5
    recovered = await sim_api.post(path, json={"target": "bot"})
    assert recovered.status_code == 200 and "Retry-After" not in recovered.headers


async def test_channel_problems_are_424_channel_misconfigured(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    _, conversation_id, _, _ = await wecom(sim_api)
    driver = sim_api.h.driver
    path = f"/api/v1/conversations/{conversation_id}/handover"
    await driver.add_fault(TRANS, "errcode", 60020, remaining=1)  # the gateway's IP is not trusted
    body = error(await sim_api.post(path, json={"target": "bot"}), 424, "channel_misconfigured", 60020)
    assert "trusted IPs" in body["message"]
    # a secret rotated in the console: the refused token is refreshed once, then gettoken says 40001
    sim_api.h.world.state.corps[CORP].secrets = ["rotated-secret"]
    await driver.invalidate_tokens()
    response = await sim_api.post(path, json={"target": "bot"})
    error(response, 424, "channel_misconfigured", 40001)
    assert "Retry-After" not in response.headers
    assert "kf-app-secret" not in response.text


async def mp(sim_api: SimApi) -> tuple[int, int, str]:
    """An MP account with kf accounts alice and bob (bound, online); a follower who wrote and waits
    in the queue. Returns (channel, conversation, openid)."""
    h = sim_api.h
    assert h is not None
    channel_id = await h.mp_channel(appid=APPID, wechat_id="gh_oa")
    await h.driver.mp_configure(APPID, transfer_to_kf=True)
    for name in ("alice", "bob"):
        created = await sim_api.post(
            "/api/v1/agents", json={"channel_id": channel_id, "kf_account": f"{name}@gh_oa", "nickname": name}
        )
        assert created.status_code == 201, created.text
        await h.driver.mp_kf_bind(APPID, f"{name}@gh_oa", f"wx_{name}")
        await h.driver.mp_kf_online(APPID, f"{name}@gh_oa")
    openid = (await h.driver.mp_add_follower(APPID))["openid"]
    await h.driver.mp_user_text(APPID, openid, "在吗")
    await h.driver.flush_callbacks()
    async with h.db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    return channel_id, conversation.id, openid


async def test_mp_kf_account_refusals(sim_api: SimApi) -> None:
    channel_id, _, _ = await mp(sim_api)
    duplicate = await sim_api.post(
        "/api/v1/agents", json={"channel_id": channel_id, "kf_account": "alice@gh_oa", "nickname": "again"}
    )
    error(duplicate, 409, "already_exists", 65406)
    carol = await sim_api.post(
        "/api/v1/agents", json={"channel_id": channel_id, "kf_account": "carol@gh_oa", "nickname": "carol"}
    )
    carol_id = carol.json()["id"]
    bad_id = await sim_api.post(f"/api/v1/agents/{carol_id}/invite", json={"invite_wx": "13800000000"})
    error(bad_id, 422, "invalid_wechat_id", 65409)
    invited = await sim_api.post(f"/api/v1/agents/{carol_id}/invite", json={"invite_wx": "carol_wx"})
    assert invited.status_code == 200, invited.text
    pending = await sim_api.post(f"/api/v1/agents/{carol_id}/invite", json={"invite_wx": "carol_other"})
    error(pending, 409, "invitation_conflict", 65411)


async def test_mp_assign_while_another_kf_serves(sim_api: SimApi) -> None:
    """alice took the user from her client (the gateway has not heard yet): assigning bob moves the
    session (close for alice, create for bob) instead of the platform's 65414 "another kf serves"."""
    assert sim_api.h is not None
    _, conversation_id, openid = await mp(sim_api)
    await sim_api.h.driver.mp_kf_accept(APPID, "alice@gh_oa", openid)
    async with sim_api.db.sessions() as session:
        bob = await session.scalar(select(Agent).where(Agent.source_id == "bob@gh_oa"))
    assert bob is not None
    taken = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": bob.id})
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee_id"] == bob.id
    closes = await sim_api.h.driver.calls(path="/customservice/kfsession/close")
    assert [c["body"]["kf_account"] for c in closes] == ["alice@gh_oa"]


async def test_mp_agent_that_cannot_take_sessions(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    _, conversation_id, _ = await mp(sim_api)
    await sim_api.h.driver.mp_kf_online(APPID, "bob@gh_oa", online=False)
    async with sim_api.db.sessions() as session:
        bob = await session.scalar(select(Agent).where(Agent.source_id == "bob@gh_oa"))
    assert bob is not None
    offline = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": bob.id})
    error(offline, 409, "agent_unavailable", 65415)
    deleted = await sim_api.delete(f"/api/v1/agents/{bob.id}")
    assert deleted.status_code == 200, deleted.text
    before = await calls(sim_api)
    gone = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": bob.id})
    error(gone, 422, "agent_not_servicer")
    error(await sim_api.post(f"/api/v1/agents/{bob.id}/invite", json={"invite_wx": "bob_wx_2"}), 404, "not_found")
    assert await calls(sim_api) == before


async def test_openapi_lists_the_platform_answers(sim_api: SimApi) -> None:
    schema = (await sim_api.get("/schema/openapi.json", as_=None)).json()
    assign = schema["paths"]["/api/v1/conversations/{conversation_id}/assign"]["post"]["responses"]
    assert {"404", "409", "422", "424", "502", "503"} <= set(assign)
    assert "channel_misconfigured" in assign["424"]["description"]
    invite = schema["paths"]["/api/v1/agents/{agent_id}/invite"]["post"]["responses"]
    assert "invalid_wechat_id" in invite["422"]["description"]
