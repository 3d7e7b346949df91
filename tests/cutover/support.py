"""A corp and an official account in the simulator, wired to the gateway, ready for a cutover."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.channels.mp import MpChannel
from tests.harness import Harness

CORP, APPID = "wwcorp0001", "wxapp0000000001"


@dataclass
class Setup:
    mp: int
    wecom: int
    old_kfid: str  # an existing WeCom kf account whose servicers (alice, bob) the plan can match


async def setup(h: Harness) -> Setup:
    wecom = await h.wecom_channel()
    mp = await h.mp_channel(appid=APPID, name="oa")
    for userid in ("alice", "bob"):
        await h.driver.wecom_add_member(CORP, userid, name=userid.title())
    old = (await h.driver.wecom_add_kf_account(CORP, "老客服", servicers=["alice", "bob"]))["open_kfid"]
    adapter = await h.runtime.channels.get(mp)
    assert isinstance(adapter, MpChannel)
    await adapter.add_agent("alice@gh_oa", "Alice")  # matched by name: servicer alice
    await adapter.add_agent("k3@gh_oa", "Carol")  # no servicer of that name: the mapping gives one
    return Setup(mp=mp, wecom=wecom, old_kfid=old)
