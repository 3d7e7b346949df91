"""Simulated MP access tokens: /cgi-bin/token and /cgi-bin/stable_token semantics (docs/platforms.md §1.2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from kefu_sim import SimDriver, World

DATA = Path(__file__).parents[2] / "data" / "mp_kefu"
START = 1_767_225_600.0  # 2026-01-01 00:00 UTC = 08:00 in Beijing


@pytest.fixture
async def mp_account(sim: httpx.AsyncClient) -> dict[str, Any]:
    return await SimDriver(sim).mp_create_app()


async def get_token(client: httpx.AsyncClient, account: dict[str, Any], **override: str) -> dict[str, Any]:
    params = {"grant_type": "client_credential", "appid": account["appid"], "secret": account["secret"], **override}
    return (await client.get("/mp/cgi-bin/token", params=params)).json()


async def get_stable(client: httpx.AsyncClient, account: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"grant_type": "client_credential", "appid": account["appid"], "secret": account["secret"], **extra}
    return (await client.post("/mp/cgi-bin/stable_token", json=body)).json()


async def errcode_with(client: httpx.AsyncClient, token: str) -> int:
    """The errcode an authorized MP call answers with this token (0 = accepted)."""
    response = await client.get("/mp/cgi-bin/customservice/getkflist", params={"access_token": token})
    return response.json().get("errcode", 0)


async def test_token_answer_matches_the_sample(sim: httpx.AsyncClient, mp_account: dict[str, Any]) -> None:
    sample = json.loads((DATA / "mp_token_response.json").read_text())
    answer = await get_token(sim, mp_account)
    assert answer.keys() == sample.keys()
    assert {k: type(v) for k, v in answer.items()} == {k: type(v) for k, v in sample.items()}
    assert answer["expires_in"] == 7200
    assert await errcode_with(sim, answer["access_token"]) == 0


@pytest.mark.parametrize(
    ("override", "errcode"),
    [
        ({"grant_type": "password"}, 40002),
        ({"appid": "wx0000000000000000"}, 40013),
        ({"secret": "wrong"}, 40001),
        ({"appid": ""}, 41002),
        ({"secret": ""}, 41004),
    ],
)
async def test_token_refuses_bad_credentials(
    sim: httpx.AsyncClient, mp_account: dict[str, Any], override: dict[str, str], errcode: int
) -> None:
    assert (await get_token(sim, mp_account, **override))["errcode"] == errcode


async def test_fetching_again_invalidates_the_previous_token(
    sim: httpx.AsyncClient, mp_account: dict[str, Any]
) -> None:
    first = (await get_token(sim, mp_account))["access_token"]
    second = (await get_token(sim, mp_account))["access_token"]
    assert first != second
    assert await errcode_with(sim, first) == 40014
    assert await errcode_with(sim, second) == 0


async def test_token_expires_after_its_lifetime(
    sim: httpx.AsyncClient, mp_account: dict[str, Any], world: World
) -> None:
    token = (await get_token(sim, mp_account))["access_token"]
    world.clock.advance(7199)
    assert await errcode_with(sim, token) == 0
    world.clock.advance(1)
    assert await errcode_with(sim, token) == 42001


async def test_missing_or_foreign_token_is_refused(sim: httpx.AsyncClient, world: World) -> None:
    response = await sim.get("/mp/cgi-bin/customservice/getkflist")
    assert response.json()["errcode"] == 41001
    wecom = world.issue_token("wecom:ww123:secret")
    assert await errcode_with(sim, wecom.value) == 40014


async def test_stable_token_normal_mode_returns_the_same_token_then_rotates(
    sim: httpx.AsyncClient, mp_account: dict[str, Any], world: World
) -> None:
    first = await get_stable(sim, mp_account)
    world.clock.advance(1000)
    again = await get_stable(sim, mp_account)
    assert again["access_token"] == first["access_token"]
    assert again["expires_in"] == 6200
    world.clock.advance(6200 - 299)  # 299 s left: inside the 5-minute rotation window
    rotated = await get_stable(sim, mp_account)
    assert rotated["access_token"] != first["access_token"]
    assert rotated["expires_in"] >= 300
    assert await errcode_with(sim, first["access_token"]) == 0  # old and new both work
    assert await errcode_with(sim, rotated["access_token"]) == 0
    assert (await get_stable(sim, mp_account))["access_token"] == rotated["access_token"]
    world.clock.advance(299)
    assert await errcode_with(sim, first["access_token"]) == 42001
    assert await errcode_with(sim, rotated["access_token"]) == 0


async def test_stable_token_is_isolated_from_cgi_bin_token(
    sim: httpx.AsyncClient, mp_account: dict[str, Any], world: World
) -> None:
    stable = (await get_stable(sim, mp_account))["access_token"]
    plain = (await get_token(sim, mp_account))["access_token"]
    await get_token(sim, mp_account)  # invalidates `plain` only
    assert await errcode_with(sim, stable) == 0
    assert await errcode_with(sim, plain) == 40014
    latest = (await get_token(sim, mp_account))["access_token"]
    await get_stable(sim, mp_account, force_refresh=True)  # invalidates the old stable token only
    assert await errcode_with(sim, latest) == 0
    assert {g.owner for g in world.state.tokens.values()} == {
        f"mp:{mp_account['appid']}",
        f"mp-stable:{mp_account['appid']}",
    }


async def test_force_refresh_invalidates_and_is_rate_limited(
    sim: httpx.AsyncClient, mp_account: dict[str, Any], world: World
) -> None:
    old = (await get_stable(sim, mp_account))["access_token"]
    forced = await get_stable(sim, mp_account, force_refresh=True)
    assert forced["access_token"] != old and forced["expires_in"] == 7200
    assert await errcode_with(sim, old) == 40014
    assert (await get_stable(sim, mp_account, force_refresh=True))["errcode"] == 45011
    world.clock.advance(29)
    assert (await get_stable(sim, mp_account, force_refresh=True))["errcode"] == 45011
    world.clock.advance(1)
    assert "access_token" in await get_stable(sim, mp_account, force_refresh=True)
    for _ in range(18):  # 20 successful force refreshes in total today
        world.clock.advance(31)
        assert "access_token" in await get_stable(sim, mp_account, force_refresh=True)
    world.clock.advance(31)
    assert (await get_stable(sim, mp_account, force_refresh=True))["errcode"] == 45009
    assert "access_token" in await get_stable(sim, mp_account)  # normal mode still works
    world.clock.advance(16 * 3600)  # past midnight in Beijing: a new day
    assert "access_token" in await get_stable(sim, mp_account, force_refresh=True)


async def test_stable_token_wants_json(sim: httpx.AsyncClient, mp_account: dict[str, Any]) -> None:
    form = {"grant_type": "client_credential", "appid": mp_account["appid"], "secret": mp_account["secret"]}
    response = await sim.post("/mp/cgi-bin/stable_token", data=form)
    assert response.status_code == 200
    assert response.json()["errcode"] == 47001
    assert (await get_stable(sim, mp_account, force_refresh="yes"))["errcode"] == 47001
    assert (await get_stable(sim, mp_account, secret="nope"))["errcode"] == 40001
    assert (await get_stable(sim, mp_account, appid="wxnope"))["errcode"] == 40013
    assert (await get_stable(sim, mp_account, grant_type="x"))["errcode"] == 40002
