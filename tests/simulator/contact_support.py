"""Shared fixtures of the simulated external-contact tests: a corp, an in-process simulator, a token."""

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
