"""Simulated external contact: auth, get (+ follow_user paging), batch/get_by_user, remark, list, follow users."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from kefu_sim import SimDriver, World
from kefu_sim.wecom_contact.state import Follow, Member
from tests.kefu_sim.wecom_contact.support import CORP, SECRET, ContactApi

# ---------------------------------------------------------------------- auth


async def test_token_missing_expired_and_forbidden_secret(
    contact_api: ContactApi, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    token = contact_api.token
    contact_api.token = ""
    assert (await contact_api.get("get_follow_user_list"))["errcode"] == 41001
    contact_api.token = contact_world.issue_token("mp:wxapp").value
    assert (await contact_api.get("get_follow_user_list"))["errcode"] == 40014
    contact_api.token = token
    contact_world.state.corps[CORP].contacts.api_secrets = ["other-secret"]
    assert (await contact_api.get("get_follow_user_list"))["errcode"] == 48002
    contact_world.state.corps[CORP].contacts.api_secrets = []
    contact_api.token = contact_world.issue_token(f"wecom:{CORP}:{SECRET}").value  # 7200 s
    assert (await contact_api.get("get_follow_user_list"))["errcode"] == 0
    contact_world.clock.advance(7200)
    assert (await contact_api.get("get_follow_user_list"))["errcode"] == 42001


async def test_malformed_json_is_47001(contact_api: ContactApi, contact_seed: dict[str, Any]) -> None:
    assert (await contact_api.post("remark", content=b"{not json"))["errcode"] == 47001


# ---------------------------------------------------------------------- get


async def test_get_returns_contact_with_unionid_and_follow_user(
    contact_api: ContactApi, contact_seed: dict[str, Any], contact_world: World
) -> None:
    answer = await contact_api.get("get", external_userid=contact_seed["ext"])
    assert answer["errcode"] == 0
    contact = answer["external_contact"]
    assert contact["external_userid"] == contact_seed["ext"]
    assert (contact["name"], contact["type"], contact["gender"]) == ("Carol", 1, 2)
    assert contact["unionid"] == contact_seed["unionid"]
    [follow] = answer["follow_user"]
    assert follow["userid"] == "alice"
    assert follow["state"] == "web"
    assert follow["createtime"] == int(contact_world.now())
    assert follow["oper_userid"] == contact_seed["ext"]  # the customer initiated the add
    assert follow["tags"] == []
    assert answer["next_cursor"] == ""


async def test_get_unknown_external_userid_is_40096(contact_api: ContactApi, contact_seed: dict[str, Any]) -> None:
    assert (await contact_api.get("get", external_userid="wmUnknown"))["errcode"] == 40096
    assert (await contact_api.get("get"))["errcode"] == 40096


async def test_get_after_relationship_ended_is_84061(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    await contact_driver.contact_customer_delete(CORP, "alice", contact_seed["ext"])
    assert (await contact_api.get("get", external_userid=contact_seed["ext"]))["errcode"] == 84061


async def test_get_pages_follow_user_with_cursor(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    await contact_driver.contact_add_member(CORP, "dave")
    for userid in ("bob", "dave"):
        await contact_driver.contact_add_customer(CORP, userid=userid, unionid=contact_seed["unionid"])
    contact_world.state.corps[CORP].contacts.follow_page_size = 2  # the platform pages at 500
    first = await contact_api.get("get", external_userid=contact_seed["ext"])
    assert [f["userid"] for f in first["follow_user"]] == ["alice", "bob"]
    assert first["next_cursor"]
    second = await contact_api.get("get", external_userid=contact_seed["ext"], cursor=first["next_cursor"])
    assert [f["userid"] for f in second["follow_user"]] == ["dave"]
    assert second["next_cursor"] == ""
    assert (await contact_api.get("get", external_userid=contact_seed["ext"], cursor="bogus!"))["errcode"] == 40058


async def test_wecom_user_contact_has_corp_fields_and_no_unionid(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    added = await contact_driver.contact_add_customer(
        CORP, userid="bob", type=2, name="Erin", corp_name="Acme", position="buyer"
    )
    contact = (await contact_api.get("get", external_userid=added["external_userid"]))["external_contact"]
    assert (contact["type"], contact["corp_name"], contact["position"]) == (2, "Acme", "buyer")
    assert "unionid" not in contact


# ---------------------------------------------------------------------- batch/get_by_user


async def test_batch_get_by_user_pages(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    for i in range(2):
        contact_world.clock.advance(1)
        await contact_driver.contact_add_customer(CORP, userid="bob", nickname=f"guest{i}")
    first = await contact_api.post("batch/get_by_user", {"userid_list": ["alice", "bob"], "limit": 2})
    assert first["errcode"] == 0
    rows = first["external_contact_list"]
    assert [r["follow_info"]["userid"] for r in rows] == ["alice", "bob"]
    assert rows[0]["external_contact"]["external_userid"] == contact_seed["ext"]
    assert rows[0]["follow_info"]["tag_id"] == []
    second = await contact_api.post(
        "batch/get_by_user", {"userid_list": ["alice", "bob"], "limit": 2, "cursor": first["next_cursor"]}
    )
    assert [r["external_contact"]["name"] for r in second["external_contact_list"]] == ["guest1"]
    assert second["next_cursor"] == ""


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({}, 40058),
        ({"userid_list": ["nobody"]}, 40003),
        ({"userid_list": ["alice"], "limit": 101}, 40058),
        ({"userid_list": [f"u{i}" for i in range(101)]}, 40058),
    ],
)
async def test_batch_get_by_user_errors(
    contact_api: ContactApi, contact_seed: dict[str, Any], body: dict[str, Any], errcode: int
) -> None:
    assert (await contact_api.post("batch/get_by_user", body))["errcode"] == errcode


# ---------------------------------------------------------------------- remark


async def test_remark_updates_only_given_fields(contact_api: ContactApi, contact_seed: dict[str, Any]) -> None:
    ext = contact_seed["ext"]
    body = {"userid": "alice", "external_userid": ext, "remark": "VIP", "remark_mobiles": ["13800000000"]}
    assert (await contact_api.post("remark", body))["errcode"] == 0
    body = {"userid": "alice", "external_userid": ext, "description": "likes tea", "remark_company": "Tea Co"}
    assert (await contact_api.post("remark", body))["errcode"] == 0
    follow = (await contact_api.get("get", external_userid=ext))["follow_user"][0]
    assert (follow["remark"], follow["description"]) == ("VIP", "likes tea")
    assert follow["remark_mobiles"] == ["13800000000"]
    assert follow["remark_corp_name"] == "Tea Co"


@pytest.mark.parametrize(
    ("patch", "errcode"),
    [
        ({}, 40058),  # nothing to change
        ({"remark": "x" * 21}, 40058),
        ({"remark_mobiles": ["1"] * 6}, 40058),
        ({"userid": "bob", "remark": "x"}, 84061),
        ({"userid": "ghost", "remark": "x"}, 40003),
        ({"external_userid": "wmNope", "remark": "x"}, 40096),
    ],
)
async def test_remark_errors(
    contact_api: ContactApi, contact_seed: dict[str, Any], patch: dict[str, Any], errcode: int
) -> None:
    body = {"userid": "alice", "external_userid": contact_seed["ext"], **patch}
    assert (await contact_api.post("remark", body))["errcode"] == errcode


# ---------------------------------------------------------------------- list, follow users


async def test_list_and_its_errors(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    answer = await contact_api.get("list", userid="alice")
    assert answer["external_userid"] == [contact_seed["ext"]]
    assert (await contact_api.get("list", userid="bob"))["errcode"] == 84061  # no customers: not an empty list
    assert (await contact_api.get("list", userid="ghost"))["errcode"] == 40003
    await contact_driver.contact_add_member(CORP, "intern", follow=False)
    assert (await contact_api.get("list", userid="intern"))["errcode"] == 84074


async def test_follow_user_list_skips_resigned_and_featureless_members(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    await contact_driver.contact_add_member(CORP, "intern", follow=False)
    await contact_driver.contact_add_member(CORP, "carl")
    await contact_driver.contact_resign_member(CORP, "carl")
    answer = await contact_api.get("get_follow_user_list")
    assert answer == {"errcode": 0, "errmsg": "ok", "follow_user": ["alice", "bob"]}


async def test_contact_book_survives_dump_and_load(contact_world: World, contact_seed: dict[str, Any]) -> None:
    book = contact_world.state.corps[CORP].contacts
    book.follows.append(Follow(userid="bob", external_userid=contact_seed["ext"], createtime=1, tag_ids=["t"]))
    book.members["zed"] = Member(userid="zed", resigned_at=5.0)
    again = World.load(contact_world.dump())
    assert msgspec.to_builtins(again.state.corps[CORP].contacts) == msgspec.to_builtins(book)
