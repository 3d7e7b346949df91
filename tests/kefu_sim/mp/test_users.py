"""Simulated MP user info, temporary media, the MP driver's refusals and dump/load of MP state."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kefu_sim import SimDriver, World

DAY = 86400


@pytest.fixture
async def mp_account(driver: SimDriver) -> dict[str, Any]:
    return await driver.mp_create_app(wechat_id="kftest")


async def token_of(client: httpx.AsyncClient, account: dict[str, Any]) -> str:
    params = {"grant_type": "client_credential", "appid": account["appid"], "secret": account["secret"]}
    return (await client.get("/mp/cgi-bin/token", params=params)).json()["access_token"]


async def user_info(client: httpx.AsyncClient, token: str, openid: str) -> dict[str, Any]:
    params = {"access_token": token, "openid": openid, "lang": "zh_CN"}
    return (await client.get("/mp/cgi-bin/user/info", params=params)).json()


async def test_user_info_links_the_person(
    sim: httpx.AsyncClient, driver: SimDriver, mp_account: dict[str, Any], world: World
) -> None:
    person = await driver.add_person("Alice", gender=2)
    follower = await driver.mp_add_follower(mp_account["appid"], unionid=person["unionid"])
    token = await token_of(sim, mp_account)
    info = await user_info(sim, token, follower["openid"])
    assert info["subscribe"] == 1 and info["openid"] == follower["openid"]
    assert (info["nickname"], info["sex"], info["unionid"]) == ("Alice", 2, person["unionid"])
    assert info["subscribe_time"] == int(world.now())
    assert isinstance(info["tagid_list"], list) and info["language"] == "zh_CN"

    newcomer = await driver.mp_add_follower(mp_account["appid"], nickname="Bob")
    assert newcomer["unionid"] in world.state.persons  # a new Person was made
    assert (await user_info(sim, token, newcomer["openid"]))["nickname"] == "Bob"

    await driver.mp_unsubscribe(mp_account["appid"], follower["openid"])
    assert await user_info(sim, token, follower["openid"]) == {
        "subscribe": 0,
        "openid": follower["openid"],
        "unionid": person["unionid"],
    }
    assert (await user_info(sim, token, "oNobody"))["errcode"] == 40003


async def test_same_person_on_two_accounts_shares_the_unionid(
    sim: httpx.AsyncClient, driver: SimDriver, mp_account: dict[str, Any]
) -> None:
    other = await driver.mp_create_app()
    first = await driver.mp_add_follower(mp_account["appid"], nickname="Carol")
    second = await driver.mp_add_follower(other["appid"], unionid=first["unionid"])
    assert first["openid"] != second["openid"]
    info = await user_info(sim, await token_of(sim, other), second["openid"])
    assert (info["unionid"], info["nickname"]) == (first["unionid"], "Carol")


async def upload(client: httpx.AsyncClient, token: str, kind: str, content: bytes, field: str = "media") -> Any:
    response = await client.post(
        "/mp/cgi-bin/media/upload",
        params={"access_token": token, "type": kind},
        files={field: ("file.bin", content, "application/octet-stream")},
    )
    return response.json()


async def test_media_upload_get_and_expiry(sim: httpx.AsyncClient, mp_account: dict[str, Any], world: World) -> None:
    token = await token_of(sim, mp_account)
    image = await upload(sim, token, "image", b"\xff\xd8\xff-image")
    assert set(image) == {"type", "media_id", "created_at"} and image["type"] == "image"
    assert image["created_at"] == int(world.now())
    thumb = await upload(sim, token, "thumb", b"\xff\xd8\xff-thumb")
    assert set(thumb) == {"type", "thumb_media_id", "created_at"}
    got = await sim.get("/mp/cgi-bin/media/get", params={"access_token": token, "media_id": image["media_id"]})
    assert got.status_code == 200 and got.content == b"\xff\xd8\xff-image"
    assert "attachment" in got.headers["content-disposition"]

    world.clock.advance(3 * DAY - 1)
    token = await token_of(sim, mp_account)
    got = await sim.get("/mp/cgi-bin/media/get", params={"access_token": token, "media_id": image["media_id"]})
    assert got.content == b"\xff\xd8\xff-image"
    world.clock.advance(1)
    got = await sim.get("/mp/cgi-bin/media/get", params={"access_token": token, "media_id": image["media_id"]})
    assert got.json()["errcode"] == 40007
    got = await sim.get("/mp/cgi-bin/media/get", params={"access_token": token, "media_id": "nope"})
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
    sim: httpx.AsyncClient, mp_account: dict[str, Any], kind: str, size: int, field: str, errcode: int
) -> None:
    token = await token_of(sim, mp_account)
    assert (await upload(sim, token, kind, b"x" * max(size, 1), field))["errcode"] == errcode


async def test_media_is_per_account(sim: httpx.AsyncClient, driver: SimDriver, mp_account: dict[str, Any]) -> None:
    image = await upload(sim, await token_of(sim, mp_account), "image", b"\xff\xd8\xff")
    other = await token_of(sim, await driver.mp_create_app())
    got = await sim.get("/mp/cgi-bin/media/get", params={"access_token": other, "media_id": image["media_id"]})
    assert got.json()["errcode"] == 40007


async def test_driver_refusals(driver: SimDriver, mp_account: dict[str, Any]) -> None:
    appid = mp_account["appid"]
    with pytest.raises(RuntimeError, match="404"):
        await driver.mp_add_follower("wxnope")
    with pytest.raises(RuntimeError, match="404"):
        await driver.mp_user_text(appid, "oNobody", "hi")
    with pytest.raises(RuntimeError, match="409"):
        await driver.mp_create_app(appid=appid)
    follower = await driver.mp_add_follower(appid)
    with pytest.raises(RuntimeError, match="409"):
        await driver.mp_add_follower(appid, openid=follower["openid"])
    with pytest.raises(RuntimeError, match="40008"):
        await driver.mp_user_message(appid, follower["openid"], "sticker")
    with pytest.raises(RuntimeError, match="40058"):
        await driver.mp_event(appid, follower["openid"], "LOCATION")
    with pytest.raises(RuntimeError, match="404"):
        await driver.mp_kf_bind(appid, "nobody@kftest", "wx_worker")
    await driver.mp_unsubscribe(appid, follower["openid"])
    with pytest.raises(RuntimeError, match="43004"):
        await driver.mp_user_text(appid, follower["openid"], "I left")


async def test_mp_state_survives_dump_and_load(
    sim: httpx.AsyncClient, driver: SimDriver, mp_account: dict[str, Any], world: World
) -> None:
    appid = mp_account["appid"]
    token = await token_of(sim, mp_account)
    await sim.post(
        "/mp/customservice/kfaccount/add",
        params={"access_token": token},
        json={"kf_account": "test1@kftest", "nickname": "t1"},
    )
    follower = await driver.mp_add_follower(appid, nickname="Dana")
    await driver.mp_user_message(appid, follower["openid"], "image")
    await upload(sim, token, "voice", b"#!AMR\n")
    before = world.state

    restored = World.load(world.dump())
    assert restored.state == before
    app = restored.state.mp_apps[appid]
    assert app.followers[follower["openid"]].message_at == world.now()
    assert {m.type for m in app.media.values()} == {"image", "voice"}
    assert app.records[0].text == "[image]"
    state = await driver.dump_state()
    await driver.load_state(state)
    assert (await driver.mp_app(appid))["kf_accounts"]["test1@kftest"]["kf_id"] == "1001"


async def test_an_image_in_another_format_is_40005(sim: httpx.AsyncClient, mp_account: dict[str, Any]) -> None:
    token = await token_of(sim, mp_account)
    pdf = b"%PDF-1.4 a document, not a picture"
    assert (await upload(sim, token, "image", pdf))["errcode"] == 40005
    assert (await upload(sim, token, "thumb", b"\x89PNG\r\n\x1a\n-png"))["errcode"] == 40005
    assert "media_id" in await upload(sim, token, "image", b"\x89PNG\r\n\x1a\n-png")
    assert "media_id" in await upload(sim, token, "voice", pdf)  # voice and video are not sniffed
