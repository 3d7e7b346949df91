"""customer/batchget, 升级服务, statistics and corp qualification (docs/platforms.md §2.7)."""

from __future__ import annotations

import pytest

from tests.kefu_sim.support import START, WeComKit

DAY = 86400
TODAY = int(START) - 8 * 3600  # 2026-01-01 00:00 in Beijing


async def test_batchget_returns_person_data_for_recent_customers(wecom: WeComKit) -> None:
    d, c, k = wecom.driver, wecom.corpid, wecom.open_kfid
    person = await d.add_person("小红", unionid="ozUNION0001", avatar="https://a.b/h.png", gender=2)
    linked = (await d.wecom_add_customer(c, unionid=person["unionid"]))["external_userid"]
    silent = await wecom.new_customer("silent")
    await d.wecom_enter(c, linked, k, scene="ad", scene_param="p=1")
    await wecom.customer_says()
    answer = await wecom.post(
        "kf/customer/batchget",
        {
            "external_userid_list": [linked, wecom.external_userid, silent, "wm-unknown"],
            "need_enter_session_context": 1,
        },
    )
    assert answer["errcode"] == 0
    first = answer["customer_list"][0]
    assert {k: first[k] for k in ("external_userid", "nickname", "avatar", "gender", "unionid")} == {
        "external_userid": linked,
        "nickname": "小红",
        "avatar": "https://a.b/h.png",
        "gender": 2,
        "unionid": "ozUNION0001",
    }
    assert first["enter_session_context"] == {
        "scene": "ad",
        "scene_param": "p=1",
        "wechat_channels": {"nickname": "", "shop_nickname": "", "scene": 0},
    }
    assert [c["external_userid"] for c in answer["customer_list"]] == [linked, wecom.external_userid]
    assert answer["invalid_external_userid"] == [silent, "wm-unknown"]
    plain = await wecom.post("kf/customer/batchget", {"external_userid_list": [linked]})
    assert "enter_session_context" not in plain["customer_list"][0]


async def test_batchget_forgets_customers_after_48_hours(wecom: WeComKit) -> None:
    await wecom.customer_says()
    await wecom.driver.advance(48 * 3600)
    await wecom.fetch_token()
    answer = await wecom.post("kf/customer/batchget", {"external_userid_list": [wecom.external_userid]})
    assert answer["customer_list"] == [] and answer["invalid_external_userid"] == [wecom.external_userid]


async def test_same_person_keeps_one_external_userid_per_corp(wecom: WeComKit) -> None:
    person = await wecom.driver.add_person("同一人")
    first = await wecom.driver.wecom_add_customer(wecom.corpid, unionid=person["unionid"])
    again = await wecom.driver.wecom_add_customer(wecom.corpid, unionid=person["unionid"])
    assert first["external_userid"] == again["external_userid"]


@pytest.mark.parametrize("ids", [[], [f"wm{i}" for i in range(101)], "wm1", None])
async def test_batchget_list_size(wecom: WeComKit, ids: object) -> None:
    assert (await wecom.post("kf/customer/batchget", {"external_userid_list": ids}))["errcode"] == 40058


async def test_upgrade_service_config_and_calls(wecom: WeComKit) -> None:
    d, c = wecom.driver, wecom.corpid
    await d.wecom_add_member(c, "sales1", department=[8])
    await d.wecom_set_upgrade_config(c, userid_list=["alice"], department_id_list=[8], chat_id_list=["wrCHAT1"])
    config = await wecom.get("kf/customer/get_upgrade_service_config")
    assert config["member_range"] == {"userid_list": ["alice"], "department_id_list": [8]}
    assert config["groupchat_range"] == {"chat_id_list": ["wrCHAT1"]}
    await wecom.customer_says()
    base = {"open_kfid": wecom.open_kfid, "external_userid": wecom.external_userid}
    ok_calls = [
        {"type": 1, "member": {"userid": "alice", "wording": "专属顾问"}},
        {"type": 1, "member": {"userid": "sales1"}},
        {"type": 2, "groupchat": {"chat_id": "wrCHAT1", "wording": "进群"}},
    ]
    for body in ok_calls:
        assert (await wecom.post("kf/customer/upgrade_service", {**base, **body}))["errcode"] == 0
    refused = [
        ({"type": 1, "member": {"userid": "bob"}}, 95021),
        ({"type": 2, "groupchat": {"chat_id": "x"}}, 95021),
        ({"type": 3}, 40058),
        ({"type": 1, "member": {}}, 40058),
        ({"type": 1}, 40058),
    ]
    for body, errcode in refused:
        assert (await wecom.post("kf/customer/upgrade_service", {**base, **body}))["errcode"] == errcode, body
    assert (
        await wecom.post(
            "kf/customer/upgrade_service", {**base, "external_userid": "wm-x", "type": 1, "member": {"userid": "alice"}}
        )
    )["errcode"] == 40096
    assert (await wecom.post("kf/customer/cancel_upgrade_service", base))["errcode"] == 0


async def test_corp_qualification(wecom: WeComKit) -> None:
    assert (await wecom.get("kf/get_corp_qualification"))["wechat_channels_binding"] is False
    await wecom.driver.wecom_update_corp(wecom.corpid, wechat_channels_binding=True)
    assert (await wecom.get("kf/get_corp_qualification"))["wechat_channels_binding"] is True


async def test_statistics_are_computed_from_what_happened(wecom: WeComKit) -> None:
    d, c, k, u = wecom.driver, wecom.corpid, wecom.open_kfid, wecom.external_userid
    await d.wecom_set_upgrade_config(c, userid_list=["bob"])
    await wecom.customer_says("q1")
    await wecom.post("kf/send_msg", {"touser": u, "open_kfid": k, "msgtype": "text", "text": {"content": "bot"}})
    await wecom.trans(2)
    await d.wecom_servicer(c, "accept", k, u, "alice")
    await d.advance(30)
    await d.wecom_servicer(c, "send", k, u, "alice", msgtype="text", text={"content": "human"})
    await wecom.customer_says("q2")
    await wecom.post(
        "kf/customer/upgrade_service", {"open_kfid": k, "external_userid": u, "type": 1, "member": {"userid": "bob"}}
    )
    other = await wecom.new_customer()
    await wecom.customer_says("hi", external_userid=other)
    await d.advance(DAY)
    await wecom.fetch_token()

    body = {"open_kfid": k, "start_time": TODAY - DAY, "end_time": TODAY + 3600}  # rounded down to days
    corp = await wecom.post("kf/get_corp_statistic", body)
    assert [e["stat_time"] for e in corp["statistic_list"]] == [TODAY - DAY, TODAY]
    assert "ai_transfer_rate" not in corp["statistic_list"][0]["statistic"]
    assert corp["statistic_list"][1]["statistic"] == {
        "session_cnt": 2,
        "customer_cnt": 2,
        "customer_msg_cnt": 3,
        "upgrade_service_customer_cnt": 1,
        "ai_session_reply_cnt": 1,
        "ai_transfer_rate": 1.0,
        "msg_rejected_customer_cnt": 0,
    }
    alice = await wecom.post("kf/get_servicer_statistic", {**body, "servicer_userid": "alice"})
    stat = alice["statistic_list"][1]["statistic"]
    assert (stat["session_cnt"], stat["customer_cnt"], stat["customer_msg_cnt"]) == (1, 1, 1)
    assert (stat["reply_rate"], stat["first_reply_average_sec"]) == (1.0, 30)
    assert stat["upgrade_service_member_invite_cnt"] == 1
    bob = await wecom.post("kf/get_servicer_statistic", {**body, "servicer_userid": "bob"})
    assert bob["statistic_list"][1]["statistic"]["session_cnt"] == 0
    assert "reply_rate" not in bob["statistic_list"][1]["statistic"]


@pytest.mark.parametrize(
    ("start", "end", "errcode"),
    [
        (TODAY, TODAY, 40058),  # today is not available yet
        (TODAY - DAY, TODAY - 2 * DAY, 40058),
        (TODAY - 32 * DAY, TODAY - DAY, 40058),  # 32 days
        (TODAY - 31 * DAY, TODAY - DAY, 0),
        (TODAY - 181 * DAY, TODAY - 170 * DAY, 40058),
        (TODAY - 180 * DAY, TODAY - 170 * DAY, 0),
        (None, TODAY - DAY, 40058),
    ],
)
async def test_statistics_interval_rules(wecom: WeComKit, start: int | None, end: int, errcode: int) -> None:
    body = {"open_kfid": wecom.open_kfid, "start_time": start, "end_time": end}
    assert (await wecom.post("kf/get_corp_statistic", body))["errcode"] == errcode


async def test_servicer_statistic_for_a_stranger_is_95014(wecom: WeComKit) -> None:
    body = {"open_kfid": wecom.open_kfid, "start_time": TODAY - DAY, "end_time": TODAY - DAY}
    assert (await wecom.post("kf/get_servicer_statistic", {**body, "servicer_userid": "ghost"}))["errcode"] == 95014
    assert (await wecom.post("kf/get_servicer_statistic", body))["errcode"] == 0
