"""Simulated MP custom/send and typing: every msgtype, the 48 h window, per-trigger quotas, errcodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from kefu_sim import SimDriver, World

DATA = Path(__file__).parents[2] / "data" / "mp_kefu"
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
async def mp_env(sim: httpx.AsyncClient, world: World) -> MpEnv:
    """An account (WeChat ID kftest) with kf test1@kftest and a follower who has not written yet."""
    env = MpEnv(sim, world, await SimDriver(sim).mp_create_app(wechat_id="kftest"))
    await env.renew()
    assert (await env.post("/customservice/kfaccount/add", {"kf_account": "test1@kftest", "nickname": "t1"}))[
        "errcode"
    ] == 0
    env.openid = (await env.driver.mp_add_follower(env.appid, nickname="Alice"))["openid"]
    for kind in ("image", "voice", "video", "thumb"):
        env.media[kind] = await env.upload(kind)
    world.clock.advance(120)  # the subscribe event's 1-minute allowance is over
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
async def test_every_sample_request_is_accepted(mp_env: MpEnv, name: str) -> None:
    raw = json.loads((DATA / name).read_text())
    body = substitute(raw, raw["msgtype"], mp_env)
    await mp_env.user_writes()
    response = await mp_env.client.post(
        "/mp/cgi-bin/message/custom/send", params={"access_token": mp_env.token}, json=body
    )
    assert response.json() == json.loads((DATA / "custom_send_response.json").read_text())
    [delivery] = await mp_env.driver.deliveries(platform="mp", touser=mp_env.openid)
    assert delivery["app_id"] == mp_env.appid and delivery["account"] == ""
    assert delivery["msgtype"] == raw["msgtype"]
    assert delivery["payload"] == body[raw["msgtype"]]
    expected_kf = raw.get("customservice", {}).get("kf_account")
    assert delivery["kf_account"] == expected_kf
    assert delivery["sender"] == (f"kf:{expected_kf}" if expected_kf else "api")


async def test_sample_with_placeholder_media_is_refused(mp_env: MpEnv) -> None:
    await mp_env.user_writes()
    body = json.loads((DATA / "custom_send_image.json").read_text()) | {"touser": mp_env.openid}
    assert await mp_env.send(body) == 40007  # MEDIA_ID was never uploaded


async def test_recipient_errors(mp_env: MpEnv) -> None:
    await mp_env.user_writes()
    assert await mp_env.text(openid="oNOBODY0000000000000000000000") == 40003
    stranger = await mp_env.driver.mp_add_follower(mp_env.appid, subscribe=False)  # known via OAuth, never followed
    assert await mp_env.text(openid=stranger["openid"]) == 43004
    other = await mp_env.driver.mp_create_app()
    theirs = await mp_env.driver.mp_add_follower(other["appid"])
    assert await mp_env.text(openid=theirs["openid"]) == 40003  # another account's openid
    await mp_env.driver.mp_unsubscribe(mp_env.appid, mp_env.openid)
    assert await mp_env.text() == 45015


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
async def test_payload_errors(mp_env: MpEnv, body: dict[str, Any], errcode: int) -> None:
    await mp_env.user_writes()
    assert await mp_env.send({"touser": mp_env.openid, **body}) == errcode
    assert await mp_env.driver.deliveries(platform="mp") == []


async def test_malformed_json_is_47001(mp_env: MpEnv) -> None:
    response = await mp_env.client.post(
        "/mp/cgi-bin/message/custom/send", params={"access_token": mp_env.token}, content=b"{not json"
    )
    assert response.json()["errcode"] == 47001


async def test_reply_window_is_48_hours(mp_env: MpEnv) -> None:
    assert await mp_env.text() == 45015  # never wrote
    await mp_env.user_writes()
    mp_env.world.clock.advance(47 * HOUR + 59 * 60)
    await mp_env.renew()
    assert await mp_env.text() == 0
    mp_env.world.clock.advance(2 * 60)  # 48 h 01 min after the user's message
    await mp_env.renew()
    assert await mp_env.text() == 45015


async def test_five_messages_per_user_message(mp_env: MpEnv) -> None:
    await mp_env.user_writes()
    for _ in range(5):
        assert await mp_env.text() == 0
    assert await mp_env.text() == 45047
    await mp_env.user_writes("again")  # a new user message re-opens the allowance
    assert await mp_env.text() == 0
    assert len(await mp_env.driver.deliveries(platform="mp")) == 6


async def test_menu_click_allows_three_in_a_minute(mp_env: MpEnv) -> None:
    await mp_env.driver.mp_event(mp_env.appid, mp_env.openid, "CLICK", "V1001_GOOD")
    for _ in range(3):
        assert await mp_env.text() == 0
    assert await mp_env.text() == 45047
    mp_env.world.clock.advance(61)
    assert await mp_env.text() == 45015  # the click's minute is over and the user never wrote


async def test_view_grants_nothing_but_scan_and_subscribe_do(mp_env: MpEnv) -> None:
    await mp_env.driver.mp_event(mp_env.appid, mp_env.openid, "VIEW", "https://example.com")
    assert await mp_env.text() == 45015
    await mp_env.driver.mp_event(mp_env.appid, mp_env.openid, "SCAN", "123")
    assert [await mp_env.text() for _ in range(4)] == [0, 0, 0, 45047]
    newcomer = await mp_env.driver.mp_add_follower(mp_env.appid)
    assert [await mp_env.text(openid=newcomer["openid"]) for _ in range(4)] == [0, 0, 0, 45047]


async def test_click_and_message_grants_add_up(mp_env: MpEnv) -> None:
    await mp_env.user_writes()
    await mp_env.driver.mp_event(mp_env.appid, mp_env.openid, "CLICK", "K")
    assert [await mp_env.text() for _ in range(9)] == [0] * 8 + [45047]


async def test_typing_needs_an_eligible_user_and_a_recent_exchange(mp_env: MpEnv) -> None:
    sample = json.loads((DATA / "custom_typing.json").read_text()) | {"touser": mp_env.openid}
    assert (await mp_env.post("/cgi-bin/message/custom/typing", sample))["errcode"] == 45015
    await mp_env.user_writes()
    assert (await mp_env.post("/cgi-bin/message/custom/typing", sample)) == {"errcode": 0, "errmsg": "ok"}
    assert await mp_env.typing() == 45081  # still typing (15 s)
    mp_env.world.clock.advance(15)
    assert await mp_env.typing() == 0  # the first one lapsed; the user wrote 15 s ago
    assert await mp_env.typing("CancelTyping") == 0
    assert await mp_env.typing() == 0
    mp_env.world.clock.advance(31)
    assert await mp_env.typing() == 45080  # nothing exchanged in the last 30 s
    assert await mp_env.text() == 0  # an API message counts as an exchange
    assert await mp_env.typing() == 0
    assert await mp_env.typing("typing") == 45072


async def test_sending_cancels_typing(mp_env: MpEnv) -> None:
    await mp_env.user_writes()
    assert await mp_env.typing() == 0
    assert (await mp_env.driver.mp_follower(mp_env.appid, mp_env.openid))["typing_until"] is not None
    assert await mp_env.text() == 0
    assert (await mp_env.driver.mp_follower(mp_env.appid, mp_env.openid))["typing_until"] is None
    assert await mp_env.typing() == 0  # no 45081: the send ended the indicator


async def test_typing_obeys_the_quota(mp_env: MpEnv) -> None:
    await mp_env.user_writes()
    for _ in range(5):
        await mp_env.text()
    assert await mp_env.typing() == 45047
    await mp_env.driver.mp_unsubscribe(mp_env.appid, mp_env.openid)
    assert await mp_env.typing() == 45015


async def test_kf_client_send_follows_the_same_rules(mp_env: MpEnv) -> None:
    await mp_env.driver.mp_kf_bind(mp_env.appid, "test1@kftest", "kfwx_one")
    await mp_env.driver.mp_kf_online(mp_env.appid, "test1@kftest")
    assert (
        await mp_env.post("/customservice/kfsession/create", {"kf_account": "test1@kftest", "openid": mp_env.openid})
    )["errcode"] == 0
    with pytest.raises(RuntimeError, match="45015"):
        await mp_env.driver.mp_kf_send(mp_env.appid, "test1@kftest", mp_env.openid, text={"content": "hello?"})
    await mp_env.user_writes()
    sent = await mp_env.driver.mp_kf_send(mp_env.appid, "test1@kftest", mp_env.openid, text={"content": "您好"})
    assert sent["sender"] == "kf:test1@kftest" and sent["kf_account"] == "test1@kftest"
    assert sent["payload"] == {"content": "您好"}
