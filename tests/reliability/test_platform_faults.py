"""One platform call in five fails (HTTP 5xx, timeouts, errcode -1, 45009) during syncs and sends.

Customers keep writing while the CRM replies through the REST API. Every customer message must
end up stored once, and every accepted reply must end `sent` with exactly one delivery in the
simulator's log, or `failed` with a reason (never left queued). For MP a timed-out send may be
failed `delivery_unknown` (MP has no idempotency key; see gateway/actions.py): the simulator's
timeout fault never delivers, so such a message must have no delivery either.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from gateway.db.models import Conversation, Message
from tests.reliability.conftest import (
    APPID,
    CORP,
    Rig,
    drive,
    exactly_once,
    fast_platform_calls,
    jobs_by_status,
    make_jobs_due,
    stored_messages,
    sync_everything,
)

FAULT_RATE = 0.2
ROUNDS = 12
CLIENT_TIMEOUT = 0.2  # the gateway's platform client gives up after this...
HELD = 0.6  # ...while the simulator's "timeout" fault holds the request this long
FAULTS = [("http_status", 500), ("http_status", 503), ("timeout", HELD), ("errcode", -1), ("errcode", 45009)]
PATHS = {
    "wecom": ["/cgi-bin/kf/sync_msg", "/cgi-bin/kf/send_msg"],
    "mp": ["/cgi-bin/message/custom/send"],
}


async def add_faults(rig: Rig, kind: str) -> None:
    """Rules tried in turn; each fires with p such that one of them fires 20 % of the time."""
    p = 1 - (1 - FAULT_RATE) ** (1 / len(FAULTS))
    for path in PATHS[kind]:
        for fault, value in FAULTS:
            await rig.h.driver.add_fault(path, fault, value, probability=p)


async def conversations(rig: Rig) -> list[int]:
    async with rig.db.sessions() as session:
        return list(await session.scalars(select(Conversation.id).order_by(Conversation.id)))


@pytest.mark.parametrize(("kind", "seed"), [("wecom", 11), ("mp", 12)])
async def test_twenty_percent_platform_faults(rig: Rig, monkeypatch, kind: str, seed: int) -> None:
    fast_platform_calls(monkeypatch, timeout=CLIENT_TIMEOUT)
    h = rig.h
    h.world.rng.seed(seed)
    rng = random.Random(seed)
    if kind == "wecom":
        await h.wecom_channel()
        kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
        people = [(await h.driver.wecom_add_customer(CORP))["external_userid"] for _ in range(5)]
    else:
        await h.mp_channel(appid=APPID)
        people = [(await h.driver.mp_add_follower(APPID))["openid"] for _ in range(5)]
    await add_faults(rig, kind)

    async def write(text: str) -> None:
        if kind == "wecom":
            await h.driver.wecom_customer_send(CORP, kf, rng.choice(people), content=text)
        else:
            await h.driver.mp_user_text(APPID, rng.choice(people), text)

    replies: dict[int, str] = {}  # message id → text
    refused = 0
    for round_ in range(ROUNDS):
        for n in range(rng.randint(2, 4)):
            await write(f"customer {round_}.{n}")
        await sync_everything(h)  # errors are expected; the next round retries
        for conversation_id in await conversations(rig):
            if rng.random() < 0.7:
                text = f"reply {round_} to {conversation_id}"
                response = await rig.api.post(
                    f"/api/v1/conversations/{conversation_id}/messages", json={"content": text}
                )
                if response.status_code == 409:  # the policy says the platform would refuse: no call made
                    assert response.json()["error"]["code"] == "reply_not_allowed"
                    refused += 1
                    continue
                assert response.status_code == 202, response.text
                replies[response.json()["id"]] = text
        await h.runtime.jobs.drain()
        await make_jobs_due(rig.db)

    async def settled() -> bool:
        statuses = await jobs_by_status(rig.db, "send_message")
        if statuses.get("pending") or statuses.get("running"):
            return False
        if kind == "mp":
            return True
        stored = await stored_messages(rig.db, inbox_source_id=kf)
        return len([m for m in stored if m.message_type == "incoming"]) == len(
            [m for m in await h.driver.wecom_messages(CORP) if m["origin"] == 3]
        )

    await drive(h, settled, rounds=80)
    exposed = [c for c in await h.driver.calls() if c["path"] in PATHS[kind]]
    fired = [c for c in exposed if c["fault"]]
    assert len(fired) >= 8 and 0.08 < len(fired) / len(exposed) < 0.35, (len(fired), len(exposed))
    assert len(replies) >= 10 and refused < len(replies)

    # every customer message stored once
    if kind == "wecom":
        platform = {m["msgid"] for m in await h.driver.wecom_messages(CORP) if m["origin"] == 3}
        stored = [
            m.source_id for m in await stored_messages(rig.db, inbox_source_id=kf) if m.message_type == "incoming"
        ]
    else:
        platform = {
            c.plaintext.split("<MsgId>")[1].split("<")[0]
            for c in h.sim_app.state.dispatcher.records
            if "<MsgId>" in c.plaintext
        }
        stored = [
            m.source_id for m in await stored_messages(rig.db, inbox_source_id=APPID) if m.message_type == "incoming"
        ]
    exactly_once(stored, platform)

    # every reply sent exactly once, or failed with a reason and not delivered
    deliveries = [d for d in await h.driver.deliveries(platform=kind) if d["sender"] == "api"]
    async with rig.db.sessions() as session:
        rows = {m.id: m for m in await session.scalars(select(Message).where(Message.id.in_(replies)))}
    outcomes: dict[str, int] = {}
    for message_id, text in replies.items():
        row = rows[message_id]
        if kind == "wecom":
            delivered = [d for d in deliveries if d["msgid"] == row.source_id]
        else:  # MP custom/send carries no id of ours: match the (unique) text
            delivered = [d for d in deliveries if d["payload"].get("content") == text]
        assert row.status in ("sent", "failed"), (message_id, row.status)
        if row.status == "sent":
            assert len(delivered) == 1, (message_id, text, delivered)
            outcomes["sent"] = outcomes.get("sent", 0) + 1
        else:
            assert row.error_code and row.error_message, (message_id, row.error_code)
            assert delivered == [], (message_id, row.error_code, delivered)
            outcomes[row.error_code] = outcomes.get(row.error_code, 0) + 1
            if kind == "wecom":
                pytest.fail(f"a WeCom reply failed under transient faults only: {row.error_code} {row.error_message}")
            assert row.error_code in ("delivery_unknown", "-1", "45009", "platform_unreachable"), row.error_code
    assert len(deliveries) == outcomes.get("sent", 0), "a delivery no reply accounts for"
    assert outcomes.get("sent", 0) >= len(replies) // 2, outcomes


@pytest.mark.parametrize(
    ("kind", "fault", "value"), [("wecom", "http_status", 502), ("wecom", "errcode", 45009), ("mp", "errcode", -1)]
)
async def test_a_reply_that_never_gets_through_ends_failed_not_queued(
    rig: Rig, monkeypatch, kind: str, fault: str, value: float
) -> None:
    """When the retries run out the message says so: `failed` with the last error, not `queued` forever."""
    fast_platform_calls(monkeypatch)
    h = rig.h
    if kind == "wecom":
        await h.wecom_channel()
        kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
        await h.driver.wecom_customer_send(
            CORP, kf, (await h.driver.wecom_add_customer(CORP))["external_userid"], content="hello"
        )
    else:
        await h.mp_channel(appid=APPID)
        await h.driver.mp_user_text(APPID, (await h.driver.mp_add_follower(APPID))["openid"], "hello")
    await sync_everything(h)
    (conversation_id,) = await conversations(rig)
    await h.driver.add_fault(PATHS[kind][-1], fault, value)  # every send attempt fails
    response = await rig.api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": "doomed"})
    assert response.status_code == 202, response.text
    message_id = response.json()["id"]

    async def gave_up() -> bool:
        statuses = await jobs_by_status(rig.db, "send_message")
        return not statuses.get("pending") and not statuses.get("running")

    await drive(h, gave_up, rounds=20)
    message = (await rig.api.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    row = next(m for m in message["data"] if m["id"] == message_id)
    assert row["status"] == "failed" and row["error_code"], row
    assert [d for d in await h.driver.deliveries(platform=kind) if d["sender"] == "api"] == []
