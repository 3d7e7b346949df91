"""Access tokens revoked or expired at random moments: the gateway refreshes them and nobody notices.

Between the operations of a seeded workload (customers writing, syncs, CRM replies, typing,
directory syncs, channel checks, the job runner) the simulator revokes every token (the next
call gets 40014) or jumps its clock past their lifetime (42001). The CRM must see only 2xx
answers, syncs must not fail, every send job must succeed on its first attempt, and every reply
must reach its customer once.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import select

from gateway.db.models import Channel, Conversation, Inbox, Job, Message
from tests.reliability.conftest import APPID, CORP, Rig, stored_messages, sync_everything

OPERATIONS = 70


@pytest.mark.parametrize("seed", [21])
async def test_tokens_invalidated_at_random_are_refreshed_transparently(rig: Rig, seed: int) -> None:
    rng = random.Random(seed)
    h = rig.h
    wecom_id = await h.wecom_channel()
    mp_id = await h.mp_channel(appid=APPID)
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customers = [(await h.driver.wecom_add_customer(CORP))["external_userid"] for _ in range(3)]
    followers = [(await h.driver.mp_add_follower(APPID))["openid"] for _ in range(3)]
    statuses: Counter[int] = Counter()
    replies: dict[int, str] = {}
    allowance: Counter[int] = Counter()  # replies the conversation may still take (one per customer message here)
    invalidations = expiries = 0

    async def rest(method: str, path: str, **kwargs) -> dict:
        response = await rig.api.call(method, path, as_="admin", **kwargs)
        statuses[response.status_code] += 1
        assert 200 <= response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json() if response.content else {}

    async def conversation_kinds() -> dict[int, str]:
        async with rig.db.sessions() as session:
            rows = await session.execute(
                select(Conversation.id, Channel.kind)
                .join(Inbox, Inbox.id == Conversation.inbox_id)
                .join(Channel, Channel.id == Inbox.channel_id)
            )
            return dict(rows.all())

    for step in range(OPERATIONS):
        if rng.random() < 0.35:
            invalidations += await h.driver.invalidate_tokens() > 0
        elif rng.random() < 0.05 and expiries < 2:
            await h.driver.advance(7200 + 60)  # every token expires on the platform's clock (42001)
            expiries += 1
        op = rng.choice(["wecom_write", "mp_write", "reply", "reply", "directory", "verify", "jobs", "list"])
        kinds = await conversation_kinds()
        if op == "wecom_write":
            customer = rng.choice(customers)
            await h.driver.wecom_customer_send(CORP, kf, customer, content=f"w{step}")
            assert await sync_everything(h) == []
        elif op == "mp_write":
            await h.driver.mp_user_text(APPID, rng.choice(followers), f"m{step}")
            assert await sync_everything(h) == []
            if rng.random() < 0.6:  # typing needs a message from the user in the last 30 s: right now
                mp_messages = await stored_messages(rig.db, inbox_source_id=APPID)
                latest = [m for m in mp_messages if m.message_type == "incoming"]
                if rng.random() < 0.5:
                    invalidations += await h.driver.invalidate_tokens() > 0
                path = f"/api/v1/conversations/{latest[-1].conversation_id}/typing"
                await rest("POST", path, json={"on": True})
                await rest("POST", path, json={"on": False})
        elif op == "reply":
            allowance.clear()
            for conversation_id in kinds:
                messages = [m for m in await stored_messages(rig.db) if m.conversation_id == conversation_id]
                allowance[conversation_id] = sum(m.message_type == "incoming" for m in messages) - sum(
                    m.message_type == "outgoing" for m in messages
                )
            open_ = [c for c, n in allowance.items() if n > 0]
            if open_:
                conversation_id = rng.choice(open_)
                text = f"reply {step}"
                out = await rest("POST", f"/api/v1/conversations/{conversation_id}/messages", json={"content": text})
                replies[out["id"]] = text
        elif op == "directory":
            await rest("POST", "/api/v1/agents/sync", json={"channel_id": rng.choice([wecom_id, mp_id])})
        elif op == "verify":
            await rest("POST", f"/api/v1/channels/{rng.choice([wecom_id, mp_id])}/verify")
        elif op == "jobs":
            await h.runtime.jobs.drain()
        else:
            await rest("GET", "/api/v1/conversations")

    await h.runtime.jobs.drain()
    assert await sync_everything(h) == []
    assert invalidations >= 10 and len(replies) >= 5, (invalidations, len(replies))
    assert set(statuses) <= {200, 201, 202, 204}

    async with rig.db.sessions() as session:
        jobs = list(await session.scalars(select(Job)))
        sent = {m.id: m for m in await session.scalars(select(Message).where(Message.id.in_(replies)))}
    assert jobs and all(j.status == "done" and j.attempts == 1 for j in jobs), [
        (j.kind, j.status, j.attempts, j.last_error) for j in jobs if j.status != "done" or j.attempts != 1
    ]
    deliveries = [d for d in await h.driver.deliveries() if d["sender"] == "api"]
    for message_id, text in replies.items():
        assert sent[message_id].status == "sent", (message_id, sent[message_id].error_code)
        texts = [d["payload"].get("content") or d["payload"].get("text", {}).get("content") for d in deliveries]
        matching = [t for t in texts if t == text]
        assert len(matching) == 1, (text, matching)
    refreshes = await h.driver.calls(path="/cgi-bin/gettoken") + await h.driver.calls(path="/cgi-bin/stable_token")
    assert len(refreshes) >= 4, "tokens were never refreshed: the invalidations did not bite"
    refused = [c for c in await h.driver.calls() if c["errcode"] in (40014, 42001)]
    assert refused, "no call ever met a dead token"
