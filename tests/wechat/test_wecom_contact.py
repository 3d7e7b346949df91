"""WeComContactClient against the in-process simulator: typed decoding and documented errcodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.errors import InvalidArgument, PlatformError
from gateway.wechat.http import ApiClient, RetryPolicy
from gateway.wechat.tokens import Credential, TokenManager
from gateway.wechat.wecom_contact import WeComContactClient
from gateway.wechat.wecom_contact_types import ContactWay
from kefu_sim import SimClock, SimDriver, World
from tests.sim_apps import simulator

START = 1_767_225_600.0
CORPID, SECRET = "wwcontact0001", "contact-secret"
DAY = 86_400


@dataclass
class Sim:
    driver: SimDriver
    client: WeComContactClient
    carol: str  # alice's customer


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    world = World(seed=2, clock=SimClock(START, frozen=True))
    async with (
        simulator(world) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as http,
    ):
        driver = SimDriver(http)
        await driver.wecom_create_corp(corpid=CORPID, secret=SECRET)
        for userid in ("alice", "bob"):
            await driver.contact_add_member(CORPID, userid)
        carol = await driver.contact_add_customer(CORPID, userid="alice", nickname="Carol")
        credential = Credential(kind="wecom", app_id=CORPID, secret=SECRET, api_base="http://sim/wecom")
        api = ApiClient(http, credential, TokenManager(http), retry=RetryPolicy(base_delay=0.0))
        yield Sim(driver, WeComContactClient(api), carol["external_userid"])


async def test_contact_way_crud(sim: Sim) -> None:
    added = await sim.client.add_contact_way(ContactWay(type=1, scene=2, user=["alice"], state="campaign1"))
    assert added.config_id and added.qr_code.startswith("https://")
    way = await sim.client.get_contact_way(added.config_id)
    assert (way.type, way.scene, way.user, way.state) == (1, 2, ["alice"], "campaign1")
    await sim.client.update_contact_way(added.config_id, remark="spring", state="campaign2")
    assert (await sim.client.get_contact_way(added.config_id)).state == "campaign2"
    ids, _ = await sim.client.list_contact_ways()
    assert ids == [added.config_id]
    await sim.client.del_contact_way(added.config_id)
    with pytest.raises(PlatformError):
        await sim.client.get_contact_way(added.config_id)
    sent = (await sim.driver.calls(path="/cgi-bin/externalcontact/add_contact_way"))[0]["body"]
    assert "config_id" not in sent and sent["user"] == ["alice"]  # defaults are left out of the request


async def test_customer_reads(sim: Sim) -> None:
    detail = await sim.client.get(sim.carol)
    assert detail.external_contact.name == "Carol" and detail.external_contact.unionid
    assert [f.userid for f in detail.follow_user] == ["alice"]
    page = await sim.client.batch_get_by_user(["alice"])
    assert [c.external_contact.external_userid for c in page.external_contact_list] == [sim.carol]
    assert await sim.client.list("alice") == [sim.carol]
    assert sorted(await sim.client.get_follow_user_list()) == ["alice", "bob"]
    with pytest.raises(InvalidArgument) as info:
        await sim.client.get("wm_not_ours")
    assert info.value.errcode == 40096
    with pytest.raises(PlatformError) as none:
        await sim.client.list("bob")  # a member without customers
    assert none.value.errcode == 84061


async def test_remark_and_tags(sim: Sim) -> None:
    await sim.client.remark("alice", sim.carol, remark="VIP Carol", remark_mobiles=["13800000000"])
    follow = (await sim.client.get(sim.carol)).follow_user[0]
    assert (follow.remark, follow.remark_mobiles) == ("VIP Carol", ["13800000000"])
    with pytest.raises(PlatformError) as info:
        await sim.client.remark("bob", sim.carol, remark="not mine")
    assert info.value.errcode == 84061

    group = await sim.client.add_corp_tag(["gold", {"name": "silver", "order": 2}], group_name="Level")
    names = {t.name: t.id for t in group.tag}
    assert set(names) == {"gold", "silver"}
    await sim.client.edit_corp_tag(names["gold"], name="platinum")
    listed = await sim.client.get_corp_tag_list(group_ids=[group.group_id])
    assert {t.name for t in listed[0].tag} == {"platinum", "silver"}
    await sim.client.mark_tag("alice", sim.carol, add_tag=[names["gold"]])
    tags = (await sim.client.get(sim.carol)).follow_user[0].tags
    assert [(t.tag_name, t.group_name) for t in tags] == [("platinum", "Level")]
    await sim.client.mark_tag("alice", sim.carol, remove_tag=[names["gold"]])
    await sim.client.del_corp_tag(tag_ids=[names["silver"]])
    remaining = await sim.client.get_corp_tag_list()
    assert [t.name for g in remaining for t in g.tag] == ["platinum"]
    assert (await sim.client.get(sim.carol)).follow_user[0].tags == []


async def test_transfers(sim: Sim) -> None:
    results = await sim.client.transfer_customer("alice", "bob", [sim.carol, "wm_bogus"], "bob takes over")
    assert {(r.external_userid, r.errcode) for r in results} == {(sim.carol, 0), ("wm_bogus", 40096)}
    waiting = await sim.client.transfer_result("alice", "bob")
    assert [(c.external_userid, c.status) for c in waiting.customer] == [(sim.carol, 2)]
    await sim.driver.advance(DAY + 1)
    done = await sim.client.transfer_result("alice", "bob")
    assert [c.status for c in done.customer] == [1]
    assert [f.userid for f in (await sim.client.get(sim.carol)).follow_user] == ["bob"]


async def test_resigned_transfer(sim: Sim) -> None:
    await sim.driver.contact_add_member(CORPID, "dave")
    dan = (await sim.driver.contact_add_customer(CORPID, userid="dave", nickname="Dan"))["external_userid"]
    await sim.driver.contact_resign_member(CORPID, "dave")
    unassigned = await sim.client.get_unassigned_list()
    assert unassigned.is_last and [(i.handover_userid, i.external_userid) for i in unassigned.info] == [("dave", dan)]
    results = await sim.client.transfer_customer("dave", "bob", [dan], resigned=True)
    assert [r.errcode for r in results] == [0]
    page = await sim.client.transfer_result("dave", "bob", resigned=True)
    assert [c.external_userid for c in page.customer] == [dan]
    assert (await sim.client.get_unassigned_list()).info == []
    with pytest.raises(PlatformError):  # on-the-job transfer from a resigned member is refused
        await sim.client.transfer_customer("dave", "bob", [dan])


async def test_group_chats(sim: Sim) -> None:
    chat = await sim.driver.contact_create_group_chat(CORPID, "alice", name="Fans", members=[sim.carol])
    page = await sim.client.groupchat_list(owner_userids=["alice"])
    assert [c.chat_id for c in page.group_chat_list] == [chat["chat_id"]]
    assert (await sim.client.groupchat_list(owner_userids=["bob"])).group_chat_list == []
    got = await sim.client.groupchat_get(chat["chat_id"], need_name=True)
    assert got.name == "Fans" and got.owner == "alice"
    assert {(m.userid, m.type, m.name) for m in got.member_list} == {("alice", 1, "alice"), (sim.carol, 2, "Carol")}
    with pytest.raises(PlatformError):
        await sim.client.groupchat_get("wr_no_such_chat")


async def test_msg_template_and_welcome(sim: Sim) -> None:
    task = await sim.client.add_msg_template(
        external_userids=[sim.carol, "wm_stranger"], sender="alice", text="spring sale"
    )
    assert task.msgid and task.fail_list == ["wm_stranger"]
    assert len(await sim.driver.calls(path="/cgi-bin/externalcontact/add_msg_template")) == 1
    new = await sim.driver.contact_add_customer(CORPID, userid="bob", nickname="Eve")
    await sim.client.send_welcome_msg(new["welcome_code"], text="welcome!")
    with pytest.raises(PlatformError) as info:
        await sim.client.send_welcome_msg(new["welcome_code"], text="again")  # single use
    assert info.value.errcode == 41051
    late = await sim.driver.contact_add_customer(CORPID, userid="bob", nickname="Frank")
    await sim.driver.advance(21)  # the code lives 20 s
    with pytest.raises(PlatformError) as expired:
        await sim.client.send_welcome_msg(late["welcome_code"], text="too late")
    assert expired.value.errcode == 41051
