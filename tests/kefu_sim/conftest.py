"""Shared simulator fixtures: one app for the session, a FRESH seeded world per test, a client, a driver.

Building the Litestar app (route registration) is what costs; the world and callback dispatcher it
serves are swapped per test with `bind_world`, so no simulator state is shared between tests.
Platform-specific fixtures live next to their tests (wecom_contact/conftest.py) or in the test modules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from kefu_sim import SimClock, SimDriver, World, bind_world, create_app
from tests.kefu_sim.support import START, WeComKit


@pytest.fixture(scope="session")
def sim_app() -> Litestar:
    """The simulator's routes, built once; use `app` (bound to this test's world), not this."""
    return create_app()


@pytest.fixture
def world() -> World:
    return World(seed=1, clock=SimClock(START, frozen=True))


@pytest.fixture
async def app(sim_app: Litestar, world: World) -> AsyncIterator[Litestar]:
    """The simulator serving this test's world; callbacks go through a plain httpx client unless a
    test calls `app.state.dispatcher.set_client(...)`. Pending callbacks are cancelled at teardown."""
    dispatcher = bind_world(sim_app, world)
    yield sim_app
    await dispatcher.close()


@pytest.fixture
async def sim(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client reaching the simulator in-process (platform paths under /wecom and /mp)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        yield client


@pytest.fixture
def driver(sim: httpx.AsyncClient) -> SimDriver:
    return SimDriver(sim)


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
