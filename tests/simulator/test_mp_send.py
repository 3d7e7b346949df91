"""Simulated MP custom/send and typing: every msgtype, the 48 h window, per-trigger quotas, errcodes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.simulator import SimClock, World, create_simulator_app
from gateway.simulator.driver_client import SimDriver

DATA = Path(__file__).parent.parent / "data" / "mp_kefu"
SAMPLES = sorted(p.name for p in DATA.glob("custom_send_*.json") if p.name != "custom_send_response.json")
HOUR = 3600


class MpEnv:
    """One official account with a follower, a kf account and uploaded media, plus call helpers."""

    def __init__(self, client: httpx.AsyncClient, world: World, account: dict[str, Any]) -> None:
        self.client = client
        self.world = world
        self.driver = SimDriver(client)
        self.appid = account["appid"]
        self.secret = account["secret"]
        self.token = ""
        self.openid = ""
        self.media: dict[str, str] = {}

    async def renew(self) -> None:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        self.token = (await self.client.get("/mp/cgi-bin/token", params=params)).json()["access_token"]

    async def post(self, path: str, body: Any) -> dict[str, Any]:
        response = await self.client.post(f"/mp{path}", params={"access_token": self.token}, json=body)
        assert response.status_code == 200
        return response.json()

    async def send(self, body: dict[str, Any]) -> int:
        return (await self.post("/cgi-bin/message/custom/send", body))["errcode"]

    async def text(self, content: str = "hi", openid: str | None = None) -> int:
        return await self.send({"touser": openid or self.openid, "msgtype": "text", "text": {"content": content}})

    async def typing(self, command: str = "Typing") -> int:
        return (await self.post("/cgi-bin/message/custom/typing", {"touser": self.openid, "command": command}))[
            "errcode"
        ]

    async def user_writes(self, content: str = "hello") -> None:
        await self.driver.mp_user_text(self.appid, self.openid, content)

    async def upload(self, kind: str, content: bytes = b"\xff\xd8\xff\xe0media") -> str:
        response = await self.client.post(
            "/mp/cgi-bin/media/upload",
            params={"access_token": self.token, "type": kind},
            files={"media": (f"m.{kind}", content, "application/octet-stream")},
        )
        answer = response.json()
        return answer["thumb_media_id" if kind == "thumb" else "media_id"]


@pytest.fixture
def mp_world() -> World:
    return World(seed=1, clock=SimClock(1_767_225_600.0, frozen=True))


@pytest.fixture
async def mp_client(mp_world: World) -> AsyncIterator[httpx.AsyncClient]:
    app = create_simulator_app(mp_world)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        yield client


@pytest.fixture
async def mp(mp_client: httpx.AsyncClient, mp_world: World) -> MpEnv:
    """An account (WeChat ID kftest) with kf test1@kftest and a follower who has not written yet."""
    env = MpEnv(mp_client, mp_world, await SimDriver(mp_client).mp_create_app(wechat_id="kftest"))
    await env.renew()
    assert (await env.post("/customservice/kfaccount/add", {"kf_account": "test1@kftest", "nickname": "t1"}))[
        "errcode"
    ] == 0
    env.openid = (await env.driver.mp_add_follower(env.appid, nickname="Alice"))["openid"]
    for kind in ("image", "voice", "video", "thumb"):
        env.media[kind] = await env.upload(kind)
    mp_world.clock.advance(120)  # the subscribe event's 1-minute allowance is over
    return env


def substitute(value: Any, msgtype: str, env: MpEnv) -> Any:
    """Put real ids where the samples have placeholders."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "touser":
                out[key] = env.openid
            elif key == "media_id" and msgtype in env.media:
                out[key] = env.media[msgtype]
            elif key == "thumb_media_id":
                out[key] = env.media["thumb"]
            else:
                out[key] = substitute(item, msgtype, env)
        return out
    if isinstance(value, list):
        return [substitute(item, msgtype, env) for item in value]
    return value


@pytest.mark.parametrize("name", SAMPLES)
async def test_every_sample_request_is_accepted(mp: MpEnv, name: str) -> None:
    raw = json.loads((DATA / name).read_text())
    body = substitute(raw, raw["msgtype"], mp)
    await mp.user_writes()
    response = await mp.client.post(
        "/mp/cgi-bin/message/custom/send", params={"access_token": mp.token}, json=body
    )
    assert response.json() == json.loads((DATA / "custom_send_response.json").read_text())
    [delivery] = await mp.driver.deliveries(platform="mp", touser=mp.openid)
    assert delivery["app_id"] == mp.appid and delivery["account"] == ""
    assert delivery["msgtype"] == raw["msgtype"]
    assert delivery["payload"] == body[raw["msgtype"]]
    expected_kf = raw.get("customservice", {}).get("kf_account")
    assert delivery["kf_account"] == expected_kf
    assert delivery["sender"] == (f"kf:{expected_kf}" if expected_kf else "api")


async def test_sample_with_placeholder_media_is_refused(mp: MpEnv) -> None:
    await mp.user_writes()
    body = json.loads((DATA / "custom_send_image.json").read_text()) | {"touser": mp.openid}
    assert await mp.send(body) == 40007  # MEDIA_ID was never uploaded


async def test_recipient_errors(mp: MpEnv) -> None:
    await mp.user_writes()
    assert await mp.text(openid="oNOBODY0000000000000000000000") == 40003
    stranger = await mp.driver.mp_add_follower(mp.appid, subscribe=False)  # known via OAuth, never followed
    assert await mp.text(openid=stranger["openid"]) == 43004
    other = await mp.driver.mp_create_app()
    theirs = await mp.driver.mp_add_follower(other["appid"])
    assert await mp.text(openid=theirs["openid"]) == 40003  # another account's openid
    await mp.driver.mp_unsubscribe(mp.appid, mp.openid)
    assert await mp.text() == 45015


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"msgtype": "sticker", "sticker": {}}, 40008),
        ({"msgtype": "text", "text": {"content": ""}}, 44004),
        ({"msgtype": "text"}, 44004),
        ({"msgtype": "image", "image": {"media_id": "nope"}}, 40007),
        ({"msgtype": "news", "news": {"articles": []}}, 44003),
        ({"msgtype": "news", "news": {"articles": [{"title": "a"}, {"title": "b"}]}}, 45008),
        ({"msgtype": "wxcard", "wxcard": {}}, 40073),
        ({"msgtype": "msgmenu", "msgmenu": {"head_content": "h", "list": []}}, 40058),
        ({"msgtype": "mpnewsarticle", "mpnewsarticle": {}}, 40058),
        ({"msgtype": "miniprogrampage", "miniprogrampage": {"appid": "wx1", "pagepath": "p"}}, 40007),
        ({"msgtype": "text", "text": {"content": "x"}, "customservice": {"kf_account": "nobody@kftest"}}, 65401),
    ],
)
async def test_payload_errors(mp: MpEnv, body: dict[str, Any], errcode: int) -> None:
    await mp.user_writes()
    assert await mp.send({"touser": mp.openid, **body}) == errcode
    assert await mp.driver.deliveries(platform="mp") == []


async def test_malformed_json_is_47001(mp: MpEnv) -> None:
    response = await mp.client.post(
        "/mp/cgi-bin/message/custom/send", params={"access_token": mp.token}, content=b"{not json"
    )
    assert response.json()["errcode"] == 47001


async def test_reply_window_is_48_hours(mp: MpEnv) -> None:
    assert await mp.text() == 45015  # never wrote
    await mp.user_writes()
    mp.world.clock.advance(47 * HOUR + 59 * 60)
    await mp.renew()
    assert await mp.text() == 0
    mp.world.clock.advance(2 * 60)  # 48 h 01 min after the user's message
    await mp.renew()
    assert await mp.text() == 45015


async def test_five_messages_per_user_message(mp: MpEnv) -> None:
    await mp.user_writes()
    for _ in range(5):
        assert await mp.text() == 0
    assert await mp.text() == 45047
    await mp.user_writes("again")  # a new user message re-opens the allowance
    assert await mp.text() == 0
    assert len(await mp.driver.deliveries(platform="mp")) == 6


async def test_menu_click_allows_three_in_a_minute(mp: MpEnv) -> None:
    await mp.driver.mp_event(mp.appid, mp.openid, "CLICK", "V1001_GOOD")
    for _ in range(3):
        assert await mp.text() == 0
    assert await mp.text() == 45047
    mp.world.clock.advance(61)
    assert await mp.text() == 45015  # the click's minute is over and the user never wrote


async def test_view_grants_nothing_but_scan_and_subscribe_do(mp: MpEnv) -> None:
    await mp.driver.mp_event(mp.appid, mp.openid, "VIEW", "https://example.com")
    assert await mp.text() == 45015
    await mp.driver.mp_event(mp.appid, mp.openid, "SCAN", "123")
    assert [await mp.text() for _ in range(4)] == [0, 0, 0, 45047]
    newcomer = await mp.driver.mp_add_follower(mp.appid)
    assert [await mp.text(openid=newcomer["openid"]) for _ in range(4)] == [0, 0, 0, 45047]


async def test_click_and_message_grants_add_up(mp: MpEnv) -> None:
    await mp.user_writes()
    await mp.driver.mp_event(mp.appid, mp.openid, "CLICK", "K")
    assert [await mp.text() for _ in range(9)] == [0] * 8 + [45047]


async def test_typing_needs_an_eligible_user_and_a_recent_exchange(mp: MpEnv) -> None:
    sample = json.loads((DATA / "custom_typing.json").read_text()) | {"touser": mp.openid}
    assert (await mp.post("/cgi-bin/message/custom/typing", sample))["errcode"] == 45015
    await mp.user_writes()
    assert (await mp.post("/cgi-bin/message/custom/typing", sample)) == {"errcode": 0, "errmsg": "ok"}
    assert await mp.typing() == 45081  # still typing (15 s)
    mp.world.clock.advance(15)
    assert await mp.typing() == 0  # the first one lapsed; the user wrote 15 s ago
    assert await mp.typing("CancelTyping") == 0
    assert await mp.typing() == 0
    mp.world.clock.advance(31)
    assert await mp.typing() == 45080  # nothing exchanged in the last 30 s
    assert await mp.text() == 0  # an API message counts as an exchange
    assert await mp.typing() == 0
    assert await mp.typing("typing") == 45072


async def test_sending_cancels_typing(mp: MpEnv) -> None:
    await mp.user_writes()
    assert await mp.typing() == 0
    assert (await mp.driver.mp_follower(mp.appid, mp.openid))["typing_until"] is not None
    assert await mp.text() == 0
    assert (await mp.driver.mp_follower(mp.appid, mp.openid))["typing_until"] is None
    assert await mp.typing() == 0  # no 45081: the send ended the indicator


async def test_typing_obeys_the_quota(mp: MpEnv) -> None:
    await mp.user_writes()
    for _ in range(5):
        await mp.text()
    assert await mp.typing() == 45047
    await mp.driver.mp_unsubscribe(mp.appid, mp.openid)
    assert await mp.typing() == 45015


async def test_kf_client_send_follows_the_same_rules(mp: MpEnv) -> None:
    await mp.driver.mp_kf_bind(mp.appid, "test1@kftest", "kfwx_one")
    await mp.driver.mp_kf_online(mp.appid, "test1@kftest")
    assert (await mp.post("/customservice/kfsession/create", {"kf_account": "test1@kftest", "openid": mp.openid}))[
        "errcode"
    ] == 0
    with pytest.raises(RuntimeError, match="45015"):
        await mp.driver.mp_kf_send(mp.appid, "test1@kftest", mp.openid, text={"content": "hello?"})
    await mp.user_writes()
    sent = await mp.driver.mp_kf_send(mp.appid, "test1@kftest", mp.openid, text={"content": "您好"})
    assert sent["sender"] == "kf:test1@kftest" and sent["kf_account"] == "test1@kftest"
    assert sent["payload"] == {"content": "您好"}
