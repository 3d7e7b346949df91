"""WeComKfClient against the in-process simulator: every endpoint decodes, errcodes map to exceptions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.errors import (
    InvalidArgument,
    InvalidCode,
    PlatformError,
    ReplyQuotaExhausted,
    ReplyWindowClosed,
    SessionStateForbids,
    StateTransitionRefused,
    TransportError,
)
from gateway.wechat.http import ApiClient, RetryPolicy
from gateway.wechat.tokens import Credential, TokenManager
from gateway.wechat.wecom_kf import WeComKfClient
from gateway.wechat.wecom_kf_types import (
    BusinessCardMsg,
    CaLinkMsg,
    FileMsg,
    ImageMsg,
    LinkMsg,
    LocationMsg,
    MenuClick,
    MenuMiniprogram,
    MenuMsg,
    MenuText,
    MenuView,
    MiniprogramMsg,
    SendPayload,
    TextMsg,
    VideoMsg,
    VoiceMsg,
)
from kefu_sim import SimClock, SimDriver, World
from tests.sim_apps import simulator

START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
CORPID, SECRET = "wwkfcorp0001", "kf-app-secret"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
DAY = 86_400


@dataclass
class Sim:
    driver: SimDriver
    client: WeComKfClient
    open_kfid: str
    customer: str


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    world = World(seed=1, clock=SimClock(START, frozen=True))
    async with (
        simulator(world) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as http,
    ):
        driver = SimDriver(http)
        await driver.wecom_create_corp(corpid=CORPID, secret=SECRET, sync_empty_page_rate=0.0)
        await driver.wecom_add_member(CORPID, "alice")
        account = await driver.wecom_add_kf_account(CORPID, "Support")  # no servicers: sessions stay in 0
        customer = await driver.wecom_add_customer(CORPID, nickname="Bob")
        credential = Credential(kind="wecom", app_id=CORPID, secret=SECRET, api_base="http://sim/wecom")
        api = ApiClient(http, credential, TokenManager(http), retry=RetryPolicy(base_delay=0.0))
        yield Sim(driver, WeComKfClient(api), account["open_kfid"], customer["external_userid"])


async def _customer_writes(sim: Sim, content: str = "hello") -> dict:
    return await sim.driver.wecom_customer_send(CORPID, sim.open_kfid, sim.customer, content=content)


# ---------------------------------------------------------------------- accounts and servicers


async def test_account_lifecycle(sim: Sim) -> None:
    media = await sim.client.upload_media("image", "avatar.png", PNG, "image/png")
    open_kfid = await sim.client.add_account("Sales", media.media_id)
    await sim.client.update_account(open_kfid, name="Sales 2")
    names = {a.open_kfid: a.name for a in await sim.client.all_accounts()}
    assert names[open_kfid] == "Sales 2" and names[sim.open_kfid] == "Support"
    await sim.client.delete_account(open_kfid)
    assert open_kfid not in {a.open_kfid for a in await sim.client.all_accounts()}
    with pytest.raises(InvalidArgument) as info:
        await sim.client.update_account(open_kfid, name="gone")
    assert info.value.errcode == 95004
    with pytest.raises(InvalidArgument) as info:
        await sim.client.add_account("a name far longer than sixteen", media.media_id)
    assert info.value.errcode == 95006


async def test_account_paging_walks_offset_limit(sim: Sim) -> None:
    for i in range(4):
        await sim.driver.wecom_add_kf_account(CORPID, f"kf{i}")
    accounts = await sim.client.all_accounts(page_size=2)
    assert len(accounts) == 5 and len({a.open_kfid for a in accounts}) == 5
    calls = await sim.driver.calls(path="/cgi-bin/kf/account/list")
    assert [(c["body"]["offset"], c["body"]["limit"]) for c in calls] == [(0, 2), (2, 2), (4, 2)]


async def test_contact_way_and_bad_open_kfid(sim: Sim) -> None:
    url = await sim.client.add_contact_way(sim.open_kfid, scene="spring_sale")
    assert url.startswith("https://") and "enc_scene=" in url
    with pytest.raises(InvalidArgument) as info:
        await sim.client.add_contact_way("not-an-open-kfid")
    assert info.value.errcode == 95000


async def test_servicers(sim: Sim) -> None:
    results = await sim.client.add_servicers(sim.open_kfid, ["alice", "nobody"])
    assert {(r.userid, r.errcode) for r in results} == {("alice", 0), ("nobody", 60111)}
    again = await sim.client.add_servicers(sim.open_kfid, ["alice"])
    assert again[0].errmsg == "ignored"
    listed = await sim.client.list_servicers(sim.open_kfid)
    assert [(s.userid, s.status) for s in listed] == [("alice", 0)]
    await sim.client.delete_servicers(sim.open_kfid, ["alice"])
    assert await sim.client.list_servicers(sim.open_kfid) == []


# ---------------------------------------------------------------------- state and receiving


async def test_service_state_transitions(sim: Sim) -> None:
    await sim.client.add_servicers(sim.open_kfid, ["alice"])
    await _customer_writes(sim)  # alice is on duty, so the new session is auto-assigned to her (state 3)
    state = await sim.client.get_service_state(sim.open_kfid, sim.customer)
    assert (state.service_state, state.servicer_userid) == (3, "alice")
    with pytest.raises(SessionStateForbids) as info:
        await sim.client.send_text(sim.customer, sim.open_kfid, "from the API", msgid="m-state-3")
    assert info.value.errcode == 95018
    with pytest.raises(StateTransitionRefused) as refused:
        await sim.client.trans_service_state(sim.open_kfid, sim.customer, 1)
    assert refused.value.errcode == 95016
    closing = await sim.client.trans_service_state(sim.open_kfid, sim.customer, 4)
    assert closing  # the closing msg_code for send_msg_on_event


async def test_trans_to_queue_hands_out_a_code(sim: Sim) -> None:
    await _customer_writes(sim)
    assert (await sim.client.get_service_state(sim.open_kfid, sim.customer)).service_state == 0
    code = await sim.client.trans_service_state(sim.open_kfid, sim.customer, 2)
    assert code
    await sim.client.send_msg_on_event(code, TextMsg(content="you are in the queue"), msgid="queue-1")
    deliveries = await sim.driver.deliveries(platform="wecom", touser=sim.customer)
    assert [(d["msgid"], d["sender"]) for d in deliveries] == [("queue-1", "event")]


async def test_sync_msg_pages_with_cursor(sim: Sim) -> None:
    token = None
    for i in range(3):
        token = (await _customer_writes(sim, f"m{i}"))["token"]
    first = await sim.client.sync_msg(sim.open_kfid, token=token, limit=2)
    assert first.has_more == 1 and [m["text"]["content"] for m in first.msg_list] == ["m0", "m1"]
    second = await sim.client.sync_msg(sim.open_kfid, cursor=first.next_cursor, token=token, limit=2)
    assert second.has_more == 0 and [m["text"]["content"] for m in second.msg_list] == ["m2"]
    again = await sim.client.sync_msg(sim.open_kfid, cursor=first.next_cursor, token=token, limit=2)
    assert again.msg_list == second.msg_list  # a read: the same cursor gives the same page
    with pytest.raises(InvalidCode):
        await sim.client.sync_msg(sim.open_kfid, token="ENCbogus")
    await sim.driver.advance(601)  # the callback token lives 10 minutes
    with pytest.raises(InvalidCode) as info:
        await sim.client.sync_msg(sim.open_kfid, token=token)
    assert info.value.errcode == 95007


# ---------------------------------------------------------------------- sending


async def _payloads(sim: Sim) -> dict[str, SendPayload]:
    async def media(kind: str, name: str, data: bytes) -> str:
        return (await sim.client.upload_media(kind, name, data)).media_id

    image = await media("image", "a.png", PNG)
    return {
        "text": TextMsg(content="hello"),
        "image": ImageMsg(media_id=image),
        "voice": VoiceMsg(media_id=await media("voice", "a.amr", b"#!AMR\n" + b"\0" * 32)),
        "video": VideoMsg(media_id=await media("video", "a.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * 32)),
        "file": FileMsg(media_id=await media("file", "a.txt", b"some file content")),
        "link": LinkMsg(title="Docs", url="https://example.com/docs", thumb_media_id=image, desc="read"),
        "miniprogram": MiniprogramMsg(appid="wx1234567890", pagepath="pages/index", thumb_media_id=image, title="Mini"),
        "msgmenu": MenuMsg.of(
            [
                MenuClick(id="101", content="Yes"),
                MenuView(url="https://e.com", content="Go"),
                MenuMiniprogram(appid="wx1", pagepath="p/i", content="Open"),
                MenuText(content="thanks"),
            ],
            head="Happy?",
            tail="bye",
        ),
        "location": LocationMsg(latitude=23.1, longitude=113.3, name="Canton Tower", address="Guangzhou"),
        "business_card": BusinessCardMsg(userid="alice"),
        "ca_link": CaLinkMsg(link_url="https://work.weixin.qq.com/ca/abc"),
    }


@pytest.mark.parametrize(
    "msgtype",
    [
        "text",
        "image",
        "voice",
        "video",
        "file",
        "link",
        "miniprogram",
        "msgmenu",
        "location",
        "business_card",
        "ca_link",
    ],
)
async def test_send_every_msgtype(sim: Sim, msgtype: str) -> None:
    payload = (await _payloads(sim))[msgtype]
    await _customer_writes(sim)
    msgid = await sim.client.send_msg(sim.customer, sim.open_kfid, payload, msgid=f"ours-{msgtype}")
    assert msgid == f"ours-{msgtype}"
    [delivery] = await sim.driver.deliveries(platform="wecom", touser=sim.customer)
    assert delivery["msgtype"] == msgtype and delivery["msgid"] == msgid
    sent = (await sim.driver.calls(path="/cgi-bin/kf/send_msg"))[-1]["body"]
    assert sent["msgtype"] == msgtype and msgtype in sent and sent["touser"] == sim.customer
    if msgtype == "msgmenu":
        assert [i["type"] for i in sent["msgmenu"]["list"]] == ["click", "view", "miniprogram", "text"]


async def test_send_without_msgid_gets_one(sim: Sim) -> None:
    await _customer_writes(sim)
    assert await sim.client.send_text(sim.customer, sim.open_kfid, "hi")
    assert "msgid" not in (await sim.driver.calls(path="/cgi-bin/kf/send_msg"))[-1]["body"]


async def test_send_limits(sim: Sim) -> None:
    with pytest.raises(ReplyWindowClosed) as never_wrote:
        await sim.client.send_text(sim.customer, sim.open_kfid, "hi")
    assert never_wrote.value.errcode == 95031
    await _customer_writes(sim)
    for i in range(5):
        await sim.client.send_text(sim.customer, sim.open_kfid, f"reply {i}", msgid=f"r{i}")
    with pytest.raises(ReplyQuotaExhausted) as quota:
        await sim.client.send_text(sim.customer, sim.open_kfid, "one too many", msgid="r5")
    assert quota.value.errcode == 95001
    await _customer_writes(sim)  # a new customer message re-opens the allowance
    await sim.client.send_text(sim.customer, sim.open_kfid, "again", msgid="r6")
    await sim.driver.advance(2 * DAY + 1)
    with pytest.raises(ReplyWindowClosed) as window:
        await sim.client.send_text(sim.customer, sim.open_kfid, "too late", msgid="r7")
    assert window.value.errcode == 95002


async def test_send_to_unknown_account(sim: Sim) -> None:
    with pytest.raises(InvalidArgument) as info:
        await sim.client.send_text(sim.customer, "wkDoesNotExist000000000000", "hi", msgid="x1")
    assert info.value.errcode == 95004


async def test_duplicate_msgid_is_refused_once_delivered(sim: Sim) -> None:
    await _customer_writes(sim)
    await sim.client.send_text(sim.customer, sim.open_kfid, "hi", msgid="dup-1")
    with pytest.raises(InvalidArgument) as info:
        await sim.client.send_text(sim.customer, sim.open_kfid, "hi", msgid="dup-1")
    assert info.value.errcode == 40058 and "msgid" in info.value.errmsg
    assert len(await sim.driver.deliveries(platform="wecom")) == 1


async def test_transient_send_failure_retried_only_with_msgid(sim: Sim) -> None:
    await _customer_writes(sim)
    await sim.driver.add_fault("/cgi-bin/kf/send_msg", "http_status", 502, remaining=1)
    assert await sim.client.send_text(sim.customer, sim.open_kfid, "safe", msgid="retry-1") == "retry-1"
    assert len(await sim.driver.calls(path="/cgi-bin/kf/send_msg")) == 2
    await sim.driver.add_fault("/cgi-bin/kf/send_msg", "http_status", 502, remaining=1)
    with pytest.raises(TransportError):
        await sim.client.send_text(sim.customer, sim.open_kfid, "unsafe")  # no msgid: never resent
    assert len(await sim.driver.calls(path="/cgi-bin/kf/send_msg")) == 3
    assert len(await sim.driver.deliveries(platform="wecom")) == 1


async def test_send_msg_on_event_welcome(sim: Sim) -> None:
    entered = await sim.driver.wecom_enter(CORPID, sim.customer, sim.open_kfid, scene="s1")
    code = entered["welcome_code"]
    menu = MenuMsg.of([MenuClick(id="1", content="Orders")], head="Welcome!")
    assert await sim.client.send_msg_on_event(code, menu, msgid="welcome-1") == "welcome-1"
    with pytest.raises(InvalidCode) as info:
        await sim.client.send_msg_on_event(code, TextMsg(content="twice"))
    assert info.value.errcode == 95007


# ---------------------------------------------------------------------- customers, upgrade, stats, media


async def test_batchget_chunks_of_100(sim: Sim) -> None:
    await _customer_writes(sim)
    bogus = [f"wm_bogus_{i:03d}" for i in range(150)]
    batch = await sim.client.batchget_customers([sim.customer, *bogus], need_enter_session_context=True)
    assert [c.external_userid for c in batch.customer_list] == [sim.customer]
    assert batch.customer_list[0].nickname == "Bob" and batch.customer_list[0].unionid
    assert sorted(batch.invalid_external_userid) == sorted(bogus)
    calls = await sim.driver.calls(path="/cgi-bin/kf/customer/batchget")
    assert [len(c["body"]["external_userid_list"]) for c in calls] == [100, 51]
    assert (await sim.client.get_customer(sim.customer)).nickname == "Bob"  # type: ignore[union-attr]


async def test_upgrade_service(sim: Sim) -> None:
    await sim.driver.wecom_set_upgrade_config(CORPID, userid_list=["alice"])
    config = await sim.client.get_upgrade_service_config()
    assert config.member_range.userid_list == ["alice"]
    await _customer_writes(sim)
    await sim.client.upgrade_service(sim.open_kfid, sim.customer, userid="alice", wording="our expert")
    await sim.client.cancel_upgrade_service(sim.open_kfid, sim.customer)
    with pytest.raises(PlatformError) as info:
        await sim.client.upgrade_service(sim.open_kfid, sim.customer, chat_id="wr_not_configured")
    assert info.value.errcode == 95021
    with pytest.raises(ValueError):
        await sim.client.upgrade_service(sim.open_kfid, sim.customer)


async def test_statistics_and_qualification(sim: Sim) -> None:
    await sim.client.add_servicers(sim.open_kfid, ["alice"])
    await _customer_writes(sim)
    await sim.driver.advance(2 * DAY)
    first = 1_767_196_800  # 2026-01-01 00:00 Beijing time
    corp = await sim.client.get_corp_statistic(sim.open_kfid, first, first)
    assert [d.stat_time for d in corp] == [first] and corp[0].statistic.customer_msg_cnt == 1
    servicer = await sim.client.get_servicer_statistic(sim.open_kfid, first, first, "alice")
    assert servicer[0].statistic.session_cnt == 1
    with pytest.raises(InvalidArgument) as info:
        await sim.client.get_corp_statistic(sim.open_kfid, first, first + 40 * DAY)
    assert info.value.errcode == 40058
    assert (await sim.client.get_corp_qualification()).wechat_channels_binding is False


async def test_media_roundtrip(sim: Sim) -> None:
    uploaded = await sim.client.upload_media("image", "photo.png", PNG, "image/png")
    assert uploaded.type == "image" and uploaded.created_at_epoch == int(START)
    file = await sim.client.download_media(uploaded.media_id)
    assert (file.content, file.content_type, file.filename) == (PNG, "image/png", "photo.png")
    calls = await sim.driver.calls(path="/cgi-bin/media/upload")
    assert calls[-1]["query"] == {"type": "image"}
    with pytest.raises(PlatformError) as info:
        await sim.client.download_media("no-such-media")
    assert info.value.errcode == 40007
    await sim.driver.advance(3 * DAY)
    with pytest.raises(PlatformError):
        await sim.client.download_media(uploaded.media_id)  # temp media lives 3 days


# ---------------------------------------------------------------------- tokens


async def test_token_expiry_is_transparent(sim: Sim) -> None:
    await sim.client.list_servicers(sim.open_kfid)
    await sim.driver.advance(7201)  # the platform's token (7200 s) has expired; our cache does not know
    assert await sim.client.all_accounts()
    assert len(await sim.driver.calls(path="/cgi-bin/gettoken")) == 2
    errcodes = [c["errcode"] for c in await sim.driver.calls(path="/cgi-bin/kf/account/list")]
    assert errcodes == [42001, 0]
