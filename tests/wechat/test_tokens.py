"""Tokens: single-flight refresh in a process, one refresher across processes (SQL store), no secret in keys."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from gateway.db.models import AccessToken
from gateway.db.repositories.tokens import SqlTokenStore
from gateway.errors import TokenError
from gateway.wechat.http import ApiClient
from gateway.wechat.tokens import Credential, MemoryTokenStore, TokenManager
from kefu_sim import SimClock, SimDriver, World
from tests.sim_apps import simulator

CORP, SECRET = "wwcorp0001", "kf-app-secret-value-0001"


@pytest.fixture
async def sim():
    world = World(seed=3, clock=SimClock(1_767_225_600.0, frozen=True))
    async with (
        simulator(world) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as http,
    ):
        await SimDriver(http).wecom_create_corp(corpid=CORP, secret=SECRET)
        await SimDriver(http).mp_create_app(appid="wxapp0000000001", secret="mp-secret-000000001")
        yield world, http


def wecom() -> Credential:
    return Credential(kind="wecom", app_id=CORP, secret=SECRET, api_base="http://sim/wecom")


async def token_calls(http: httpx.AsyncClient, path: str = "/cgi-bin/gettoken") -> int:
    return len(await SimDriver(http).calls(path=path))


def test_cache_key_and_repr_never_contain_the_secret() -> None:
    credential = wecom()
    assert SECRET not in credential.key and SECRET not in repr(credential)
    other = Credential(kind="wecom", app_id=CORP, secret="another-secret", api_base="x")
    assert other.key != credential.key  # two apps of one corp are two tokens


async def test_concurrent_gets_fetch_once(sim) -> None:
    _, http = sim
    manager = TokenManager(http, MemoryTokenStore())
    tokens = await asyncio.gather(*(manager.get(wecom()) for _ in range(20)))
    assert len(set(tokens)) == 1 and await token_calls(http) == 1


async def test_expiry_margin_refreshes_before_the_platform_does(sim) -> None:
    world, http = sim
    now = [world.now()]
    manager = TokenManager(http, MemoryTokenStore(), margin=300, clock=lambda: now[0])
    first = await manager.get(wecom())
    now[0] += 7200 - 301
    assert await manager.get(wecom()) == first
    now[0] += 2  # inside the margin
    await manager.get(wecom())
    assert await token_calls(http) == 2


async def test_two_processes_share_one_refresh_through_sql(sim, db, box) -> None:
    _, http = sim
    a = TokenManager(http, SqlTokenStore(db, box))
    b = TokenManager(http, SqlTokenStore(db, box))  # another replica: own memory, same table
    ta, tb = await asyncio.gather(a.get(wecom()), b.get(wecom()))
    assert ta == tb and await token_calls(http) == 1
    async with db.sessions() as session:
        row = await session.scalar(select(AccessToken))
    assert row.key == wecom().key and ta not in (row.token_sealed or "")  # sealed at rest
    # the platform drops the token; b sees the refusal first, a (later, same old token) reuses b's new one
    await SimDriver(http).invalidate_tokens()
    new = await b.invalidate(wecom(), tb)
    assert new != tb
    assert await a.invalidate(wecom(), ta) == new and await token_calls(http) == 2


async def test_refused_token_is_refreshed_once_and_the_call_retried(sim) -> None:
    _, http = sim
    manager = TokenManager(http, MemoryTokenStore())
    api = ApiClient(http, wecom(), manager)
    await api.post("/cgi-bin/kf/account/list", {"offset": 0, "limit": 10}, idempotent=True)
    await SimDriver(http).invalidate_tokens()
    await api.post("/cgi-bin/kf/account/list", {"offset": 0, "limit": 10}, idempotent=True)
    assert await token_calls(http) == 2


async def test_bad_secret_is_a_token_error_not_a_loop(sim) -> None:
    _, http = sim
    manager = TokenManager(http, MemoryTokenStore())
    bad = Credential(kind="wecom", app_id=CORP, secret="wrong", api_base="http://sim/wecom")
    with pytest.raises(TokenError) as exc:
        await ApiClient(http, bad, manager).post("/cgi-bin/kf/account/list", {}, idempotent=True)
    assert exc.value.errcode == 40001 and await token_calls(http) == 1


async def test_mp_stable_token_is_forced_when_the_platform_returns_the_refused_one(sim) -> None:
    world, http = sim
    credential = Credential(kind="mp", app_id="wxapp0000000001", secret="mp-secret-000000001", api_base="http://sim/mp")
    manager = TokenManager(http, MemoryTokenStore())
    first = await manager.get(credential)
    world.clock.advance(60)
    second = await manager.invalidate(credential, first)
    assert second != first
    calls = await SimDriver(http).calls(path="/cgi-bin/stable_token")
    assert [c["body"].get("force_refresh", False) for c in calls] == [False, False, True]
