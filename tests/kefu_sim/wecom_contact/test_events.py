"""External-contact callbacks: encrypted pushes decrypted by a receiver app with gateway.wechat.crypto."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, post

from gateway.wechat.crypto import WeChatCrypto
from gateway.wechat.xmlmsg import parse_xml
from kefu_sim import SimDriver, World
from kefu_sim.wecom.state import WeComCorp
from tests.kefu_sim.wecom_contact.support import CORP, SECRET, ContactApi

TOKEN = "cbToken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
DAY = 86_400


def receiver_app(received: list[dict[str, Any]]) -> Litestar:
    """A stand-in for the gateway: verifies, decrypts and keeps each pushed event."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP)

    @post("/callback", status_code=200)
    async def callback(request: Request) -> str:
        q = request.query_params
        plain = crypto.decrypt_message(await request.body(), q["msg_signature"], q["timestamp"], q["nonce"])
        received.append(parse_xml(plain))
        return "success"

    return Litestar(route_handlers=[callback])


@pytest.fixture
def contact_received() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def contact_world(world: World) -> World:
    """This test's world with the contact corp, its callback pointing at the receiver."""
    world.state.corps[CORP] = WeComCorp(
        corpid=CORP,
        secrets=[SECRET],
        callback_url="http://receiver/callback",
        callback_token=TOKEN,
        encoding_aes_key=AES_KEY,
    )
    return world


@pytest.fixture
async def contact_client(
    app: Litestar, contact_world: World, contact_received: list[dict[str, Any]]
) -> AsyncIterator[httpx.AsyncClient]:
    receiver = httpx.AsyncClient(
        transport=httpx.ASGITransport(receiver_app(contact_received)), base_url="http://receiver"
    )
    app.state.dispatcher.set_client(receiver)
    async with receiver, httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        yield client
        await app.state.dispatcher.close()


@pytest.fixture
async def contact_members(contact_driver: SimDriver) -> None:
    await contact_driver.contact_add_member(CORP, "alice", name="Alice")
    await contact_driver.contact_add_member(CORP, "bob", name="Bob")


async def test_add_external_contact_carries_state_and_welcome_code(
    contact_api: ContactApi,
    contact_driver: SimDriver,
    contact_world: World,
    contact_members: None,
    contact_received: list[dict[str, Any]],
) -> None:
    way = await contact_api.post("add_contact_way", {"type": 1, "scene": 2, "user": ["alice"], "state": "expo"})
    added = await contact_driver.contact_add_customer(CORP, config_id=way["config_id"], nickname="Carol")
    await contact_driver.flush_callbacks()
    [event] = contact_received
    assert event == {
        "ToUserName": CORP,
        "FromUserName": "sys",
        "CreateTime": str(int(contact_world.now())),
        "MsgType": "event",
        "Event": "change_external_contact",
        "ChangeType": "add_external_contact",
        "UserID": "alice",
        "ExternalUserID": added["external_userid"],
        "State": "expo",
        "WelcomeCode": added["welcome_code"],
    }
    [record] = await contact_driver.callbacks()
    assert (record["seq"], record["state"]) == (added["callback_seq"], "delivered")
    # the receiver can welcome the customer with the code it was pushed
    welcome = {"welcome_code": event["WelcomeCode"], "text": {"content": "hi"}}
    assert (await contact_api.post("send_welcome_msg", welcome))["errcode"] == 0


async def test_edit_and_delete_events(
    contact_driver: SimDriver, contact_members: None, contact_received: list[dict[str, Any]]
) -> None:
    ext = (await contact_driver.contact_add_customer(CORP, userid="alice", nickname="Carol"))["external_userid"]
    await contact_driver.contact_add_customer(CORP, userid="bob", unionid=(await _unionid(contact_driver, ext)))
    await contact_driver.contact_edit_customer(CORP, "alice", ext, remark="VIP")
    await contact_driver.contact_member_delete(CORP, "alice", ext)
    await contact_driver.contact_customer_delete(CORP, "bob", ext)
    await contact_driver.flush_callbacks()
    changes = [(e["ChangeType"], e["UserID"], e["ExternalUserID"]) for e in contact_received]
    assert changes == [
        ("add_external_contact", "alice", ext),
        ("add_external_contact", "bob", ext),
        ("edit_external_contact", "alice", ext),
        ("del_external_contact", "alice", ext),
        ("del_follow_user", "bob", ext),
    ]
    assert "WelcomeCode" not in contact_received[2] and "Source" not in contact_received[3]


async def _unionid(driver: SimDriver, ext: str) -> str:
    book = await driver.contact_book(CORP)
    return book["contacts"][ext]["unionid"]


async def test_transfer_events(
    contact_api: ContactApi,
    contact_driver: SimDriver,
    contact_world: World,
    contact_members: None,
    contact_received: list[dict[str, Any]],
) -> None:
    first = (await contact_driver.contact_add_customer(CORP, userid="alice", nickname="One"))["external_userid"]
    second = (await contact_driver.contact_add_customer(CORP, userid="alice", nickname="Two"))["external_userid"]
    body = {"handover_userid": "alice", "takeover_userid": "bob", "external_userid": [first, second]}
    assert [c["errcode"] for c in (await contact_api.post("transfer_customer", body))["customer"]] == [0, 0]
    await contact_driver.contact_refuse_transfer(CORP, second)
    contact_world.clock.advance(DAY)
    await contact_driver.contact_settle(CORP)
    await contact_driver.flush_callbacks()
    events = contact_received[2:]
    assert [(e["ChangeType"], e["UserID"], e["ExternalUserID"]) for e in events] == [
        ("transfer_fail", "bob", second),
        ("del_external_contact", "alice", first),
    ]
    assert events[0]["FailReason"] == "customer_refused"
    assert events[1]["Source"] == "DELETE_BY_TRANSFER"


async def test_group_chat_events(
    contact_driver: SimDriver, contact_members: None, contact_received: list[dict[str, Any]]
) -> None:
    ext = (await contact_driver.contact_add_customer(CORP, userid="alice", nickname="Carol"))["external_userid"]
    chat_id = (await contact_driver.contact_create_group_chat(CORP, "alice", members=["bob"]))["chat_id"]
    await contact_driver.contact_group_members(CORP, chat_id, add=[ext], scene=3)
    await contact_driver.contact_group_members(CORP, chat_id, remove=["bob"])
    await contact_driver.contact_dismiss_group_chat(CORP, chat_id)
    await contact_driver.flush_callbacks()
    chat_events = contact_received[1:]
    assert {e["Event"] for e in chat_events} == {"change_external_chat"}
    assert all(e["ChatId"] == chat_id for e in chat_events)
    assert [e["ChangeType"] for e in chat_events] == ["create", "update", "update", "dismiss"]
    joined, left = chat_events[1], chat_events[2]
    assert (joined["UpdateDetail"], joined["JoinScene"], joined["MemChangeCnt"]) == ("add_member", "3", "1")
    assert joined["MemChangeList"] == {"Item": ext}
    assert (left["UpdateDetail"], left["MemChangeList"]) == ("del_member", {"Item": "bob"})


async def test_no_callback_url_means_no_push(
    contact_driver: SimDriver, contact_world: World, contact_members: None, contact_received: list[dict[str, Any]]
) -> None:
    contact_world.state.corps[CORP].callback_url = None
    added = await contact_driver.contact_add_customer(CORP, userid="alice", nickname="Carol")
    assert added["callback_seq"] is None
    assert await contact_driver.callbacks() == []
    assert contact_received == []
