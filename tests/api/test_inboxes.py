"""/api/v1/inboxes against the simulated WeCom: directory sync, kf accounts, contact-way links, servicers."""

from __future__ import annotations

import base64

import pytest

from gateway.channels.mp import MpChannel
from gateway.channels.wecom import WeComChannel
from tests.api.support import SimApi

CORP = "wwcorp0001"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


def needs(cls: type, name: str) -> None:
    """Skip (with the reason) while the adapter lacks an operation the endpoint calls."""
    if not hasattr(cls, name):
        pytest.skip(f"{cls.__name__}.{name} is not implemented yet")


async def wecom_setup(api: SimApi) -> tuple[int, str, str]:
    """Corp with members alice/bob; kf accounts 售前 (alice, bob) and 售后 (alice); directory synced."""
    assert api.h is not None
    channel_id = await api.h.wecom_channel(corpid=CORP)
    for userid in ("alice", "bob"):
        await api.h.driver.wecom_add_member(CORP, userid, department=[2])
    pre = (await api.h.driver.wecom_add_kf_account(CORP, "售前", servicers=["alice", "bob"]))["open_kfid"]
    post = (await api.h.driver.wecom_add_kf_account(CORP, "售后", servicers=["alice"]))["open_kfid"]
    synced = await api.post("/api/v1/agents/sync", json={"channel_id": channel_id})
    assert synced.status_code == 200, synced.text
    assert synced.json() == {"inboxes": 2, "agents": 2}
    return channel_id, pre, post


async def inbox_by_source(api: SimApi, source_id: str) -> dict:  # type: ignore[type-arg]
    return next(i for i in (await api.get("/api/v1/inboxes")).json()["data"] if i["source_id"] == source_id)


async def test_directory_sync_and_inbox_reads(sim_api: SimApi) -> None:
    channel_id, pre, post = await wecom_setup(sim_api)
    inboxes = (await sim_api.get(f"/api/v1/inboxes?channel_id={channel_id}")).json()["data"]
    assert {(i["source_id"], i["name"], i["enabled"]) for i in inboxes} == {(pre, "售前", True), (post, "售后", True)}
    one = await inbox_by_source(sim_api, pre)
    assert (await sim_api.get(f"/api/v1/inboxes/{one['id']}")).json() == one
    assert (await sim_api.get("/api/v1/inboxes/9999")).status_code == 404
    assert (await sim_api.get("/api/v1/inboxes?channel_id=9999")).json()["data"] == []
    assert (await sim_api.get("/api/v1/inboxes?channel_id=0")).status_code == 422
    # syncing again changes nothing
    assert (await sim_api.post("/api/v1/agents/sync", json={"channel_id": channel_id})).status_code == 200
    assert len((await sim_api.get("/api/v1/inboxes")).json()["data"]) == 2


async def test_create_inbox_creates_a_kf_account(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    channel_id, _, _ = await wecom_setup(sim_api)
    response = await sim_api.post("/api/v1/inboxes", json={"channel_id": channel_id, "name": "VIP"})
    assert response.status_code == 201, response.text
    created = response.json()
    accounts = sim_api.h.world.state.corps[CORP].kf_accounts
    assert accounts[created["source_id"]].name == "VIP"
    assert created["channel_id"] == channel_id and created["enabled"] and created["name"] == "VIP"
    with_avatar = await sim_api.post(
        "/api/v1/inboxes",
        json={"channel_id": channel_id, "name": "JPEG", "avatar_base64": base64.b64encode(JPEG).decode()},
    )
    assert with_avatar.status_code == 201, with_avatar.text
    assert len((await sim_api.get(f"/api/v1/inboxes?channel_id={channel_id}")).json()["data"]) == 4

    bad = [
        ({"channel_id": channel_id, "name": "x" * 17}, "name"),
        ({"channel_id": channel_id, "name": "x", "avatar_base64": "***"}, "avatar_base64"),
        (
            {"channel_id": channel_id, "name": "x", "avatar_base64": base64.b64encode(b"GIF89a....").decode()},
            "avatar_base64",
        ),
    ]
    for body, field in bad:
        response = await sim_api.post("/api/v1/inboxes", json=body)
        assert response.status_code == 422 and response.json()["error"]["field"] == field, response.text
    assert (await sim_api.post("/api/v1/inboxes", json={"channel_id": 999, "name": "x"})).status_code == 404
    assert (
        await sim_api.post("/api/v1/inboxes", as_="read", json={"channel_id": channel_id, "name": "x"})
    ).status_code == 403
    assert len(accounts) == 4


async def test_contact_way_links(sim_api: SimApi) -> None:
    _, pre, _ = await wecom_setup(sim_api)
    inbox = await inbox_by_source(sim_api, pre)
    path = f"/api/v1/inboxes/{inbox['id']}/contact-ways"
    plain = await sim_api.post(path, json={})
    assert plain.status_code == 201 and plain.json()["url"] == f"https://work.weixin.qq.com/kfid/{pre}"
    tagged = (await sim_api.post(path, json={"scene": "ad_42", "scene_param": "campaign a&b"})).json()
    assert "enc_scene=" in tagged["url"] and tagged["url"].endswith("&scene_param=campaign%20a%26b")
    assert (tagged["scene"], tagged["scene_param"]) == ("ad_42", "campaign a&b")
    stored = (await sim_api.get(f"/api/v1/inboxes/{inbox['id']}")).json()["contact_ways"]
    assert [w["url"] for w in stored] == [plain.json()["url"], tagged["url"]]
    for body, field in (
        ({"scene": "has space"}, "scene"),
        ({"scene_param": "p"}, "scene_param"),
        ({"scene": "x" * 33}, "scene"),
    ):
        response = await sim_api.post(path, json=body)
        assert response.status_code == 422 and response.json()["error"]["field"] == field, response.text
    assert (await sim_api.post("/api/v1/inboxes/9999/contact-ways", json={})).status_code == 404


async def test_add_servicers(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    _, _, post = await wecom_setup(sim_api)
    inbox = await inbox_by_source(sim_api, post)
    response = await sim_api.post(f"/api/v1/inboxes/{inbox['id']}/agents", json={"userids": ["bob", "ghost"]})
    assert response.status_code == 200, response.text
    results = {r["userid"]: r for r in response.json()["data"]}
    assert results["bob"]["errcode"] == 0 and results["bob"]["agent_id"] is not None
    assert results["ghost"]["errcode"] == 60111 and results["ghost"]["agent_id"] is None
    assert "bob" in sim_api.h.world.state.corps[CORP].kf_accounts[post].servicers
    members = (await sim_api.get(f"/api/v1/agents?inbox_id={inbox['id']}")).json()["data"]
    assert sorted(a["source_id"] for a in members) == ["alice", "bob"]
    assert (await sim_api.post(f"/api/v1/inboxes/{inbox['id']}/agents", json={"userids": []})).status_code == 422


async def test_remove_servicer(sim_api: SimApi) -> None:
    needs(WeComChannel, "remove_servicers")
    assert sim_api.h is not None
    _, pre, _ = await wecom_setup(sim_api)
    inbox = await inbox_by_source(sim_api, pre)
    bob = next(a for a in (await sim_api.get("/api/v1/agents")).json()["data"] if a["source_id"] == "bob")
    response = await sim_api.delete(f"/api/v1/inboxes/{inbox['id']}/agents/{bob['id']}")
    assert response.status_code == 204, response.text
    assert "bob" not in sim_api.h.world.state.corps[CORP].kf_accounts[pre].servicers
    members = (await sim_api.get(f"/api/v1/agents?inbox_id={inbox['id']}")).json()["data"]
    assert [a["source_id"] for a in members] == ["alice"]


async def test_rename_and_delete_inbox(sim_api: SimApi) -> None:
    needs(WeComChannel, "update_inbox")
    needs(WeComChannel, "delete_inbox")
    assert sim_api.h is not None
    _, pre, _ = await wecom_setup(sim_api)
    inbox = await inbox_by_source(sim_api, pre)
    renamed = await sim_api.patch(f"/api/v1/inboxes/{inbox['id']}", json={"name": "Presales"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Presales"
    assert sim_api.h.world.state.corps[CORP].kf_accounts[pre].name == "Presales"
    deleted = await sim_api.delete(f"/api/v1/inboxes/{inbox['id']}")
    assert deleted.status_code == 200 and deleted.json()["enabled"] is False
    assert pre not in sim_api.h.world.state.corps[CORP].kf_accounts


async def test_mp_inboxes_cannot_be_managed(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    channel_id = await sim_api.h.mp_channel()
    await sim_api.post("/api/v1/agents/sync", json={"channel_id": channel_id})
    inbox = (await sim_api.get(f"/api/v1/inboxes?channel_id={channel_id}")).json()["data"][0]
    for response in (
        await sim_api.post("/api/v1/inboxes", json={"channel_id": channel_id, "name": "x"}),
        await sim_api.post(f"/api/v1/inboxes/{inbox['id']}/contact-ways", json={}),
        await sim_api.post(f"/api/v1/inboxes/{inbox['id']}/agents", json={"userids": ["a"]}),
        await sim_api.patch(f"/api/v1/inboxes/{inbox['id']}", json={"name": "x"}),
        await sim_api.delete(f"/api/v1/inboxes/{inbox['id']}"),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "unsupported_by_channel"
    assert not hasattr(MpChannel, "add_inbox")
