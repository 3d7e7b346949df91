"""WeComChannel through the simulator: callbacks with real crypto, pull, send (+ duplicate msgid), state, directory."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
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
from gateway.channels.wecom import WeComChannel, outbound_payload, platform_msgid
from gateway.domain import ContentType, ConversationStatus, MessageType
from gateway.errors import (
    CallbackError,
    InvalidCode,
    InvalidRequest,
    ReceiveIdError,
    SessionStateForbids,
    SignatureError,
    StateTransitionRefused,
    TokenError,
    UnsupportedByChannel,
)
from gateway.wechat.crypto import WeChatCrypto
from gateway.wechat.http import RetryPolicy
from gateway.wechat.tokens import TokenManager
from kefu_sim import SimClock, SimDriver, World
from tests.sim_apps import simulator

START = 1_767_225_600.0
CORPID, SECRET = "wwchannel0001", "kf-secret"
TOKEN, AES_KEY = "CallbackToken123", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CALLBACK_URL = "http://gateway/callbacks/1"


@dataclass
class Sim:
    driver: SimDriver
    channel: WeComChannel
    open_kfid: str
    customer: str
    http: httpx.AsyncClient
    received: list[CallbackResult | CallbackError] = field(default_factory=list)

    def ref(self, **extra: Any) -> ConversationRef:
        return ConversationRef(inbox_source_id=self.open_kfid, contact_source_id=self.customer, **extra)

    async def write(self, content: str = "hello") -> dict[str, Any]:
        return await self.driver.wecom_customer_send(CORPID, self.open_kfid, self.customer, content=content)


def make_channel(http: httpx.AsyncClient, **settings: Any) -> WeComChannel:
    return WeComChannel(
        ChannelConfig(
            channel_id=1,
            app_id=CORPID,
            settings={"api_base": "http://sim/wecom", **settings},
            secrets={"secret": SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY},
            http=http,
            tokens=TokenManager(http),
        )
    )


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    holder: dict[str, Sim] = {}

    async def receive(request: httpx.Request) -> httpx.Response:
        """The gateway's callback endpoint, reduced to what the channel does."""
        state = holder["sim"]
        callback = CallbackRequest(method=request.method, query=dict(request.url.params), body=request.content)
        try:
            result = await state.channel.handle_callback(callback)
        except CallbackError as exc:
            state.received.append(exc)
            return httpx.Response(400, text=exc.code)
        state.received.append(result)
        return httpx.Response(200, text=result.reply)

    receiver = httpx.AsyncClient(transport=httpx.MockTransport(receive))
    world = World(seed=3, clock=SimClock(START, frozen=True))
    async with (
        receiver,
        simulator(world, callback_client=receiver) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as http,
    ):
        driver = SimDriver(http)
        await driver.wecom_create_corp(
            corpid=CORPID,
            secret=SECRET,
            callback_url=CALLBACK_URL,
            callback_token=TOKEN,
            encoding_aes_key=AES_KEY,
            sync_empty_page_rate=0.0,
        )
        await driver.wecom_add_member(CORPID, "alice")
        account = await driver.wecom_add_kf_account(CORPID, "Support")
        customer = await driver.wecom_add_customer(CORPID, nickname="Bob")
        holder["sim"] = Sim(
            driver,
            make_channel(http, welcome_message="Welcome to Support!"),
            account["open_kfid"],
            customer["external_userid"],
            http,
        )
        yield holder["sim"]
        await driver.flush_callbacks()


async def test_declares_the_contract(sim: Sim) -> None:
    assert isinstance(sim.channel, Channel)
    assert (WeComChannel.kind, WeComChannel.default_api_base) == ("wecom", "https://qyapi.weixin.qq.com")
    channel = sim.channel
    assert isinstance(channel, Pulls) and isinstance(channel, EventCodes) and isinstance(channel, ManagesInboxes)
    assert isinstance(channel, UpgradesService)
    assert not isinstance(channel, Typing) and not isinstance(channel, ManagesAgents)
    assert {"text", "image", "menu", "location", "business_card", "ca_link"} <= WeComChannel.send_types


# ---------------------------------------------------------------------- callbacks


def _post(plaintext: str, *, receive_id: str = CORPID, token: str = TOKEN) -> CallbackRequest:
    crypto = WeChatCrypto(token, AES_KEY, receive_id)
    envelope = crypto.encrypt_message(plaintext, timestamp="1767225600", nonce="12345", to_user=receive_id)
    return CallbackRequest(method="POST", query=envelope.query, body=envelope.xml.encode())


def _kf_event(open_kfid: str = "wkAccount0001", token: str = "ENCsync") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORPID}]]></ToUserName><CreateTime>1767225600</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
        f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>"
    )


async def test_url_verification_end_to_end(sim: Sim) -> None:
    answer = await sim.driver.wecom_verify_url(CORPID)
    assert answer["ok"] and answer["body"] == answer["expected"]  # the bare plaintext, nothing around it


async def test_url_verification_with_plus_and_slash(sim: Sim) -> None:
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORPID)
    echostr = crypto.encrypt("4983049582049", random16=b"\xfb" * 16)
    assert "+" in echostr or "/" in echostr
    query = {"msg_signature": crypto.signature("1", "2", echostr), "timestamp": "1", "nonce": "2", "echostr": echostr}
    result = await sim.channel.handle_callback(CallbackRequest(method="GET", query=query))
    assert (result.reply, result.event_key, result.pull) == ("4983049582049", None, None)
    with pytest.raises(SignatureError):
        await sim.channel.handle_callback(CallbackRequest(method="GET", query={**query, "nonce": "3"}))


async def test_kf_msg_or_event_asks_for_a_pull_with_a_stable_key(sim: Sim) -> None:
    first = await sim.channel.handle_callback(_post(_kf_event()))
    again = await sim.channel.handle_callback(_post(_kf_event()))  # a redelivery: new randomness, same content
    assert first.pull is not None and (first.pull.stream, first.pull.token) == ("wkAccount0001", "ENCsync")
    assert first.event_key == again.event_key and first.event_key and "wkAccount0001" in first.event_key
    assert first.event_kind == "event:kf_msg_or_event" and first.reply == "success" and first.batch is None
    other = await sim.channel.handle_callback(_post(_kf_event(token="ENCother")))
    assert other.event_key != first.event_key


async def test_callback_tampering(sim: Sim) -> None:
    good = _post(_kf_event())
    with pytest.raises(SignatureError):
        await sim.channel.handle_callback(
            CallbackRequest(method="POST", query={**good.query, "timestamp": "9"}, body=good.body)
        )
    with pytest.raises(SignatureError):
        await sim.channel.handle_callback(_post(_kf_event(), token="SomeOtherToken"))
    with pytest.raises(ReceiveIdError):
        await sim.channel.handle_callback(_post(_kf_event(), receive_id="wwsomeoneelse"))
    suite = make_channel(sim.http, receive_ids=["wwsuite0001"])
    result = await suite.handle_callback(_post(_kf_event(), receive_id="wwsuite0001"))
    assert result.pull is not None


async def test_auth_change_and_other_events(sim: Sim) -> None:
    xml = (
        f"<xml><ToUserName>{CORPID}</ToUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
        "<Event>kf_account_auth_change</Event><AuthAddOpenKfId>wkNew1</AuthAddOpenKfId>"
        "<AuthAddOpenKfId>wkNew2</AuthAddOpenKfId><AuthDelOpenKfId>wkOld</AuthDelOpenKfId></xml>"
    )
    result = await sim.channel.handle_callback(_post(xml))
    assert result.batch is not None and result.pull is None
    assert [(c.inbox_source_id, c.added) for c in result.batch.inbox_changes] == [
        ("wkNew1", True),
        ("wkNew2", True),
        ("wkOld", False),
    ]
    contact = (
        f"<xml><ToUserName>{CORPID}</ToUserName><CreateTime>2</CreateTime><MsgType>event</MsgType>"
        "<Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType></xml>"
    )
    stored = await sim.channel.handle_callback(_post(contact))
    assert stored.event_key and stored.batch is None and stored.pull is None
    assert stored.event_key == (await sim.channel.handle_callback(_post(contact))).event_key


async def test_simulator_pushes_verifiable_callbacks(sim: Sim) -> None:
    written = await sim.write("hi there")
    await sim.driver.wecom_auth_change(CORPID, add=[sim.open_kfid])
    await sim.driver.flush_callbacks()
    pulls = [r for r in sim.received if isinstance(r, CallbackResult) and r.pull]
    assert [(r.pull.stream, r.pull.token) for r in pulls] == [(sim.open_kfid, written["token"])]  # type: ignore[union-attr]
    changes = [r.batch.inbox_changes for r in sim.received if isinstance(r, CallbackResult) and r.batch]
    assert [[c.inbox_source_id for c in batch] for batch in changes] == [[sim.open_kfid]]


# ---------------------------------------------------------------------- pull


async def test_pull_pages_and_advances_the_cursor(sim: Sim) -> None:
    token = None
    for i in range(3):
        token = (await sim.write(f"m{i}"))["token"]
    first = await sim.channel.pull(sim.open_kfid, None, token=token, limit=2)
    assert first.has_more and [m.content for m in first.batch.messages] == ["m0", "m1"]
    assert (first.batch.stream, first.batch.channel_id) == (sim.open_kfid, 1) and first.batch.cursor
    second = await sim.channel.pull(sim.open_kfid, first.batch.cursor, token=token, limit=2)
    assert not second.has_more and [m.content for m in second.batch.messages] == ["m2"]
    assert all(m.message_type is MessageType.INCOMING for m in second.batch.messages)
    with pytest.raises(InvalidCode):
        await sim.channel.pull(sim.open_kfid, second.batch.cursor, token="ENCexpired")


async def test_pull_normalizes_events_from_the_platform(sim: Sim) -> None:
    entered = await sim.driver.wecom_enter(CORPID, sim.customer, sim.open_kfid, scene="promo")
    await sim.write("question")
    await sim.driver.wecom_add_kf_account(CORPID, "Other")  # noise on another account is not pulled
    page = await sim.channel.pull(sim.open_kfid, None, token=entered["token"])
    assert [m.content_type for m in page.batch.messages] == [ContentType.EVENT, ContentType.TEXT]
    [welcome] = page.batch.state_changes
    assert (welcome.event_code, welcome.event_code_kind) == (entered["welcome_code"], "welcome")
    sent = await sim.channel.send_welcome(welcome, msgid="welcome-1")
    assert sent is not None and sent.source_id == "welcome-1"
    [delivery] = await sim.driver.deliveries(platform="wecom")
    assert delivery["payload"] == {"text": {"content": "Welcome to Support!"}} and delivery["sender"] == "event"


async def test_token_expiry_mid_way_is_transparent(sim: Sim) -> None:
    token = (await sim.write())["token"]
    await sim.channel.pull(sim.open_kfid, None, token=token)
    await sim.driver.advance(7201)
    await sim.channel.list_inboxes()
    assert len(await sim.driver.calls(path="/cgi-bin/gettoken")) == 2


# ---------------------------------------------------------------------- send


async def test_send_and_duplicate_msgid(sim: Sim) -> None:
    await sim.write()
    message = OutboundMessage(msgid="our-msg-1", content_type="text", content="hello Bob")
    first = await sim.channel.send(sim.ref(), message)
    assert (first.source_id, first.duplicate) == ("our-msg-1", False)
    retried = await sim.channel.send(sim.ref(), message)  # e.g. the job ran again after a lost answer
    assert (retried.source_id, retried.duplicate) == ("our-msg-1", True)
    deliveries = await sim.driver.deliveries(platform="wecom", touser=sim.customer)
    assert [d["msgid"] for d in deliveries] == ["our-msg-1"]


async def test_transient_failure_is_retried_with_the_same_msgid(sim: Sim) -> None:
    await sim.write()
    await sim.driver.add_fault("/cgi-bin/kf/send_msg", "http_status", 502, remaining=1)
    channel = make_channel(sim.http)
    channel.client.api.retry = RetryPolicy(base_delay=0.0)
    result = await channel.send(sim.ref(), OutboundMessage(msgid="our-msg-2", content_type="text", content="x"))
    assert (result.source_id, result.duplicate) == ("our-msg-2", False)
    calls = await sim.driver.calls(path="/cgi-bin/kf/send_msg")
    assert [(c["http_status"], c["body"]["msgid"]) for c in calls] == [(502, "our-msg-2"), (200, "our-msg-2")]
    assert len(await sim.driver.deliveries(platform="wecom")) == 1


async def test_download_media_of_a_pulled_image(sim: Sim) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\1" * 40
    written = await sim.driver.wecom_customer_send(
        CORPID,
        sim.open_kfid,
        sim.customer,
        "image",
        {"content_b64": base64.b64encode(png).decode(), "filename": "cat.png"},
    )
    page = await sim.channel.pull(sim.open_kfid, None, token=written["token"])
    [message] = page.batch.messages
    assert message.content_type is ContentType.IMAGE and message.media_id
    file = await sim.channel.download_media(message.media_id)
    assert (file.content, file.content_type, file.filename) == (png, "image/png", "cat.png")


async def test_long_ids_become_valid_platform_msgids(sim: Sim) -> None:
    ours = "3f2a9c1e-7b4d-4e2a-9c1e-7b4d4e2a9c1e"  # a uuid: 36 bytes, too long for WeCom
    assert platform_msgid(ours) == platform_msgid(ours) and len(platform_msgid(ours)) == 32
    assert platform_msgid("short_ok-1") == "short_ok-1"
    await sim.write()
    result = await sim.channel.send(sim.ref(), OutboundMessage(msgid=ours, content_type="text", content="x"))
    assert result.source_id == platform_msgid(ours)
    assert (await sim.channel.send(sim.ref(), OutboundMessage(msgid=ours, content_type="text", content="x"))).duplicate


@pytest.mark.parametrize(
    ("content_type", "attributes", "msgtype"),
    [
        ("location", {"latitude": 23.1, "longitude": 113.3, "name": "Tower"}, "location"),
        (
            "menu",
            {
                "head_content": "Rate us",
                "items": [{"id": "1", "content": "Good"}, {"type": "view", "url": "https://e.com", "content": "Web"}],
            },
            "msgmenu",
        ),
        ("business_card", {"userid": "alice"}, "business_card"),
        ("ca_link", {"link_url": "https://work.weixin.qq.com/ca/x"}, "ca_link"),
    ],
)
async def test_send_types(sim: Sim, content_type: str, attributes: dict[str, Any], msgtype: str) -> None:
    await sim.write()
    await sim.channel.send(
        sim.ref(), OutboundMessage(msgid=f"t-{msgtype}", content_type=content_type, attributes=attributes)
    )
    [delivery] = await sim.driver.deliveries(platform="wecom")
    assert delivery["msgtype"] == msgtype


async def test_send_refusals(sim: Sim) -> None:
    with pytest.raises(UnsupportedByChannel):
        outbound_payload(OutboundMessage(msgid="n1", content_type="news"))
    with pytest.raises(InvalidRequest):
        outbound_payload(OutboundMessage(msgid="n2", content_type="image"))  # no media_id
    with pytest.raises(UnsupportedByChannel):  # WeCom kf has no typing indicator
        require(sim.channel, Typing, "show a typing indicator")
    await sim.channel.add_servicers(sim.open_kfid, ["alice"])
    await sim.write()  # alice is on duty: the platform hands her the session (state 3)
    with pytest.raises(SessionStateForbids):
        await sim.channel.send(sim.ref(), OutboundMessage(msgid="s3", content_type="text", content="x"))


# ---------------------------------------------------------------------- state


async def test_handover_resolve_and_session_state(sim: Sim) -> None:
    await sim.channel.add_servicers(sim.open_kfid, ["alice"])
    await sim.driver.wecom_set_servicer_status(CORPID, "alice", 1)  # stopped: new sessions stay with the API
    await sim.write()
    assert (await sim.channel.session_state(sim.ref())).status is ConversationStatus.PENDING
    bot = await sim.channel.handover(sim.ref(), "bot")
    assert (bot.status, bot.platform_state, bot.event_code) == (ConversationStatus.PENDING, "1", None)
    queued = await sim.channel.handover(sim.ref(), "queue")
    assert (queued.status, queued.event_code_kind) == (ConversationStatus.QUEUED, "queue") and queued.event_code
    with pytest.raises(StateTransitionRefused):
        await sim.channel.handover(sim.ref(), "bot")
    with pytest.raises(InvalidRequest):
        await sim.channel.handover(sim.ref(), "agent")  # needs a servicer
    await sim.driver.wecom_set_servicer_status(CORPID, "alice", 0)
    held = await sim.channel.handover(sim.ref(), "agent", "alice")
    assert (held.status, held.assignee_source_id) == (ConversationStatus.OPEN, "alice")
    state = await sim.channel.session_state(sim.ref())
    assert (state.status, state.platform_state, state.assignee_source_id) == (ConversationStatus.OPEN, "3", "alice")
    ended = await sim.channel.resolve(sim.ref())
    assert (ended.status, ended.event_code_kind) == (ConversationStatus.RESOLVED, "closing") and ended.event_code
    closing = OutboundMessage(msgid="bye-1", content_type="text", content="Thanks, bye")
    assert (await sim.channel.send_on_event(ended.event_code, closing)).source_id == "bye-1"  # type: ignore[arg-type]
    with pytest.raises(InvalidCode):
        await sim.channel.send_on_event(ended.event_code, closing)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- directory


async def test_fetch_profiles_in_chunks(sim: Sim) -> None:
    await sim.write()
    profiles = await sim.channel.fetch_profiles([sim.customer, *[f"wm_unknown_{i}" for i in range(120)]])
    assert [(p.source_id, p.name) for p in profiles] == [(sim.customer, "Bob")] and profiles[0].unionid
    assert len(await sim.driver.calls(path="/cgi-bin/kf/customer/batchget")) == 2


async def test_inboxes_and_agents(sim: Sim) -> None:
    for i in range(100):
        await sim.driver.wecom_add_kf_account(CORPID, f"kf{i}")
    inboxes = await sim.channel.list_inboxes()
    assert len(inboxes) == 101 and len(await sim.driver.calls(path="/cgi-bin/kf/account/list")) == 2
    await sim.driver.wecom_add_member(CORPID, "bob")
    await sim.channel.add_servicers(sim.open_kfid, ["alice", "bob"])
    await sim.channel.add_servicers(inboxes[1].source_id, ["alice"])
    await sim.driver.wecom_set_servicer_status(CORPID, "bob", 1, stop_type=1)
    agents = {a.source_id: a for a in await sim.channel.list_agents()}
    assert agents["alice"].status == "online" and agents["bob"].status == "suspended"
    assert sorted(agents["alice"].inbox_source_ids) == sorted([sim.open_kfid, inboxes[1].source_id])


async def test_extras_and_verify(sim: Sim) -> None:
    url = await sim.channel.contact_way_url(sim.open_kfid, scene="ad1", scene_param="from ad & co")
    assert url.endswith("&scene_param=from%20ad%20%26%20co")
    entered = await sim.driver.wecom_enter(CORPID, sim.customer, url=url)
    assert entered["item"]["event"]["scene"] == "ad1"
    inbox = await sim.channel.add_inbox("Sales", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    assert inbox.source_id in {i.source_id for i in await sim.channel.list_inboxes()}
    await sim.driver.wecom_set_upgrade_config(CORPID, userid_list=["alice"])
    await sim.write()
    await sim.channel.upgrade_service(sim.ref(), userid="alice")
    await sim.channel.cancel_upgrade_service(sim.ref())
    await sim.channel.verify()
    bad = WeComChannel(
        ChannelConfig(
            channel_id=2,
            app_id=CORPID,
            settings={"api_base": "http://sim/wecom"},
            secrets={"secret": "wrong"},
            http=sim.http,
            tokens=TokenManager(sim.http),
        )
    )
    with pytest.raises(TokenError):
        await bad.verify()
