"""The Channel contract, run by every adapter against the simulator (real crypto, ASGI, no mocks).

Each platform is one `Kit` in KITS: how to build its adapter, how a simulated customer writes, how
the URL check is run, how an agent is staffed, and one example per declared send type. A new
platform (or a new send type) adds an entry here; nothing else in the module changes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from gateway.channels.base import (
    CallbackRequest,
    CallbackResult,
    Channel,
    ConversationRef,
    EventCodes,
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
from gateway.channels.wecom import WeComChannel
from gateway.domain import ContentType, ConversationStatus, InboundMessage, MessageType
from gateway.errors import CallbackError, SignatureError, UnsupportedByChannel
from gateway.wechat.tokens import TokenManager
from kefu_sim import SimClock, SimDriver, World
from tests.sim_apps import simulator

TOKEN, AES_KEY = "CallbackToken123", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CALLBACK = {"callback_url": "http://gw/cb", "callback_token": TOKEN, "encoding_aes_key": AES_KEY}
OPTIONAL = (Pulls, Typing, EventCodes, UpgradesService, ManagesInboxes, ManagesAgents)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 64
MEDIA = {  # placeholder → (filename, bytes, content type); "@thumb" is an image
    "image": ("a.jpg", JPEG, "image/jpeg"),
    "thumb": ("t.jpg", JPEG, "image/jpeg"),
    "voice": ("a.amr", b"#!AMR\n" + b"\x02" * 64, "audio/amr"),
    "video": ("a.mp4", b"\0\0\0\x18ftypmp42" + b"\x03" * 64, "video/mp4"),
    "file": ("a.txt", b"a simulated file, long enough", "text/plain"),
}
EXPECTED_STATUS = {
    "bot": ConversationStatus.PENDING,
    "queue": ConversationStatus.QUEUED,
    "agent": ConversationStatus.OPEN,
}


@dataclass
class Env:
    """One simulator, one adapter, one inbox and one customer; callbacks reach `channel`."""

    kit: Kit
    driver: SimDriver
    http: httpx.AsyncClient
    world: World
    channel: Any = None
    app_id: str = ""
    inbox: str = ""
    customer: str = ""
    requests: list[CallbackRequest] = field(default_factory=list)  # every callback as received
    results: list[CallbackResult] = field(default_factory=list)  # the verified ones, not yet read
    cursors: dict[str, str | None] = field(default_factory=dict)
    media: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> ConversationRef:
        return ConversationRef(inbox_source_id=self.inbox, contact_source_id=self.customer)

    def config(self, secret: str, **settings: Any) -> ChannelConfig:
        return ChannelConfig(
            channel_id=1,
            app_id=self.app_id,
            settings={"api_base": f"http://sim/{self.kit.id}", **settings},
            secrets={"secret": secret, "token": TOKEN, "encoding_aes_key": AES_KEY},
            http=self.http,
            tokens=TokenManager(self.http, clock=self.world.now),
        )

    async def write(self, msgtype: str = "text", content: str = "hello") -> None:
        await self.kit.write(self, msgtype, content)

    async def inbound(self) -> list[InboundMessage]:
        """What the customers wrote since the last call: pulled when the callback announces, else pushed."""
        await self.driver.flush_callbacks()
        results, self.results = self.results, []
        messages: list[InboundMessage] = []
        for result in results:
            if isinstance(self.channel, Pulls):
                assert not (result.batch and result.batch.messages), "a Pulls channel's callbacks only announce"
                if result.pull is None:
                    continue
                stream, has_more = result.pull.stream, True
                while has_more:
                    page = await self.channel.pull(stream, self.cursors.get(stream), token=result.pull.token, limit=2)
                    messages += page.batch.messages
                    self.cursors[stream], has_more = page.batch.cursor, page.has_more
            else:
                assert result.pull is None, "a channel that cannot pull was asked to"
                messages += result.batch.messages if result.batch else []
        return [m for m in messages if m.message_type is MessageType.INCOMING]

    async def fill(self, value: Any) -> Any:
        """Example attributes with "@kind" replaced by a freshly uploaded media_id of that kind."""
        if isinstance(value, dict):
            return {k: await self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [await self.fill(v) for v in value]
        if isinstance(value, str) and value.startswith("@"):
            kind = value[1:]
            if kind not in self.media:
                uploaded = await self.channel.upload_media(self.kit.upload_kinds.get(kind, kind), *MEDIA[kind])
                assert uploaded, f"upload_media gave no media_id for {kind!r}"
                self.media[kind] = uploaded
            return self.media[kind]
        return value


@dataclass(frozen=True)
class Kit:
    id: str
    cls: type
    setup: Callable[[Env], Awaitable[None]]  # corp/app, inbox, customer; sets env.channel and ids
    write: Callable[[Env, str, str], Awaitable[Any]]  # the customer sends (msgtype, text content)
    verify_url: Callable[[Env], Awaitable[tuple[str, str]]]  # the platform's URL check → (answered, expected)
    staff: Callable[[Env], Awaitable[str]]  # an agent able to take the conversation → its source id
    capabilities: frozenset[type]
    handover_targets: frozenset[str]
    media_kinds: tuple[str, ...]  # what upload_media takes (and download_media gives back)
    examples: dict[str, tuple[str | None, dict[str, Any], str]]  # send type → (content, attributes, wire msgtype)
    upload_kinds: dict[str, str] = field(default_factory=dict)  # placeholder → the platform's upload type


# ---------------------------------------------------------------------- WeCom


async def wecom_setup(env: Env) -> None:
    env.app_id = "wwcontract0001"
    await env.driver.wecom_create_corp(corpid=env.app_id, secret="kf-secret", **CALLBACK)
    await env.driver.wecom_add_member(env.app_id, "alice")
    env.inbox = (await env.driver.wecom_add_kf_account(env.app_id, "Support"))["open_kfid"]
    env.customer = (await env.driver.wecom_add_customer(env.app_id, nickname="Bob"))["external_userid"]
    env.channel = WeComChannel(env.config("kf-secret"))


async def wecom_write(env: Env, msgtype: str, content: str) -> Any:
    payload = {"content": content} if msgtype == "text" else {}
    return await env.driver.wecom_customer_send(env.app_id, env.inbox, env.customer, msgtype, payload)


async def wecom_verify_url(env: Env) -> tuple[str, str]:
    answer = await env.driver.wecom_verify_url(env.app_id)
    return answer["body"], answer["expected"]


async def wecom_staff(env: Env) -> str:
    await env.channel.add_servicers(env.inbox, ["alice"])
    return "alice"


WECOM = Kit(
    id="wecom",
    cls=WeComChannel,
    setup=wecom_setup,
    write=wecom_write,
    verify_url=wecom_verify_url,
    staff=wecom_staff,
    capabilities=frozenset({Pulls, EventCodes, UpgradesService, ManagesInboxes}),
    handover_targets=frozenset({"bot", "queue", "agent"}),
    media_kinds=("image", "voice", "video", "file"),
    upload_kinds={"thumb": "image"},
    examples={
        "text": ("hello Bob", {}, "text"),
        "image": (None, {"media_id": "@image"}, "image"),
        "voice": (None, {"media_id": "@voice"}, "voice"),
        "video": (None, {"media_id": "@video"}, "video"),
        "file": (None, {"media_id": "@file"}, "file"),
        "link": (None, {"title": "Docs", "url": "https://example.com", "thumb_media_id": "@thumb"}, "link"),
        "miniprogram": (None, {"appid": "wxapp", "pagepath": "p/i", "thumb_media_id": "@thumb"}, "miniprogram"),
        "menu": ("Rate us", {"items": [{"id": "1", "content": "Good"}]}, "msgmenu"),
        "location": (None, {"latitude": 23.1, "longitude": 113.3, "name": "Tower"}, "location"),
        "business_card": (None, {"userid": "alice"}, "business_card"),
        "ca_link": (None, {"link_url": "https://work.weixin.qq.com/ca/x"}, "ca_link"),
    },
)


# ---------------------------------------------------------------------- MP


async def mp_setup(env: Env) -> None:
    app = await env.driver.mp_create_app(wechat_id="kftest", callback_mode="safe", **CALLBACK)
    env.app_id = env.inbox = app["appid"]
    env.customer = (await env.driver.mp_add_follower(env.app_id, nickname="Bob", unionid="u-bob"))["openid"]
    env.channel = MpChannel(env.config(app["secret"], callback_mode="safe"))


async def mp_write(env: Env, msgtype: str, content: str) -> Any:
    fields = {"content": content} if msgtype == "text" else {}
    return await env.driver.mp_user_message(env.app_id, env.customer, msgtype, **fields)


async def mp_verify_url(env: Env) -> tuple[str, str]:
    answer = await env.driver.mp_verify_url(env.app_id)
    return answer["body"], answer["echostr"]


async def mp_staff(env: Env) -> str:
    await env.channel.add_agent("alice@kftest", "Alice")
    await env.driver.mp_kf_bind(env.app_id, "alice@kftest", "kfwx_alice")
    await env.driver.mp_kf_online(env.app_id, "alice@kftest")
    return "alice@kftest"


MP = Kit(
    id="mp",
    cls=MpChannel,
    setup=mp_setup,
    write=mp_write,
    verify_url=mp_verify_url,
    staff=mp_staff,
    capabilities=frozenset({Typing, ManagesAgents}),
    handover_targets=frozenset({"agent"}),
    media_kinds=("image", "voice", "video", "thumb"),
    examples={
        "text": ("hello Bob", {}, "text"),
        "image": (None, {"media_id": "@image"}, "image"),
        "voice": (None, {"media_id": "@voice"}, "voice"),
        "video": (None, {"media_id": "@video", "thumb_media_id": "@thumb", "title": "T"}, "video"),
        "music": (None, {"musicurl": "http://m", "hqmusicurl": "http://hq", "thumb_media_id": "@thumb"}, "music"),
        "news": (None, {"articles": [{"title": "A", "url": "http://a"}]}, "news"),
        "link": (None, {"title": "L", "url": "http://l", "description": "d"}, "news"),
        "menu": ("Happy?", {"items": [{"id": "1", "content": "Yes"}]}, "msgmenu"),
        "miniprogram": (None, {"appid": "wxapp", "pagepath": "p/i", "thumb_media_id": "@thumb"}, "miniprogrampage"),
        "mpnews": (None, {"media_id": "MEDIA"}, "mpnews"),
        "mpnewsarticle": (None, {"article_id": "ART"}, "mpnewsarticle"),
        "wxcard": (None, {"card_id": "CARD"}, "wxcard"),
    },
)

KITS = [WECOM, MP]


# ---------------------------------------------------------------------- the simulator per test


async def _env(kit: Kit) -> AsyncIterator[Env]:
    holder: dict[str, Env] = {}

    async def receive(request: httpx.Request) -> httpx.Response:
        """The gateway's callback endpoint, reduced to the adapter."""
        env = holder["env"]
        callback = CallbackRequest(method=request.method, query=dict(request.url.params), body=await request.aread())
        env.requests.append(callback)
        try:
            result = await env.channel.handle_callback(callback)
        except CallbackError as exc:
            return httpx.Response(400, text=exc.code)
        env.results.append(result)
        return httpx.Response(200, text=result.reply)

    world = World(seed=5, clock=SimClock(1_767_225_600.0, frozen=True))
    async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as gateway:
        async with (
            simulator(world, callback_client=gateway) as app,
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as http,
        ):
            env = holder["env"] = Env(kit, SimDriver(http), http, world)
            await kit.setup(env)
            await env.inbound()  # setup noise (e.g. MP's subscribe event) is not part of any case
            yield env
            await env.driver.flush_callbacks()


@pytest.fixture(params=KITS, ids=lambda kit: kit.id)
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    async for e in _env(request.param):
        yield e


SEND_CASES = [pytest.param(kit, t, id=f"{kit.id}-{t}") for kit in KITS for t in sorted(kit.cls.send_types)]


# ---------------------------------------------------------------------- the contract


async def test_declares_the_contract(env: Env) -> None:
    adapter, kit = env.channel, env.kit
    assert isinstance(adapter, Channel) and adapter.kind == kit.id
    assert adapter.display_name and adapter.default_api_base.startswith("https://") and adapter.send_types
    assert {p for p in OPTIONAL if isinstance(adapter, p)} == kit.capabilities
    for capability in OPTIONAL:
        if capability in kit.capabilities:
            assert require(adapter, capability, "do it") is adapter
        else:
            with pytest.raises(UnsupportedByChannel, match=f"{kit.id} channels cannot do it"):
                require(adapter, capability, "do it")


async def test_callback_verification(env: Env) -> None:
    answered, expected = await env.kit.verify_url(env)
    assert answered == expected and expected
    await env.write()
    await env.driver.flush_callbacks()
    genuine = next(r for r in env.requests if r.method == "POST")
    assert await env.channel.handle_callback(genuine)  # the platform's own signing is accepted
    forged = {k: "0" * 40 if k in ("signature", "msg_signature") else v for k, v in genuine.query.items()}
    with pytest.raises(SignatureError) as refused:
        await env.channel.handle_callback(CallbackRequest(method="POST", query=forged, body=genuine.body))
    assert isinstance(refused.value, CallbackError)


async def test_customer_messages_arrive(env: Env) -> None:
    for n in range(5):
        await env.write(content=f"m{n}")
    messages = await env.inbound()
    assert [m.content for m in messages] == [f"m{n}" for n in range(5)]
    assert {(m.inbox_source_id, m.contact_source_id, m.content_type) for m in messages} == {
        (env.inbox, env.customer, ContentType.TEXT)
    }
    assert len({m.source_id for m in messages}) == 5


@pytest.mark.parametrize(("env", "content_type"), SEND_CASES, indirect=["env"])
async def test_sends_every_declared_type(env: Env, content_type: str) -> None:
    if content_type not in env.kit.examples:
        pytest.fail(f"{env.kit.id} declares send type {content_type!r}: add an example for {content_type}")
    content, attributes, msgtype = env.kit.examples[content_type]
    await env.write()
    message = OutboundMessage(msgid=f"c-{content_type}", content_type=content_type, content=content)
    message.attributes = await env.fill(attributes)
    result = await env.channel.send(env.ref, message)
    assert result.source_id and not result.duplicate
    [delivery] = await env.driver.deliveries(platform=env.kit.id, touser=env.customer)
    assert (delivery["msgtype"], delivery["sender"]) == (msgtype, "api")
    assert all(media_id in json.dumps(delivery["payload"]) for media_id in env.media.values())


async def test_handover_and_resolve(env: Env) -> None:
    await env.write()
    agent = await env.kit.staff(env)
    for target in ("bot", "queue", "agent"):
        if target not in env.kit.handover_targets:
            with pytest.raises(UnsupportedByChannel):
                await env.channel.handover(env.ref, target, agent if target == "agent" else None)
            continue
        change = await env.channel.handover(env.ref, target, agent if target == "agent" else None)
        assert (change.inbox_source_id, change.contact_source_id) == (env.inbox, env.customer)
        assert change.status is EXPECTED_STATUS[target]
        assert change.assignee_source_id == (agent if target == "agent" else "")
    held = await env.channel.session_state(env.ref)
    assert (held.status, held.assignee_source_id) == (ConversationStatus.OPEN, agent)
    resolved = await env.channel.resolve(env.ref)
    assert (resolved.status, resolved.contact_source_id) == (ConversationStatus.RESOLVED, env.customer)
    assert (await env.channel.session_state(env.ref)).status is not ConversationStatus.OPEN


async def test_media_up_and_down(env: Env) -> None:
    for kind in env.kit.media_kinds:
        filename, content, content_type = MEDIA[kind]
        media_id = await env.channel.upload_media(kind, filename, content, content_type)
        assert media_id, f"upload_media({kind!r}) gave no media_id"
        assert (await env.channel.download_media(media_id)).content == content, kind
    await env.write("image")
    [picture] = await env.inbound()
    assert picture.content_type is ContentType.IMAGE and picture.media_id
    assert (await env.channel.download_media(picture.media_id)).content


async def test_directory_and_credentials(env: Env) -> None:
    await env.write()
    agent = await env.kit.staff(env)
    assert env.inbox in {i.source_id for i in await env.channel.list_inboxes()}
    agents = {a.source_id: a for a in await env.channel.list_agents()}
    assert env.inbox in agents[agent].inbox_source_ids and agents[agent].status == "online"
    await env.channel.verify()
    [profile] = await env.channel.fetch_profiles([env.customer])
    assert (profile.source_id, profile.name) == (env.customer, "Bob")
