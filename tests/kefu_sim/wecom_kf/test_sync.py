"""sync_msg: item shapes against the samples, paging, empty pages, cursors, horizon, tokens, rate limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kefu_sim import World
from tests.kefu_sim.support import WeComKit

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "wecom_kf"
CUSTOMER_MESSAGES: dict[str, dict[str, Any]] = {
    "text": {"content": "满意", "menu_id": "101"},
    "image": {},
    "voice": {},
    "video": {},
    "file": {},
    "location": {
        "latitude": 23.1060218811035,
        "longitude": 113.320503234863,
        "name": "广州国际媒体港",
        "address": "广东省广州市海珠区滨江东路",
    },
    "link": {"title": "TITLE", "desc": "DESC", "url": "https://a.b", "pic_url": "https://a.b/p.png"},
    "business_card": {"userid": "alice"},
    "miniprogram": {"title": "TITLE", "appid": "wx123", "pagepath": "pages/index"},
}


def shape_mismatches(sample: Any, item: Any, path: str = "") -> list[str]:
    """Differences in keys and value types between a sample and an item (recursively)."""
    if isinstance(sample, dict):
        if not isinstance(item, dict):
            return [f"{path}: {type(item).__name__} instead of an object"]
        problems = [f"{path}.{k}: missing" for k in sample.keys() - item.keys()]
        problems += [f"{path}.{k}: unexpected" for k in item.keys() - sample.keys()]
        for key in sample.keys() & item.keys():
            problems += shape_mismatches(sample[key], item[key], f"{path}.{key}")
        return problems
    if isinstance(sample, list):
        if not isinstance(item, list):
            return [f"{path}: {type(item).__name__} instead of an array"]
        return shape_mismatches(sample[0], item[0], f"{path}[0]") if sample and item else []
    return [] if type(sample) is type(item) else [f"{path}: {type(item).__name__} instead of {type(sample).__name__}"]


async def pull_all(kit: WeComKit, **body: Any) -> tuple[list[dict[str, Any]], int, str]:
    """Every item from the start (looping on has_more), the number of calls and the last cursor."""
    items: list[dict[str, Any]] = []
    cursor, calls = "", 0
    while True:
        page = await kit.sync(cursor=cursor, **body)
        assert page["errcode"] == 0, page
        calls += 1
        items += page["msg_list"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items, calls, cursor


async def test_items_have_the_sample_shapes(wecom: WeComKit) -> None:
    d, c, k, u = wecom.driver, wecom.corpid, wecom.open_kfid, wecom.external_userid
    made: dict[str, str] = {}
    made["event_enter_session"] = (await d.wecom_enter(c, u, k, scene="123", scene_param="abc"))["msgid"]
    for msgtype, payload in CUSTOMER_MESSAGES.items():
        made[msgtype] = (await d.wecom_customer_send(c, k, u, msgtype, payload))["msgid"]
    sent = await wecom.post("kf/send_msg", {"touser": u, "open_kfid": k, "msgtype": "text", "text": {"content": "x"}})
    made["event_msg_send_fail"] = (await d.wecom_send_fail(c, k, sent["msgid"], 4))["msgid"]
    await wecom.trans(2)
    made["event_session_status_change"] = (await d.wecom_servicer(c, "accept", k, u, "alice"))["msgid"]
    menu = json.loads((SAMPLES / "sync_msg_item_msgmenu.json").read_text())["msgmenu"]
    made["msgmenu"] = (await d.wecom_servicer(c, "send", k, u, "alice", msgtype="msgmenu", msgmenu=menu))["msgid"]
    await d.wecom_set_servicer_status(c, "bob", 1)
    made["event_servicer_status_change"] = (await d.wecom_set_servicer_status(c, "bob", 0))[0]["msgid"]

    items = {item["msgid"]: item for item in (await pull_all(wecom))[0]}
    samples = sorted(SAMPLES.glob("sync_msg_item_*.json"))
    assert {p.stem.removeprefix("sync_msg_item_") for p in samples} == set(made)
    for path in samples:
        item = items[made[path.stem.removeprefix("sync_msg_item_")]]
        assert shape_mismatches(json.loads(path.read_text()), item) == [], path.name
    assert items[made["text"]]["origin"] == 3 and items[made["msgmenu"]]["origin"] == 5
    assert items[made["event_enter_session"]]["origin"] == 4
    assert sent["msgid"] not in items  # send_msg messages are never returned


async def test_newer_msgtypes_carry_their_documented_fields(wecom: WeComKit) -> None:
    documented = {
        "channels_shop_product": {"product_id", "head_img", "title", "sales_price", "shop_nickname", "shop_head_img"},
        "channels_shop_order": {"order_id", "product_titles", "price_wording", "state", "image_url", "shop_nickname"},
        "channels": {"sub_type", "nickname", "title"},
        "merged_msg": {"title", "item"},
    }
    merged = {
        "title": "聊天记录",
        "item": [{"send_time": 1, "msgtype": "text", "sender_name": "A", "msg_content": {"text": {"content": "hi"}}}],
    }
    for msgtype in documented:
        payload = merged if msgtype == "merged_msg" else {}
        await wecom.driver.wecom_customer_send(wecom.corpid, wecom.open_kfid, wecom.external_userid, msgtype, payload)
    await wecom.driver.wecom_customer_send(
        wecom.corpid, wecom.open_kfid, wecom.external_userid, "meeting", {"meetingid": "m1"}
    )
    items = {i["msgtype"]: i for i in (await pull_all(wecom))[0]}
    for msgtype, fields in documented.items():
        assert set(items[msgtype][msgtype]) == fields
    assert json.loads(items["merged_msg"]["merged_msg"]["item"][0]["msg_content"]) == {"text": {"content": "hi"}}
    assert items["meeting"]["meeting"] == {"meetingid": "m1"}  # unknown types pass through


async def test_paging_with_limit_and_cursor(wecom: WeComKit) -> None:
    ids = [(await wecom.customer_says(f"m{i}"))["msgid"] for i in range(5)]
    seen, cursor, flags = [], "", []
    for _ in range(3):
        page = await wecom.sync(cursor=cursor, limit=2)
        seen += [m["msgid"] for m in page["msg_list"]]
        flags.append(page["has_more"])
        cursor = page["next_cursor"]
    assert seen == ids and flags == [1, 1, 0]
    assert len(cursor) <= 64
    empty = await wecom.sync(cursor=cursor)
    assert (empty["msg_list"], empty["has_more"]) == ([], 0)
    later = await wecom.customer_says("later")
    assert [m["msgid"] for m in (await wecom.sync(cursor=empty["next_cursor"]))["msg_list"]] == [later["msgid"]]


async def test_empty_pages_with_has_more_are_seeded_and_loopable(world: World, wecom: WeComKit) -> None:
    await wecom.driver.wecom_update_corp(wecom.corpid, sync_empty_page_rate=0.5, sync_calls_per_minute=1000)
    ids = [(await wecom.customer_says(f"m{i}"))["msgid"] for i in range(6)]
    pages: list[tuple[int, int]] = []
    cursor = ""
    while True:
        page = await wecom.sync(cursor=cursor, limit=2)
        pages.append((len(page["msg_list"]), page["has_more"]))
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert (0, 1) in pages  # an empty page that still says has_more=1
    assert sum(n for n, _ in pages) == len(ids)
    items, _, _ = await pull_all(wecom)
    assert [i["msgid"] for i in items] == ids


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"limit": 1001}, 40058),
        ({"limit": 0}, 40058),
        ({"voice_format": 2}, 40058),
        ({"cursor": "not a cursor!"}, 40058),
        ({"cursor": "x" * 65}, 40058),
        ({"token": "ENCnope"}, 95007),
        ({"open_kfid": None}, 95000),
        ({"open_kfid": "wk" + "q" * 30}, 95004),
    ],
)
async def test_request_errors(wecom: WeComKit, body: dict[str, Any], errcode: int) -> None:
    await wecom.customer_says()
    assert (await wecom.sync(**body))["errcode"] == errcode


async def test_cursor_of_another_account_is_refused(wecom: WeComKit) -> None:
    other = (await wecom.driver.wecom_add_kf_account(wecom.corpid, "other"))["open_kfid"]
    await wecom.customer_says()
    cursor = (await wecom.sync())["next_cursor"]
    assert (await wecom.post("kf/sync_msg", {"open_kfid": other, "cursor": cursor}))["errcode"] == 40058


async def test_only_the_last_three_days(wecom: WeComKit) -> None:
    old = await wecom.customer_says("old")
    await wecom.driver.advance(3 * 86400 - 10)
    new = await wecom.customer_says("new")
    await wecom.fetch_token()
    assert [i["msgid"] for i in (await pull_all(wecom))[0]] == [old["msgid"], new["msgid"]]
    await wecom.driver.advance(10)
    assert [i["msgid"] for i in (await pull_all(wecom))[0]] == [new["msgid"]]


async def test_accounts_are_separate(wecom: WeComKit) -> None:
    other = (await wecom.driver.wecom_add_kf_account(wecom.corpid, "other"))["open_kfid"]
    mine = await wecom.customer_says("mine")
    await wecom.customer_says("theirs", open_kfid=other)
    assert [i["msgid"] for i in (await pull_all(wecom))[0]] == [mine["msgid"]]


async def test_token_less_calls_are_rate_limited_per_account(wecom: WeComKit) -> None:
    said = await wecom.customer_says()
    for _ in range(10):
        assert (await wecom.sync())["errcode"] == 0
    assert (await wecom.sync())["errcode"] == 45009
    assert (await wecom.sync(token=said["token"]))["errcode"] == 0  # the callback token lifts the limit
    other = (await wecom.driver.wecom_add_kf_account(wecom.corpid, "other"))["open_kfid"]
    assert (await wecom.post("kf/sync_msg", {"open_kfid": other}))["errcode"] == 0
    await wecom.driver.advance(60)
    assert (await wecom.sync())["errcode"] == 0


async def test_sync_token_lives_ten_minutes_and_belongs_to_its_account(wecom: WeComKit) -> None:
    said = await wecom.customer_says()
    token = said["token"]
    assert token.startswith("ENC") and len(token) <= 128
    other = (await wecom.driver.wecom_add_kf_account(wecom.corpid, "other"))["open_kfid"]
    assert (await wecom.post("kf/sync_msg", {"open_kfid": other, "token": token}))["errcode"] == 95007
    await wecom.driver.advance(599)
    assert (await wecom.sync(token=token))["msg_list"][0]["msgid"] == said["msgid"]
    await wecom.driver.advance(1)
    assert (await wecom.sync(token=token))["errcode"] == 95007


async def test_voice_format_silk_gives_a_downloadable_silk_media(wecom: WeComKit) -> None:
    await wecom.driver.wecom_customer_send(wecom.corpid, wecom.open_kfid, wecom.external_userid, "voice", {})
    amr = (await wecom.sync())["msg_list"][0]["voice"]["media_id"]
    silk = (await wecom.sync(voice_format=1))["msg_list"][0]["voice"]["media_id"]
    assert amr != silk
    for media_id, content_type in ((amr, "audio/amr"), (silk, "audio/silk")):
        got = await wecom.sim.get(
            "/wecom/cgi-bin/media/get", params={"access_token": wecom.token, "media_id": media_id}
        )
        assert got.status_code == 200 and got.headers["content-type"].startswith(content_type)
