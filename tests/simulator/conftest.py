"""Shared simulator fixtures: a seeded world on a frozen clock, the app, an in-process client, a driver.

Platform-specific fixtures live in the test modules (named after their platform, e.g. wecom_*).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from gateway.simulator import SimClock, World, create_simulator_app
from gateway.simulator.driver_client import SimDriver
from tests.simulator.contact_support import contact_api, contact_client, contact_driver, contact_world  # noqa: F401

START = 1_767_225_600.0  # 2026-01-01 00:00 UTC, 08:00 in Beijing


@pytest.fixture
def world() -> World:
    return World(seed=1, clock=SimClock(START, frozen=True))


@pytest.fixture
async def app(world: World) -> AsyncIterator[Litestar]:
    """The simulator; callbacks go through a plain httpx client unless a test calls
    `app.state.dispatcher.set_client(...)`. Pending callbacks are cancelled at teardown."""
    simulator = create_simulator_app(world)
    yield simulator
    await simulator.state.dispatcher.close()


@pytest.fixture
async def sim(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client reaching the simulator in-process (platform paths under /wecom and /mp)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        yield client


@pytest.fixture
def driver(sim: httpx.AsyncClient) -> SimDriver:
    return SimDriver(sim)


# ---------------------------------------------------------------------- WeCom kf


class WeComKit:
    """A WeCom corp ready for kf calls: token, one kf account, servicers alice/bob, one customer."""

    def __init__(self, sim: httpx.AsyncClient, driver: SimDriver, corp: dict[str, Any]) -> None:
        self.sim = sim
        self.driver = driver
        self.corpid: str = corp["corpid"]
        self.secret: str = corp["secrets"][0]
        self.token = ""
        self.open_kfid = ""
        self.external_userid = ""

    async def fetch_token(self) -> str:
        answer = (
            await self.sim.get("/wecom/cgi-bin/gettoken", params={"corpid": self.corpid, "corpsecret": self.secret})
        ).json()
        self.token = answer["access_token"]
        return self.token

    async def post(self, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        """POST /wecom/cgi-bin/<path> with the kit's access token; the JSON answer."""
        response = await self.sim.post(
            f"/wecom/cgi-bin/{path}",
            params={"access_token": self.token, **params},
            json=body if body is not None else {},
        )
        return response.json()

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.sim.get(f"/wecom/cgi-bin/{path}", params={"access_token": self.token, **params})
        return response.json()

    async def customer_says(
        self, content: str = "hello", *, external_userid: str | None = None, open_kfid: str | None = None
    ) -> dict[str, Any]:
        return await self.driver.wecom_customer_send(
            self.corpid,
            open_kfid or self.open_kfid,
            external_userid or self.external_userid,
            "text",
            {"content": content},
        )

    async def new_customer(self, nickname: str = "cust") -> str:
        return (await self.driver.wecom_add_customer(self.corpid, nickname=nickname))["external_userid"]

    async def sync(self, **body: Any) -> dict[str, Any]:
        return await self.post("kf/sync_msg", {"open_kfid": self.open_kfid, **body})

    async def trans(
        self, state: int, servicer_userid: str | None = None, *, external_userid: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "open_kfid": self.open_kfid,
            "external_userid": external_userid or self.external_userid,
            "service_state": state,
        }
        if servicer_userid is not None:
            body["servicer_userid"] = servicer_userid
        return await self.post("kf/service_state/trans", body)

    async def state(self, external_userid: str | None = None) -> dict[str, Any]:
        return await self.post(
            "kf/service_state/get",
            {"open_kfid": self.open_kfid, "external_userid": external_userid or self.external_userid},
        )


@pytest.fixture
async def wecom(world: World, sim: httpx.AsyncClient, driver: SimDriver) -> WeComKit:
    """Corp wwcorp0001 (sync pages never empty), members alice/bob on duty as servicers of one kf
    account, one customer, a fresh token. Auto-assignment is off (sessions start in state 0)."""
    world.config.auto_assign = False
    corp = await driver.wecom_create_corp(corpid="wwcorp0001", secret="kf-secret", sync_empty_page_rate=0.0)
    kit = WeComKit(sim, driver, corp)
    for userid in ("alice", "bob"):
        await driver.wecom_add_member(kit.corpid, userid, department=[2])
    kit.open_kfid = (await driver.wecom_add_kf_account(kit.corpid, "售后", servicers=["alice", "bob"]))["open_kfid"]
    kit.external_userid = await kit.new_customer("小明")
    await kit.fetch_token()
    return kit
