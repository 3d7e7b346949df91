"""kf accounts, contact ways and servicers (docs/platforms.md §2.1, §2.2)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.kefu_sim.support import WeComKit


async def avatar(kit: WeComKit) -> str:
    return (await kit.driver.wecom_add_media(kit.corpid, "image"))["media_id"]


async def test_add_list_update_delete(wecom: WeComKit) -> None:
    media_id = await avatar(wecom)
    added = await wecom.post("kf/account/add", {"name": "新客服", "media_id": media_id})
    assert added["errcode"] == 0 and added["open_kfid"].startswith("wk")
    listing = (await wecom.post("kf/account/list", {"offset": 0, "limit": 100}))["account_list"]
    assert [a["name"] for a in listing] == ["售后", "新客服"]
    entry = listing[1]
    assert set(entry) == {"open_kfid", "name", "avatar", "manage_privilege"}
    assert entry["avatar"].startswith("https://") and entry["manage_privilege"] is True
    updated = await wecom.post("kf/account/update", {"open_kfid": added["open_kfid"], "name": "改名"})
    assert updated["errcode"] == 0
    assert (await wecom.post("kf/account/list"))["account_list"][1]["name"] == "改名"
    assert (await wecom.post("kf/account/del", {"open_kfid": added["open_kfid"]}))["errcode"] == 0
    assert len((await wecom.post("kf/account/list"))["account_list"]) == 1
    assert (await wecom.post("kf/account/del", {"open_kfid": added["open_kfid"]}))["errcode"] == 95004


async def test_list_pages_and_limits(wecom: WeComKit) -> None:
    media_id = await avatar(wecom)
    for i in range(4):
        await wecom.post("kf/account/add", {"name": f"kf{i}", "media_id": media_id})
    page = (await wecom.post("kf/account/list", {"offset": 2, "limit": 2}))["account_list"]
    assert [a["name"] for a in page] == ["kf1", "kf2"]
    assert len((await wecom.get("kf/account/list"))["account_list"]) == 5  # the historical GET form
    for limit in (0, 101, "x"):
        assert (await wecom.post("kf/account/list", {"limit": limit}))["errcode"] == 40058
    assert (await wecom.post("kf/account/list", {"offset": -1}))["errcode"] == 40058


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"name": "一二三四五六七八九十一二三四五六七", "media_id": "MEDIA"}, 95006),  # 17 characters
        ({"name": "", "media_id": "MEDIA"}, 95006),
        ({"name": "ok"}, 41006),
        ({"name": "ok", "media_id": "not-uploaded"}, 40007),
    ],
)
async def test_add_errors(wecom: WeComKit, body: dict, errcode: int) -> None:
    if body.get("media_id") == "MEDIA":
        body = {**body, "media_id": await avatar(wecom)}
    assert (await wecom.post("kf/account/add", body))["errcode"] == errcode


async def test_sixteen_character_name_is_fine_and_avatar_media_expires(wecom: WeComKit) -> None:
    media_id = await avatar(wecom)
    answer = await wecom.post("kf/account/add", {"name": "一二三四五六七八九十一二三四五六", "media_id": media_id})
    assert answer["errcode"] == 0
    await wecom.driver.advance(3 * 86400)
    await wecom.fetch_token()
    assert (await wecom.post("kf/account/add", {"name": "late", "media_id": media_id}))["errcode"] == 40007
    assert (await wecom.post("kf/account/update", {"open_kfid": answer["open_kfid"], "name": "x" * 17}))[
        "errcode"
    ] == 95006


async def test_account_caps(wecom: WeComKit) -> None:
    media_id = await avatar(wecom)
    await wecom.driver.wecom_update_corp(wecom.corpid, kf_account_cap=3)
    assert (await wecom.post("kf/account/add", {"name": "b", "media_id": media_id}))["errcode"] == 0
    assert (await wecom.post("kf/account/add", {"name": "c", "media_id": media_id}))["errcode"] == 0
    assert (await wecom.post("kf/account/add", {"name": "d", "media_id": media_id}))["errcode"] == 95005


async def test_unverified_corp_is_held_to_ten_accounts(wecom: WeComKit) -> None:
    media_id = await avatar(wecom)
    await wecom.driver.wecom_update_corp(wecom.corpid, verified=False)
    for i in range(9):
        assert (await wecom.post("kf/account/add", {"name": f"k{i}", "media_id": media_id}))["errcode"] == 0
    assert (await wecom.post("kf/account/add", {"name": "k10", "media_id": media_id}))["errcode"] == 95027


@pytest.mark.parametrize(("open_kfid", "errcode"), [(None, 95000), ("bad id!", 95000), ("wk" + "x" * 30, 95004)])
async def test_open_kfid_errors(wecom: WeComKit, open_kfid: str | None, errcode: int) -> None:
    body = {} if open_kfid is None else {"open_kfid": open_kfid}
    for path in ("kf/account/del", "kf/account/update", "kf/add_contact_way", "kf/sync_msg"):
        assert (await wecom.post(path, body))["errcode"] == errcode, path
    params = {} if open_kfid is None else {"open_kfid": open_kfid}
    assert (await wecom.get("kf/servicer/list", **params))["errcode"] == errcode


async def test_contact_way_scene_comes_back_in_enter_session(wecom: WeComKit) -> None:
    plain = await wecom.post("kf/add_contact_way", {"open_kfid": wecom.open_kfid})
    assert plain["url"] == f"https://work.weixin.qq.com/kfid/{wecom.open_kfid}"
    way = await wecom.post("kf/add_contact_way", {"open_kfid": wecom.open_kfid, "scene": "spring_sale-1"})
    parts = urlsplit(way["url"])
    assert parts.path == f"/kfid/{wecom.open_kfid}" and "enc_scene" in parse_qs(parts.query)
    again = await wecom.post("kf/add_contact_way", {"open_kfid": wecom.open_kfid, "scene": "spring_sale-1"})
    assert again["url"] == way["url"]
    entered = await wecom.driver.wecom_enter(
        wecom.corpid, wecom.external_userid, url=way["url"] + "&scene_param=order%3D42"
    )
    event = entered["item"]["event"]
    assert event["event_type"] == "enter_session"
    assert (event["scene"], event["scene_param"]) == ("spring_sale-1", "order=42")


@pytest.mark.parametrize("scene", ["has space", "中文", "x" * 33, 7])
async def test_contact_way_bad_scene(wecom: WeComKit, scene: object) -> None:
    answer = await wecom.post("kf/add_contact_way", {"open_kfid": wecom.open_kfid, "scene": scene})
    assert answer["errcode"] == 40058


async def test_servicer_add_del_list_with_per_item_results(wecom: WeComKit) -> None:
    await wecom.driver.wecom_add_member(wecom.corpid, "carol", department=[3])
    added = await wecom.post(
        "kf/servicer/add",
        {"open_kfid": wecom.open_kfid, "userid_list": ["carol", "alice", "ghost"], "department_id_list": [3, 999]},
    )
    assert added["errcode"] == 0
    assert [(r.get("userid", r.get("department_id")), r["errcode"], r["errmsg"]) for r in added["result_list"]] == [
        ("carol", 0, "success"),
        ("alice", 0, "ignored"),
        ("ghost", 60111, "userid not found"),
        (3, 0, "success"),
        (999, 60123, "invalid department id"),
    ]
    await wecom.driver.wecom_set_servicer_status(wecom.corpid, "bob", 1, stop_type=1)
    listing = (await wecom.get("kf/servicer/list", open_kfid=wecom.open_kfid))["servicer_list"]
    assert listing == [
        {"userid": "alice", "status": 0},
        {"userid": "bob", "status": 1, "stop_type": 1},
        {"userid": "carol", "status": 0},
        {"department_id": 3},
    ]
    removed = await wecom.post(
        "kf/servicer/del",
        {"open_kfid": wecom.open_kfid, "userid_list": ["carol", "carol"], "department_id_list": [3, 4]},
    )
    assert [r["errmsg"] for r in removed["result_list"]] == ["success", "ignored", "success", "ignored"]
    listing = (await wecom.get("kf/servicer/list", open_kfid=wecom.open_kfid))["servicer_list"]
    assert [e.get("userid") for e in listing] == ["alice", "bob"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"userid_list": [], "department_id_list": []},
        {"userid_list": "alice"},
        {"userid_list": [f"u{i}" for i in range(101)]},
    ],
)
async def test_servicer_list_errors(wecom: WeComKit, body: dict) -> None:
    for path in ("kf/servicer/add", "kf/servicer/del"):
        assert (await wecom.post(path, {"open_kfid": wecom.open_kfid, **body}))["errcode"] == 40058
