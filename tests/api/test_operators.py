"""/api/v1/operators and operators in conversations: admin CRUD and agent links, bad input (4xx,
nothing written), assignment to an operator with and without a linked platform agent on WeCom and
MP (simulator), an operator's MP reply going out as their kf account, audit entries and events."""

from __future__ import annotations

import logging

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from gateway.db.models import Agent, Conversation, DomainEvent, Message
from gateway.db.people import AuditEntry, Operator, OperatorAgent
from gateway.db.repositories.conversations import agent_by_source
from tests.api.operator_support import PASSWORD, add_operator, sign_in
from tests.api.support import Api, SimApi, add_channel

CORP, APPID = "wwcorp0001", "wxapp0000000001"


async def counts(api: Api) -> tuple[int, int, int]:
    async with api.db.sessions() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(Operator)) or 0),
            int(await session.scalar(select(func.count()).select_from(OperatorAgent)) or 0),
            int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0),
        )


async def platform_agent(api: Api, channel_id: int, source_id: str) -> int:
    async with api.db.session() as session:
        return (await agent_by_source(session, channel_id, source_id)).id


async def test_admins_manage_operators_and_no_answer_or_log_carries_a_password(
    api: Api, caplog: pytest.LogCaptureFixture, production_passwords: PasswordHasher
) -> None:
    caplog.set_level(logging.INFO)  # what a gateway logs in production (aiosqlite's DEBUG echoes SQL parameters)
    caplog.set_level(logging.DEBUG, logger="gateway")
    made = await api.post(
        "/api/v1/operators",
        json={"email": " Ana@Example.COM", "name": "Ana", "password": "a long password 1", "role": "agent"},
        as_="admin",
    )
    assert made.status_code == 201, made.text
    ana = made.json()
    assert ana | {"email": "ana@example.com", "role": "agent", "active": True, "agents": []} == ana
    assert "password" not in ana
    listed = (await api.get("/api/v1/operators", as_="admin")).json()["data"]
    assert [o["email"] for o in listed] == ["ana@example.com"]
    renamed = await api.patch(f"/api/v1/operators/{ana['id']}", json={"name": "Ana B", "role": "admin"}, as_="admin")
    assert renamed.status_code == 200 and renamed.json() | {"name": "Ana B", "role": "admin"} == renamed.json()
    assert (await api.get(f"/api/v1/operators/{ana['id']}", as_="admin")).json()["name"] == "Ana B"
    assert (await api.get("/api/v1/operators/999", as_="admin")).status_code == 404
    # write keys are not admins
    assert (await api.get("/api/v1/operators", as_="write")).status_code == 403
    assert (await api.post("/api/v1/operators", json={}, as_="write")).status_code == 403
    async with api.db.sessions() as session:
        stored = await session.scalar(select(Operator.password_hash))
    assert stored.startswith("$argon2id$")
    params = production_passwords  # the product's own cost, not the tests' cheap one
    assert f"$m={params.memory_cost},t={params.time_cost},p={params.parallelism}$" in stored
    assert not any(stored in body or "a long password 1" in body for body in api.bodies)
    assert "a long password 1" not in caplog.text and stored not in caplog.text
    async with api.db.sessions() as session:
        actions = [
            (e.action, e.actor_type, e.detail)
            for e in await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    assert [a[:2] for a in actions] == [("operator.created", "api_key"), ("operator.updated", "api_key")]
    assert actions[1][2] == {"name": "Ana B", "role": "admin"}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"email": "not-an-email", "name": "X", "password": PASSWORD}, "validation_error", "email"),
        ({"email": "x@example", "name": "X", "password": PASSWORD, "role": "root"}, "validation_error", "role"),
        ({"email": "x@example.com", "name": "X", "password": "short"}, "weak_password", "password"),
        ({"email": "x@example.com", "name": " ", "password": PASSWORD}, "validation_error", "name"),
        ({"email": "ANA@example.com", "name": "X", "password": PASSWORD}, "email_taken", "email"),
    ],
)
async def test_bad_operators_are_refused_and_nothing_is_written(api: Api, body, code, field) -> None:
    await add_operator(api.db)
    before = await counts(api)
    refused = await api.post("/api/v1/operators", json=body, as_="admin")
    assert refused.status_code in (409, 422), refused.text
    assert refused.json()["error"]["code"] == code and refused.json()["error"]["field"] == field
    patched = await api.patch("/api/v1/operators/1", json={"password": "short"}, as_="admin")
    assert patched.status_code == 422 and patched.json()["error"]["code"] == "weak_password"
    assert await counts(api) == before


async def test_links_to_platform_agents(api: Api, box) -> None:
    ana, bo = await add_operator(api.db), await add_operator(api.db, "bo@example.com", name="Bo")
    wecom = await add_channel(api.db, box)
    other = await add_channel(api.db, box, name="corp2", app_id="ww2")
    zhang, li = await platform_agent(api, wecom, "zhangsan"), await platform_agent(api, wecom, "lisi")
    wang = await platform_agent(api, other, "wangwu")
    async with api.db.session() as session:
        desk = Agent(channel_id=None, source_id="desk", name="Desk", raw={})
        session.add(desk)
        await session.flush()
        desk_id = desk.id
    linked = await api.post(f"/api/v1/operators/{ana}/agents", json={"agent_id": zhang}, as_="admin")
    assert linked.status_code == 200, linked.text
    assert [(a["id"], a["source_id"], a["channel_id"]) for a in linked.json()["agents"]] == [(zhang, "zhangsan", wecom)]
    assert (await api.post(f"/api/v1/operators/{ana}/agents", json={"agent_id": zhang}, as_="admin")).status_code == 200
    before = await counts(api)
    for operator, agent, status, code in (
        (ana, li, 409, "agent_already_linked"),  # one agent per operator per channel
        (bo, zhang, 409, "agent_already_linked"),  # someone else's
        (bo, 99999, 422, "validation_error"),  # unknown
        (bo, desk_id, 422, "validation_error"),  # a gateway agent, not a platform account
        (99999, li, 404, "not_found"),
    ):
        refused = await api.post(f"/api/v1/operators/{operator}/agents", json={"agent_id": agent}, as_="admin")
        assert refused.status_code == status and refused.json()["error"]["code"] == code, (operator, agent)
    assert await counts(api) == before
    both = await api.post(f"/api/v1/operators/{ana}/agents", json={"agent_id": wang}, as_="admin")
    assert {a["id"] for a in both.json()["agents"]} == {zhang, wang}  # another channel: fine
    assert (await api.delete(f"/api/v1/operators/{bo}/agents/{zhang}", as_="admin")).status_code == 404
    gone = await api.delete(f"/api/v1/operators/{ana}/agents/{zhang}", as_="admin")
    assert gone.status_code == 200 and [a["id"] for a in gone.json()["agents"]] == [wang]
    assert (await api.post(f"/api/v1/operators/{bo}/agents", json={"agent_id": zhang}, as_="admin")).status_code == 200
    async with api.db.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["operator.agent_linked"] * 3 + ["operator.agent_unlinked", "operator.agent_linked"]


# --------------------------------------------------------------------------- conversations (simulator)


async def wecom_conversation(sim_api: SimApi) -> tuple[int, int]:
    """A WeCom conversation with the API (state 0) and zhangsan, an on-duty servicer of its kf account."""
    h = sim_api.h
    assert h is not None
    channel_id = await h.wecom_channel()
    await h.driver.wecom_add_member(CORP, "zhangsan", name="张三")
    kf = (await h.driver.wecom_add_kf_account(CORP, servicers=["zhangsan"]))["open_kfid"]
    await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 1)
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="hello")
    await h.sync_all()
    await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 0)
    async with h.db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    return conversation.id, channel_id


async def events(api: Api, kind: str) -> list[dict]:
    async with api.db.sessions() as session:
        rows = await session.scalars(select(DomainEvent).where(DomainEvent.type == kind).order_by(DomainEvent.id))
        return [r.payload for r in rows]


async def test_wecom_assignment_to_an_operator_with_and_without_a_linked_servicer(sim_api: SimApi) -> None:
    h = sim_api.h
    assert h is not None
    conversation_id, channel_id = await wecom_conversation(sim_api)
    ana = await add_operator(sim_api.db, role="agent")
    bo = await add_operator(sim_api.db, "bo@example.com", name="Bo")
    zhang = await platform_agent(sim_api, channel_id, "zhangsan")
    assert (await sim_api.post(f"/api/v1/operators/{ana}/agents", json={"agent_id": zhang}, as_="admin")).is_success
    path = f"/api/v1/conversations/{conversation_id}/assign"

    # bo has no servicer here: the gateway records him, the platform is not asked
    calls = len(await h.driver.calls(host="wecom"))
    signed = await sign_in(sim_api.client)
    plain = await signed.post(path, json={"operator_id": bo})
    assert plain.status_code == 200, plain.text
    assert plain.json() | {"operator_id": bo, "assignee_id": None, "assigned_on_platform": False} == plain.json()
    assert len(await h.driver.calls(host="wecom")) == calls

    # ana's servicer takes the session on the platform (state 3)
    linked = await signed.post(path, json={"operator_id": ana})
    assert linked.status_code == 200, linked.text
    assert (
        linked.json()
        | {
            "operator_id": ana,
            "assignee_id": zhang,
            "platform_state": "3",
            "status": "open",
            "assigned_on_platform": True,
        }
        == linked.json()
    )
    trans = await h.driver.calls(path="/cgi-bin/kf/service_state/trans")
    assert len(trans) == 1
    updates = await events(sim_api, "conversation.updated")
    actor = {"type": "operator", "id": ana, "name": "Ana"}
    assert updates[0]["changes"] == {"operator_id": bo} and updates[0]["actor"] == actor
    assert updates[-1]["changes"] | {"operator_id": ana, "assignee_id": zhang} == updates[-1]["changes"]
    assert updates[-1]["actor"] == actor and updates[-1]["operator_id"] == ana

    # the platform holds the session: unassigning is refused, nothing changes
    refused = await signed.post(path, json={"operator_id": None})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "platform_holds_session"
    bad = await signed.post(path, json={"operator_id": 999})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "operator_id"
    both = await signed.post(path, json={"operator_id": ana, "agent_id": zhang})
    assert both.status_code == 422
    async with sim_api.db.sessions() as session:
        row = await session.get(Conversation, conversation_id)
        assert (row.operator_id, row.assignee_id) == (ana, zhang)
        audit = [(e.action, e.actor_type, e.actor_id) for e in await session.scalars(select(AuditEntry))]
    assert ("conversation.assigned", "operator", ana) in audit
    assert [a for a in audit if a[0] == "conversation.assigned"] == [("conversation.assigned", "operator", ana)] * 2


async def test_unassign_clears_the_operator_too(sim_api: SimApi) -> None:
    conversation_id, _ = await wecom_conversation(sim_api)
    bo = await add_operator(sim_api.db, "bo@example.com", name="Bo")
    path = f"/api/v1/conversations/{conversation_id}/assign"
    assert (await sim_api.post(path, json={"operator_id": bo})).json()["operator_id"] == bo
    cleared = await sim_api.post(path, json={"agent_id": None})
    assert cleared.status_code == 200 and cleared.json() | {"operator_id": None, "assignee_id": None} == cleared.json()
    updates = await events(sim_api, "conversation.updated")
    assert updates[-1]["changes"] == {"operator_id": None} and updates[-1]["actor"]["type"] == "api_key"


async def mp_conversation(sim_api: SimApi) -> tuple[int, int, str]:
    """An MP follower served by alice@gh_oa; bob@gh_oa is bound and online too."""
    h = sim_api.h
    assert h is not None
    channel_id = await h.mp_channel(appid=APPID, wechat_id="gh_oa")
    await h.driver.mp_configure(APPID, transfer_to_kf=True)
    channel = await h.runtime.channels.get(channel_id)
    for n, account in enumerate(("alice@gh_oa", "bob@gh_oa")):
        await channel.client.add_account(account, account.split("@")[0])
        await h.driver.mp_kf_bind(APPID, account, f"wx_kf_{n}")
        await h.driver.mp_kf_online(APPID, account, True)
    openid = (await h.driver.mp_add_follower(APPID))["openid"]
    await h.driver.mp_user_text(APPID, openid, "hello")
    await h.driver.mp_kf_accept(APPID, "alice@gh_oa", openid)
    await h.driver.flush_callbacks()
    async with h.db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    return conversation.id, channel_id, openid


async def test_mp_assignment_and_reply_as_the_operators_kf_account(sim_api: SimApi) -> None:
    h = sim_api.h
    assert h is not None
    conversation_id, channel_id, openid = await mp_conversation(sim_api)
    bo = await add_operator(sim_api.db, "bo@example.com", name="Bo")
    carol = await add_operator(sim_api.db, "carol@example.com", name="Carol")
    bob_kf = await platform_agent(sim_api, channel_id, "bob@gh_oa")
    assert (await sim_api.post(f"/api/v1/operators/{bo}/agents", json={"agent_id": bob_kf}, as_="admin")).is_success
    moved = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"operator_id": bo})
    assert moved.status_code == 200, moved.text
    assert moved.json() | {"operator_id": bo, "assignee_id": bob_kf, "assigned_on_platform": True} == moved.json()
    channel = await h.runtime.channels.get(channel_id)
    assert (await channel.client.get_session(openid)).kf_account == "bob@gh_oa"
    await h.driver.flush_callbacks()

    # bo replies from the inbox: it goes out as bob@gh_oa, and the message records him
    signed = await sign_in(sim_api.client, "bo@example.com")
    sent = await signed.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": "Bo here"})
    assert sent.status_code == 202, sent.text
    # carol (no kf account) replies too: it goes out as the kf holding the session, as an API reply would
    carol_in = await sign_in(sim_api.client, "carol@example.com")
    plain = await carol_in.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": "Carol"})
    assert plain.status_code == 202, plain.text
    await h.runtime.jobs.drain()
    deliveries = {
        d["payload"]["content"]: d
        for d in await h.driver.deliveries(platform="mp", touser=openid)
        if d["msgtype"] == "text"
    }

    assert deliveries["Bo here"]["kf_account"] == "bob@gh_oa"
    assert deliveries["Bo here"]["sender"] == "kf:bob@gh_oa" and deliveries["Carol"]["kf_account"] == "bob@gh_oa"
    async with h.db.sessions() as session:
        rows = {m.content: m for m in await session.scalars(select(Message).where(Message.message_type == "outgoing"))}
        audited = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "message.queued")))
    assert (rows["Bo here"].operator_id, rows["Bo here"].sender_agent_id) == (bo, bob_kf)
    assert rows["Bo here"].content_attributes.get("kf_account") == "bob@gh_oa"  # named at queue time, from the link
    assert (rows["Carol"].operator_id, rows["Carol"].sender_agent_id) == (carol, None)
    assert "kf_account" not in rows["Carol"].content_attributes
    assert {(e.actor_type, e.actor_id) for e in audited} == {("operator", bo), ("operator", carol)}
    created = [e for e in await events(sim_api, "message.created") if e.get("actor")]
    assert {(e["actor"]["id"], e["operator_id"]) for e in created} == {(bo, bo), (carol, carol)}


async def test_mp_operator_without_a_kf_account_is_assigned_in_the_gateway_only(sim_api: SimApi) -> None:
    h = sim_api.h
    assert h is not None
    conversation_id, channel_id, openid = await mp_conversation(sim_api)
    carol = await add_operator(sim_api.db, "carol@example.com", name="Carol")
    alice = await platform_agent(sim_api, channel_id, "alice@gh_oa")
    mark = len(await h.driver.calls(host="mp"))
    answer = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"operator_id": carol})
    assert answer.status_code == 200
    assert answer.json() | {"operator_id": carol, "assignee_id": alice, "assigned_on_platform": False} == answer.json()
    assert [c for c in (await h.driver.calls(host="mp"))[mark:] if "kfsession" in c["path"]] == []
    channel = await h.runtime.channels.get(channel_id)
    assert (await channel.client.get_session(openid)).kf_account == "alice@gh_oa"
