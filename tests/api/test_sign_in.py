"""Operators signing in: the session cookie, CSRF on cookie writes, sign-out, expiry, deactivation,
the failed sign-in limit (shared by replicas through the database) and SSE with a session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select, update

from gateway.api.app import create_app
from gateway.db.engine import Database
from gateway.db.models import Agent, Conversation
from gateway.db.people import AuditEntry, OperatorSession, SignInFailure
from gateway.db.types import utcnow
from gateway.runtime import Runtime
from gateway.sealing import SecretBox
from tests.api.operator_support import PASSWORD, add_operator, session_cookie, sign_in
from tests.api.support import Api, add_channel, api_settings, make_keys, say
from tests.api.test_events import Stream


async def conversation_and_gateway_agent(api: Api, box: SecretBox) -> tuple[int, int]:
    channel = await add_channel(api.db, box)
    await say(api.db, channel, "kf1", "alice", "hello")
    async with api.db.session() as session:
        agent = Agent(channel_id=None, source_id="desk-1", name="Desk", raw={})
        session.add(agent)
        await session.flush()
        conversation = await session.scalar(select(Conversation))
        return conversation.id, agent.id


async def audit_count(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_sign_in_sets_a_safe_cookie_and_me_gives_the_csrf_token_again(
    api: Api, production_passwords: object
) -> None:
    """(Signs in with the product's argon2id parameters, not the tests' cheap ones.)"""
    await add_operator(api.db, "Ana@Example.com")
    answer = await api.client.post("/api/v1/auth/sign-in", json={"email": " ANA@example.COM ", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"]
    token = session_cookie(answer)
    assert token and len(token) >= 40
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "path", "samesite"} <= attributes.keys()  # the public URL is https
    assert attributes["samesite"].lower() == "samesite=lax" and attributes["path"] == "Path=/"
    body = answer.json()
    assert set(body) == {"operator", "csrf_token"} and body["operator"]["email"] == "ana@example.com"
    assert "password" not in answer.text and "argon2" not in answer.text
    async with api.db.sessions() as session:
        row = await session.scalar(select(OperatorSession))
    assert row.token_hash != token and token not in row.token_hash and row.csrf_hash != body["csrf_token"]

    me = await api.client.get("/api/v1/auth/me", headers={"Cookie": f"kefu_session={token}"})
    assert me.status_code == 200 and me.json() == body | {"operator": me.json()["operator"]}
    assert me.json()["csrf_token"] == body["csrf_token"] and me.json()["operator"]["last_sign_in_at"]
    # an API key is not a session
    assert (await api.get("/api/v1/auth/me")).status_code == 403


async def test_cookie_is_not_secure_over_plain_http_without_an_https_public_url(db: Database) -> None:
    settings = api_settings(db, GATEWAY_PUBLIC_URL="http://127.0.0.1:8000")
    runtime = Runtime(settings, db=db)
    app = create_app(settings, runtime=runtime, background=False)
    await add_operator(db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client:
        answer = await client.post("/api/v1/auth/sign-in", json={"email": "ana@example.com", "password": PASSWORD})
        assert answer.status_code == 200 and "secure" not in answer.headers["set-cookie"].lower()
        assert "kefu_session" in client.cookies  # a browser keeps it: the jar sends it back
        assert (await client.get("/api/v1/auth/me")).status_code == 200
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="https://gateway") as client:
        answer = await client.post("/api/v1/auth/sign-in", json={"email": "ana@example.com", "password": PASSWORD})
        assert "secure" in answer.headers["set-cookie"].lower()  # an https request gets a Secure cookie
    await runtime.stop()


async def test_nothing_without_a_session_or_a_key(api: Api, box: SecretBox) -> None:
    conversation_id, agent_id = await conversation_and_gateway_agent(api, box)
    for method, path in (
        ("GET", "/api/v1/conversations"),
        ("GET", "/api/v1/auth/me"),
        ("POST", "/api/v1/auth/sign-out"),
    ):
        bare = await api.client.request(method, path)
        assert bare.status_code == 401 and bare.json()["error"]["code"] == "unauthorized"
        forged = await api.client.request(method, path, headers={"Cookie": "kefu_session=forged-token"})
        assert forged.status_code == 401
    writes = await api.client.post(
        f"/api/v1/conversations/{conversation_id}/assign",
        json={"agent_id": agent_id},
        headers={"Cookie": "kefu_session=forged-token", "X-CSRF-Token": "x"},
    )
    assert writes.status_code == 401
    async with api.db.sessions() as session:
        assert (await session.get(Conversation, conversation_id)).assignee_id is None


async def test_csrf_is_enforced_on_cookie_writes_only(api: Api, box: SecretBox) -> None:
    conversation_id, agent_id = await conversation_and_gateway_agent(api, box)
    await add_operator(api.db)
    ana = await sign_in(api.client)
    path = f"/api/v1/conversations/{conversation_id}/assign"
    audited = await audit_count(api.db)
    for csrf in (False, "wrong-token", ""):
        refused = await ana.post(path, json={"agent_id": agent_id}, csrf=csrf)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed", csrf
    other = await add_operator(api.db, "bo@example.com", name="Bo")
    bo = await sign_in(api.client, "bo@example.com")
    assert other and (await ana.post(path, json={"agent_id": agent_id}, csrf=bo.csrf)).status_code == 403
    async with api.db.sessions() as session:
        assert (await session.get(Conversation, conversation_id)).assignee_id is None
    assert await audit_count(api.db) == audited + 1  # bo's sign-in only
    done = await ana.post(path, json={"agent_id": agent_id})
    assert done.status_code == 200 and done.json()["assignee_id"] == agent_id
    # reads need no token; Bearer writes need none (a browser cannot add the header cross-site)
    assert (await ana.get("/api/v1/conversations", csrf=False)).status_code == 200
    unassigned = await api.post(path, json={"agent_id": None})
    assert unassigned.status_code == 200 and unassigned.json()["assignee_id"] is None


async def test_sign_out_ends_the_session_everywhere(api: Api) -> None:
    await add_operator(api.db)
    ana = await sign_in(api.client)
    again = await sign_in(api.client)  # a second browser
    assert (await ana.post("/api/v1/auth/sign-out", csrf=False)).status_code == 403
    out = await ana.post("/api/v1/auth/sign-out")
    assert out.status_code == 204 and session_cookie(out) in ("", '""')
    assert "max-age=0" in out.headers["set-cookie"].lower()
    assert (await ana.get("/api/v1/auth/me")).status_code == 401
    assert (await ana.post("/api/v1/auth/sign-out")).status_code == 401
    assert (await again.get("/api/v1/auth/me")).status_code == 200  # only that session ended
    assert (await api.post("/api/v1/auth/sign-out")).status_code == 403  # an API key has no session


async def test_sessions_expire_when_idle_and_at_their_maximum_age(api: Api) -> None:
    await add_operator(api.db)
    idle, old, fresh = [await sign_in(api.client) for _ in range(3)]
    async with api.db.session() as session:
        rows = list(await session.scalars(select(OperatorSession).order_by(OperatorSession.id)))
        # the default idle timeout is 12 h; the maximum age 7 days
        rows[0].last_seen_at = utcnow() - timedelta(hours=12, seconds=1)
        rows[1].expires_at = utcnow() - timedelta(seconds=1)
        rows[2].last_seen_at = utcnow() - timedelta(hours=11)
    assert (await idle.get("/api/v1/auth/me")).status_code == 401
    assert (await old.get("/api/v1/auth/me")).status_code == 401
    assert (await fresh.get("/api/v1/auth/me")).status_code == 200
    async with api.db.sessions() as session:
        seen = await session.scalar(select(OperatorSession.last_seen_at).where(OperatorSession.id == rows[2].id))
    assert utcnow() - seen < timedelta(minutes=1)  # the request moved the idle clock


async def test_session_lifetimes_follow_the_settings(db: Database) -> None:
    settings = api_settings(db, GATEWAY_SESSION_IDLE="120", GATEWAY_SESSION_MAX_AGE="3600")
    assert (settings.sign_in.idle, settings.sign_in.max_age) == (120.0, 3600.0)
    runtime = Runtime(settings, db=db)
    app = create_app(settings, runtime=runtime, background=False)
    await add_operator(db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client:
        ana = await sign_in(client)
        assert (
            "max-age=3600"
            in (await client.post("/api/v1/auth/sign-in", json={"email": "ana@example.com", "password": PASSWORD}))
            .headers["set-cookie"]
            .lower()
        )
        async with db.session() as session:
            row = await session.scalar(select(OperatorSession).order_by(OperatorSession.id))
            assert timedelta(minutes=59) < row.expires_at - row.created_at <= timedelta(hours=1)
            row.last_seen_at = utcnow() - timedelta(seconds=121)
        assert (await ana.get("/api/v1/auth/me")).status_code == 401
    await runtime.stop()


async def test_the_same_401_for_unknown_email_wrong_password_and_inactive(api: Api) -> None:
    await add_operator(api.db)
    await add_operator(api.db, "gone@example.com", name="Gone")
    assert (await api.patch("/api/v1/operators/2", json={"active": False}, as_="admin")).status_code == 200
    answers = [
        await api.client.post("/api/v1/auth/sign-in", json=body)
        for body in (
            {"email": "nobody@example.com", "password": PASSWORD},
            {"email": "ana@example.com", "password": "wrong password!"},
            {"email": "gone@example.com", "password": PASSWORD},
        )
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({json.dumps(a.json()["error"]) for a in answers}) == 1
    assert answers[0].json()["error"]["code"] == "invalid_credentials"
    assert all("set-cookie" not in a.headers for a in answers)
    bad = await api.client.post("/api/v1/auth/sign-in", json={"email": "ana@example.com"})
    assert bad.status_code == 400 or bad.status_code == 422


async def test_failed_sign_ins_are_limited_per_email_across_replicas(api: Api, db: Database) -> None:
    await add_operator(api.db)
    settings = api_settings(db, GATEWAY_PUBLIC_URL="https://gw.example.com")
    other = Runtime(settings, db=db)
    replica = create_app(settings, runtime=other, background=False)
    wrong = {"email": "ana@example.com", "password": "not the password"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(replica), base_url="http://gateway-2") as second:
        for client in (api.client, second, api.client, second, api.client):
            assert (await client.post("/api/v1/auth/sign-in", json=wrong)).status_code == 401
        for client in (api.client, second):
            limited = await client.post("/api/v1/auth/sign-in", json={"email": "ANA@example.com", "password": PASSWORD})
            assert limited.status_code == 429 and limited.json()["error"]["code"] == "too_many_attempts"
            assert 800 < int(limited.headers["retry-after"]) <= 901
            assert "set-cookie" not in limited.headers
    await other.stop()
    # the window passes: the oldest failures age out and the right password works again
    async with api.db.session() as session:
        await session.execute(update(SignInFailure).values(at=utcnow() - timedelta(minutes=15, seconds=1)))
    assert (await sign_in(api.client)).operator["email"] == "ana@example.com"
    async with api.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SignInFailure)) == 0  # cleared


async def test_failed_sign_ins_are_limited_per_client_address(api: Api) -> None:
    await add_operator(api.db)
    for n in range(30):
        body = {"email": f"guess{n}@example.com", "password": "not the password"}
        assert (await api.client.post("/api/v1/auth/sign-in", json=body)).status_code == 401
    limited = await api.client.post("/api/v1/auth/sign-in", json={"email": "ana@example.com", "password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


async def test_deactivation_and_a_new_password_end_the_sessions(api: Api) -> None:
    await add_operator(api.db)
    bo_id = await add_operator(api.db, "bo@example.com", name="Bo")
    ana, bo = await sign_in(api.client), await sign_in(api.client, "bo@example.com")
    changed = await api.patch("/api/v1/operators/1", json={"password": "a brand new password"}, as_="admin")
    assert changed.status_code == 200 and "password" not in changed.text
    assert (await ana.get("/api/v1/auth/me")).status_code == 401
    assert (await sign_in(api.client, password="a brand new password")).operator["id"] == 1
    assert (await bo.get("/api/v1/auth/me")).status_code == 200
    assert (await api.patch(f"/api/v1/operators/{bo_id}", json={"active": False}, as_="admin")).status_code == 200
    assert (await bo.get("/api/v1/conversations")).status_code == 401
    assert (await bo.post("/api/v1/auth/sign-out")).status_code == 401


async def test_agents_write_and_admins_administer(api: Api) -> None:
    await add_operator(api.db, role="agent")
    await add_operator(api.db, "root@example.com", role="admin", name="Root")
    agent, admin = await sign_in(api.client), await sign_in(api.client, "root@example.com")
    assert (await agent.get("/api/v1/conversations")).status_code == 200
    for path in ("/api/v1/operators", "/api/v1/api-keys", "/api/v1/channels", "/api/v1/webhooks"):
        refused = await agent.get(path)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden", path
        assert (await admin.get(path)).status_code == 200, path
    made = await agent.post("/api/v1/api-keys", json={"name": "mine", "scope": "admin"})
    assert made.status_code == 403
    made = await admin.post("/api/v1/api-keys", json={"name": "crm", "scope": "read"})
    assert made.status_code == 201
    async with api.db.sessions() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "api_key.created"))
    assert (entry.actor_type, entry.actor_id, entry.actor_name) == ("operator", 2, "Root")


# --------------------------------------------------------------------------- SSE with a session


@pytest.fixture
async def app(db: Database) -> AsyncIterator[Litestar]:
    settings = api_settings(db)
    runtime = Runtime(settings, db=db)
    yield create_app(settings, runtime=runtime, background=False)
    await runtime.stop()


async def test_the_event_stream_works_with_a_session_cookie(app: Litestar, db: Database, box: SecretBox) -> None:
    channel = await add_channel(db, box)
    await add_operator(db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client:
        ana = await sign_in(client)
        keys = await make_keys(db)
    url = "/api/v1/events/stream?types=message.created"
    async with Stream(app, url, {"Cookie": "kefu_session=nope"}) as refused:
        assert refused.status == 401
    async with Stream(app, url, {"Cookie": f"kefu_session={ana.cookie}"}) as live:
        assert live.status == 200
        await asyncio.sleep(0.05)
        await say(db, channel, "kf1", "alice", "for the inbox")
        frame = await live.frame(timeout=5)
    assert frame["event"] == "message.created" and json.loads(frame["data"])["data"]["content"] == "for the inbox"
    assert keys  # the stream above used no key
