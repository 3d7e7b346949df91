"""WeCom gettoken, the token checks every call goes through, and temporary media."""

from __future__ import annotations

import httpx
import pytest

from kefu_sim import SimDriver, World
from tests.kefu_sim.support import WeComKit

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
MB = 1024 * 1024


async def gettoken(sim: httpx.AsyncClient, **params: str) -> dict:
    return (await sim.get("/wecom/cgi-bin/gettoken", params=params)).json()


async def upload(kit: WeComKit, media_type: str, filename: str, content: bytes, field: str = "media") -> dict:
    response = await kit.sim.post(
        "/wecom/cgi-bin/media/upload",
        params={"access_token": kit.token, "type": media_type},
        files={field: (filename, content, "application/octet-stream")},
    )
    return response.json()


async def test_gettoken_returns_the_same_token_until_it_expires(
    world: World, sim: httpx.AsyncClient, driver: SimDriver
) -> None:
    await driver.wecom_create_corp(corpid="wwa", secret="s1")
    first = await gettoken(sim, corpid="wwa", corpsecret="s1")
    assert first["errcode"] == 0 and first["expires_in"] == 7200
    assert world.state.tokens[first["access_token"]].owner == "wecom:wwa:s1"
    await driver.advance(600)
    again = await gettoken(sim, corpid="wwa", corpsecret="s1")
    assert again["access_token"] == first["access_token"] and again["expires_in"] == 6600
    await driver.advance(6600)
    fresh = await gettoken(sim, corpid="wwa", corpsecret="s1")
    assert fresh["access_token"] != first["access_token"] and fresh["expires_in"] == 7200


async def test_each_secret_has_its_own_token_and_lifetime_is_configurable(
    world: World, sim: httpx.AsyncClient, driver: SimDriver
) -> None:
    world.config.token_lifetime = 60
    await driver.wecom_create_corp(corpid="wwa", secrets=["kf", "contact"])
    kf = await gettoken(sim, corpid="wwa", corpsecret="kf")
    contact = await gettoken(sim, corpid="wwa", corpsecret="contact")
    assert kf["access_token"] != contact["access_token"]
    assert kf["expires_in"] == contact["expires_in"] == 60


@pytest.mark.parametrize(
    ("params", "errcode"),
    [
        ({"corpsecret": "s1"}, 41002),
        ({"corpid": "wwa"}, 41004),
        ({"corpid": "wwnope", "corpsecret": "s1"}, 40013),
        ({"corpid": "wwa", "corpsecret": "wrong"}, 40001),
    ],
)
async def test_gettoken_errors(sim: httpx.AsyncClient, driver: SimDriver, params: dict, errcode: int) -> None:
    await driver.wecom_create_corp(corpid="wwa", secret="s1")
    answer = await gettoken(sim, **params)
    assert answer["errcode"] == errcode and "access_token" not in answer


async def test_token_missing_unknown_expired_and_invalidated(world: World, wecom: WeComKit) -> None:
    path = "/wecom/cgi-bin/kf/account/list"
    assert (await wecom.sim.post(path, json={})).json()["errcode"] == 41001
    assert (await wecom.sim.post(path, params={"access_token": "bogus"}, json={})).json()["errcode"] == 40014
    mp_token = world.issue_token("mp:wx123").value
    assert (await wecom.sim.post(path, params={"access_token": mp_token}, json={})).json()["errcode"] == 40014
    assert (await wecom.post("kf/account/list"))["errcode"] == 0
    await wecom.driver.advance(7200)
    assert (await wecom.post("kf/account/list"))["errcode"] == 42001
    await wecom.fetch_token()
    assert (await wecom.post("kf/account/list"))["errcode"] == 0
    assert await wecom.driver.invalidate_tokens(f"wecom:{wecom.corpid}:{wecom.secret}") >= 1
    assert (await wecom.post("kf/account/list"))["errcode"] == 40014


async def test_malformed_json_is_47001(wecom: WeComKit) -> None:
    response = await wecom.sim.post(
        "/wecom/cgi-bin/kf/send_msg", params={"access_token": wecom.token}, content=b"{not json"
    )
    assert response.status_code == 200 and response.json()["errcode"] == 47001


async def test_upload_then_download_until_three_days_pass(wecom: WeComKit) -> None:
    answer = await upload(wecom, "image", "a.png", PNG)
    assert answer["errcode"] == 0 and answer["type"] == "image" and answer["created_at"].isdigit()
    got = await wecom.sim.get(
        "/wecom/cgi-bin/media/get", params={"access_token": wecom.token, "media_id": answer["media_id"]}
    )
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"].startswith("image/png")
    assert 'filename="a.png"' in got.headers["content-disposition"]
    await wecom.driver.advance(3 * 86400 - 1)
    await wecom.fetch_token()
    got = await wecom.sim.get(
        "/wecom/cgi-bin/media/get", params={"access_token": wecom.token, "media_id": answer["media_id"]}
    )
    assert got.content == PNG
    await wecom.driver.advance(1)
    assert (await wecom.get("media/get", media_id=answer["media_id"]))["errcode"] == 40007


async def test_media_is_per_corp(wecom: WeComKit, sim: httpx.AsyncClient, driver: SimDriver) -> None:
    media_id = (await upload(wecom, "image", "a.png", PNG))["media_id"]
    await driver.wecom_create_corp(corpid="wwother", secret="x")
    other = (await gettoken(sim, corpid="wwother", corpsecret="x"))["access_token"]
    answer = (await sim.get("/wecom/cgi-bin/media/get", params={"access_token": other, "media_id": media_id})).json()
    assert answer["errcode"] == 40007


@pytest.mark.parametrize(
    ("media_type", "filename", "content", "errcode"),
    [
        ("sticker", "a.png", PNG, 40004),
        ("image", "a.png", b"", 44001),
        ("file", "a.txt", b"12345", 40006),
        ("image", "a.gif", b"GIF89a" + b"\0" * 64, 40005),
        ("image", "a.png", PNG + b"\0" * (10 * MB), 40009),
        ("voice", "a.mp3", b"ID3" + b"\0" * 64, 40005),
        ("voice", "a.amr", b"#!AMR\n" + b"\0" * (2 * MB), 40010),
        ("video", "a.avi", b"RIFF" + b"\0" * 64, 40005),
        ("video", "a.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * (10 * MB), 40011),
    ],
)
async def test_upload_limits(wecom: WeComKit, media_type: str, filename: str, content: bytes, errcode: int) -> None:
    assert (await upload(wecom, media_type, filename, content))["errcode"] == errcode


async def test_upload_accepts_each_type_at_its_limit(wecom: WeComKit) -> None:
    cases = [
        ("image", "a.jpg", b"\xff\xd8\xff" + b"\0" * (10 * MB - 3)),
        ("voice", "a.amr", b"#!AMR\n" + b"\0" * 64),
        ("video", "clip.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * 64),
        ("file", "doc.pdf", b"%PDF-1.7" + b"\0" * 64),
    ]
    for media_type, filename, content in cases:
        answer = await upload(wecom, media_type, filename, content)
        assert answer["errcode"] == 0, (media_type, answer)


async def test_upload_and_get_missing_pieces(wecom: WeComKit) -> None:
    assert (await upload(wecom, "image", "a.png", PNG, field="file"))["errcode"] == 41005
    assert (await wecom.get("media/get"))["errcode"] == 41006
    assert (await wecom.get("media/get", media_id="nope"))["errcode"] == 40007
