"""Simulated customer groups and statistics: groupchat/list, get, statistic and get_user_behavior_data."""

from __future__ import annotations

from typing import Any

import pytest

from kefu_sim import SimDriver, World
from kefu_sim.wecom_contact.state import Member
from tests.kefu_sim.wecom_contact.support import CORP, ContactApi

DAY = 86_400


async def _chats(driver: SimDriver, world: World, owners: list[str]) -> list[str]:
    ids = []
    for owner in owners:
        ids.append((await driver.contact_create_group_chat(CORP, owner, name=f"{owner}'s group"))["chat_id"])
        world.clock.advance(1)
    return ids


async def test_groupchat_list_filters_and_pages(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    await contact_driver.contact_add_member(CORP, "leaver")
    ids = await _chats(contact_driver, contact_world, ["alice", "alice", "bob", "leaver"])
    await contact_driver.contact_resign_member(CORP, "leaver")
    first = await contact_api.post("groupchat/list", {"limit": 3})
    assert [c["chat_id"] for c in first["group_chat_list"]] == ids[:3]
    second = await contact_api.post("groupchat/list", {"limit": 3, "cursor": first["next_cursor"]})
    assert second["group_chat_list"] == [{"chat_id": ids[3], "status": 1}]
    assert second["next_cursor"] == ""
    by_owner = await contact_api.post("groupchat/list", {"limit": 10, "owner_filter": {"userid_list": ["bob"]}})
    assert [c["chat_id"] for c in by_owner["group_chat_list"]] == [ids[2]]
    resigned = await contact_api.post("groupchat/list", {"limit": 10, "status_filter": 1})
    assert [c["chat_id"] for c in resigned["group_chat_list"]] == [ids[3]]
    await contact_driver.contact_dismiss_group_chat(CORP, ids[0])
    remaining = await contact_api.post("groupchat/list", {"limit": 10})
    assert ids[0] not in [c["chat_id"] for c in remaining["group_chat_list"]]


@pytest.mark.parametrize(
    "body",
    [
        {},  # limit is required
        {"limit": 0},
        {"limit": 1001},
        {"limit": 10, "status_filter": 4},
        {"limit": 10, "owner_filter": {"userid_list": [f"u{i}" for i in range(101)]}},
    ],
)
async def test_groupchat_list_errors(
    contact_api: ContactApi, contact_seed: dict[str, Any], body: dict[str, Any]
) -> None:
    assert (await contact_api.post("groupchat/list", body))["errcode"] == 40058


async def test_groupchat_list_needs_owner_filter_past_1000_visible_members(
    contact_api: ContactApi, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    members = contact_world.state.corps[CORP].contacts.members
    for i in range(999):
        members[f"m{i}"] = Member(userid=f"m{i}")
    assert (await contact_api.post("groupchat/list", {"limit": 10}))["errcode"] == 81017
    filtered = {"limit": 10, "owner_filter": {"userid_list": ["alice"]}}
    assert (await contact_api.post("groupchat/list", filtered))["errcode"] == 0
    del members["m0"]  # exactly 1000 visible members is still fine
    assert (await contact_api.post("groupchat/list", {"limit": 10}))["errcode"] == 0


async def test_groupchat_get_with_and_without_names(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    created = await contact_driver.contact_create_group_chat(
        CORP, "alice", name="VIP", members=["bob", contact_seed["ext"]], admins=["bob"], notice="hi"
    )
    chat_id = created["chat_id"]
    plain = (await contact_api.post("groupchat/get", {"chat_id": chat_id}))["group_chat"]
    assert (plain["name"], plain["owner"], plain["notice"]) == ("VIP", "alice", "hi")
    assert plain["create_time"] == int(contact_world.now())
    assert [(m["userid"], m["type"]) for m in plain["member_list"]] == [
        ("alice", 1),
        ("bob", 1),
        (contact_seed["ext"], 2),
    ]
    assert plain["member_list"][2]["unionid"] == contact_seed["unionid"]
    assert plain["member_list"][1]["invitor"] == {"userid": "alice"}
    assert all("name" not in m for m in plain["member_list"])
    assert plain["admin_list"] == [{"userid": "bob"}]
    named = (await contact_api.post("groupchat/get", {"chat_id": chat_id, "need_name": 1}))["group_chat"]
    assert [m["name"] for m in named["member_list"]] == ["Alice", "Bob", "Carol"]
    assert (await contact_api.post("groupchat/get", {"chat_id": "wrNope"}))["errcode"] == 40050
    await contact_driver.contact_dismiss_group_chat(CORP, chat_id)
    assert (await contact_api.post("groupchat/get", {"chat_id": chat_id}))["errcode"] == 40050


async def test_groupchat_statistic(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    day = int(contact_world.now())  # 2026-01-01 08:00 China time
    chat_id = (await contact_driver.contact_create_group_chat(CORP, "alice", members=["bob"]))["chat_id"]
    await contact_driver.contact_group_members(CORP, chat_id, add=[contact_seed["ext"]])
    await contact_driver.contact_group_messages(CORP, chat_id, "bob", count=3)
    await contact_driver.contact_group_messages(CORP, chat_id, contact_seed["ext"])
    await contact_driver.contact_create_group_chat(CORP, "bob")
    body = {"day_begin_time": day, "owner_filter": {"userid_list": ["alice", "bob"]}, "order_by": 7}
    answer = await contact_api.post("groupchat/statistic", body)
    assert answer["errcode"] == 0 and answer["total"] == 2
    alice, bob = answer["items"]
    assert alice["owner"] == "alice"
    assert alice["data"] | {"migrate_trainee_chat_cnt": 0} == {
        "new_chat_cnt": 1,
        "chat_total": 1,
        "chat_has_msg": 1,
        "new_member_cnt": 3,
        "member_total": 3,
        "member_has_msg": 2,
        "msg_total": 4,
        "migrate_trainee_chat_cnt": 0,
    }
    assert bob["data"]["msg_total"] == 0
    later = await contact_api.post("groupchat/statistic", {**body, "day_begin_time": day + DAY})
    assert later["items"][0]["data"]["new_chat_cnt"] == 0 and later["items"][0]["data"]["chat_total"] == 1
    assert (await contact_api.post("groupchat/statistic", {"day_begin_time": day}))["errcode"] == 40058
    too_long = {**body, "day_end_time": day + 31 * DAY}
    assert (await contact_api.post("groupchat/statistic", too_long))["errcode"] == 40058


async def test_user_behavior_data(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    now = int(contact_world.now())
    ext = contact_seed["ext"]
    await contact_driver.contact_chat(CORP, "alice", ext, sender="customer")
    contact_world.clock.advance(120)
    await contact_driver.contact_chat(CORP, "alice", ext, sender="member", count=2)
    second = (await contact_driver.contact_add_customer(CORP, userid="alice", nickname="Zoe"))["external_userid"]
    await contact_driver.contact_chat(CORP, "alice", second, sender="customer")
    await contact_driver.contact_customer_delete(CORP, "alice", second)
    body = {"userid": ["alice"], "start_time": now, "end_time": now + DAY}
    answer = await contact_api.post("get_user_behavior_data", body)
    assert answer["errcode"] == 0
    today, tomorrow = answer["behavior_data"]
    assert today["stat_time"] == now - 8 * 3600  # midnight China time
    assert (today["new_contact_cnt"], today["new_apply_cnt"], today["negative_feedback_cnt"]) == (2, 2, 1)
    assert (today["chat_cnt"], today["message_cnt"]) == (1, 2)
    assert today["reply_percentage"] == 50.0  # Zoe wrote and got no answer
    assert today["avg_reply_time"] == 2  # minutes
    assert tomorrow["new_contact_cnt"] == 0 and "reply_percentage" not in tomorrow
    by_party = await contact_api.post("get_user_behavior_data", {"partyid": [1], "start_time": now, "end_time": now})
    assert by_party["behavior_data"][0]["new_contact_cnt"] == 2


@pytest.mark.parametrize(
    ("patch", "errcode"),
    [
        ({"userid": []}, 40058),
        ({"userid": ["ghost"]}, 40003),
        ({"end_time_days": 31}, 40058),
        ({"start_days": -181}, 40058),
        ({"end_time_days": -1}, 40058),
    ],
)
async def test_user_behavior_data_errors(
    contact_api: ContactApi, contact_world: World, contact_seed: dict[str, Any], patch: dict[str, Any], errcode: int
) -> None:
    now = int(contact_world.now())
    start = now + patch.pop("start_days", 0) * DAY
    body = {"userid": ["alice"], "start_time": start, "end_time": start + patch.pop("end_time_days", 0) * DAY, **patch}
    assert (await contact_api.post("get_user_behavior_data", body))["errcode"] == errcode
