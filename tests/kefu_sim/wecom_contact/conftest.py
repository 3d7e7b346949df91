"""Fixtures of the simulated external-contact tests: corp wwcontact0001 in this test's world, a token, seed data."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kefu_sim import SimDriver, World
from kefu_sim.wecom.state import WeComCorp
from tests.kefu_sim.wecom_contact.support import CORP, SECRET, ContactApi


@pytest.fixture
def contact_world(world: World) -> World:
    """This test's world (see ../conftest.py) with the contact corp in it."""
    world.state.corps[CORP] = WeComCorp(corpid=CORP, secrets=[SECRET])
    return world


@pytest.fixture
def contact_client(contact_world: World, sim: httpx.AsyncClient) -> httpx.AsyncClient:
    return sim


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
