"""/api/v1/agents against the simulator: statuses from directory sync, filters, MP kf account management."""

from __future__ import annotations

import pytest

from gateway.channels.mp import MpChannel
from tests.api.support import SimApi

CORP = "wwcorp0001"


async def wecom_directory(api: SimApi) -> tuple[int, str, str]:
    """alice on duty on both kf accounts, bob stopped on one, carol suspended on one."""
    assert api.h is not None
    channel_id = await api.h.wecom_channel(corpid=CORP)
    for userid in ("alice", "bob", "carol"):
        await api.h.driver.wecom_add_member(CORP, userid, department=[2])
    pre = (await api.h.driver.wecom_add_kf_account(CORP, "售前", servicers=["alice", "bob"]))["open_kfid"]
    post = (await api.h.driver.wecom_add_kf_account(CORP, "售后", servicers=["alice", "carol"]))["open_kfid"]
    await api.h.driver.wecom_set_servicer_status(CORP, "bob", 1)
    await api.h.driver.wecom_set_servicer_status(CORP, "carol", 1, stop_type=1)
    assert (await api.post("/api/v1/agents/sync", json={"channel_id": channel_id})).status_code == 200
    return channel_id, pre, post


async def test_statuses_memberships_and_filters(sim_api: SimApi) -> None:
    channel_id, pre, post = await wecom_directory(sim_api)
    inboxes = {i["source_id"]: i["id"] for i in (await sim_api.get("/api/v1/inboxes")).json()["data"]}
    agents = {a["source_id"]: a for a in (await sim_api.get("/api/v1/agents")).json()["data"]}
    assert {k: a["status"] for k, a in agents.items()} == {"alice": "online", "bob": "offline", "carol": "suspended"}
    assert sorted(m["inbox_id"] for m in agents["alice"]["inboxes"]) == sorted(inboxes.values())
    assert [m["inbox_id"] for m in agents["bob"]["inboxes"]] == [inboxes[pre]]
    assert all(a["channel_id"] == channel_id for a in agents.values())

    async def ids(query: str) -> list[str]:
        response = await sim_api.get(f"/api/v1/agents?{query}")
        assert response.status_code == 200, response.text
        return sorted(a["source_id"] for a in response.json()["data"])

    assert await ids(f"inbox_id={inboxes[post]}") == ["alice", "carol"]
    assert await ids(f"channel_id={channel_id}&status=online") == ["alice"]
    assert await ids("status=suspended") == ["carol"]
    assert await ids("channel_id=9999") == []
    assert (await sim_api.get("/api/v1/agents?status=busy")).status_code == 422
    one = (await sim_api.get(f"/api/v1/agents/{agents['bob']['id']}")).json()
    assert one == agents["bob"]
    assert (await sim_api.get("/api/v1/agents/9999")).status_code == 404


async def test_sync_follows_the_platform(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    channel_id, _, _ = await wecom_directory(sim_api)
    await sim_api.h.driver.wecom_set_servicer_status(CORP, "bob", 0)
    assert (await sim_api.post("/api/v1/agents/sync", json={"channel_id": channel_id})).status_code == 200
    bob = next(a for a in (await sim_api.get("/api/v1/agents")).json()["data"] if a["source_id"] == "bob")
    assert bob["status"] == "online" and [m["status"] for m in bob["inboxes"]] == ["online"]
    missing = await sim_api.post("/api/v1/agents/sync", json={"channel_id": 9999})
    assert missing.status_code == 404


async def test_wecom_agents_are_not_created_here(sim_api: SimApi) -> None:
    channel_id, _, _ = await wecom_directory(sim_api)
    response = await sim_api.post(
        "/api/v1/agents", json={"channel_id": channel_id, "kf_account": "a@b", "nickname": "A"}
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "unsupported_by_channel"


async def mp_setup(api: SimApi) -> int:
    assert api.h is not None
    channel_id = await api.h.mp_channel(wechat_id="gh_oa")
    adapter = await api.h.runtime.channels.get(channel_id)
    await adapter.client.add_account("alice@gh_oa", "Alice")  # type: ignore[attr-defined]
    await adapter.client.add_account("bob@gh_oa", "Bob")  # type: ignore[attr-defined]
    await api.h.driver.mp_kf_bind("wxapp0000000001", "alice@gh_oa", "wx_alice")
    await api.h.driver.mp_kf_online("wxapp0000000001", "alice@gh_oa")
    return channel_id


async def test_mp_directory_sync(sim_api: SimApi) -> None:
    channel_id = await mp_setup(sim_api)
    synced = await sim_api.post("/api/v1/agents/sync", json={"channel_id": channel_id})
    assert synced.json() == {"inboxes": 1, "agents": 2}
    agents = {a["source_id"]: a for a in (await sim_api.get(f"/api/v1/agents?channel_id={channel_id}")).json()["data"]}
    assert {k: (a["name"], a["status"]) for k, a in agents.items()} == {
        "alice@gh_oa": ("Alice", "online"),
        "bob@gh_oa": ("Bob", "offline"),
    }
    inbox = (await sim_api.get(f"/api/v1/inboxes?channel_id={channel_id}")).json()["data"]
    assert [i["source_id"] for i in inbox] == ["wxapp0000000001"]
    assert [m["inbox_id"] for m in agents["bob@gh_oa"]["inboxes"]] == [inbox[0]["id"]]


async def test_mp_kf_account_management(sim_api: SimApi) -> None:
    for name in ("add_agent", "update_agent", "delete_agent", "invite_agent"):
        if not hasattr(MpChannel, name):
            pytest.skip(f"MpChannel.{name} is not implemented yet")
    assert sim_api.h is not None
    channel_id = await mp_setup(sim_api)
    app = sim_api.h.world.state.mp_apps["wxapp0000000001"]
    created = await sim_api.post(
        "/api/v1/agents", json={"channel_id": channel_id, "kf_account": "carol@gh_oa", "nickname": "Carol"}
    )
    assert created.status_code == 201, created.text
    carol = created.json()
    assert carol["source_id"] == "carol@gh_oa" and carol["status"] == "offline" and len(carol["inboxes"]) == 1
    assert app.kf_accounts["carol@gh_oa"].nickname == "Carol"
    renamed = await sim_api.patch(f"/api/v1/agents/{carol['id']}", json={"nickname": "Carol W"})
    assert renamed.json()["name"] == "Carol W" and app.kf_accounts["carol@gh_oa"].nickname == "Carol W"
    invited = await sim_api.post(f"/api/v1/agents/{carol['id']}/invite", json={"invite_wx": "wx_carol"})
    assert invited.status_code == 200 and app.kf_accounts["carol@gh_oa"].invite_status == "waiting"
    deleted = await sim_api.delete(f"/api/v1/agents/{carol['id']}")
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    assert "carol@gh_oa" not in app.kf_accounts
    # the platform's refusal keeps its errcode
    duplicate = await sim_api.post(
        "/api/v1/agents", json={"channel_id": channel_id, "kf_account": "alice@gh_oa", "nickname": "Again"}
    )
    assert duplicate.json()["error"]["errcode"] == 65406


async def test_agent_body_validation(sim_api: SimApi) -> None:
    for body, field in (
        ({"channel_id": 1, "kf_account": "no-at-sign", "nickname": "x"}, "kf_account"),
        ({"channel_id": 1, "kf_account": "waytoolongprefix@gh", "nickname": "x"}, "kf_account"),
        ({"channel_id": 1, "kf_account": "a@gh", "nickname": ""}, "nickname"),
    ):
        response = await sim_api.post("/api/v1/agents", json=body)
        assert response.status_code == 422 and response.json()["error"]["field"] == field, response.text
    assert (await sim_api.patch("/api/v1/agents/9999", json={"nickname": "x"})).status_code == 404
    assert (await sim_api.delete("/api/v1/agents/9999")).status_code == 404
