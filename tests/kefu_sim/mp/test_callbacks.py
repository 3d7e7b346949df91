"""Callbacks the simulated MP pushes, checked by a receiver that verifies and decrypts like a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar, MediaType, Request, get, post
from litestar.exceptions import PermissionDeniedException

from gateway.errors import CallbackError
from gateway.wechat.crypto import WeChatCrypto, check_plain_signature
from gateway.wechat.xmlmsg import parse_xml
from kefu_sim import SimDriver, World

DATA = Path(__file__).parents[2] / "data" / "mp_kefu"
TOKEN = "mpCallbackToken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
URL = "http://receiver/cb"
MODES = ("plain", "compat", "safe")


def receiver(inbox: list[dict[str, Any]], *, token: str = TOKEN) -> Litestar:
    """An MP server: GET echoes echostr after checking `signature`; POST verifies, decrypts, parses.

    `app.state.appids` lists the AppIDs it serves (the receive ids a decrypted payload may carry).
    """
    appids: list[str] = []

    @get("/cb", media_type=MediaType.TEXT)
    async def check(request: Request) -> str:
        q = request.query_params
        try:
            check_plain_signature(token, q["signature"], q["timestamp"], q["nonce"])
        except CallbackError:
            raise PermissionDeniedException("bad signature") from None
        return q["echostr"]

    @post("/cb", media_type=MediaType.TEXT, status_code=200)
    async def receive(request: Request) -> str:
        q = request.query_params
        body = await request.body()
        try:
            check_plain_signature(token, q["signature"], q["timestamp"], q["nonce"])
            if q.get("encrypt_type") == "aes":
                crypto = WeChatCrypto(token, AES_KEY, appids)
                inner = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
            else:
                inner = body.decode()
        except CallbackError:
            raise PermissionDeniedException("refused") from None
        inbox.append({"query": dict(q), "envelope": parse_xml(body), "message": parse_xml(inner)})
        return "success"

    app = Litestar(route_handlers=[check, receive])
    app.state.appids = appids
    return app


@pytest.fixture
def mp_inbox() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def mp_receiver(mp_inbox: list[dict[str, Any]]) -> Litestar:
    return receiver(mp_inbox)


@pytest.fixture
async def mp_sim(app: Litestar, sim: httpx.AsyncClient, mp_receiver: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The simulator client, with pushed callbacks going to `mp_receiver`."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(mp_receiver), base_url="http://receiver") as cb:
        app.state.dispatcher.set_client(cb)
        yield sim


async def make_account(client: httpx.AsyncClient, receiver_app: Litestar, mode: str) -> dict[str, Any]:
    account = await SimDriver(client).mp_create_app(
        callback_url=URL, callback_token=TOKEN, encoding_aes_key=AES_KEY, callback_mode=mode
    )
    receiver_app.state.appids.append(account["appid"])
    return account


def sample_keys(name: str) -> list[str]:
    return list(parse_xml((DATA / name).read_bytes()))


async def delivered(driver: SimDriver, inbox: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    await driver.flush_callbacks()
    assert [r["state"] for r in await driver.callbacks()] == ["delivered"] * count
    assert len(inbox) == count
    return [item["message"] for item in inbox]


@pytest.mark.parametrize("mode", MODES)
async def test_user_messages_match_the_samples_in_every_mode(
    mp_sim: httpx.AsyncClient, mp_receiver: Litestar, mp_inbox: list[dict[str, Any]], mode: str
) -> None:
    driver = SimDriver(mp_sim)
    account = await make_account(mp_sim, mp_receiver, mode)
    appid = account["appid"]
    openid = (await driver.mp_add_follower(appid, subscribe=False))["openid"]
    await driver.mp_subscribe(appid, openid)
    cases = [
        ({"msgtype": "text", "content": "this is a test"}, "callback_msg_text.xml"),
        ({"msgtype": "text", "content": "满意", "bizmsgmenuid": "101"}, "callback_msg_text_msgmenu_click.xml"),
        ({"msgtype": "image"}, "callback_msg_image.xml"),
        ({"msgtype": "voice"}, "callback_msg_voice.xml"),
        ({"msgtype": "video"}, "callback_msg_video.xml"),
        ({"msgtype": "shortvideo"}, "callback_msg_video.xml"),
        ({"msgtype": "location", "label": "位置信息"}, "callback_msg_location.xml"),
        ({"msgtype": "link", "title": "公众平台官网链接", "url": "https://mp.weixin.qq.com"}, "callback_msg_link.xml"),
    ]
    msgids = [(await driver.mp_user_message(appid, openid, **msg))["msgid"] for msg, _ in cases]
    messages = (await delivered(driver, mp_inbox, len(cases) + 1))[1:]
    for (msg, name), message, msgid in zip(cases, messages, msgids, strict=True):
        assert list(message) == sample_keys(name), name
        assert message["MsgType"] == msg["msgtype"]
        assert message["ToUserName"] == account["gh_id"] and message["FromUserName"] == openid
        assert message["MsgId"] == str(msgid)
    assert len(set(msgids)) == len(msgids)
    assert messages[0]["Content"] == "this is a test"
    assert (messages[1]["Content"], messages[1]["bizmsgmenuid"]) == ("满意", "101")
    assert messages[6]["Label"] == "位置信息" and float(messages[6]["Location_X"]) > 0
    # A user's image can be fetched from the MP host while it lives.
    token = (
        await mp_sim.get(
            "/mp/cgi-bin/token", params={"grant_type": "client_credential", "appid": appid, "secret": account["secret"]}
        )
    ).json()["access_token"]
    media = await mp_sim.get(
        "/mp/cgi-bin/media/get", params={"access_token": token, "media_id": messages[2]["MediaId"]}
    )
    assert media.content.startswith(b"\xff\xd8")


@pytest.mark.parametrize("mode", MODES)
async def test_envelope_and_query_per_mode(
    mp_sim: httpx.AsyncClient, mp_receiver: Litestar, mp_inbox: list[dict[str, Any]], mode: str
) -> None:
    driver = SimDriver(mp_sim)
    account = await make_account(mp_sim, mp_receiver, mode)
    openid = (await driver.mp_add_follower(account["appid"]))["openid"]
    await delivered(driver, mp_inbox, 1)
    [item] = mp_inbox
    plain_query = {"signature", "timestamp", "nonce", "openid"}
    assert item["query"]["openid"] == openid
    if mode == "plain":
        assert set(item["query"]) == plain_query
        assert item["envelope"] == item["message"]
    elif mode == "compat":
        assert set(item["query"]) == plain_query | {"encrypt_type", "msg_signature"}
        assert item["query"]["encrypt_type"] == "aes"
        assert {k: v for k, v in item["envelope"].items() if k != "Encrypt"} == item["message"]
        assert item["envelope"]["Encrypt"]
    else:
        assert set(item["query"]) == plain_query | {"encrypt_type", "msg_signature"}
        assert item["envelope"] == {"ToUserName": account["gh_id"], "Encrypt": item["envelope"]["Encrypt"]}
    assert item["message"]["Event"] == "subscribe"


@pytest.mark.parametrize("mode", MODES)
async def test_events_match_the_samples(
    mp_sim: httpx.AsyncClient, mp_receiver: Litestar, mp_inbox: list[dict[str, Any]], mode: str
) -> None:
    driver = SimDriver(mp_sim)
    account = await make_account(mp_sim, mp_receiver, mode)
    appid = account["appid"]
    token = (
        await mp_sim.get(
            "/mp/cgi-bin/token", params={"grant_type": "client_credential", "appid": appid, "secret": account["secret"]}
        )
    ).json()["access_token"]
    wechat_id = account["wechat_id"]
    for name in ("test1", "test2"):
        kf_account = f"{name}@{wechat_id}"
        await mp_sim.post(
            "/mp/customservice/kfaccount/add",
            params={"access_token": token},
            json={"kf_account": kf_account, "nickname": name},
        )
        await driver.mp_kf_bind(appid, kf_account, f"wx_{name}_worker")
        await driver.mp_kf_online(appid, kf_account)
    kf1, kf2 = f"test1@{wechat_id}", f"test2@{wechat_id}"
    openid = (await driver.mp_add_follower(appid, qr_scene_str="campaign"))["openid"]
    await driver.mp_event(appid, openid, "CLICK", "V1001_GOOD")
    await driver.mp_event(appid, openid, "VIEW", "https://example.com")
    await driver.mp_event(appid, openid, "SCAN", "123")
    created = await mp_sim.post(
        "/mp/customservice/kfsession/create", params={"access_token": token}, json={"kf_account": kf1, "openid": openid}
    )
    assert created.json()["errcode"] == 0
    await driver.mp_kf_switch(appid, openid, kf2)
    await driver.mp_kf_close(appid, kf2, openid)
    await driver.mp_unsubscribe(appid, openid)

    subscribe, click, view, scan, create, switch, close, unsubscribe = await delivered(driver, mp_inbox, 8)
    head = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Event"]
    assert (subscribe["Event"], subscribe["EventKey"]) == ("subscribe", "qrscene_campaign")
    assert list(subscribe) == [*head, "EventKey", "Ticket"]
    assert list(click) == [*head, "EventKey"] and (click["Event"], click["EventKey"]) == ("CLICK", "V1001_GOOD")
    assert view["Event"] == "VIEW" and view["EventKey"] == "https://example.com"
    assert list(scan) == [*head, "EventKey", "Ticket"] and scan["EventKey"] == "123"
    assert list(create) == sample_keys("callback_event_kf_create_session.xml")
    assert (create["Event"], create["KfAccount"]) == ("kf_create_session", kf1)
    assert list(switch) == sample_keys("callback_event_kf_switch_session.xml")
    assert (switch["FromKfAccount"], switch["ToKfAccount"]) == (kf1, kf2)
    assert list(close) == sample_keys("callback_event_kf_close_session.xml")
    assert (close["Event"], close["KfAccount"]) == ("kf_close_session", kf2)
    assert unsubscribe["Event"] == "unsubscribe"
    assert all(item["message"]["FromUserName"] == openid for item in mp_inbox)


async def test_a_receiver_with_another_token_refuses_every_push(
    app: Litestar, sim: httpx.AsyncClient, world: World, mp_inbox: list[dict[str, Any]]
) -> None:
    world.config.callback_retries = 1
    strict = receiver(mp_inbox, token="someOtherToken")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(strict), base_url="http://receiver") as cb:
        app.state.dispatcher.set_client(cb)
        driver = SimDriver(sim)
        account = await make_account(sim, strict, "safe")
        await driver.mp_add_follower(account["appid"])
        await driver.flush_callbacks()
        [record] = await driver.callbacks()
        assert record["state"] == "failed" and [a["status"] for a in record["attempts"]] == [403, 403]
        assert mp_inbox == []
        assert (await driver.mp_verify_url(account["appid"]))["ok"] is False


async def test_url_verification(mp_sim: httpx.AsyncClient, mp_receiver: Litestar) -> None:
    driver = SimDriver(mp_sim)
    for mode in MODES:  # the echostr is plain in every mode
        account = await make_account(mp_sim, mp_receiver, mode)
        result = await driver.mp_verify_url(account["appid"])
        assert result["ok"] is True and result["body"] == result["echostr"] and result["status"] == 200
    bare = await driver.mp_create_app()
    assert (await driver.mp_verify_url(bare["appid"]))["ok"] is False


async def test_no_callback_without_a_url_and_mode_switch(
    mp_sim: httpx.AsyncClient, mp_receiver: Litestar, mp_inbox: list[dict[str, Any]]
) -> None:
    driver = SimDriver(mp_sim)
    bare = await driver.mp_create_app()
    openid = (await driver.mp_add_follower(bare["appid"]))["openid"]
    await driver.mp_user_text(bare["appid"], openid, "hello?")
    assert await driver.callbacks() == []
    await driver.mp_configure(
        bare["appid"], callback_url=URL, callback_token=TOKEN, encoding_aes_key=AES_KEY, callback_mode="safe"
    )
    mp_receiver.state.appids.append(bare["appid"])
    await driver.mp_user_text(bare["appid"], openid, "now?")
    [message] = await delivered(driver, mp_inbox, 1)
    assert message["Content"] == "now?"
    assert mp_inbox[0]["query"]["encrypt_type"] == "aes"
    with pytest.raises(RuntimeError, match="400"):
        await driver.mp_configure(bare["appid"], callback_mode="secret")
    with pytest.raises(RuntimeError, match="400"):
        await driver.mp_configure(bare["appid"], encoding_aes_key="short")
