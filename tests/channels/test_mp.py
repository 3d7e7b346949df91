"""MpChannel against the simulated MP: callbacks in all three modes (pushed by the simulator), tamper
cases, and every action of the Channel contract."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.channels.base import (
    CallbackRequest,
    CallbackResult,
    Channel,
    ConversationRef,
    ManagesAgents,
    ManagesInboxes,
    OutboundMessage,
    Pulls,
    Typing,
    UpgradesService,
    require,
)
from gateway.channels.config import ChannelConfig
from gateway.channels.mp import MpChannel
from gateway.domain import ContentType, ConversationStatus, MessageType, WindowTrigger
from gateway.errors import (
    AesKeyError,
    CallbackError,
    ConfigError,
    InvalidRequest,
    PlatformError,
    ReceiveIdError,
    ReplyWindowClosed,
    SignatureError,
    TransportError,
    UnsupportedByChannel,
    XmlParseError,
)
from gateway.wechat.crypto import WeChatCrypto, sha1_signature
from gateway.wechat.tokens import TokenManager
from gateway.wechat.xmlmsg import build_xml
from kefu_sim import SimClock, SimDriver, World
from tests.sim_apps import simulator

TOKEN = "CallbackToken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
KF = "test1@kftest"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


class Env:
    """Simulator + driver + one account whose callbacks reach `channel` through an HTTP receiver."""

    def __init__(self, world: World, http: httpx.AsyncClient) -> None:
        self.world, self.http, self.driver = world, http, SimDriver(http)
        self.results: list[CallbackResult] = []
        self.errors: list[CallbackError] = []
        self.channel: MpChannel
        self.appid = self.openid = self.gh_id = ""

    async def receive(self, request: httpx.Request) -> httpx.Response:
        """The gateway's callback endpoint, reduced to what the channel needs."""
        body = await request.aread()
        callback = CallbackRequest(method=request.method, query=dict(request.url.params), body=body)
        try:
            result = await self.channel.handle_callback(callback)
        except CallbackError as exc:
            self.errors.append(exc)
            return httpx.Response(400, text=exc.code)
        self.results.append(result)
        return httpx.Response(200, text=result.reply)

    def make_channel(self, secret: str, mode: str, **secrets: str) -> MpChannel:
        return MpChannel(
            ChannelConfig(
                channel_id=1,
                app_id=self.appid,
                settings={"api_base": "http://sim/mp", "callback_mode": mode},
                secrets={"secret": secret, "token": TOKEN, "encoding_aes_key": AES_KEY, **secrets},
                http=self.http,
                tokens=TokenManager(self.http, clock=self.world.now),
            )
        )

    @property
    def ref(self) -> ConversationRef:
        return ConversationRef(inbox_source_id=self.appid, contact_source_id=self.openid)

    async def flushed(self) -> list[CallbackResult]:
        await self.driver.flush_callbacks()
        return self.results

    async def kf_online(self, name: str = KF, wx: str = "kfwx_alice") -> str:
        await self.channel.client.add_account(name, "客服1")
        await self.driver.mp_kf_bind(self.appid, name, wx)
        await self.driver.mp_kf_online(self.appid, name)
        return name


async def _env(mode: str) -> AsyncIterator[Env]:
    world = World(seed=1, clock=SimClock(1_767_225_600.0, frozen=True))
    holder: dict[str, Env] = {}

    async def receive(request: httpx.Request) -> httpx.Response:
        return await holder["env"].receive(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as gateway:
        async with (
            simulator(world, callback_client=gateway) as app,
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as http,
        ):
            env = holder["env"] = Env(world, http)
            account = await env.driver.mp_create_app(
                wechat_id="kftest",
                callback_url="http://gw/callbacks/1",
                callback_token=TOKEN,
                encoding_aes_key=AES_KEY,
                callback_mode=mode,
            )
            env.appid, env.gh_id = account["appid"], account["gh_id"]
            env.channel = env.make_channel(account["secret"], mode)
            env.openid = (await env.driver.mp_add_follower(env.appid, nickname="Alice", unionid="u-alice"))["openid"]
            yield env


@pytest.fixture(params=["plain", "compat", "safe"])
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    async for e in _env(request.param):
        yield e


@pytest.fixture
async def safe_env() -> AsyncIterator[Env]:
    async for e in _env("safe"):
        yield e


def test_declares_the_contract() -> None:
    assert MpChannel.kind == "mp" and MpChannel.default_api_base == "https://api.weixin.qq.com"
    assert issubclass(MpChannel, Typing) and issubclass(MpChannel, ManagesAgents)
    assert not issubclass(MpChannel, Pulls) and not issubclass(MpChannel, ManagesInboxes)
    assert not issubclass(MpChannel, UpgradesService)
    assert {"text", "image", "news", "menu", "miniprogram", "wxcard"} <= MpChannel.send_types
    assert "file" not in MpChannel.send_types


async def test_is_a_channel_and_refuses_bad_settings(safe_env: Env) -> None:
    assert isinstance(safe_env.channel, Channel)
    with pytest.raises(ConfigError):
        MpChannel(
            ChannelConfig(
                channel_id=1,
                app_id="wx1",
                settings={"callback_mode": "loud"},
                secrets={},
                http=safe_env.http,
                tokens=TokenManager(safe_env.http),
            )
        )
    with pytest.raises(UnsupportedByChannel):  # MP pushes content: nothing to pull
        require(safe_env.channel, Pulls, "pull messages")


# ---------------------------------------------------------------- callbacks pushed by the simulator


async def test_url_verification(env: Env) -> None:
    answer = await env.driver.mp_verify_url(env.appid)
    assert answer["ok"] is True and answer["body"] == answer["echostr"]
    query = {"signature": "0" * 40, "timestamp": "1", "nonce": "2", "echostr": "123"}
    with pytest.raises(SignatureError):
        await env.channel.handle_callback(CallbackRequest(method="GET", query=query))


async def test_callbacks_in_every_mode(env: Env) -> None:
    [subscribed] = await env.flushed()
    [activity] = subscribed.batch.messages
    assert activity.message_type is MessageType.ACTIVITY and activity.window_trigger is WindowTrigger.SUBSCRIBE
    assert subscribed.event_key == activity.source_id == f"{env.openid}:{int(env.world.now())}:subscribe"

    sent = await env.driver.mp_user_text(env.appid, env.openid, "你好")
    await env.driver.mp_user_message(env.appid, env.openid, "text", content="满意", bizmsgmenuid="101")
    await env.driver.mp_user_message(env.appid, env.openid, "image")
    await env.driver.mp_event(env.appid, env.openid, "CLICK", "V1001")
    await env.driver.mp_event(env.appid, env.openid, "VIEW", "https://example.com/")
    await env.driver.mp_event(env.appid, env.openid, "SCAN", "42")
    text, menu, image, click, view, scan = (await env.flushed())[1:]
    assert not env.errors

    [msg] = text.batch.messages
    assert msg.source_id == text.event_key == str(sent["msgid"]) and text.event_kind == "text"
    assert (msg.content, msg.content_type, msg.contact_source_id, msg.inbox_source_id) == (
        "你好",
        ContentType.TEXT,
        env.openid,
        env.appid,
    )
    assert msg.window_trigger is WindowTrigger.USER_MESSAGE and text.reply == "success"
    assert "<Content><![CDATA[你好]]></Content>" in text.payload and "<Encrypt>" not in text.payload
    assert menu.batch.messages[0].content_attributes == {"menu_id": "101"}
    [picture] = image.batch.messages
    assert picture.content_type is ContentType.IMAGE and picture.media_id
    file = await env.channel.download_media(picture.media_id)
    assert file.content.startswith(b"\xff\xd8\xff") and file.content_type
    triggers = [r.batch.messages[0].window_trigger for r in (click, view, scan)]
    assert triggers == [WindowTrigger.MENU_CLICK, None, WindowTrigger.SCAN]
    assert click.event_kind == "event:CLICK" and click.batch.channel_id == 1


async def test_kf_session_events_become_state_changes(env: Env) -> None:
    kf = await env.kf_online()
    await env.kf_online("test2@kftest", "kfwx_bob")
    await env.channel.handover(env.ref, "agent", kf)
    await env.driver.mp_kf_switch(env.appid, env.openid, "test2@kftest")
    await env.driver.mp_kf_close(env.appid, "test2@kftest", env.openid)
    created, switched, closed = (await env.flushed())[1:]
    changes = [r.batch.state_changes[0] for r in (created, switched, closed)]
    assert [(c.status, c.assignee_source_id) for c in changes] == [
        (ConversationStatus.OPEN, kf),
        (ConversationStatus.OPEN, "test2@kftest"),
        (ConversationStatus.RESOLVED, "test2@kftest"),  # the closing kf
    ]
    assert all(not r.batch.messages and r.event_key for r in (created, switched, closed))


async def test_duplicate_pushes_share_the_event_key(safe_env: Env) -> None:
    await safe_env.driver.callback_faults(duplicate_next=1)
    await safe_env.driver.mp_user_text(safe_env.appid, safe_env.openid, "twice")
    first, second = (await safe_env.flushed())[1:]
    assert first.event_key == second.event_key == first.batch.messages[0].source_id


# ---------------------------------------------------------------- tamper cases (hand-built requests)


def _plain(content: str = "hello", to: str = "gh_x") -> str:
    return build_xml(
        {
            "ToUserName": to,
            "FromUserName": "oUser",
            "CreateTime": 1700000000,
            "MsgType": "text",
            "Content": content,
            "MsgId": 42,
        }
    )


def _encrypted(plaintext: str, *, appid: str, compat_fields: str | None = None) -> tuple[dict[str, str], bytes]:
    crypto = WeChatCrypto(TOKEN, AES_KEY, appid)
    sealed = crypto.encrypt_message(plaintext, timestamp="1700000000", nonce="77", to_user="gh_x")
    body = sealed.xml
    if compat_fields is not None:  # compat mode: the plain fields and an <Encrypt> copy of them
        body = compat_fields.replace("</xml>", f"<Encrypt>{sealed.encrypt}</Encrypt></xml>")
    query = {
        "signature": sha1_signature(TOKEN, "1700000000", "77"),
        "timestamp": "1700000000",
        "nonce": "77",
        "openid": "oUser",
        "encrypt_type": "aes",
        "msg_signature": sealed.msg_signature,
    }
    return query, body.encode()


async def _post(channel: MpChannel, query: dict[str, str], body: bytes) -> CallbackResult:
    return await channel.handle_callback(CallbackRequest(method="POST", query=query, body=body))


async def test_a_valid_encrypted_post_is_accepted(safe_env: Env) -> None:
    query, body = _encrypted(_plain(), appid=safe_env.appid)
    result = await _post(safe_env.channel, query, body)
    assert result.event_key == "42" and result.batch.messages[0].content == "hello"
    query.pop("signature")  # msg_signature alone authenticates an encrypted body
    assert (await _post(safe_env.channel, query, body)).event_key == "42"


@pytest.mark.parametrize("field", ["msg_signature", "signature", "timestamp"])
async def test_tampered_signatures_are_refused(safe_env: Env, field: str) -> None:
    query, body = _encrypted(_plain(), appid=safe_env.appid)
    query[field] = "1" * 40 if field != "timestamp" else "1700000001"
    with pytest.raises(SignatureError):
        await _post(safe_env.channel, query, body)


async def test_missing_msg_signature_is_refused(safe_env: Env) -> None:
    query, body = _encrypted(_plain(), appid=safe_env.appid)
    del query["msg_signature"]
    with pytest.raises(SignatureError):
        await _post(safe_env.channel, query, body)


async def test_wrong_receive_id_is_refused(safe_env: Env) -> None:
    query, body = _encrypted(_plain(), appid="wxsomebodyelse000")
    with pytest.raises(ReceiveIdError):
        await _post(safe_env.channel, query, body)


async def test_safe_channel_refuses_plain_posts(safe_env: Env) -> None:
    query = {"signature": sha1_signature(TOKEN, "1700000000", "77"), "timestamp": "1700000000", "nonce": "77"}
    with pytest.raises(SignatureError, match="safe mode"):
        await _post(safe_env.channel, query, _plain().encode())


async def test_plain_channel_checks_signature(safe_env: Env) -> None:
    plain = safe_env.make_channel("unused", "plain")
    good = {"signature": sha1_signature(TOKEN, "1700000000", "77"), "timestamp": "1700000000", "nonce": "77"}
    result = await _post(plain, good, _plain().encode())
    assert result.batch.messages[0].content == "hello" and result.payload == _plain()
    with pytest.raises(SignatureError):
        await _post(plain, {**good, "signature": "f" * 40}, _plain().encode())
    with pytest.raises(SignatureError):
        await _post(plain, {"timestamp": "1700000000", "nonce": "77"}, _plain().encode())
    with pytest.raises(XmlParseError):
        await _post(plain, good, b"<xml><MsgType>text</xml>")


async def test_compat_body_uses_the_encrypted_copy(safe_env: Env) -> None:
    compat = safe_env.make_channel("unused", "compat")
    query, body = _encrypted(_plain("real"), appid=safe_env.appid, compat_fields=_plain("forged"))
    result = await _post(compat, query, body)
    assert result.batch.messages[0].content == "real"


async def test_encrypted_post_without_a_key_is_refused(safe_env: Env) -> None:
    keyless = safe_env.make_channel("unused", "plain", encoding_aes_key="")
    query, body = _encrypted(_plain(), appid=safe_env.appid)
    with pytest.raises(AesKeyError):
        await _post(keyless, query, body)


# ---------------------------------------------------------------- actions


OUTBOUND = [
    # (content_type, content, attributes, expected msgtype, expected payload subset)
    ("text", "hello", {}, "text", {"content": "hello"}),
    ("image", None, {"media_id": "@image"}, "image", {"media_id": "@image"}),
    ("voice", None, {"media_id": "@voice"}, "voice", {"media_id": "@voice"}),
    (
        "video",
        None,
        {"media_id": "@video", "thumb_media_id": "@thumb", "title": "T"},
        "video",
        {"media_id": "@video", "thumb_media_id": "@thumb", "title": "T"},
    ),
    (
        "music",
        None,
        {"musicurl": "http://m", "hqmusicurl": "http://hq", "thumb_media_id": "@thumb"},
        "music",
        {"musicurl": "http://m"},
    ),
    (
        "news",
        None,
        {"articles": [{"title": "A", "url": "http://a"}]},
        "news",
        {"articles": [{"title": "A", "url": "http://a"}]},
    ),
    (
        "link",
        None,
        {"title": "L", "url": "http://l", "description": "d", "pic_url": "http://p"},
        "news",
        {"articles": [{"title": "L", "description": "d", "url": "http://l", "picurl": "http://p"}]},
    ),
    (
        "menu",
        "满意吗?",
        {"items": [{"id": "1", "content": "是"}, {"id": "2", "content": "否"}], "tail_content": "谢谢"},
        "msgmenu",
        {
            "head_content": "满意吗?",
            "list": [{"id": "1", "content": "是"}, {"id": "2", "content": "否"}],
            "tail_content": "谢谢",
        },
    ),
    (
        "miniprogram",
        None,
        {"title": "T", "appid": "wxapp", "pagepath": "p/i", "thumb_media_id": "@thumb"},
        "miniprogrampage",
        {"appid": "wxapp", "pagepath": "p/i"},
    ),
    ("mpnews", None, {"media_id": "MEDIA"}, "mpnews", {"media_id": "MEDIA"}),
    ("mpnewsarticle", None, {"article_id": "ART"}, "mpnewsarticle", {"article_id": "ART"}),
    ("wxcard", None, {"card_id": "CARD"}, "wxcard", {"card_id": "CARD"}),
]


async def test_send_every_type(safe_env: Env) -> None:
    env = safe_env
    media = {}
    for kind, name in (("image", "image"), ("voice", "voice"), ("video", "video"), ("thumb", "thumb")):
        media[f"@{name}"] = (await env.channel.client.upload_media(kind, (f"x.{kind}", JPEG))).id

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return media.get(value, value) if isinstance(value, str) else value

    assert {row[0] for row in OUTBOUND} == set(MpChannel.send_types)
    for n, (content_type, content, attrs, msgtype, payload) in enumerate(OUTBOUND):
        await env.driver.mp_user_text(env.appid, env.openid, "go on")
        message = OutboundMessage(msgid=f"m{n}", content_type=content_type, content=content, attributes=fill(attrs))
        result = await env.channel.send(env.ref, message)
        assert result.source_id == f"m{n}" and result.raw["errcode"] == 0
        delivery = (await env.driver.deliveries(platform="mp", touser=env.openid))[-1]
        assert delivery["msgtype"] == msgtype and fill(payload).items() <= delivery["payload"].items()
        assert delivery["kf_account"] is None


async def test_send_as_the_assigned_kf(safe_env: Env) -> None:
    kf = await safe_env.kf_online()
    await safe_env.driver.mp_user_text(safe_env.appid, safe_env.openid, "hi")
    message = OutboundMessage(msgid="m1", content_type="text", content="from a kf", attributes={"kf_account": kf})
    await safe_env.channel.send(safe_env.ref, message)
    [delivery] = await safe_env.driver.deliveries(platform="mp", touser=safe_env.openid)
    assert delivery["kf_account"] == kf and delivery["sender"] == f"kf:{kf}"


async def test_send_refusals(safe_env: Env) -> None:
    env = safe_env
    calls = len(await env.driver.calls(path="/cgi-bin/message/custom/send"))
    for content_type in ("file", "location", "business_card"):
        with pytest.raises(UnsupportedByChannel):
            await env.channel.send(env.ref, OutboundMessage(msgid="x", content_type=content_type))
    two = {"articles": [{"title": "a"}, {"title": "b"}]}
    with pytest.raises(InvalidRequest):
        await env.channel.send(env.ref, OutboundMessage(msgid="x", content_type="news", attributes=two))
    assert len(await env.driver.calls(path="/cgi-bin/message/custom/send")) == calls
    await env.driver.advance(49 * 3600)
    with pytest.raises(ReplyWindowClosed):
        await env.channel.send(env.ref, OutboundMessage(msgid="late", content_type="text", content="late"))


async def test_a_send_hitting_a_timeout_is_sent_once(safe_env: Env) -> None:
    env = safe_env
    await env.driver.mp_user_text(env.appid, env.openid, "hi")
    await env.driver.add_fault("/cgi-bin/message/custom/send", "timeout", 0.05, remaining=1)
    with pytest.raises(TransportError):
        await env.channel.send(env.ref, OutboundMessage(msgid="m1", content_type="text", content="once"))
    assert len(await env.driver.calls(path="/cgi-bin/message/custom/send")) == 1


async def test_typing(safe_env: Env) -> None:
    await safe_env.driver.mp_user_text(safe_env.appid, safe_env.openid, "hi")
    await safe_env.channel.typing(safe_env.ref, True)
    await safe_env.channel.typing(safe_env.ref, False)
    bodies = [c["body"] for c in await safe_env.driver.calls(path="/cgi-bin/message/custom/typing")]
    assert [b["command"] for b in bodies] == ["Typing", "CancelTyping"]
    assert (await safe_env.driver.mp_follower(safe_env.appid, safe_env.openid))["typing_until"] is None


async def test_handover_resolve_and_session_state(safe_env: Env) -> None:
    env, ref = safe_env, safe_env.ref
    assert (await env.channel.session_state(ref)).status is ConversationStatus.PENDING
    await env.driver.mp_configure(env.appid, transfer_to_kf=True)
    await env.driver.mp_user_text(env.appid, env.openid, "a human please")
    queued = await env.channel.session_state(ref)
    assert (queued.status, queued.assignee_source_id) == (ConversationStatus.QUEUED, "")

    for target in ("queue", "bot"):
        with pytest.raises(UnsupportedByChannel):
            await env.channel.handover(ref, target)
    with pytest.raises(InvalidRequest):
        await env.channel.handover(ref, "agent")
    await env.channel.client.add_account(KF, "客服1")
    with pytest.raises(PlatformError) as unbound:
        await env.channel.handover(ref, "agent", KF)
    assert unbound.value.errcode == 65402

    await env.driver.mp_kf_bind(env.appid, KF, "kfwx_alice")
    await env.driver.mp_kf_online(env.appid, KF)
    change = await env.channel.handover(ref, "agent", KF)
    assert (change.status, change.assignee_source_id) == (ConversationStatus.OPEN, KF)
    state = await env.channel.session_state(ref)
    assert (state.status, state.assignee_source_id, state.inbox_source_id) == (ConversationStatus.OPEN, KF, env.appid)

    resolved = await env.channel.resolve(ref)  # no assignee in the ref: looked up with getsession
    assert resolved.status is ConversationStatus.RESOLVED
    assert (await env.channel.client.get_session(env.openid)).kf_account == ""
    [close] = await env.driver.calls(path="/customservice/kfsession/close")
    assert close["body"] == {"kf_account": KF, "openid": env.openid}
    assert (await env.channel.resolve(ref)).status is ConversationStatus.RESOLVED  # nothing left to close
    assert len(await env.driver.calls(path="/customservice/kfsession/close")) == 1


async def test_fetch_profiles(safe_env: Env) -> None:
    env = safe_env
    bob = (await env.driver.mp_add_follower(env.appid, nickname="Bob", unionid="u-bob"))["openid"]
    profiles = await env.channel.fetch_profiles([env.openid, bob, "o-nobody", bob])
    assert [(p.source_id, p.name, p.unionid) for p in profiles] == [
        (env.openid, "Alice", "u-alice"),
        (bob, "Bob", "u-bob"),
    ]
    assert len(await env.driver.calls(path="/cgi-bin/user/info")) == 3


async def test_inboxes_agents_and_verify(safe_env: Env) -> None:
    env = safe_env
    [inbox] = await env.channel.list_inboxes()
    assert inbox.source_id == env.appid
    await env.kf_online()
    await env.channel.client.add_account("test2@kftest", "客服2")
    agents = {a.source_id: a for a in await env.channel.list_agents()}
    assert (agents[KF].status, agents[KF].name, agents[KF].inbox_source_ids) == ("online", "客服1", [env.appid])
    assert agents["test2@kftest"].status == "offline"
    await env.channel.verify()
    with pytest.raises(PlatformError) as wrong:
        await env.make_channel("wrong-secret", "safe").verify()
    assert wrong.value.errcode == 40001


async def test_download_media_expires_after_three_days(safe_env: Env) -> None:
    uploaded = await safe_env.channel.client.upload_media("image", ("a.jpg", JPEG, "image/jpeg"))
    file = await safe_env.channel.download_media(uploaded.id)
    assert (file.content, file.filename) == (JPEG, "a.jpg")
    await safe_env.driver.advance(3 * 86400)
    with pytest.raises(PlatformError) as expired:
        await safe_env.channel.download_media(uploaded.id)
    assert expired.value.errcode == 40007
