"""Simulated MP multi-kf sessions, the wait queue and msgrecord/getmsglist (docs/platforms.md §4.3, §4.4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from kefu_sim import SimDriver, World

DATA = Path(__file__).parents[2] / "data" / "mp_kefu"
START = 1_767_225_600


def sample(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def shape(value: Any) -> Any:
    """Keys and value types, recursively (lists by their first item)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


class MpEnv:
    def __init__(self, client: httpx.AsyncClient, world: World, account: dict[str, Any]) -> None:
        self.client, self.world, self.driver = client, world, SimDriver(client)
        self.appid, self.secret = account["appid"], account["secret"]
        self.token = ""

    async def renew(self) -> None:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        self.token = (await self.client.get("/mp/cgi-bin/token", params=params)).json()["access_token"]

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        return (await self.client.get(f"/mp{path}", params={"access_token": self.token, **params})).json()

    async def post(self, path: str, body: Any) -> dict[str, Any]:
        return (await self.client.post(f"/mp{path}", params={"access_token": self.token}, json=body)).json()

    async def session(self, action: str, kf_account: str, openid: str) -> int:
        body = {"kf_account": kf_account, "openid": openid}
        return (await self.post(f"/customservice/kfsession/{action}", body))["errcode"]

    async def kf(self, name: str, *, bound: bool = True, online: bool = True) -> str:
        kf_account = f"{name}@kftest"
        assert (await self.post("/customservice/kfaccount/add", {"kf_account": kf_account, "nickname": name}))[
            "errcode"
        ] == 0
        if bound:
            await self.driver.mp_kf_bind(self.appid, kf_account, f"wx_{name}_worker")
        if online:
            await self.driver.mp_kf_online(self.appid, kf_account)
        return kf_account

    async def follower(self) -> str:
        return (await self.driver.mp_add_follower(self.appid))["openid"]

    async def records(self, start: int, end: int, msgid: int = 1, number: int = 10000) -> dict[str, Any]:
        body = {"starttime": start, "endtime": end, "msgid": msgid, "number": number}
        return await self.post("/customservice/msgrecord/getmsglist", body)


@pytest.fixture
async def mp_env(sim: httpx.AsyncClient, world: World) -> MpEnv:
    env = MpEnv(sim, world, await SimDriver(sim).mp_create_app(wechat_id="kftest"))
    await env.renew()
    return env


async def test_create_needs_a_bound_online_kf(mp_env: MpEnv) -> None:
    openid = await mp_env.follower()
    unbound = await mp_env.kf("unbound", bound=False, online=False)
    offline = await mp_env.kf("offline", online=False)
    assert await mp_env.session("create", unbound, openid) == 65402
    assert await mp_env.session("create", offline, openid) == 65415
    assert await mp_env.session("create", "nobody@kftest", openid) == 65401
    assert await mp_env.session("create", offline, "oUnknown") == 40003


async def test_session_lifecycle_matches_the_samples(mp_env: MpEnv) -> None:
    openid, other_openid = await mp_env.follower(), await mp_env.follower()
    kf1, kf2 = await mp_env.kf("test1"), await mp_env.kf("test2")
    body = sample("kfsession_create_request.json") | {"kf_account": kf1, "openid": openid}
    assert await mp_env.post("/customservice/kfsession/create", body) == {"errcode": 0, "errmsg": "ok"}
    assert await mp_env.session("create", kf1, openid) == 0  # already exists: still 0
    assert await mp_env.session("create", kf2, openid) == 65414  # served by another kf
    mp_env.world.clock.advance(5)
    assert await mp_env.session("create", kf1, other_openid) == 0

    got = await mp_env.get("/customservice/kfsession/getsession", openid=openid)
    assert shape(got) == shape(sample("kfsession_getsession_response.json"))
    assert got == {"createtime": START, "kf_account": kf1}
    listed = await mp_env.get("/customservice/kfsession/getsessionlist", kf_account=kf1)
    assert shape(listed) == shape(sample("kfsession_getsessionlist_response.json"))
    assert listed["sessionlist"] == [
        {"createtime": START, "openid": openid},
        {"createtime": START + 5, "openid": other_openid},
    ]
    assert (await mp_env.get("/customservice/kfsession/getsessionlist", kf_account=kf2))["sessionlist"] == []
    assert (await mp_env.get("/customservice/kfsession/getsessionlist", kf_account="x@kftest"))["errcode"] == 65401

    assert await mp_env.session("close", kf2, openid) == 65414
    close = sample("kfsession_close_request.json") | {"kf_account": kf1, "openid": openid}
    assert await mp_env.post("/customservice/kfsession/close", close) == {"errcode": 0, "errmsg": "ok"}
    assert await mp_env.session("close", kf1, openid) == 65413
    assert await mp_env.get("/customservice/kfsession/getsession", openid=openid) == {"createtime": 0, "kf_account": ""}
    assert (await mp_env.get("/customservice/kfsession/getsession", openid="oUnknown"))["errcode"] == 40003


async def test_no_wait_case_without_transfer_to_kf(mp_env: MpEnv) -> None:
    openid = await mp_env.follower()
    await mp_env.driver.mp_user_text(mp_env.appid, openid, "hello")
    assert await mp_env.get("/customservice/kfsession/getwaitcase") == {"count": 0, "waitcaselist": []}


async def test_wait_queue(mp_env: MpEnv) -> None:
    await mp_env.driver.mp_configure(mp_env.appid, transfer_to_kf=True)
    openids = [await mp_env.follower() for _ in range(150)]
    for n, openid in enumerate(openids):
        mp_env.world.clock.advance(1)
        await mp_env.driver.mp_user_text(mp_env.appid, openid, f"question {n}")
    mp_env.world.clock.advance(10)
    await mp_env.driver.mp_user_text(mp_env.appid, openids[0], "anyone?")  # refreshes latest_time, keeps the place
    cases = await mp_env.get("/customservice/kfsession/getwaitcase")
    assert shape(cases) == shape(sample("kfsession_getwaitcase_response.json"))
    assert cases["count"] == 150 and len(cases["waitcaselist"]) == 100
    assert [c["openid"] for c in cases["waitcaselist"]] == openids[:100]
    assert cases["waitcaselist"][0]["latest_time"] == START + 160
    assert cases["waitcaselist"][1]["latest_time"] == START + 2

    kf = await mp_env.kf("test1")
    taken = await mp_env.driver.mp_kf_accept(mp_env.appid, kf)  # the oldest case
    assert taken["openid"] == openids[0]
    assert await mp_env.session("create", kf, openids[1]) == 0  # an API create also takes the case
    cases = await mp_env.get("/customservice/kfsession/getwaitcase")
    assert cases["count"] == 148 and cases["waitcaselist"][0]["openid"] == openids[2]
    await mp_env.driver.mp_user_text(mp_env.appid, openids[0], "thanks")  # in a session: not queued again
    assert (await mp_env.get("/customservice/kfsession/getwaitcase"))["count"] == 148


async def test_driver_accept_and_switch_need_a_ready_kf(mp_env: MpEnv) -> None:
    await mp_env.driver.mp_configure(mp_env.appid, transfer_to_kf=True)
    openid = await mp_env.follower()
    offline = await mp_env.kf("offline", online=False)
    with pytest.raises(RuntimeError, match="409"):
        await mp_env.driver.mp_kf_accept(mp_env.appid, offline)  # no wait case yet
    await mp_env.driver.mp_user_text(mp_env.appid, openid, "hi")
    with pytest.raises(RuntimeError, match="65415"):
        await mp_env.driver.mp_kf_accept(mp_env.appid, offline)
    kf1 = await mp_env.kf("test1")
    await mp_env.driver.mp_kf_accept(mp_env.appid, kf1, openid)
    with pytest.raises(RuntimeError, match="65415"):
        await mp_env.driver.mp_kf_switch(mp_env.appid, openid, offline)
    kf2 = await mp_env.kf("test2")
    switched = await mp_env.driver.mp_kf_switch(mp_env.appid, openid, kf2)
    assert switched["kf_account"] == kf2
    assert (await mp_env.get("/customservice/kfsession/getsession", openid=openid))["kf_account"] == kf2
    with pytest.raises(RuntimeError, match="409"):
        await mp_env.driver.mp_kf_close(mp_env.appid, kf1, openid)
    await mp_env.driver.mp_kf_close(mp_env.appid, kf2, openid)
    assert (await mp_env.get("/customservice/kfsession/getsession", openid=openid))["kf_account"] == ""


async def test_msgrecord_lists_both_directions(mp_env: MpEnv) -> None:
    openid = await mp_env.follower()
    kf = await mp_env.kf("test1")
    await mp_env.session("create", kf, openid)
    await mp_env.driver.mp_user_text(mp_env.appid, openid, "你好，有什么事情？")
    mp_env.world.clock.advance(10)
    await mp_env.driver.mp_user_message(mp_env.appid, openid, "image")
    mp_env.world.clock.advance(10)
    await mp_env.driver.mp_kf_send(mp_env.appid, kf, openid, text={"content": "您好，客服test1为您服务。"})
    media = await mp_env.client.post(
        "/mp/cgi-bin/media/upload",
        params={"access_token": mp_env.token, "type": "voice"},
        files={"media": ("v.amr", b"#!AMR\n" + b"0" * 20, "audio/amr")},
    )
    await mp_env.post(
        "/cgi-bin/message/custom/send",
        {"touser": openid, "msgtype": "voice", "voice": {"media_id": media.json()["media_id"]}},
    )

    answer = await mp_env.records(START, START + 3600)
    expected = sample("msgrecord_getmsglist_response_gochat.json")
    assert shape(answer) == shape(expected)
    assert [(r["opercode"], r["text"], r["worker"], r["time"]) for r in answer["recordlist"]] == [
        (2003, "你好，有什么事情？", kf, START),
        (2003, "[image]", kf, START + 10),
        (2002, "您好，客服test1为您服务。", kf, START + 20),
        (2002, "[voice]", "", START + 20),
    ]
    assert {r["openid"] for r in answer["recordlist"]} == {openid}
    assert answer["number"] == 4 and answer["msgid"] == 5
    assert (await mp_env.records(START + 15, START + 3600))["number"] == 2  # time filter


async def test_msgrecord_pages_by_msgid(mp_env: MpEnv) -> None:
    openid = await mp_env.follower()
    for n in range(5):
        await mp_env.driver.mp_user_text(mp_env.appid, openid, f"m{n}")
    texts, msgid = [], 1
    while True:
        page = await mp_env.records(START, START + 60, msgid=msgid, number=2)
        texts += [r["text"] for r in page["recordlist"]]
        if page["number"] < 2:
            break
        msgid = page["msgid"]
    assert texts == ["m0", "m1", "m2", "m3", "m4"]
    assert msgid == 5 and page == {
        "recordlist": [{"openid": openid, "opercode": 2003, "text": "m4", "time": START, "worker": ""}],
        "number": 1,
        "msgid": 6,
    }
    assert await mp_env.records(START, START + 60, msgid=6, number=2) == {"recordlist": [], "number": 0, "msgid": 6}


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"starttime": START, "endtime": START + 86401, "msgid": 1, "number": 10}, 65417),
        ({"starttime": START, "endtime": START + 86400, "msgid": 1, "number": 10001}, 65416),
        ({"starttime": START, "endtime": START + 60, "msgid": 0, "number": 10}, 65416),
        ({"starttime": START, "endtime": START + 60, "msgid": 1, "number": 0}, 65416),
        ({"starttime": START + 60, "endtime": START, "msgid": 1, "number": 10}, 65416),
        ({"starttime": "soon", "endtime": START, "msgid": 1, "number": 10}, 65416),
        ({"endtime": START, "msgid": 1, "number": 10}, 65416),
    ],
)
async def test_msgrecord_errors(mp_env: MpEnv, body: dict[str, Any], errcode: int) -> None:
    assert (await mp_env.post("/customservice/msgrecord/getmsglist", body))["errcode"] == errcode


async def test_msgrecord_accepts_the_sample_request(mp_env: MpEnv) -> None:
    answer = await mp_env.post("/customservice/msgrecord/getmsglist", sample("msgrecord_getmsglist_request.json"))
    assert answer == {"recordlist": [], "number": 0, "msgid": 1}
