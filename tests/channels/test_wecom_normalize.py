"""sync_msg items → domain types: a contract table over the real samples, plus every event rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.channels.wecom_normalize import (
    FAIL_REASONS,
    normalize_items,
    normalize_message,
    normalize_sync_response,
)
from gateway.domain import (
    AgentStatus,
    Batch,
    ContentType,
    ConversationStatus,
    MessageType,
    SenderType,
    WindowTrigger,
)

DATA = Path(__file__).parent.parent / "data" / "wecom_kf"
ALL_TYPES = json.loads((DATA / "sync_msg_response_gochat_all_types.json").read_text())


def sample(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"sync_msg_item_{name}.json").read_text())


def one(item: dict[str, Any]) -> Batch:
    return normalize_items(7, [item], stream=item.get("open_kfid"))


# (sample, content_type, message_type) — None: the item yields no message (agent status only)
CONTRACT = [
    ("text", ContentType.TEXT, MessageType.INCOMING),
    ("image", ContentType.IMAGE, MessageType.INCOMING),
    ("voice", ContentType.VOICE, MessageType.INCOMING),
    ("video", ContentType.VIDEO, MessageType.INCOMING),
    ("file", ContentType.FILE, MessageType.INCOMING),
    ("location", ContentType.LOCATION, MessageType.INCOMING),
    ("link", ContentType.LINK, MessageType.INCOMING),
    ("business_card", ContentType.BUSINESS_CARD, MessageType.INCOMING),
    ("miniprogram", ContentType.MINIPROGRAM, MessageType.INCOMING),
    ("msgmenu", ContentType.MENU, MessageType.INCOMING),
    ("event_enter_session", ContentType.EVENT, MessageType.ACTIVITY),
    ("event_msg_send_fail", ContentType.EVENT, MessageType.ACTIVITY),
    ("event_session_status_change", ContentType.EVENT, MessageType.ACTIVITY),
    ("event_servicer_status_change", None, None),
]
# the gochat response holds the same kinds, in this order
ALL_TYPES_ORDER = [
    "text",
    "image",
    "voice",
    "video",
    "file",
    "location",
    "link",
    "business_card",
    "miniprogram",
    "msgmenu",
    "event_enter_session",
    "event_msg_send_fail",
    "event_servicer_status_change",
    "event_session_status_change",
]
EXPECTED = {name: (content_type, message_type) for name, content_type, message_type in CONTRACT}


def test_contract_covers_every_sample_file() -> None:
    files = {p.name.removeprefix("sync_msg_item_").removesuffix(".json") for p in DATA.glob("sync_msg_item_*.json")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize(("name", "content_type", "message_type"), CONTRACT)
def test_sample_normalizes(name: str, content_type: ContentType | None, message_type: MessageType | None) -> None:
    item = sample(name)
    batch = one(item)
    if content_type is None:
        assert batch.messages == [] and len(batch.agent_changes) == 1
        return
    [message] = batch.messages
    assert (message.content_type, message.message_type) == (content_type, message_type)
    assert message.raw == item and message.source_id == item["msgid"]
    assert message.inbox_source_id == item["open_kfid"] and message.contact_source_id == item["external_userid"]
    assert message.sent_at == datetime(2021, 3, 11, 16, 3, 5, tzinfo=UTC)
    if message_type is MessageType.INCOMING:
        assert message.sender_type is SenderType.CONTACT and message.window_trigger is WindowTrigger.USER_MESSAGE
    else:
        assert message.sender_type is SenderType.SYSTEM and message.window_trigger is None


@pytest.mark.parametrize(("index", "name"), list(enumerate(ALL_TYPES_ORDER)))
def test_all_types_response_item(index: int, name: str) -> None:
    item = ALL_TYPES["msg_list"][index]
    batch = one(item)
    content_type, message_type = EXPECTED[name]
    got = [(m.content_type, m.message_type) for m in batch.messages]
    assert got == ([] if content_type is None else [(content_type, message_type)])


def test_all_types_response_as_a_page() -> None:
    batch = normalize_sync_response(ALL_TYPES, channel_id=3)
    assert (batch.channel_id, batch.cursor) == (3, "4gw7MepFLfgF2VC5npN")
    assert batch.stream == "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"
    assert len(batch.messages) == 13 and len(batch.agent_changes) == 1
    assert [m.seq for m in batch.messages] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14]
    assert [c.seq for c in batch.state_changes] == [11, 14] and [u.seq for u in batch.message_updates] == [12]


def test_payload_attributes() -> None:
    text = normalize_message(sample("text"))
    assert (text.content, text.content_attributes) == ("hello world", {"menu_id": "101"})
    for kind in ("image", "voice", "video", "file"):
        media = normalize_message(sample(kind))
        assert media.media_id == media.content_attributes["media_id"] == "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"
    location = normalize_message(sample("location"))
    assert location.content_attributes["latitude"] == pytest.approx(23.1060218811035)
    assert "滨江东路" in (location.content or "") and location.media_id is None
    link = normalize_message(sample("link")).content_attributes
    assert link == {"title": "TITLE", "description": "DESC", "url": "URL", "thumb_url": "PIC_URL"}
    assert normalize_message(sample("business_card")).content_attributes == {"userid": "USERID"}
    mini = normalize_message(sample("miniprogram")).content_attributes
    assert (mini["appid"], mini["pagepath"], mini["thumb_media_id"]) == ("APPID", "PAGE_PATH", "THUMB_MEDIA_ID")
    menu = normalize_message(sample("msgmenu"))
    items = menu.content_attributes["items"]
    assert [i["type"] for i in items] == ["click", "click", "view", "miniprogram"]
    assert items[0] == {"type": "click", "content": "满意", "id": "101"}
    assert items[3]["appid"] == "wx123123123123123" and "不满意" in (menu.content or "")


def _item(msgtype: str, payload: Any, origin: int = 3, **extra: Any) -> dict[str, Any]:
    return {
        "msgid": "m1",
        "open_kfid": "wk1",
        "external_userid": "wm1",
        "send_time": 1700000000,
        "origin": origin,
        "servicer_userid": extra.pop("servicer_userid", ""),
        "msgtype": msgtype,
        msgtype: payload,
        **extra,
    }


def test_unknown_msgtype_is_kept_raw() -> None:
    item = _item("meeting", {"meeting_id": "abc", "title": "weekly"})
    message = normalize_message(item)
    assert message.content_type is ContentType.UNKNOWN and message.raw == item
    assert message.content_attributes == {"msgtype": "meeting"} and message.content is None


def test_origins() -> None:
    servicer = normalize_message(_item("text", {"content": "hi from the client"}, origin=5, servicer_userid="alice"))
    assert (servicer.message_type, servicer.sender_type, servicer.agent_source_id) == (
        MessageType.OUTGOING,
        SenderType.AGENT,
        "alice",
    )
    assert servicer.window_trigger is None
    system = normalize_message(_item("text", {"content": "system notice"}, origin=4))
    assert (system.message_type, system.sender_type) == (MessageType.ACTIVITY, SenderType.SYSTEM)


def test_channels_and_merged_messages() -> None:
    product = normalize_message(
        _item(
            "channels_shop_product",
            {
                "product_id": "p1",
                "head_image": "https://img/p1",
                "title": "Tea",
                "sales_price": "1999",
                "shop_nickname": "Shop",
                "shop_head_image": "https://img/s",
            },
        )
    )
    assert product.content_type is ContentType.CHANNELS
    assert product.content_attributes["kind"] == "shop_product" and product.content_attributes["image_url"]
    order = normalize_message(
        _item(
            "channels_shop_order",
            {"order_id": "o1", "product_titles": "Tea", "price_wording": "¥19.99", "state": "paid"},
        )
    )
    assert order.content_attributes["order_id"] == "o1" and "¥19.99" in (order.content or "")
    feed = normalize_message(_item("channels", {"sub_type": 1, "nickname": "Vlog", "title": "Spring"}))
    assert (feed.content_type, feed.content_attributes["sub_type"]) == (ContentType.CHANNELS, 1)
    inner = json.dumps({"text": {"content": "first words"}})
    merged = normalize_message(
        _item(
            "merged_msg",
            {
                "title": "History",
                "item": [
                    {"send_time": 1, "msgtype": "text", "sender_name": "Bob", "msg_content": inner},
                    {"send_time": 2, "msgtype": "image", "sender_name": "Ann", "msg_content": "{not json"},
                ],
            },
        )
    )
    assert merged.content_type is ContentType.TEXT and merged.content_attributes["merged"] is True
    assert merged.content == "History\nBob: first words\nAnn: [image]"
    assert merged.content_attributes["items"][0]["content"] == {"text": {"content": "first words"}}


def _event(event: dict[str, Any], origin: int = 4) -> Batch:
    body = {"open_kfid": "wk1", "external_userid": "wm1", **event}
    return one({"msgid": "e1", "send_time": 1700000000, "origin": origin, "msgtype": "event", "event": body})


def test_enter_session_with_and_without_welcome_code() -> None:
    batch = _event({"event_type": "enter_session", "scene": "s", "scene_param": "p", "welcome_code": "W"})
    [change] = batch.state_changes
    assert (change.event_code, change.event_code_kind, change.status) == ("W", "welcome", None)
    assert batch.messages[0].content_attributes == {"event_type": "enter_session", "scene": "s", "scene_param": "p"}
    assert _event({"event_type": "enter_session"}).state_changes == []


@pytest.mark.parametrize(
    ("change_type", "status", "state", "assignee", "code_kind"),
    [
        (1, ConversationStatus.OPEN, "3", "new", "taken"),
        (2, ConversationStatus.OPEN, "3", "new", None),
        (3, ConversationStatus.RESOLVED, "4", "", "closing"),
        (4, ConversationStatus.OPEN, "3", "new", None),
    ],
)
def test_session_status_change(
    change_type: int, status: ConversationStatus, state: str, assignee: str, code_kind: str | None
) -> None:
    code = "C" if code_kind else ""
    batch = _event(
        {
            "event_type": "session_status_change",
            "change_type": change_type,
            "old_servicer_userid": "old",
            "new_servicer_userid": "new" if assignee else "",
            "msg_code": code,
        }
    )
    [change] = batch.state_changes
    assert (change.status, change.platform_state, change.assignee_source_id) == (status, state, assignee)
    assert (change.event_code, change.event_code_kind) == ((code or None), code_kind)
    assert batch.messages[0].content_type is ContentType.EVENT


@pytest.mark.parametrize("fail_type", [0, 4, 6, 10, 13, 99])
def test_msg_send_fail(fail_type: int) -> None:
    batch = _event({"event_type": "msg_send_fail", "fail_msgid": "our-1", "fail_type": fail_type})
    [update] = batch.message_updates
    assert (update.message_source_id, update.failed_code, update.recalled) == ("our-1", fail_type, False)
    assert update.failed_reason == FAIL_REASONS.get(fail_type, f"fail_type_{fail_type}")


@pytest.mark.parametrize("kind", ["user_recall_msg", "servicer_recall_msg"])
def test_recalls(kind: str) -> None:
    batch = _event({"event_type": kind, "recall_msgid": "from_msgid_9", "servicer_userid": "alice"})
    [update] = batch.message_updates
    assert (update.message_source_id, update.recalled) == ("from_msgid_9", True)


@pytest.mark.parametrize(
    ("status", "stop_type", "expected"),
    [(1, None, AgentStatus.ONLINE), (2, 0, AgentStatus.OFFLINE), (2, 1, AgentStatus.SUSPENDED)],
)
def test_servicer_status_change(status: int, stop_type: int | None, expected: AgentStatus) -> None:
    event = {"event_type": "servicer_status_change", "servicer_userid": "alice", "status": status}
    if stop_type is not None:
        event["stop_type"] = stop_type
    batch = one(
        {"msgid": "e2", "send_time": 1, "origin": 4, "msgtype": "event", "event": {**event, "open_kfid": "wk1"}}
    )
    assert batch.messages == []
    [change] = batch.agent_changes
    assert (change.agent_source_id, change.status, change.inbox_source_id) == ("alice", expected, "wk1")


def test_reject_switch_and_unknown_event() -> None:
    reject = _event({"event_type": "reject_customer_msg_switch_change", "servicer_userid": "alice", "reject_switch": 1})
    [message] = reject.messages
    assert message.message_type is MessageType.ACTIVITY and message.content_attributes["reject_switch"] == 1
    assert reject.state_changes == reject.message_updates == []
    future = _event({"event_type": "something_new", "x": 1})
    assert [m.content_attributes["event_type"] for m in future.messages] == ["something_new"]
    assert future.messages[0].raw["event"]["x"] == 1
