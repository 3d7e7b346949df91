"""Simulated MP kf accounts: kfaccount add/update/del/inviteworker/uploadheadimg and the kf lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from kefu_sim import SimDriver, World

DATA = Path(__file__).parents[2] / "data" / "mp_kefu"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


class MpApi:
    """Calls the simulated MP host with an access token in the query."""

    def __init__(self, client: httpx.AsyncClient, token: str, account: dict[str, Any] | None = None) -> None:
        self.client = client
        self.token = token
        self.account = account

    async def renew(self) -> None:
        """Fetch a fresh token (after the clock moved past the old one's lifetime)."""
        assert self.account is not None
        params = {"grant_type": "client_credential", "appid": self.account["appid"], "secret": self.account["secret"]}
        self.token = (await self.client.get("/mp/cgi-bin/token", params=params)).json()["access_token"]

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.client.get(f"/mp{path}", params={"access_token": self.token, **params})
        assert response.status_code == 200
        return response.json()

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        params = {"access_token": self.token, **kwargs.pop("params", {})}
        response = await self.client.post(f"/mp{path}", params=params, json=body, **kwargs)
        assert response.status_code == 200
        return response.json()


@pytest.fixture
async def mp_account(driver: SimDriver) -> dict[str, Any]:
    return await driver.mp_create_app(wechat_id="kftest")


@pytest.fixture
async def mp_api(sim: httpx.AsyncClient, mp_account: dict[str, Any]) -> MpApi:
    api = MpApi(sim, "", mp_account)
    await api.renew()
    return api


def sample(name: str) -> Any:
    return json.loads((DATA / name).read_text())


async def add(api: MpApi, kf_account: str, nickname: str = "客服1") -> int:
    return (await api.post("/customservice/kfaccount/add", {"kf_account": kf_account, "nickname": nickname}))["errcode"]


async def kf_list(api: MpApi) -> dict[str, dict[str, Any]]:
    return {kf["kf_account"]: kf for kf in (await api.get("/cgi-bin/customservice/getkflist"))["kf_list"]}


async def test_add_the_sample_account_and_list_it(mp_api: MpApi) -> None:
    body = sample("kfaccount_add_request.json")
    body["kf_account"] = body["kf_account"].replace("@test", "@kftest")
    assert await mp_api.post("/customservice/kfaccount/add", body) == {"errcode": 0, "errmsg": "ok"}
    listed = await kf_list(mp_api)
    assert listed["test1@kftest"] == {
        "kf_account": "test1@kftest",
        "kf_headimgurl": "",
        "kf_id": "1001",
        "kf_nick": "客服1",
    }
    assert await add(mp_api, "test2@kftest") == 0
    assert (await kf_list(mp_api))["test2@kftest"]["kf_id"] == "1002"


@pytest.mark.parametrize(
    ("kf_account", "nickname", "errcode"),
    [
        ("abcdefghijk@kftest", "n", 65404),  # prefix of 11
        ("bad-name@kftest", "n", 65404),  # '-' not allowed
        ("test1@other", "n", 65404),  # suffix is not the account's WeChat ID
        ("test1", "n", 65404),
        ("a@b@kftest", "n", 65404),
        ("", "n", 65404),
        ("test1@kftest", "x" * 17, 65403),
        ("test1@kftest", "", 65403),
    ],
)
async def test_add_refuses_bad_names(mp_api: MpApi, kf_account: str, nickname: str, errcode: int) -> None:
    assert await add(mp_api, kf_account, nickname) == errcode


async def test_add_accepts_limits_and_refuses_duplicates_and_the_101st(mp_api: MpApi) -> None:
    assert await add(mp_api, "abcdefghij@kftest", "x" * 16) == 0  # 10-char prefix, 16-char nickname
    assert await add(mp_api, "abcdefghij@kftest") == 65406
    for n in range(99):
        assert await add(mp_api, f"k{n}@kftest") == 0
    assert await add(mp_api, "last@kftest") == 65405


async def test_update(mp_api: MpApi) -> None:
    await add(mp_api, "test1@kftest")
    body = sample("kfaccount_update_request.json") | {"kf_account": "test1@kftest", "nickname": "新名字"}
    assert (await mp_api.post("/customservice/kfaccount/update", body))["errcode"] == 0
    assert (await kf_list(mp_api))["test1@kftest"]["kf_nick"] == "新名字"
    unknown = {"kf_account": "nobody@kftest", "nickname": "x"}
    assert (await mp_api.post("/customservice/kfaccount/update", unknown))["errcode"] == 65401
    too_long = {"kf_account": "test1@kftest", "nickname": "x" * 17}
    assert (await mp_api.post("/customservice/kfaccount/update", too_long))["errcode"] == 65403


async def test_del_accepts_get_and_post(mp_api: MpApi) -> None:
    await add(mp_api, "one@kftest")
    await add(mp_api, "two@kftest")
    assert (await mp_api.get("/customservice/kfaccount/del", kf_account="one@kftest"))["errcode"] == 0
    assert (await mp_api.post("/customservice/kfaccount/del", {"kf_account": "two@kftest"}))["errcode"] == 0
    assert await kf_list(mp_api) == {}
    assert (await mp_api.get("/customservice/kfaccount/del", kf_account="one@kftest"))["errcode"] == 65401
    assert (await mp_api.post("/customservice/kfaccount/del", {}))["errcode"] == 65401


async def invite(api: MpApi, kf_account: str, wx: str) -> int:
    body = {"kf_account": kf_account, "invite_wx": wx}
    return (await api.post("/customservice/kfaccount/inviteworker", body))["errcode"]


async def test_inviteworker_lifecycle(
    mp_api: MpApi, driver: SimDriver, mp_account: dict[str, Any], world: World
) -> None:
    await add(mp_api, "test1@kftest")
    assert await invite(mp_api, "test1@kftest", "kfwx_alice") == 0
    listed = (await kf_list(mp_api))["test1@kftest"]
    assert listed["invite_wx"] == "kfwx_alice" and listed["invite_status"] == "waiting"
    assert isinstance(listed["invite_expire_time"], int) and listed["invite_expire_time"] > world.now()
    assert await invite(mp_api, "test1@kftest", "kfwx_bob") == 65411  # one pending invitation per kf
    await driver.mp_kf_bind(mp_account["appid"], "test1@kftest", reject=True)
    assert (await kf_list(mp_api))["test1@kftest"]["invite_status"] == "rejected"
    assert await invite(mp_api, "test1@kftest", "kfwx_alice") == 0
    await driver.mp_kf_bind(mp_account["appid"], "test1@kftest")  # alice accepts
    listed = (await kf_list(mp_api))["test1@kftest"]
    assert listed["kf_wx"] == "kfwx_alice" and "invite_wx" not in listed
    assert await invite(mp_api, "test1@kftest", "kfwx_bob") == 65412  # already bound


async def test_inviteworker_errors(mp_api: MpApi, driver: SimDriver, world: World) -> None:
    await add(mp_api, "a@kftest")
    await add(mp_api, "b@kftest")
    await add(mp_api, "c@kftest")
    assert await invite(mp_api, "nobody@kftest", "kfwx_alice") == 65401
    assert await invite(mp_api, "a@kftest", "1abcdef") == 65409  # must start with a letter
    assert await invite(mp_api, "a@kftest", "abc") == 65409  # too short
    assert await invite(mp_api, "a@kftest", "kfwx_alice") == 0
    assert await invite(mp_api, "b@kftest", "kfwx_alice") == 65408  # invitation already sent to alice
    await driver.mp_kf_bind(next(iter(world.state.mp_apps)), "c@kftest", "kfwx_carol")
    assert await invite(mp_api, "b@kftest", "kfwx_carol") == 65407  # carol is already a kf here
    world.clock.advance(8 * 86400)  # the invitation to alice expired
    await mp_api.renew()
    assert (await kf_list(mp_api))["a@kftest"]["invite_status"] == "expired"
    assert await invite(mp_api, "b@kftest", "kfwx_alice") == 0


async def test_inviteworker_refuses_a_worker_bound_too_often(
    mp_api: MpApi, sim: httpx.AsyncClient, driver: SimDriver
) -> None:
    for n in range(5):  # dave already serves five other official accounts
        other = await driver.mp_create_app(wechat_id=f"other{n}")
        params = {"grant_type": "client_credential", "appid": other["appid"], "secret": other["secret"]}
        token = (await sim.get("/mp/cgi-bin/token", params=params)).json()["access_token"]
        assert await add(MpApi(sim, token), f"dave@other{n}") == 0
        await driver.mp_kf_bind(other["appid"], f"dave@other{n}", "kfwx_dave")
    await add(mp_api, "a@kftest")
    assert await invite(mp_api, "a@kftest", "kfwx_dave") == 65410
    assert await invite(mp_api, "a@kftest", "kfwx_erin") == 0


async def test_uploadheadimg(mp_api: MpApi, sim: httpx.AsyncClient) -> None:
    await add(mp_api, "test1@kftest")

    async def upload(files: dict[str, Any] | None, kf_account: str = "test1@kftest") -> int:
        response = await sim.post(
            "/mp/customservice/kfaccount/uploadheadimg",
            params={"access_token": mp_api.token, "kf_account": kf_account},
            files=files,
        )
        return response.json()["errcode"]

    assert await upload({"media": ("head.jpg", JPEG, "image/jpeg")}) == 0
    assert (await kf_list(mp_api))["test1@kftest"]["kf_headimgurl"].startswith("http")
    assert await upload({"media": ("head.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32, "image/png")}) == 40005
    big = JPEG + b"\x00" * (5 * 1024 * 1024)
    assert await upload({"media": ("head.jpg", big, "image/jpeg")}) == 40009
    assert await upload({"other": ("head.jpg", JPEG, "image/jpeg")}) == 41005
    assert await upload({"media": ("head.jpg", JPEG, "image/jpeg")}, "nobody@kftest") == 65401


async def test_online_list_matches_the_sample(mp_api: MpApi, driver: SimDriver, mp_account: dict[str, Any]) -> None:
    appid = mp_account["appid"]
    for name in ("test1@kftest", "test2@kftest", "test3@kftest"):
        await add(mp_api, name)
    await driver.mp_kf_bind(appid, "test1@kftest", "kfwx_one")
    await driver.mp_kf_bind(appid, "test2@kftest", "kfwx_two")
    await driver.mp_kf_online(appid, "test1@kftest")
    await driver.mp_kf_online(appid, "test2@kftest")
    follower = await driver.mp_add_follower(appid)
    body = {"kf_account": "test2@kftest", "openid": follower["openid"]}
    assert (await mp_api.post("/customservice/kfsession/create", body))["errcode"] == 0

    answer = await mp_api.get("/cgi-bin/customservice/getonlinekflist")
    expected = sample("getonlinekflist_response_gochat.json")
    assert answer.keys() == expected.keys()
    item_types = {k: type(v) for k, v in expected["kf_online_list"][0].items()}
    assert all({k: type(v) for k, v in item.items()} == item_types for item in answer["kf_online_list"])
    online = {item["kf_account"]: item for item in answer["kf_online_list"]}
    assert set(online) == {"test1@kftest", "test2@kftest"}  # test3 is offline
    assert online["test1@kftest"]["status"] == 1
    assert (online["test1@kftest"]["accepted_case"], online["test2@kftest"]["accepted_case"]) == (0, 1)
    await driver.mp_kf_online(appid, "test1@kftest", online=False)
    answer = await mp_api.get("/cgi-bin/customservice/getonlinekflist")
    assert [item["kf_account"] for item in answer["kf_online_list"]] == ["test2@kftest"]


async def test_an_unbound_kf_cannot_go_online(mp_api: MpApi, driver: SimDriver, mp_account: dict[str, Any]) -> None:
    await add(mp_api, "test1@kftest")
    with pytest.raises(RuntimeError, match="409"):
        await driver.mp_kf_online(mp_account["appid"], "test1@kftest")
