"""Encrypted kf callbacks pushed to a receiver, URL verification, retries and injected faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import Litestar, MediaType, Request, Response, get, post

from gateway.wechat.crypto import WeChatCrypto
from gateway.wechat.xmlmsg import parse_xml
from kefu_sim import World
from tests.kefu_sim.support import WeComKit

TOKEN = "kfCallbackToken42"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
URL = "http://receiver/kf/callback"


@dataclass
class Receiver:
    """A tiny callback endpoint that decrypts like the gateway will."""

    crypto: WeChatCrypto
    received: list[dict[str, Any]] = field(default_factory=list)
    slow_next: int = 0  # the next N POSTs take `delay` seconds
    delay: float = 0.0
    status: int = 200
    echo_prefix: str = ""

    def app(self) -> Litestar:
        @post("/kf/callback", status_code=200)
        async def receive(request: Request) -> Response[str]:
            if self.slow_next > 0:
                self.slow_next -= 1
                await asyncio.sleep(self.delay)
            q = request.query_params
            plain = self.crypto.decrypt_message(await request.body(), q["msg_signature"], q["timestamp"], q["nonce"])
            self.received.append(parse_xml(plain))
            return Response("success", status_code=self.status, media_type=MediaType.TEXT)

        @get("/kf/callback")
        async def verify(request: Request) -> Response[str]:
            q = request.query_params
            plain = self.crypto.verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
            return Response(self.echo_prefix + plain, media_type=MediaType.TEXT)

        return Litestar([receive, verify], openapi_config=None)


@pytest.fixture
async def wecom_receiver(app: Litestar, wecom: WeComKit) -> AsyncIterator[Receiver]:
    """The `wecom` corp with callbacks configured towards an in-process Receiver."""
    receiver = Receiver(WeChatCrypto(TOKEN, AES_KEY, wecom.corpid))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(receiver.app())) as client:
        app.state.dispatcher.set_client(client)
        await wecom.driver.wecom_update_corp(
            wecom.corpid, callback_url=URL, callback_token=TOKEN, encoding_aes_key=AES_KEY
        )
        yield receiver


async def test_every_sync_visible_item_pushes_kf_msg_or_event(wecom: WeComKit, wecom_receiver: Receiver) -> None:
    d, c, k, u = wecom.driver, wecom.corpid, wecom.open_kfid, wecom.external_userid
    await d.wecom_enter(c, u, k)
    said = await wecom.customer_says()
    await wecom.post("kf/send_msg", {"touser": u, "open_kfid": k, "msgtype": "text", "text": {"content": "x"}})
    await d.wecom_set_servicer_status(c, "alice", 1)
    await d.flush_callbacks()
    assert len(wecom_receiver.received) == 3  # enter_session, the message, the status change; not the send
    inner = wecom_receiver.received[1]
    assert inner["ToUserName"] == c and inner["MsgType"] == "event" and inner["Event"] == "kf_msg_or_event"
    assert inner["OpenKfId"] == k and inner["Token"] == said["token"] and inner["CreateTime"].isdigit()
    page = await wecom.sync(token=inner["Token"])
    assert said["msgid"] in [m["msgid"] for m in page["msg_list"]]
    records = await d.callbacks()
    assert [r["state"] for r in records] == ["delivered"] * 3
    assert set(records[0]["query"]) == {"msg_signature", "timestamp", "nonce"}


async def test_slow_receiver_gets_the_callback_again(world: World, wecom: WeComKit, wecom_receiver: Receiver) -> None:
    world.config.callback_timeout = 0.05
    wecom_receiver.slow_next, wecom_receiver.delay = 1, 0.5
    await wecom.customer_says()
    await wecom.driver.flush_callbacks()
    [record] = await wecom.driver.callbacks()
    assert record["state"] == "delivered"
    assert [a["error"] for a in record["attempts"]] == ["TimeoutError", None]
    assert len(wecom_receiver.received) == 1


async def test_failing_receiver_gets_three_retries(wecom: WeComKit, wecom_receiver: Receiver) -> None:
    wecom_receiver.status = 500
    await wecom.customer_says()
    await wecom.driver.flush_callbacks()
    [record] = await wecom.driver.callbacks()
    assert record["state"] == "failed" and [a["status"] for a in record["attempts"]] == [500] * 4


async def test_dropped_callback_leaves_the_message_for_sync(wecom: WeComKit, wecom_receiver: Receiver) -> None:
    await wecom.driver.callback_faults(drop_next=1)
    said = await wecom.customer_says()
    await wecom.driver.flush_callbacks()
    assert wecom_receiver.received == []
    assert (await wecom.sync())["msg_list"][0]["msgid"] == said["msgid"]


async def test_no_callback_without_configuration(wecom: WeComKit) -> None:
    await wecom.customer_says()
    assert await wecom.driver.callbacks() == []


async def test_account_auth_change(wecom: WeComKit, wecom_receiver: Receiver) -> None:
    assert await wecom.driver.wecom_auth_change(wecom.corpid, remove=[wecom.open_kfid])
    await wecom.driver.flush_callbacks()
    [inner] = wecom_receiver.received
    assert inner["Event"] == "kf_account_auth_change" and inner["AuthDelOpenKfId"] == wecom.open_kfid
    assert "AuthAddOpenKfId" not in inner
    assert (await wecom.post("kf/account/list"))["account_list"][0]["manage_privilege"] is False


async def test_url_verification(wecom: WeComKit, wecom_receiver: Receiver) -> None:
    good = await wecom.driver.wecom_verify_url(wecom.corpid)
    assert good["ok"] is True and good["body"] == good["expected"] and good["status"] == 200
    wecom_receiver.echo_prefix = '"'
    bad = await wecom.driver.wecom_verify_url(wecom.corpid)
    assert bad["ok"] is False and bad["status"] == 200


async def test_url_verification_needs_callback_settings(wecom: WeComKit) -> None:
    with pytest.raises(RuntimeError, match="400"):
        await wecom.driver.wecom_verify_url(wecom.corpid)


async def test_injected_errcode_and_http_failures(wecom: WeComKit) -> None:
    await wecom.customer_says()
    body = {"touser": wecom.external_userid, "open_kfid": wecom.open_kfid, "msgtype": "text", "text": {"content": "x"}}
    await wecom.driver.add_fault("/cgi-bin/kf/send_msg", "errcode", -1, remaining=1)
    assert (await wecom.post("kf/send_msg", body))["errcode"] == -1
    assert (await wecom.post("kf/send_msg", body))["errcode"] == 0
    await wecom.driver.add_fault("/cgi-bin/kf/sync_msg", "http_status", 502, remaining=2)
    for _ in range(2):
        response = await wecom.sim.post(
            "/wecom/cgi-bin/kf/sync_msg", params={"access_token": wecom.token}, json={"open_kfid": wecom.open_kfid}
        )
        assert response.status_code == 502
    assert (await wecom.sync())["errcode"] == 0
    calls = await wecom.driver.calls(path="/cgi-bin/kf/sync_msg")
    assert [c["http_status"] for c in calls] == [502, 502, 200]
