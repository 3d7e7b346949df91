"""Simulated corp customer tags: get_corp_tag_list, add/edit/del_corp_tag, mark_tag."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.simulator import SimClock, World, create_simulator_app
from gateway.simulator.driver_client import SimDriver
from gateway.simulator.wecom_state import WeComCorp

CORP = "wwcontact0001"
SECRET = "contact-secret"


class ContactApi:
    """Calls /wecom/cgi-bin/externalcontact/* with an access token in the query."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token

    async def get(self, name: str, **params: Any) -> dict[str, Any]:
        response = await self.client.get(
            f"/wecom/cgi-bin/externalcontact/{name}", params={"access_token": self.token, **params}
        )
        assert response.status_code == 200
        return response.json()

    async def post(self, name: str, body: Any = None, *, content: bytes | None = None) -> dict[str, Any]:
        url = f"/wecom/cgi-bin/externalcontact/{name}"
        params = {"access_token": self.token}
        if content is not None:
            response = await self.client.post(url, params=params, content=content)
        else:
            response = await self.client.post(url, params=params, json=body or {})
        assert response.status_code == 200
        return response.json()


@pytest.fixture
def contact_world() -> World:
    world = World(seed=1, clock=SimClock(1_767_225_600.0, frozen=True))
    world.state.corps[CORP] = WeComCorp(corpid=CORP, secrets=[SECRET])
    return world


@pytest.fixture
async def contact_client(contact_world: World) -> AsyncIterator[httpx.AsyncClient]:
    app = create_simulator_app(contact_world)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        yield client


@pytest.fixture
def contact_driver(contact_client: httpx.AsyncClient) -> SimDriver:
    return SimDriver(contact_client)


@pytest.fixture
def contact_api(contact_world: World, contact_client: httpx.AsyncClient) -> ContactApi:
    return ContactApi(contact_client, contact_world.issue_token(f"wecom:{CORP}:{SECRET}", lifetime=10**8).value)


@pytest.fixture
async def contact_seed(contact_driver: SimDriver) -> dict[str, Any]:
    """Members alice and bob; WeChat user Carol added alice (state "web")."""
    await contact_driver.contact_add_member(CORP, "alice", name="Alice")
    await contact_driver.contact_add_member(CORP, "bob", name="Bob")
    person = await contact_driver.add_person("Carol", gender=2)
    added = await contact_driver.contact_add_customer(CORP, userid="alice", unionid=person["unionid"], state="web")
    return {"unionid": person["unionid"], "ext": added["external_userid"]}


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
