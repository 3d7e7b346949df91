"""Simulated 联系我: add/get/update/del/list_contact_way, temp-chat rules, caps and close_temp_chat."""

from __future__ import annotations

from typing import Any

import pytest

from kefu_sim import SimDriver, World
from tests.kefu_sim.wecom_contact.support import CORP, ContactApi


async def test_add_get_update_del_contact_way(contact_api: ContactApi, contact_seed: dict[str, Any]) -> None:
    added = await contact_api.post(
        "add_contact_way", {"type": 1, "scene": 2, "user": ["alice"], "state": "poster", "remark": "spring"}
    )
    assert added["errcode"] == 0
    assert added["qr_code"].startswith("https://")
    config_id = added["config_id"]
    way = (await contact_api.post("get_contact_way", {"config_id": config_id}))["contact_way"]
    assert (way["type"], way["scene"], way["user"], way["state"], way["skip_verify"]) == (
        1,
        2,
        ["alice"],
        "poster",
        True,
    )
    body = {"config_id": config_id, "state": "flyer", "skip_verify": False, "user": ["bob"]}
    assert (await contact_api.post("update_contact_way", body))["errcode"] == 0
    way = (await contact_api.post("get_contact_way", {"config_id": config_id}))["contact_way"]
    assert (way["state"], way["skip_verify"], way["user"], way["remark"]) == ("flyer", False, ["bob"], "spring")
    assert (await contact_api.post("del_contact_way", {"config_id": config_id}))["errcode"] == 0
    assert (await contact_api.post("get_contact_way", {"config_id": config_id}))["errcode"] == 40058


async def test_mini_program_way_has_no_qr_code(contact_api: ContactApi, contact_seed: dict[str, Any]) -> None:
    added = await contact_api.post("add_contact_way", {"type": 2, "scene": 1, "user": ["alice", "bob"]})
    assert added["errcode"] == 0 and "qr_code" not in added


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"type": 3, "scene": 2, "user": ["alice"]}, 40058),
        ({"type": 1, "user": ["alice"]}, 40058),  # scene missing
        ({"type": 1, "scene": 2, "user": ["alice", "bob"]}, 40058),  # single takes one user
        ({"type": 2, "scene": 2}, 40058),  # nobody to reach
        ({"type": 1, "scene": 2, "user": ["ghost"]}, 40003),
        ({"type": 1, "scene": 2, "user": ["intern"]}, 84074),
        ({"type": 1, "scene": 2, "user": ["alice"], "state": "s" * 31}, 40058),
        ({"type": 2, "scene": 2, "user": ["alice"], "is_temp": True}, 40058),  # temp chat: single only
        ({"type": 1, "scene": 2, "user": ["alice"], "is_temp": True, "expires_in": 15 * 86400}, 40058),
        ({"type": 1, "scene": 2, "user": ["alice"], "unionid": "o6_x"}, 40058),  # temp-only field
    ],
)
async def test_add_contact_way_errors(
    contact_api: ContactApi,
    contact_driver: SimDriver,
    contact_seed: dict[str, Any],
    body: dict[str, Any],
    errcode: int,
) -> None:
    await contact_driver.contact_add_member(CORP, "intern", follow=False)
    assert (await contact_api.post("add_contact_way", body))["errcode"] == errcode


async def test_update_cannot_break_the_way(contact_api: ContactApi, contact_seed: dict[str, Any]) -> None:
    config_id = (await contact_api.post("add_contact_way", {"type": 1, "scene": 2, "user": ["alice"]}))["config_id"]
    bad = {"config_id": config_id, "user": ["alice", "bob"], "state": "changed"}
    assert (await contact_api.post("update_contact_way", bad))["errcode"] == 40058
    way = (await contact_api.post("get_contact_way", {"config_id": config_id}))["contact_way"]
    assert (way["user"], way["state"]) == (["alice"], "")  # nothing applied from the refused update
    assert (await contact_api.post("update_contact_way", {"config_id": "nope"}))["errcode"] == 40058


async def test_list_contact_way_pages(
    contact_api: ContactApi, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    ids = []
    for _ in range(3):
        ids.append((await contact_api.post("add_contact_way", {"type": 1, "scene": 2, "user": ["alice"]}))["config_id"])
        contact_world.clock.advance(10)
    first = await contact_api.post("list_contact_way", {"limit": 2})
    second = await contact_api.post("list_contact_way", {"limit": 2, "cursor": first["next_cursor"]})
    assert [w["config_id"] for w in first["contact_way"] + second["contact_way"]] == ids
    assert second["next_cursor"] == ""
    assert (await contact_api.post("list_contact_way", {"limit": 1001}))["errcode"] == 40058
    now = int(contact_world.now())
    too_long = {"start_time": now - 91 * 86400, "end_time": now}
    assert (await contact_api.post("list_contact_way", too_long))["errcode"] == 40058


async def test_contact_way_caps(contact_api: ContactApi, contact_world: World, contact_seed: dict[str, Any]) -> None:
    book = contact_world.state.corps[CORP].contacts
    book.temp_chat_daily_limit = 1
    temp = {"type": 1, "scene": 2, "user": ["alice"], "is_temp": True}
    assert (await contact_api.post("add_contact_way", temp))["errcode"] == 0
    assert (await contact_api.post("add_contact_way", temp))["errcode"] == 45009
    contact_world.clock.advance(86400)
    assert (await contact_api.post("add_contact_way", temp))["errcode"] == 0  # a new day
    book.contact_way_limit = 2
    assert (await contact_api.post("add_contact_way", {"type": 1, "scene": 2, "user": ["alice"]}))["errcode"] == 45009


async def test_customer_through_way_gets_its_state(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    way = await contact_api.post("add_contact_way", {"type": 2, "scene": 2, "user": ["bob"], "state": "expo"})
    added = await contact_driver.contact_add_customer(CORP, config_id=way["config_id"], nickname="Dan")
    assert (added["userid"], added["state"]) == ("bob", "expo")
    follow = (await contact_api.get("get", external_userid=added["external_userid"]))["follow_user"][0]
    assert (follow["state"], follow["add_way"]) == ("expo", 1)


async def test_temp_chat_is_single_use_and_expires(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    body = {"type": 1, "scene": 2, "user": ["bob"], "is_temp": True, "chat_expires_in": 3600}
    config_id = (await contact_api.post("add_contact_way", body))["config_id"]
    way = (await contact_api.post("get_contact_way", {"config_id": config_id}))["contact_way"]
    assert (way["is_temp"], way["expires_in"], way["chat_expires_in"]) == (True, 7 * 86400, 3600)
    added = await contact_driver.contact_add_customer(CORP, config_id=config_id, unionid=contact_seed["unionid"])
    with pytest.raises(RuntimeError, match="409"):
        await contact_driver.contact_add_customer(CORP, config_id=config_id, nickname="second")
    ext = added["external_userid"]
    assert ext == contact_seed["ext"]  # same person, same external_userid in this corp
    assert (await contact_api.get("list", userid="bob"))["external_userid"] == [ext]
    contact_world.clock.advance(3600)
    assert (await contact_api.get("list", userid="bob"))["errcode"] == 84061  # the temp chat ended


async def test_expired_temp_way_and_reserved_unionid(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    body = {"type": 1, "scene": 2, "user": ["bob"], "is_temp": True, "unionid": contact_seed["unionid"]}
    config_id = (await contact_api.post("add_contact_way", body))["config_id"]
    with pytest.raises(RuntimeError, match="409"):
        await contact_driver.contact_add_customer(CORP, config_id=config_id, nickname="stranger")
    contact_world.clock.advance(7 * 86400)
    with pytest.raises(RuntimeError, match="expired"):
        await contact_driver.contact_add_customer(CORP, config_id=config_id, unionid=contact_seed["unionid"])


async def test_close_temp_chat(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    body = {"type": 1, "scene": 2, "user": ["bob"], "is_temp": True}
    config_id = (await contact_api.post("add_contact_way", body))["config_id"]
    ext = (await contact_driver.contact_add_customer(CORP, config_id=config_id, nickname="Tia"))["external_userid"]
    not_temp = {"userid": "alice", "external_userid": contact_seed["ext"]}
    assert (await contact_api.post("close_temp_chat", not_temp))["errcode"] == 40058
    assert (await contact_api.post("close_temp_chat", {"userid": "alice", "external_userid": ext}))["errcode"] == 84061
    assert (await contact_api.post("close_temp_chat", {"userid": "bob", "external_userid": ext}))["errcode"] == 0
    assert (await contact_api.post("close_temp_chat", {"userid": "bob", "external_userid": ext}))["errcode"] == 84061
