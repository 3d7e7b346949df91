"""Session truth over REST with the simulator as the platform: state reads, the MP wait queue,
MP reassign / un-assign, event codes with their expiry, and the enter_session webhook facts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from gateway.db.models import Agent, Conversation, DomainEvent, Job
from gateway.db.repositories.conversations import agent_by_source
from gateway.errors import SessionStateForbids
from gateway.inbound.sessions import REFRESH_JOB, WAIT_QUEUE_JOB, queue_state_refresh
from tests.api.test_actions import wecom_conversation

CORP, APPID = "wwcorp0001", "wxapp0000000001"


async def only_conversation(db) -> Conversation:
    async with db.sessions() as session:
        return await session.scalar(select(Conversation).order_by(Conversation.id.desc()))


async def assignee_source(db, conversation: Conversation) -> str | None:
    if conversation.assignee_id is None:
        return None
    async with db.sessions() as session:
        return (await session.get(Agent, conversation.assignee_id)).source_id


async def agent_id(db, channel_id: int, source_id: str) -> int:
    async with db.session() as session:
        return (await agent_by_source(session, channel_id, source_id)).id


# ---------------------------------------------------------------------------- WeCom


async def test_a_send_refused_with_95018_is_followed_by_a_state_read_that_corrects_the_row(sim_api) -> None:
    h = sim_api.h
    conversation_id, kf, customer = await wecom_conversation(sim_api, servicer=True)
    await h.runtime.jobs.drain()
    assert (await only_conversation(h.db)).status == "pending"
    # a servicer takes the session where the gateway cannot see it (no event for a trans made elsewhere)
    await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 0)
    channel = await h.runtime.channels.get(1)
    await channel.client.trans_service_state(kf, customer, 3, "zhangsan")
    await h.sync_all()
    stale = await only_conversation(h.db)
    assert stale.status == "pending"  # what the gateway believes
    accepted = await sim_api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": "bot"})
    assert accepted.status_code == 202
    await h.runtime.jobs.drain()
    failed = (await sim_api.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["data"][-1]
    assert failed["status"] == "failed" and failed["error_code"] == "95018"
    # the send job queued the state read with the failure (same dedupe key as queue_state_refresh)
    async with h.db.session() as session:
        assert not await queue_state_refresh(session, 1, conversation_id, key=f"send:{failed['id']}")
    await h.runtime.jobs.drain()
    async with h.db.sessions() as session:
        refreshes = list(await session.scalars(select(Job.status).where(Job.kind == REFRESH_JOB)))
    assert refreshes and set(refreshes) == {"done"}
    fixed = await only_conversation(h.db)
    assert (fixed.status, fixed.platform_state) == ("open", "3")
    assert await assignee_source(h.db, fixed) == "zhangsan"
    assert fixed.state_checked_at is not None
    body = (await sim_api.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert body["reply_policy"]["can_reply"] is False and body["assignee"]["source_id"] == "zhangsan"
    # and the adapter agrees with the platform: a send now is refused with 95018
    ref_error = None
    try:
        from gateway.channels.base import ConversationRef, OutboundMessage

        await channel.send(
            ConversationRef(inbox_source_id=kf, contact_source_id=customer),
            OutboundMessage(msgid="gwprobe1", content_type="text", content="x"),
        )
    except SessionStateForbids as exc:
        ref_error = exc.errcode
    assert ref_error == 95018


async def test_opening_a_conversation_reads_a_state_older_than_the_ttl_once_per_ttl(sim_api) -> None:
    h = sim_api.h
    conversation_id, _, _ = await wecom_conversation(sim_api)
    await h.runtime.jobs.drain()
    async with h.db.session() as session:  # the state was read long ago
        await session.execute(
            update(Conversation).values(state_checked_at=datetime.now().astimezone() - timedelta(minutes=5))
        )
    before = len(await h.driver.calls(path="/cgi-bin/kf/service_state/get"))
    for _ in range(3):
        assert (await sim_api.get(f"/api/v1/conversations/{conversation_id}")).status_code == 200
    async with h.db.sessions() as session:
        queued = await session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == REFRESH_JOB, Job.status == "pending")
        )
    assert queued == 1  # three reads, one platform read queued
    await h.runtime.jobs.drain()
    assert len(await h.driver.calls(path="/cgi-bin/kf/service_state/get")) == before + 1
    body = (await sim_api.get(f"/api/v1/conversations/{conversation_id}")).json()
    checked = datetime.fromisoformat(body["state_checked_at"])
    assert datetime.now().astimezone() - checked < timedelta(seconds=30)
    assert body["status"] == "pending" and body["platform_state"] == "0"
    await h.runtime.jobs.drain()  # fresh now: nothing more queued
    assert len(await h.driver.calls(path="/cgi-bin/kf/service_state/get")) == before + 1


async def test_welcome_code_shows_with_expiry_and_an_expired_code_is_409_without_a_platform_call(sim_api) -> None:
    h = sim_api.h
    await h.wecom_channel()  # no welcome_message: the CRM answers the welcome itself
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    entered = await h.driver.wecom_enter(CORP, customer, kf, scene="ad", scene_param="spring sale")
    await h.sync_all()
    conversation = await only_conversation(h.db)
    body = (await sim_api.get(f"/api/v1/conversations/{conversation.id}")).json()
    code = body["event_code"]
    assert code["code"] == entered["welcome_code"] and code["kind"] == "welcome" and code["expired"] is False
    issued, expires = datetime.fromisoformat(code["issued_at"]), datetime.fromisoformat(code["expires_at"])
    assert expires - issued == timedelta(seconds=20)
    listed = (await sim_api.get("/api/v1/conversations")).json()["data"]
    assert listed[0]["event_code"]["kind"] == "welcome"

    # the webhook / feed: conversation.created and the enter_session message carry the entry facts
    events = (await sim_api.get("/api/v1/events")).json()["data"]
    created = next(e for e in events if e["type"] == "conversation.created")["data"]
    assert created["scene"] == "ad" and created["scene_param"] == "spring sale"
    assert created["welcome_possible"] is True
    assert datetime.fromisoformat(created["welcome_until"]) == expires
    entry = next(e for e in events if e["type"] == "message.created" and e["data"].get("event_type"))["data"]
    assert entry["event_type"] == "enter_session" and entry["welcome_until"] == created["welcome_until"]

    # 21 s later (moved back in the row: the gateway compares with its own clock)
    async with h.db.session() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(event_code_at=issued - timedelta(seconds=21))
        )
    shown = (await sim_api.get(f"/api/v1/conversations/{conversation.id}")).json()["event_code"]
    assert shown["expired"] is True
    calls = len(await h.driver.calls(path="/cgi-bin/kf/send_msg_on_event"))
    refused = await sim_api.post(f"/api/v1/conversations/{conversation.id}/event-reply", json={"content": "hi"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "event_code_expired"
    assert refused.json()["error"]["kind"] == "welcome"
    assert len(await h.driver.calls(path="/cgi-bin/kf/send_msg_on_event")) == calls


async def test_a_live_welcome_code_still_goes_to_the_platform(sim_api) -> None:
    h = sim_api.h
    await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_enter(CORP, customer, kf)
    await h.sync_all()
    conversation = await only_conversation(h.db)
    sent = await sim_api.post(f"/api/v1/conversations/{conversation.id}/event-reply", json={"content": "欢迎"})
    assert sent.status_code == 200, sent.text
    assert len(await h.driver.calls(path="/cgi-bin/kf/send_msg_on_event")) == 1
    assert (await sim_api.get(f"/api/v1/conversations/{conversation.id}")).json()["event_code"] is None


async def test_unassigning_a_session_a_servicer_holds_is_409(sim_api) -> None:
    h = sim_api.h
    conversation_id, _, _ = await wecom_conversation(sim_api, servicer=True)
    await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 0)
    zhangsan = await agent_id(h.db, 1, "zhangsan")
    assert (
        await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": zhangsan})
    ).status_code == 200
    refused = await sim_api.post(f"/api/v1/conversations/{conversation_id}/assign", json={"agent_id": None})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "platform_holds_session"
    assert refused.json()["error"]["holder"] == "zhangsan"
    assert (await only_conversation(h.db)).assignee_id == zhangsan


# ---------------------------------------------------------------------------- MP


async def mp_with_kfs(h) -> int:
    channel_id = await h.mp_channel(appid=APPID, wechat_id="gh_oa")
    await h.driver.mp_configure(APPID, transfer_to_kf=True)
    channel = await h.runtime.channels.get(channel_id)
    for n, account in enumerate(("alice@gh_oa", "bob@gh_oa")):
        await channel.client.add_account(account, account.split("@")[0])
        await h.driver.mp_kf_bind(APPID, account, f"wx_kf_{n}")
        await h.driver.mp_kf_online(APPID, account, True)
    return channel_id


async def test_mp_users_in_the_wait_queue_show_as_queued(sim_api) -> None:
    h = sim_api.h
    await mp_with_kfs(h)
    waiting = [(await h.driver.mp_add_follower(APPID))["openid"] for _ in range(2)]
    for openid in waiting:
        await h.driver.mp_user_text(APPID, openid, "a human please")
    await h.driver.flush_callbacks()
    queued = (await sim_api.get("/api/v1/conversations", params={"status": "queued"})).json()["data"]
    assert queued == []  # the callback says nothing about the queue
    # the user messages queued one wait-queue read (the second coalesced into the first, still pending)
    async with h.db.sessions() as session:
        polls = await session.scalar(select(func.count()).select_from(Job).where(Job.kind == WAIT_QUEUE_JOB))
    assert polls == 1
    await h.runtime.jobs.drain()
    queued = (await sim_api.get("/api/v1/conversations", params={"status": "queued"})).json()["data"]
    assert len(queued) == 2 and {c["platform_state"] for c in queued} == {"waitcase"}
    assert len(await h.driver.calls(path="/customservice/kfsession/getwaitcase")) == 1

    await h.driver.mp_kf_accept(APPID, "alice@gh_oa", waiting[0])
    await h.driver.flush_callbacks()
    queued = (await sim_api.get("/api/v1/conversations", params={"status": "queued"})).json()["data"]
    assert len(queued) == 1
    opened = (await sim_api.get("/api/v1/conversations", params={"status": "open"})).json()["data"]
    assert len(opened) == 1 and opened[0]["assignee"]["source_id"] == "alice@gh_oa"
    # the periodic poll leaves the taken user open and the waiting one queued
    await h.runtime.sessions.poll_all()
    assert len((await sim_api.get("/api/v1/conversations", params={"status": "queued"})).json()["data"]) == 1
    assert len((await sim_api.get("/api/v1/conversations", params={"status": "open"})).json()["data"]) == 1


async def test_mp_reassign_closes_and_creates_and_unassign_is_409(sim_api) -> None:
    h = sim_api.h
    channel_id = await mp_with_kfs(h)
    openid = (await h.driver.mp_add_follower(APPID))["openid"]
    await h.driver.mp_user_text(APPID, openid, "hello")
    await h.driver.mp_kf_accept(APPID, "alice@gh_oa", openid)
    await h.driver.flush_callbacks()
    conversation = await only_conversation(h.db)
    assert conversation.status == "open" and await assignee_source(h.db, conversation) == "alice@gh_oa"

    bob = await agent_id(h.db, channel_id, "bob@gh_oa")
    mark = len(await h.driver.calls(host="mp"))
    moved = await sim_api.post(f"/api/v1/conversations/{conversation.id}/assign", json={"agent_id": bob})
    assert moved.status_code == 200, moved.text
    assert moved.json() | {"status": "open", "assignee_id": bob} == moved.json()
    await h.driver.flush_callbacks()  # kf_close_session (alice) and kf_create_session (bob) arrive
    async with h.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 1
    after = await only_conversation(h.db)
    assert (after.id, after.status, after.assignee_id) == (conversation.id, "open", bob)
    paths = [c["path"] for c in (await h.driver.calls(host="mp"))[mark:] if "kfsession" in c["path"]]
    assert paths == [
        "/customservice/kfsession/getsession",
        "/customservice/kfsession/close",
        "/customservice/kfsession/create",
    ]
    channel = await h.runtime.channels.get(channel_id)
    assert (await channel.client.get_session(openid)).kf_account == "bob@gh_oa"

    refused = await sim_api.post(f"/api/v1/conversations/{conversation.id}/assign", json={"agent_id": None})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "platform_holds_session"
    assert (await only_conversation(h.db)).assignee_id == bob
    assert (await channel.client.get_session(openid)).kf_account == "bob@gh_oa"

    # a close by bob still ends it (a second later: MP dedupes events on user, second and event name)
    h.world.clock.advance(2)
    await h.driver.mp_kf_close(APPID, "bob@gh_oa", openid)
    await h.driver.flush_callbacks()
    assert (await only_conversation(h.db)).status == "resolved"


async def test_mp_reassign_to_an_offline_kf_leaves_the_user_with_the_first(sim_api) -> None:
    h = sim_api.h
    channel_id = await mp_with_kfs(h)
    await h.driver.mp_kf_online(APPID, "bob@gh_oa", False)
    openid = (await h.driver.mp_add_follower(APPID))["openid"]
    await h.driver.mp_user_text(APPID, openid, "hello")
    await h.driver.mp_kf_accept(APPID, "alice@gh_oa", openid)
    await h.driver.flush_callbacks()
    conversation = await only_conversation(h.db)
    bob = await agent_id(h.db, channel_id, "bob@gh_oa")
    refused = await sim_api.post(f"/api/v1/conversations/{conversation.id}/assign", json={"agent_id": bob})
    assert refused.status_code >= 400 and refused.json()["error"].get("errcode") == 65415
    await h.driver.flush_callbacks()
    channel = await h.runtime.channels.get(channel_id)
    assert (await channel.client.get_session(openid)).kf_account == "alice@gh_oa"
    after = await only_conversation(h.db)
    assert after.id == conversation.id and after.status == "open"
    assert await assignee_source(h.db, after) == "alice@gh_oa"
    assert after.platform_state != "reassigning"


async def test_conversation_created_without_enter_session_says_no_welcome(sim_api) -> None:
    h = sim_api.h
    await wecom_conversation(sim_api)
    async with h.db.sessions() as session:
        event = await session.scalar(select(DomainEvent).where(DomainEvent.type == "conversation.created"))
    assert event.payload | {"scene": None, "welcome_possible": False, "welcome_until": None} == event.payload
