"""Simulated MP user info, temporary media, the MP driver's refusals and dump/load of MP state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.simulator import SimClock, World, create_simulator_app
from gateway.simulator.driver_client import SimDriver

DAY = 86400


@pytest.fixture
def mp_world() -> World:
    return World(seed=1, clock=SimClock(1_767_225_600.0, frozen=True))


@pytest.fixture
async def mp_client(mp_world: World) -> AsyncIterator[httpx.AsyncClient]:
    app = create_simulator_app(mp_world)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        yield client


@pytest.fixture
def mp_driver(mp_client: httpx.AsyncClient) -> SimDriver:
    return SimDriver(mp_client)


@pytest.fixture
async def mp_account(mp_driver: SimDriver) -> dict[str, Any]:
    return await mp_driver.mp_create_app(wechat_id="kftest")


async def token_of(client: httpx.AsyncClient, account: dict[str, Any]) -> str:
    params = {"grant_type": "client_credential", "appid": account["appid"], "secret": account["secret"]}
    return (await client.get("/mp/cgi-bin/token", params=params)).json()["access_token"]


async def user_info(client: httpx.AsyncClient, token: str, openid: str) -> dict[str, Any]:
    params = {"access_token": token, "openid": openid, "lang": "zh_CN"}
    return (await client.get("/mp/cgi-bin/user/info", params=params)).json()


async def test_user_info_links_the_person(
    mp_client: httpx.AsyncClient, mp_driver: SimDriver, mp_account: dict[str, Any], mp_world: World
) -> None:
    person = await mp_driver.add_person("Alice", gender=2)
    follower = await mp_driver.mp_add_follower(mp_account["appid"], unionid=person["unionid"])
    token = await token_of(mp_client, mp_account)
    info = await user_info(mp_client, token, follower["openid"])
    assert info["subscribe"] == 1 and info["openid"] == follower["openid"]
    assert (info["nickname"], info["sex"], info["unionid"]) == ("Alice", 2, person["unionid"])
    assert info["subscribe_time"] == int(mp_world.now())
    assert isinstance(info["tagid_list"], list) and info["language"] == "zh_CN"

    newcomer = await mp_driver.mp_add_follower(mp_account["appid"], nickname="Bob")
    assert newcomer["unionid"] in mp_world.state.persons  # a new Person was made
    assert (await user_info(mp_client, token, newcomer["openid"]))["nickname"] == "Bob"

    await mp_driver.mp_unsubscribe(mp_account["appid"], follower["openid"])
    assert await user_info(mp_client, token, follower["openid"]) == {
        "subscribe": 0, "openid": follower["openid"], "unionid": person["unionid"]}
    assert (await user_info(mp_client, token, "oNobody"))["errcode"] == 40003


async def test_same_person_on_two_accounts_shares_the_unionid(
    mp_client: httpx.AsyncClient, mp_driver: SimDriver, mp_account: dict[str, Any]
) -> None:
    other = await mp_driver.mp_create_app()
    first = await mp_driver.mp_add_follower(mp_account["appid"], nickname="Carol")
    second = await mp_driver.mp_add_follower(other["appid"], unionid=first["unionid"])
    assert first["openid"] != second["openid"]
    info = await user_info(mp_client, await token_of(mp_client, other), second["openid"])
    assert (info["unionid"], info["nickname"]) == (first["unionid"], "Carol")


async def upload(client: httpx.AsyncClient, token: str, kind: str, content: bytes, field: str = "media") -> Any:
    response = await client.post("/mp/cgi-bin/media/upload", params={"access_token": token, "type": kind},
                                 files={field: ("file.bin", content, "application/octet-stream")})
    return response.json()


async def test_media_upload_get_and_expiry(
    mp_client: httpx.AsyncClient, mp_account: dict[str, Any], mp_world: World
) -> None:
    token = await token_of(mp_client, mp_account)
    image = await upload(mp_client, token, "image", b"\xff\xd8\xff-image")
    assert set(image) == {"type", "media_id", "created_at"} and image["type"] == "image"
    assert image["created_at"] == int(mp_world.now())
    thumb = await upload(mp_client, token, "thumb", b"\xff\xd8\xff-thumb")
    assert set(thumb) == {"type", "thumb_media_id", "created_at"}
    got = await mp_client.get("/mp/cgi-bin/media/get", params={"access_token": token, "media_id": image["media_id"]})
    assert got.status_code == 200 and got.content == b"\xff\xd8\xff-image"
    assert "attachment" in got.headers["content-disposition"]

    mp_world.clock.advance(3 * DAY - 1)
    token = await token_of(mp_client, mp_account)
    got = await mp_client.get("/mp/cgi-bin/media/get", params={"access_token": token, "media_id": image["media_id"]})
    assert got.content == b"\xff\xd8\xff-image"
    mp_world.clock.advance(1)
    got = await mp_client.get("/mp/cgi-bin/media/get", params={"access_token": token, "media_id": image["media_id"]})
    assert got.json()["errcode"] == 40007
    got = await mp_client.get("/mp/cgi-bin/media/get", params={"access_token": token, "media_id": "nope"})
    assert got.json()["errcode"] == 40007


@pytest.mark.parametrize(
    ("kind", "size", "field", "errcode"),
    [
        ("file", 10, "media", 40004),
        ("image", 0, "other", 41005),
        ("thumb", 64 * 1024 + 1, "media", 40012),
        ("voice", 2 * 1024 * 1024 + 1, "media", 40010),
    ],
)
async def test_media_upload_errors(
    mp_client: httpx.AsyncClient, mp_account: dict[str, Any], kind: str, size: int, field: str, errcode: int
) -> None:
    token = await token_of(mp_client, mp_account)
    assert (await upload(mp_client, token, kind, b"x" * max(size, 1), field))["errcode"] == errcode


async def test_media_is_per_account(
    mp_client: httpx.AsyncClient, mp_driver: SimDriver, mp_account: dict[str, Any]
) -> None:
    image = await upload(mp_client, await token_of(mp_client, mp_account), "image", b"\xff\xd8\xff")
    other = await token_of(mp_client, await mp_driver.mp_create_app())
    got = await mp_client.get("/mp/cgi-bin/media/get", params={"access_token": other, "media_id": image["media_id"]})
    assert got.json()["errcode"] == 40007


async def test_driver_refusals(mp_driver: SimDriver, mp_account: dict[str, Any]) -> None:
    appid = mp_account["appid"]
    with pytest.raises(RuntimeError, match="404"):
        await mp_driver.mp_add_follower("wxnope")
    with pytest.raises(RuntimeError, match="404"):
        await mp_driver.mp_user_text(appid, "oNobody", "hi")
    with pytest.raises(RuntimeError, match="409"):
        await mp_driver.mp_create_app(appid=appid)
    follower = await mp_driver.mp_add_follower(appid)
    with pytest.raises(RuntimeError, match="409"):
        await mp_driver.mp_add_follower(appid, openid=follower["openid"])
    with pytest.raises(RuntimeError, match="40008"):
        await mp_driver.mp_user_message(appid, follower["openid"], "sticker")
    with pytest.raises(RuntimeError, match="40058"):
        await mp_driver.mp_event(appid, follower["openid"], "LOCATION")
    with pytest.raises(RuntimeError, match="404"):
        await mp_driver.mp_kf_bind(appid, "nobody@kftest", "wx_worker")
    await mp_driver.mp_unsubscribe(appid, follower["openid"])
    with pytest.raises(RuntimeError, match="43004"):
        await mp_driver.mp_user_text(appid, follower["openid"], "I left")


async def test_mp_state_survives_dump_and_load(
    mp_client: httpx.AsyncClient, mp_driver: SimDriver, mp_account: dict[str, Any], mp_world: World
) -> None:
    appid = mp_account["appid"]
    token = await token_of(mp_client, mp_account)
    await mp_client.post("/mp/customservice/kfaccount/add", params={"access_token": token},
                         json={"kf_account": "test1@kftest", "nickname": "t1"})
    follower = await mp_driver.mp_add_follower(appid, nickname="Dana")
    await mp_driver.mp_user_message(appid, follower["openid"], "image")
    await upload(mp_client, token, "voice", b"#!AMR\n")
    before = mp_world.state

    restored = World.load(mp_world.dump())
    assert restored.state == before
    app = restored.state.mp_apps[appid]
    assert app.followers[follower["openid"]].message_at == mp_world.now()
    assert {m.type for m in app.media.values()} == {"image", "voice"}
    assert app.records[0].text == "[image]"
    state = await mp_driver.dump_state()
    await mp_driver.load_state(state)
    assert (await mp_driver.mp_app(appid))["kf_accounts"]["test1@kftest"]["kf_id"] == "1001"
