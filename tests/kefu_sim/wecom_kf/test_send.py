"""send_msg (every msgtype, windows and quotas, msgid) and send_msg_on_event codes (docs/platforms.md §2.5, §2.6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kefu_sim import World
from tests.kefu_sim.support import WeComKit

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "wecom_kf"
HOUR = 3600


def text(content: str = "您好", **extra: Any) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}, **extra}


async def send(kit: WeComKit, body: dict[str, Any], touser: str | None = None) -> dict[str, Any]:
    return await kit.post("kf/send_msg", {"touser": touser or kit.external_userid, "open_kfid": kit.open_kfid, **body})


async def media(kit: WeComKit, media_type: str = "image") -> str:
    return (await kit.driver.wecom_add_media(kit.corpid, media_type))["media_id"]


async def fill_sample(kit: WeComKit, body: dict[str, Any]) -> dict[str, Any]:
    """Put real ids (and a real URL for the "URL" placeholder) into a sample request body."""
    raw = json.dumps(body).replace("EXTERNAL_USERID", kit.external_userid).replace("OPEN_KFID", kit.open_kfid)
    body = json.loads(raw)
    payload = body.get(body["msgtype"], {})
    if "media_id" in payload:
        payload["media_id"] = await media(kit, body["msgtype"])
    if "thumb_media_id" in payload:
        payload["thumb_media_id"] = await media(kit)
    if payload.get("url") == "URL":
        payload["url"] = "https://work.weixin.qq.com/news/1"
    return body


@pytest.mark.parametrize(
    "sample",
    sorted(p.name for p in SAMPLES.glob("send_msg_*.json") if "on_event" not in p.name and "response" not in p.name),
)
async def test_every_send_msg_sample_is_accepted(world: World, wecom: WeComKit, sample: str) -> None:
    body = await fill_sample(wecom, json.loads((SAMPLES / sample).read_text()))
    await wecom.customer_says()
    answer = await wecom.post("kf/send_msg", body)
    assert answer["errcode"] == 0, answer
    assert set(answer) == set(json.loads((SAMPLES / "send_msg_response.json").read_text()))
    [delivery] = world.deliveries
    seen = (delivery.platform, delivery.app_id, delivery.account, delivery.touser, delivery.msgid, delivery.msgtype)
    assert seen == ("wecom", wecom.corpid, wecom.open_kfid, wecom.external_userid, answer["msgid"], body["msgtype"])


async def test_business_card_and_ca_link(wecom: WeComKit) -> None:
    await wecom.customer_says()
    assert (await send(wecom, {"msgtype": "business_card", "business_card": {"userid": "alice"}}))["errcode"] == 0
    assert (await send(wecom, {"msgtype": "ca_link", "ca_link": {"link_url": "https://work.weixin.qq.com/ca/cawcde"}}))[
        "errcode"
    ] == 0


async def test_48_hour_window(wecom: WeComKit) -> None:
    await wecom.customer_says()
    await wecom.driver.advance(47 * HOUR + 59 * 60)
    await wecom.fetch_token()
    assert (await send(wecom, text()))["errcode"] == 0
    await wecom.driver.advance(2 * 60)
    assert (await send(wecom, text()))["errcode"] == 95002
    await wecom.customer_says("back")
    assert (await send(wecom, text()))["errcode"] == 0


async def test_five_messages_per_customer_message(wecom: WeComKit) -> None:
    await wecom.customer_says()
    for _ in range(5):
        assert (await send(wecom, text()))["errcode"] == 0
    assert (await send(wecom, text()))["errcode"] == 95001
    await wecom.customer_says("again")
    assert (await send(wecom, text()))["errcode"] == 0


@pytest.mark.parametrize(("state", "errcode"), [(1, 0), (2, 95018), (3, 95018), (4, 95018)])
async def test_only_states_0_and_1_may_send(wecom: WeComKit, state: int, errcode: int) -> None:
    await wecom.customer_says()
    if state in (1, 2):
        await wecom.trans(state)
    if state in (3, 4):
        await wecom.trans(3, "alice")
    if state == 4:
        await wecom.trans(4)
    assert (await send(wecom, text()))["errcode"] == errcode


async def test_addressing_errors(wecom: WeComKit) -> None:
    assert (await send(wecom, text()))["errcode"] == 95031  # the customer never wrote
    await wecom.customer_says()
    assert (await send(wecom, text(), touser="wm-nobody"))["errcode"] == 40096
    assert (await wecom.post("kf/send_msg", {"touser": wecom.external_userid, "open_kfid": "wk" + "z" * 30, **text()}))[
        "errcode"
    ] == 95004
    assert (await wecom.post("kf/send_msg", {"touser": wecom.external_userid, **text()}))["errcode"] == 95000


async def test_msgid_is_echoed_generated_and_unique_per_account(wecom: WeComKit) -> None:
    await wecom.customer_says()
    assert (await send(wecom, text(msgid="order-42_a")))["msgid"] == "order-42_a"
    assert (await send(wecom, text(msgid="order-42_a")))["errcode"] == 40058
    generated = {(await send(wecom, text()))["msgid"] for _ in range(2)}
    assert len(generated) == 2 and all(len(m) <= 32 for m in generated)
    for bad in ("has space", "x" * 33, "中文"):
        assert (await send(wecom, text(msgid=bad)))["errcode"] == 40058


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"msgtype": "text", "text": {"content": ""}}, 44004),
        ({"msgtype": "text", "text": {"content": "字" * 683}}, 45002),  # 2049 bytes
        ({"msgtype": "text"}, 40058),
        ({"msgtype": "sticker", "sticker": {}}, 40008),
        ({"msgtype": "image", "image": {}}, 41006),
        ({"msgtype": "image", "image": {"media_id": "nope"}}, 40007),
        ({"msgtype": "image", "image": {"media_id": "VOICE"}}, 40007),
        ({"msgtype": "link", "link": {"title": "t", "url": "work.weixin.qq.com", "thumb_media_id": "IMAGE"}}, 40058),
        ({"msgtype": "link", "link": {"title": "t", "url": "https://a.b"}}, 41006),
        ({"msgtype": "link", "link": {"url": "https://a.b", "thumb_media_id": "IMAGE"}}, 40058),
        ({"msgtype": "miniprogram", "miniprogram": {"thumb_media_id": "IMAGE", "pagepath": "p"}}, 40058),
        (
            {"msgtype": "msgmenu", "msgmenu": {"list": [{"type": "click", "click": {"id": "1", "content": "c"}}] * 11}},
            95008,
        ),
        ({"msgtype": "msgmenu", "msgmenu": {"list": [{"type": "button", "button": {}}]}}, 95009),
        (
            {
                "msgtype": "msgmenu",
                "msgmenu": {"list": [{"type": "click", "click": {"id": "x" * 129, "content": "c"}}]},
            },
            40058,
        ),
        ({"msgtype": "msgmenu", "msgmenu": {"list": [{"type": "view", "view": {"url": "https://a.b"}}]}}, 40058),
        ({"msgtype": "msgmenu", "msgmenu": {"head_content": "h" * 1025, "list": []}}, 40058),
        ({"msgtype": "location", "location": {"latitude": 90.5, "longitude": 0}}, 40058),
        ({"msgtype": "location", "location": {"latitude": 0, "longitude": -180.1}}, 40058),
        ({"msgtype": "location", "location": {"latitude": "0", "longitude": 0}}, 40058),
        ({"msgtype": "business_card", "business_card": {"userid": "ghost"}}, 60111),
        ({"msgtype": "ca_link", "ca_link": {}}, 40058),
    ],
)
async def test_payload_errors(wecom: WeComKit, body: dict[str, Any], errcode: int) -> None:
    raw = json.dumps(body).replace('"VOICE"', json.dumps(await media(wecom, "voice")))
    raw = raw.replace('"IMAGE"', json.dumps(await media(wecom)))
    await wecom.customer_says()
    assert (await send(wecom, json.loads(raw)))["errcode"] == errcode


async def test_limits_at_the_edge_and_truncation(world: World, wecom: WeComKit) -> None:
    await wecom.customer_says()
    assert (await send(wecom, text("字" * 682 + "ab")))["errcode"] == 0  # 2048 bytes
    thumb = await media(wecom)
    link = {"title": "标" * 50, "desc": "d", "url": "https://a.b/c", "thumb_media_id": thumb}
    assert (await send(wecom, {"msgtype": "link", "link": link}))["errcode"] == 0
    assert len(world.deliveries[-1].payload["link"]["title"].encode()) <= 128
    menu = {"list": [{"type": "text", "text": {"content": "说明", "no_newline": 1}}] * 10}
    assert (await send(wecom, {"msgtype": "msgmenu", "msgmenu": menu}))["errcode"] == 0
    assert (await send(wecom, {"msgtype": "location", "location": {"latitude": -90, "longitude": 180, "name": "n"}}))[
        "errcode"
    ] == 0


async def test_expired_media_cannot_be_sent(wecom: WeComKit) -> None:
    image = await media(wecom)
    await wecom.driver.advance(3 * 24 * HOUR)
    await wecom.fetch_token()
    await wecom.customer_says()
    assert (await send(wecom, {"msgtype": "image", "image": {"media_id": image}}))["errcode"] == 40007


# ---------------------------------------------------------------------- send_msg_on_event


async def on_event(kit: WeComKit, code: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return await kit.post("kf/send_msg_on_event", {"code": code, **(body or text("欢迎"))})


@pytest.mark.parametrize("sample", ["send_msg_on_event_text.json", "send_msg_on_event_msgmenu.json"])
async def test_welcome_code_samples(world: World, wecom: WeComKit, sample: str) -> None:
    entered = await wecom.driver.wecom_enter(wecom.corpid, wecom.external_userid, wecom.open_kfid, scene="s1")
    body = json.loads((SAMPLES / sample).read_text())
    body["code"] = entered["welcome_code"]
    answer = await wecom.post("kf/send_msg_on_event", body)
    assert answer["errcode"] == 0 and answer["msgid"]
    assert world.deliveries[-1].sender == "event" and world.deliveries[-1].msgtype == body["msgtype"]
    assert (await wecom.post("kf/send_msg_on_event", body))["errcode"] == 95007  # single use


async def test_welcome_code_lives_20_seconds_and_takes_text_or_menu_only(wecom: WeComKit) -> None:
    d = wecom.driver
    code = (await d.wecom_enter(wecom.corpid, wecom.external_userid, wecom.open_kfid))["welcome_code"]
    image = await media(wecom)
    assert (await on_event(wecom, code, {"msgtype": "image", "image": {"media_id": image}}))["errcode"] == 40008
    await d.advance(20)
    assert (await on_event(wecom, code))["errcode"] == 95007
    assert (await on_event(wecom, "made-up"))["errcode"] == 95007
    assert (await wecom.post("kf/send_msg_on_event", text()))["errcode"] == 95007


async def test_welcome_code_only_when_eligible(wecom: WeComKit) -> None:
    d, c, k = wecom.driver, wecom.corpid, wecom.open_kfid
    first = await d.wecom_enter(c, wecom.external_userid, k)
    assert first["welcome_code"] and first["item"]["event"]["welcome_code"] == first["welcome_code"]
    assert (await on_event(wecom, first["welcome_code"]))["errcode"] == 0
    again = await d.wecom_enter(c, wecom.external_userid, k)
    assert again["welcome_code"] is None and "welcome_code" not in again["item"]["event"]  # welcomed already
    chatty = await wecom.new_customer()
    await wecom.customer_says(external_userid=chatty)
    assert (await d.wecom_enter(c, chatty, k))["welcome_code"] is None  # wrote within 48 h
    await d.advance(48 * HOUR)
    assert (await d.wecom_enter(c, chatty, k))["welcome_code"]
    await d.wecom_update_kf_account(c, k, native_welcome=True)
    newcomer = await wecom.new_customer()
    assert (await d.wecom_enter(c, newcomer, k))["welcome_code"] is None  # the console sends its own welcome


async def test_pool_code_valid_while_queued(wecom: WeComKit) -> None:
    await wecom.customer_says()
    code = (await wecom.trans(2))["msg_code"]
    assert (await on_event(wecom, code, {"msgtype": "msgmenu", "msgmenu": {"list": []}}))["errcode"] == 40008
    await wecom.driver.advance(47 * HOUR)
    await wecom.fetch_token()
    assert (await on_event(wecom, code, text("排队中")))["errcode"] == 0
    other = await wecom.new_customer()
    await wecom.customer_says(external_userid=other)
    code = (await wecom.trans(2, external_userid=other))["msg_code"]
    await wecom.trans(3, "alice", external_userid=other)
    assert (await on_event(wecom, code))["errcode"] == 95007  # no longer in the pool


async def test_taken_code_from_accept_and_ending_code_from_end(wecom: WeComKit) -> None:
    d, c, k, u = wecom.driver, wecom.corpid, wecom.open_kfid, wecom.external_userid
    await wecom.customer_says()
    await wecom.trans(2)
    taken = (await d.wecom_servicer(c, "accept", k, u, "alice"))["msg_code"]
    assert (await on_event(wecom, taken, text("客服稍后回复")))["errcode"] == 0
    ending = (await d.wecom_servicer(c, "end", k, u, "alice"))["msg_code"]
    menu = {"head_content": "满意吗", "list": [{"type": "click", "click": {"id": "1", "content": "满意"}}]}
    assert (await on_event(wecom, ending, {"msgtype": "msgmenu", "msgmenu": menu}))["errcode"] == 0
    await wecom.customer_says("one more")
    await wecom.trans(3, "alice")
    late = (await wecom.trans(4))["msg_code"]
    await d.advance(21)
    assert (await on_event(wecom, late))["errcode"] == 95007
    await wecom.customer_says("and again")
    stale = (await wecom.trans(3, "bob"))["msg_code"]
    ending = (await wecom.trans(4))["msg_code"]
    await wecom.customer_says("new session")
    assert (await on_event(wecom, ending))["errcode"] == 95007  # a new session started
    assert (await on_event(wecom, stale))["errcode"] == 95007


async def test_unverified_corp_serves_only_its_first_100_customers(wecom: WeComKit) -> None:
    await wecom.driver.wecom_update_corp(wecom.corpid, verified=False)
    await wecom.customer_says()
    for i in range(99):
        await wecom.customer_says(external_userid=await wecom.new_customer(f"c{i}"))
    late = await wecom.new_customer("101st")
    await wecom.customer_says(external_userid=late)
    assert (await send(wecom, text()))["errcode"] == 0
    assert (await send(wecom, text(), touser=late))["errcode"] == 95003
    await wecom.driver.wecom_update_corp(wecom.corpid, verified=True)
    assert (await send(wecom, text(), touser=late))["errcode"] == 0
