"""Simulated corp customer tags: get_corp_tag_list, add/edit/del_corp_tag, mark_tag."""

from __future__ import annotations

from typing import Any

import pytest

from kefu_sim import World
from tests.kefu_sim.wecom_contact.support import CORP, ContactApi


async def _group(api: ContactApi, name: str, *tags: str, order: int = 0) -> dict[str, Any]:
    answer = await api.post("add_corp_tag", {"group_name": name, "order": order, "tag": [{"name": t} for t in tags]})
    assert answer["errcode"] == 0, answer
    return answer["tag_group"]


async def test_add_and_list_tags(contact_api: ContactApi, contact_seed: dict[str, Any]) -> None:
    level = await _group(contact_api, "level", "gold", "silver", order=1)
    assert level["group_id"].startswith("et") and [t["name"] for t in level["tag"]] == ["gold", "silver"]
    source = await _group(contact_api, "source", "web")
    more = await _group(contact_api, "level", "bronze")  # an existing group name adds to that group
    assert more["group_id"] == level["group_id"] and [t["name"] for t in more["tag"]] == ["bronze"]
    by_id = await contact_api.post("add_corp_tag", {"group_id": source["group_id"], "tag": [{"name": "ads"}]})
    assert by_id["errcode"] == 0
    everything = (await contact_api.post("get_corp_tag_list"))["tag_group"]
    assert [g["group_name"] for g in everything] == ["level", "source"]  # higher order first
    assert sorted(t["name"] for t in everything[0]["tag"]) == ["bronze", "gold", "silver"]
    gold = level["tag"][0]["id"]
    picked = (await contact_api.post("get_corp_tag_list", {"tag_id": [gold]}))["tag_group"]
    assert [(g["group_name"], [t["name"] for t in g["tag"]]) for g in picked] == [("level", ["gold"])]
    both = {"tag_id": [gold], "group_id": [source["group_id"]]}  # group_id wins
    picked = (await contact_api.post("get_corp_tag_list", both))["tag_group"]
    assert [g["group_name"] for g in picked] == ["source"]


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"group_name": "level", "tag": [{"name": "gold"}]}, 40071),
        ({"group_name": "new", "tag": [{"name": "a"}, {"name": "a"}]}, 40071),
        ({"group_id": "etMissing", "tag": [{"name": "x"}]}, 40068),
        ({"group_name": "new", "tag": []}, 40058),
        ({"tag": [{"name": "x"}]}, 40058),  # neither group_id nor group_name
        ({"group_name": "new", "tag": [{"name": "x" * 31}]}, 40058),
    ],
)
async def test_add_corp_tag_errors(
    contact_api: ContactApi, contact_seed: dict[str, Any], body: dict[str, Any], errcode: int
) -> None:
    await _group(contact_api, "level", "gold")
    assert (await contact_api.post("add_corp_tag", body))["errcode"] == errcode


async def test_tag_limit(contact_api: ContactApi, contact_world: World, contact_seed: dict[str, Any]) -> None:
    contact_world.state.corps[CORP].contacts.tag_limit = 2
    await _group(contact_api, "level", "gold", "silver")
    assert (await contact_api.post("add_corp_tag", {"group_name": "x", "tag": [{"name": "y"}]}))["errcode"] == 45009


async def test_edit_corp_tag(contact_api: ContactApi, contact_seed: dict[str, Any]) -> None:
    level = await _group(contact_api, "level", "gold", "silver")
    await _group(contact_api, "source", "web")
    gold, silver = (t["id"] for t in level["tag"])
    assert (await contact_api.post("edit_corp_tag", {"id": gold, "name": "platinum", "order": 5}))["errcode"] == 0
    assert (await contact_api.post("edit_corp_tag", {"id": level["group_id"], "name": "tier"}))["errcode"] == 0
    [group] = (await contact_api.post("get_corp_tag_list", {"group_id": [level["group_id"]]}))["tag_group"]
    assert group["group_name"] == "tier"
    assert [(t["name"], t["order"]) for t in group["tag"]] == [("platinum", 5), ("silver", 0)]
    assert (await contact_api.post("edit_corp_tag", {"id": silver, "name": "platinum"}))["errcode"] == 40071
    assert (await contact_api.post("edit_corp_tag", {"id": level["group_id"], "name": "source"}))["errcode"] == 40071
    assert (await contact_api.post("edit_corp_tag", {"id": "etNope", "name": "x"}))["errcode"] == 40068


async def test_mark_tag_and_see_it_on_the_customer(contact_api: ContactApi, contact_seed: dict[str, Any]) -> None:
    level = await _group(contact_api, "level", "gold", "silver")
    gold, silver = (t["id"] for t in level["tag"])
    ext = contact_seed["ext"]
    body = {"userid": "alice", "external_userid": ext, "add_tag": [gold, silver]}
    assert (await contact_api.post("mark_tag", body))["errcode"] == 0
    body = {"userid": "alice", "external_userid": ext, "remove_tag": [silver]}
    assert (await contact_api.post("mark_tag", body))["errcode"] == 0
    follow = (await contact_api.get("get", external_userid=ext))["follow_user"][0]
    assert follow["tags"] == [{"group_name": "level", "tag_name": "gold", "tag_id": gold, "type": 1}]


@pytest.mark.parametrize(
    ("patch", "errcode"),
    [
        ({"add_tag": []}, 40058),
        ({"add_tag": ["etNope"]}, 40068),
        ({"userid": "bob"}, 84061),
        ({"userid": "ghost"}, 40003),
        ({"external_userid": "wmNope"}, 40096),
    ],
)
async def test_mark_tag_errors(
    contact_api: ContactApi, contact_seed: dict[str, Any], patch: dict[str, Any], errcode: int
) -> None:
    level = await _group(contact_api, "level", "gold")
    body = {"userid": "alice", "external_userid": contact_seed["ext"], "add_tag": [level["tag"][0]["id"]], **patch}
    assert (await contact_api.post("mark_tag", body))["errcode"] == errcode


async def test_del_corp_tag_strips_customers_and_empties_groups(
    contact_api: ContactApi, contact_seed: dict[str, Any]
) -> None:
    level = await _group(contact_api, "level", "gold", "silver")
    source = await _group(contact_api, "source", "web")
    gold, silver = (t["id"] for t in level["tag"])
    ext = contact_seed["ext"]
    await contact_api.post("mark_tag", {"userid": "alice", "external_userid": ext, "add_tag": [gold]})
    assert (await contact_api.post("del_corp_tag", {"tag_id": [gold]}))["errcode"] == 0
    assert (await contact_api.get("get", external_userid=ext))["follow_user"][0]["tags"] == []
    assert (await contact_api.post("del_corp_tag", {"tag_id": [silver]}))["errcode"] == 0  # level is now empty
    assert (await contact_api.post("del_corp_tag", {"group_id": [source["group_id"]]}))["errcode"] == 0
    assert (await contact_api.post("get_corp_tag_list"))["tag_group"] == []
    assert (await contact_api.post("del_corp_tag", {"tag_id": [gold]}))["errcode"] == 40068
    assert (await contact_api.post("del_corp_tag", {}))["errcode"] == 40058
