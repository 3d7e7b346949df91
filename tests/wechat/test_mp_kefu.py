"""MpKefuClient against the simulated MP: every endpoint, the documented errcodes, paging, no send retries."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.errors import (
    InvalidArgument,
    InvalidRequest,
    PlatformError,
    ReplyQuotaExhausted,
    ReplyWindowClosed,
    TransportError,
)
from gateway.wechat.http import ApiClient, RetryPolicy
from gateway.wechat.mp_kefu import MpKefuClient
from gateway.wechat.mp_kefu_types import Article, MenuItem, MsgRecord
from gateway.wechat.tokens import Credential, TokenManager
from kefu_sim import SimClock, SimDriver, World
from tests.sim_apps import simulator

DATA = Path(__file__).parent.parent / "data" / "mp_kefu"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
DAY = 86400


class Env:
    """The simulator, its driver, one MP account with a follower, and a client for the account."""

    def __init__(self, world: World, http: httpx.AsyncClient, account: dict[str, Any], client: MpKefuClient) -> None:
        self.world, self.http, self.client = world, http, client
        self.driver = SimDriver(http)
        self.appid: str = account["appid"]
        self.openid = ""

    async def calls(self, path: str) -> list[dict[str, Any]]:
        return await self.driver.calls(host="mp", path=path)

    async def user_writes(self, text: str = "hi") -> None:
        await self.driver.mp_user_text(self.appid, self.openid, text)

    async def bound_online_kf(self, name: str = "test1@kftest", wx: str = "kfwx_alice") -> str:
        await self.client.add_account(name, "客服1")
        await self.driver.mp_kf_bind(self.appid, name, wx)
        await self.driver.mp_kf_online(self.appid, name)
        return name


def make_client(
    http: httpx.AsyncClient, world: World, account: dict[str, Any], *, timeout: float = 10.0
) -> MpKefuClient:
    credential = Credential(kind="mp", app_id=account["appid"], secret=account["secret"], api_base="http://sim/mp")
    tokens = TokenManager(http, clock=world.now)
    return MpKefuClient(ApiClient(http, credential, tokens, timeout=timeout, retry=RetryPolicy(base_delay=0.0)))


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    world = World(seed=1, clock=SimClock(1_767_225_600.0, frozen=True))
    async with (
        simulator(world) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as http,
    ):
        driver = SimDriver(http)
        account = await driver.mp_create_app(wechat_id="kftest")
        e = Env(world, http, account, make_client(http, world, account, timeout=0.5))
        e.openid = (await driver.mp_add_follower(e.appid, nickname="Alice", unionid="union-alice"))["openid"]
        yield e


def _shape(value: Any) -> Any:
    """The key structure of a JSON value (lists by their first element)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


# ---------------------------------------------------------------- accounts


async def test_kf_account_lifecycle(env: Env) -> None:
    await env.client.add_account("test1@kftest", "客服1")
    [kf] = await env.client.list_accounts()
    assert (kf.kf_account, kf.kf_nick, kf.kf_id, kf.kf_wx) == ("test1@kftest", "客服1", "1001", None)
    await env.client.update_account("test1@kftest", "新名字")
    assert (await env.client.list_accounts())[0].kf_nick == "新名字"
    await env.client.delete_account("test1@kftest")
    assert await env.client.list_accounts() == []
    [call] = await env.calls("/customservice/kfaccount/del")
    assert call["method"] == "POST" and call["query"] == {"kf_account": "test1@kftest"}
    assert call["body"] == {"kf_account": "test1@kftest"}


async def test_kf_account_errcodes(env: Env) -> None:
    await env.client.add_account("test1@kftest", "客服1")
    with pytest.raises(PlatformError) as exists:
        await env.client.add_account("test1@kftest", "客服1")
    assert exists.value.errcode == 65406
    with pytest.raises(InvalidArgument) as bad_format:
        await env.client.add_account("test1@elsewhere", "客服1")
    assert bad_format.value.errcode == 65404
    with pytest.raises(InvalidArgument) as bad_nick:
        await env.client.update_account("test1@kftest", "x" * 17)
    assert bad_nick.value.errcode == 65403
    with pytest.raises(InvalidArgument) as unknown:
        await env.client.delete_account("nobody@kftest")
    assert unknown.value.errcode == 65401


async def test_invite_worker_and_headimg(env: Env) -> None:
    await env.client.add_account("test1@kftest", "客服1")
    await env.client.invite_worker("test1@kftest", "kfwx_alice")
    [kf] = await env.client.list_accounts()
    assert (kf.invite_wx, kf.invite_status) == ("kfwx_alice", "waiting") and kf.invite_expire_time
    with pytest.raises(PlatformError) as pending:
        await env.client.invite_worker("test1@kftest", "kfwx_bob")
    assert pending.value.errcode == 65411
    await env.client.upload_headimg("test1@kftest", ("head.jpg", JPEG, "image/jpeg"))
    assert (await env.client.list_accounts())[0].kf_headimgurl.startswith("http")
    with pytest.raises(PlatformError) as not_jpeg:
        await env.client.upload_headimg("test1@kftest", ("head.png", b"\x89PNG\r\n\x1a\n" + b"0" * 16))
    assert not_jpeg.value.errcode == 40005


async def test_online_list(env: Env) -> None:
    name = await env.bound_online_kf()
    await env.client.add_account("test2@kftest", "客服2")
    [online] = await env.client.list_online()
    assert (online.kf_account, online.status, online.accepted_case) == (name, 1, 0)


# ---------------------------------------------------------------- sessions


async def test_session_lifecycle(env: Env) -> None:
    await env.client.add_account("test1@kftest", "客服1")
    with pytest.raises(PlatformError) as unbound:
        await env.client.create_session("test1@kftest", env.openid)
    assert unbound.value.errcode == 65402
    await env.driver.mp_kf_bind(env.appid, "test1@kftest", "kfwx_alice")
    with pytest.raises(PlatformError) as offline:
        await env.client.create_session("test1@kftest", env.openid)
    assert offline.value.errcode == 65415
    await env.driver.mp_kf_online(env.appid, "test1@kftest")
    await env.client.create_session("test1@kftest", env.openid)
    await env.client.create_session("test1@kftest", env.openid)  # already exists: still 0
    session = await env.client.get_session(env.openid)
    assert session.kf_account == "test1@kftest" and session.createtime == int(env.world.now())
    assert [s.openid for s in await env.client.list_sessions("test1@kftest")] == [env.openid]
    await env.client.close_session("test1@kftest", env.openid)
    assert (await env.client.get_session(env.openid)).kf_account == ""
    with pytest.raises(PlatformError) as no_session:
        await env.client.close_session("test1@kftest", env.openid)
    assert no_session.value.errcode == 65413
    with pytest.raises(InvalidArgument) as bad_openid:
        await env.client.get_session("o-nobody")
    assert bad_openid.value.errcode == 40003


async def test_wait_cases(env: Env) -> None:
    assert (await env.client.wait_cases()).count == 0
    await env.driver.mp_configure(env.appid, transfer_to_kf=True)
    await env.user_writes("I need a human")
    waiting = await env.client.wait_cases()
    assert waiting.count == 1 and waiting.waitcaselist[0].openid == env.openid
    assert waiting.waitcaselist[0].latest_time == int(env.world.now())


# ---------------------------------------------------------------- chat records


async def test_getmsglist_errcodes(env: Env) -> None:
    now = int(env.world.now())
    with pytest.raises(InvalidArgument) as too_long:
        await env.client.get_msglist(now - DAY - 1, now)
    assert too_long.value.errcode == 65417
    with pytest.raises(InvalidArgument) as bad_number:
        await env.client.get_msglist(now - 10, now, 1, 0)
    assert bad_number.value.errcode == 65416
    with pytest.raises(InvalidRequest):
        [r async for r in env.client.iter_msgrecords(now, now, page_size=10_001)]


async def test_iter_msgrecords_walks_three_days_in_pages(env: Env) -> None:
    start = int(env.world.now())
    boundary = start + DAY  # a record exactly on the first window boundary must be yielded once
    times = sorted([start + day * DAY + 600 * (n + 1) for day in range(3) for n in range(5)] + [boundary])
    for t in times:
        env.world.clock.advance(t - env.world.now())
        await env.user_writes(f"at {t}")
    end = start + 3 * DAY + 100
    expected = [
        MsgRecord(openid=r.openid, opercode=r.opercode, text=r.text, time=r.time, worker=r.worker)
        for r in env.world.state.mp_apps[env.appid].records
    ]
    assert len(expected) == 16

    got = [r async for r in env.client.iter_msgrecords(start, end, page_size=2)]
    assert sorted(got, key=lambda r: (r.time, r.text)) == sorted(expected, key=lambda r: (r.time, r.text))
    assert sum(r.time == boundary for r in got) == 1

    bodies = [c["body"] for c in await env.calls("/customservice/msgrecord/getmsglist")]
    assert all(b["endtime"] - b["starttime"] <= DAY and b["number"] == 2 for b in bodies)
    windows = {(b["starttime"], b["endtime"]) for b in bodies}
    assert len(windows) == 4 and min(w[0] for w in windows) == start and max(w[1] for w in windows) == end
    for window in windows:  # every window holding records was paged from msgid 1 onwards
        msgids = [b["msgid"] for b in bodies if (b["starttime"], b["endtime"]) == window]
        assert msgids[0] == 1 and msgids == sorted(msgids)
    assert max(len([b for b in bodies if (b["starttime"], b["endtime"]) == w]) for w in windows) >= 3


# ---------------------------------------------------------------- sending


async def _media(env: Env) -> dict[str, str]:
    image = await env.client.upload_media("image", ("a.jpg", JPEG, "image/jpeg"))
    voice = await env.client.upload_media("voice", ("a.amr", b"#!AMR\n" + b"0" * 32))
    video = await env.client.upload_media("video", ("a.mp4", b"\x00\x00\x00\x18ftypmp42" + b"0" * 32))
    thumb = await env.client.upload_media("thumb", ("t.jpg", JPEG))
    assert thumb.thumb_media_id and not thumb.media_id and thumb.id == thumb.thumb_media_id
    return {"image": image.id, "voice": voice.id, "video": video.id, "thumb": thumb.id}


async def test_send_every_msgtype_with_and_without_kf_account(env: Env) -> None:
    kf = await env.bound_online_kf()
    m = await _media(env)
    c, o = env.client, env.openid
    menu = [MenuItem(id="101", content="满意"), MenuItem(id="102", content="不满意")]
    sends = [
        ("text", lambda k: c.send_text(o, "Hello World", kf_account=k)),
        ("image", lambda k: c.send_image(o, m["image"], kf_account=k)),
        ("voice", lambda k: c.send_voice(o, m["voice"], kf_account=k)),
        (
            "video",
            lambda k: c.send_video(o, m["video"], thumb_media_id=m["thumb"], title="T", description="D", kf_account=k),
        ),
        (
            "music",
            lambda k: c.send_music(
                o,
                musicurl="http://m",
                hqmusicurl="http://hq",
                thumb_media_id=m["thumb"],
                title="T",
                description="D",
                kf_account=k,
            ),
        ),
        (
            "news",
            lambda k: c.send_news(
                o, Article(title="Happy Day", description="D", url="http://u", picurl="http://p"), kf_account=k
            ),
        ),
        ("mpnews", lambda k: c.send_mpnews(o, "MEDIA_ID", kf_account=k)),
        ("mpnewsarticle", lambda k: c.send_mpnewsarticle(o, "ARTICLE_ID", kf_account=k)),
        ("msgmenu", lambda k: c.send_msgmenu(o, menu, head_content="满意吗?", tail_content="再见", kf_account=k)),
        ("wxcard", lambda k: c.send_wxcard(o, "123dsdajkasd231jhksad", kf_account=k)),
        (
            "miniprogrampage",
            lambda k: c.send_miniprogrampage(
                o, appid="wxapp", pagepath="pages/index", thumb_media_id=m["thumb"], title="T", kf_account=k
            ),
        ),
    ]
    for msgtype, send in sends:
        for kf_account in (kf, None):
            await env.user_writes()  # reopen the 5-message grant
            assert await send(kf_account) == {"errcode": 0, "errmsg": "ok"}
            delivery = (await env.driver.deliveries(platform="mp", touser=o))[-1]
            assert delivery["msgtype"] == msgtype and delivery["kf_account"] == kf_account
            body = (await env.calls("/cgi-bin/message/custom/send"))[-1]["body"]
            assert body["touser"] == o and body["msgtype"] == msgtype and delivery["payload"] == body[msgtype]
            assert ("customservice" in body) == (kf_account is not None)
            if kf_account is not None:  # same request shape as the SDK samples
                sample = json.loads((DATA / f"custom_send_{msgtype}.json").read_text("utf-8"))
                sample.setdefault("customservice", {"kf_account": "x"})
                assert _shape(body) == _shape(sample) | {"customservice": {"kf_account": "str"}}


async def test_send_errcodes(env: Env) -> None:
    await env.user_writes()
    for n in range(8):  # 3 on the subscribe grant, then 5 on the message grant
        await env.client.send_text(env.openid, f"reply {n}")
    with pytest.raises(ReplyQuotaExhausted) as quota:
        await env.client.send_text(env.openid, "one too many")
    assert quota.value.errcode == 45047
    await env.user_writes()
    with pytest.raises(InvalidArgument) as unknown_kf:
        await env.client.send_text(env.openid, "hi", kf_account="nobody@kftest")
    assert unknown_kf.value.errcode == 65401
    two = {"articles": [{"title": "a"}, {"title": "b"}]}
    with pytest.raises(PlatformError) as articles:
        await env.client.send(env.openid, "news", two)
    assert articles.value.errcode == 45008
    with pytest.raises(InvalidArgument) as bad_openid:
        await env.client.send_text("o-nobody", "hi")
    assert bad_openid.value.errcode == 40003
    await env.driver.advance(49 * 3600)
    with pytest.raises(ReplyWindowClosed) as closed:
        await env.client.send_text(env.openid, "too late")
    assert closed.value.errcode == 45015
    await env.user_writes()
    await env.driver.mp_unsubscribe(env.appid, env.openid)
    with pytest.raises(ReplyWindowClosed):
        await env.client.send_text(env.openid, "gone")
    calls = len(await env.calls("/cgi-bin/message/custom/send"))
    with pytest.raises(InvalidRequest):
        await env.client.send(env.openid, "hologram", {})
    assert len(await env.calls("/cgi-bin/message/custom/send")) == calls  # refused before any call


async def test_send_that_times_out_is_not_retried(env: Env) -> None:
    await env.user_writes()
    await env.driver.add_fault("/cgi-bin/message/custom/send", "timeout", 2.0, remaining=1)
    with pytest.raises(TransportError):
        await env.client.send_text(env.openid, "maybe delivered")
    assert len(await env.calls("/cgi-bin/message/custom/send")) == 1
    # a read under the same fault is retried and succeeds
    await env.driver.add_fault("/customservice/kfsession/getwaitcase", "timeout", 2.0, remaining=1)
    assert (await env.client.wait_cases()).count == 0
    assert len(await env.calls("/customservice/kfsession/getwaitcase")) == 2


async def test_typing(env: Env) -> None:
    await env.user_writes()
    await env.client.typing(env.openid, True)
    with pytest.raises(PlatformError) as already:
        await env.client.typing(env.openid, True)
    assert already.value.errcode == 45081
    await env.client.typing(env.openid, False)
    commands = [c["body"] for c in await env.calls("/cgi-bin/message/custom/typing")]
    assert commands[0] == {"touser": env.openid, "command": "Typing"}
    assert commands[-1] == {"touser": env.openid, "command": "CancelTyping"}
    await env.driver.advance(31)
    with pytest.raises(PlatformError) as stale:
        await env.client.typing(env.openid, True)
    assert stale.value.errcode == 45080


# ---------------------------------------------------------------- users, media, tokens


async def test_user_info_and_batch(env: Env) -> None:
    info = await env.client.user_info(env.openid)
    assert (info.openid, info.nickname, info.unionid, info.subscribe) == (env.openid, "Alice", "union-alice", 1)
    others = [(await env.driver.mp_add_follower(env.appid, nickname=f"U{n}"))["openid"] for n in range(7)]
    infos = await env.client.user_infos([env.openid, *others], concurrency=3)
    assert [i.openid for i in infos] == [env.openid, *others]
    assert [i.nickname for i in infos] == ["Alice", *(f"U{n}" for n in range(7))]
    with pytest.raises(InvalidArgument) as bad:
        await env.client.user_info("o-nobody")
    assert bad.value.errcode == 40003


async def test_media_round_trip_and_expiry(env: Env) -> None:
    uploaded = await env.client.upload_media("image", ("a.jpg", JPEG, "image/jpeg"))
    assert uploaded.type == "image" and uploaded.created_at == int(env.world.now())
    media = await env.client.get_media(uploaded.media_id)
    assert media.content == JPEG and media.filename == "a.jpg" and media.video_url is None
    with pytest.raises(PlatformError) as bad_type:
        await env.client.upload_media("movie", JPEG)
    assert bad_type.value.errcode == 40004
    await env.driver.advance(3 * DAY)
    with pytest.raises(PlatformError) as expired:
        await env.client.get_media(uploaded.media_id)
    assert expired.value.errcode == 40007


async def test_tokens_come_from_stable_token(env: Env) -> None:
    await env.client.list_accounts()
    assert len(await env.calls("/cgi-bin/stable_token")) == 1
    assert await env.calls("/cgi-bin/token") == []
