"""MP callback XML → unified items: every captured sample, the events, and malformed input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.channels.mp_normalize import event_key, normalize, normalize_callback_xml
from gateway.domain import ContentType, ConversationStatus, MessageType, SenderType, WindowTrigger
from gateway.errors import XmlParseError
from gateway.wechat.xmlmsg import build_xml, parse_xml

DATA = Path(__file__).parent.parent / "data" / "mp_kefu"
APP = "wx0123456789abcdef"

# sample → (content_type, message_type, source_id, expected content, expected content_attributes subset)
MESSAGES: dict[str, tuple[ContentType, MessageType, str, str | None, dict[str, Any]]] = {
    "callback_msg_text.xml": (ContentType.TEXT, MessageType.INCOMING, "1234567890123456", "this is a test", {}),
    "callback_msg_text_msgmenu_click.xml": (
        ContentType.TEXT,
        MessageType.INCOMING,
        "1234567890123456",
        "满意",
        {"menu_id": "101"},
    ),
    "callback_msg_image.xml": (
        ContentType.IMAGE,
        MessageType.INCOMING,
        "1234567890123456",
        None,
        {"media_id": "media_id", "pic_url": "this is a url"},
    ),
    "callback_msg_voice.xml": (
        ContentType.VOICE,
        MessageType.INCOMING,
        "1234567890123456",
        None,
        {"media_id": "media_id", "format": "Format"},
    ),
    "callback_msg_video.xml": (
        ContentType.VIDEO,
        MessageType.INCOMING,
        "1234567890123456",
        None,
        {"media_id": "media_id", "thumb_media_id": "thumb_media_id"},
    ),
    "callback_msg_location.xml": (
        ContentType.LOCATION,
        MessageType.INCOMING,
        "1234567890123456",
        "位置信息",
        {"latitude": 23.134521, "longitude": 113.358803, "scale": 20.0, "label": "位置信息"},
    ),
    "callback_msg_link.xml": (
        ContentType.LINK,
        MessageType.INCOMING,
        "1234567890123456",
        "公众平台官网链接",
        {"title": "公众平台官网链接", "url": "url"},
    ),
}
# sample → (status, assignee_source_id, platform_state)
# kf_close_session names the closing kf: ingest ignores a close by a kf that no longer holds the conversation
SESSIONS: dict[str, tuple[ConversationStatus, str | None, str]] = {
    "callback_event_kf_create_session.xml": (ConversationStatus.OPEN, "test1@test", "kf_create_session"),
    "callback_event_kf_switch_session.xml": (ConversationStatus.OPEN, "test2@test", "kf_switch_session"),
    "callback_event_kf_close_session.xml": (ConversationStatus.RESOLVED, "test1@test", "kf_close_session"),
}


def _load(name: str) -> dict[str, Any]:
    return parse_xml((DATA / name).read_bytes())


def test_the_table_covers_every_captured_sample() -> None:
    assert {p.name for p in DATA.glob("callback_*.xml")} == set(MESSAGES) | set(SESSIONS)


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_user_message_samples(name: str) -> None:
    content_type, message_type, source_id, content, attrs = MESSAGES[name]
    fields = _load(name)
    batch = normalize(fields, app_id=APP, channel_id=7)
    assert batch.channel_id == 7 and not batch.state_changes
    [msg] = batch.messages
    assert (msg.content_type, msg.message_type, msg.source_id) == (content_type, message_type, source_id)
    assert msg.content == content
    assert attrs.items() <= msg.content_attributes.items()
    assert msg.inbox_source_id == APP
    assert msg.contact_source_id == fields["FromUserName"]
    assert msg.sender_type is SenderType.CONTACT
    assert msg.window_trigger is WindowTrigger.USER_MESSAGE  # a msgmenu click is a user message too
    assert msg.sent_at == datetime.fromtimestamp(int(fields["CreateTime"]), tz=UTC)
    assert msg.raw == fields
    assert msg.media_id == attrs.get("media_id")
    assert event_key(fields) == source_id


def test_plain_text_has_no_menu_id() -> None:
    [msg] = normalize(_load("callback_msg_text.xml"), app_id=APP, channel_id=1).messages
    assert "menu_id" not in msg.content_attributes


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_kf_session_event_samples(name: str) -> None:
    status, assignee, platform_state = SESSIONS[name]
    fields = _load(name)
    batch = normalize(fields, app_id=APP, channel_id=1)
    assert not batch.messages
    [change] = batch.state_changes
    assert (change.status, change.assignee_source_id, change.platform_state) == (status, assignee, platform_state)
    assert change.contact_source_id == "fromuser" and change.inbox_source_id == APP
    assert change.at == datetime.fromtimestamp(1399197672, tz=UTC)
    assert event_key(fields) == f"fromuser:1399197672:{platform_state}"


def _event(event: str, **extra: Any) -> dict[str, Any]:
    xml = build_xml(
        {
            "ToUserName": "gh_1",
            "FromUserName": "oUser",
            "CreateTime": 1700000000,
            "MsgType": "event",
            "Event": event,
            **extra,
        }
    )
    return parse_xml(xml)


@pytest.mark.parametrize(
    ("event", "extra", "trigger", "attrs"),
    [
        (
            "subscribe",
            {"EventKey": "qrscene_42", "Ticket": "gQ1"},
            WindowTrigger.SUBSCRIBE,
            {"event_key": "qrscene_42", "ticket": "gQ1"},
        ),
        ("unsubscribe", {"EventKey": ""}, None, {}),
        ("CLICK", {"EventKey": "V1001_TODAY"}, WindowTrigger.MENU_CLICK, {"event_key": "V1001_TODAY"}),
        ("scancode_push", {"EventKey": "scan1"}, WindowTrigger.MENU_CLICK, {"event_key": "scan1"}),
        ("VIEW", {"EventKey": "https://example.com/"}, None, {"event_key": "https://example.com/"}),
        ("SCAN", {"EventKey": "123", "Ticket": "gQ2"}, WindowTrigger.SCAN, {"event_key": "123", "ticket": "gQ2"}),
        (
            "LOCATION",
            {"Latitude": "23.1", "Longitude": "113.3", "Precision": "119.3"},
            None,
            {"latitude": 23.1, "longitude": 113.3, "precision": 119.3},
        ),
        ("TEMPLATESENDJOBFINISH", {"Status": "success"}, None, {}),
    ],
)
def test_events_become_activity(
    event: str, extra: dict[str, Any], trigger: WindowTrigger | None, attrs: dict[str, Any]
) -> None:
    fields = _event(event, **extra)
    [msg] = normalize(fields, app_id=APP, channel_id=1).messages
    assert msg.message_type is MessageType.ACTIVITY and msg.content_type is ContentType.EVENT
    assert msg.source_id == f"oUser:1700000000:{event}" == event_key(fields)
    assert msg.window_trigger == trigger
    assert msg.content_attributes == {"event": event, **attrs}
    assert msg.raw == fields


def _message(msgtype: str, **extra: Any) -> dict[str, Any]:
    return parse_xml(
        build_xml(
            {
                "ToUserName": "gh_1",
                "FromUserName": "oUser",
                "CreateTime": 1700000000,
                "MsgType": msgtype,
                **extra,
                "MsgId": 99,
            }
        )
    )


def test_shortvideo_voice_recognition_and_file() -> None:
    [short] = normalize(_message("shortvideo", MediaId="m1", ThumbMediaId="t1"), app_id=APP, channel_id=1).messages
    assert short.content_type is ContentType.VIDEO and short.content_attributes["short"] is True
    assert short.media_id == "m1"
    [voice] = normalize(
        _message("voice", MediaId="m2", Format="amr", Recognition="你好"), app_id=APP, channel_id=1
    ).messages
    assert voice.content == "你好" and voice.content_attributes["recognition"] == "你好"
    [file] = normalize(
        _message("file", Title="a.pdf", FileKey="k", FileMd5="d", FileTotalLen="12"), app_id=APP, channel_id=1
    ).messages
    assert file.content_type is ContentType.FILE and file.content == "a.pdf"
    assert file.content_attributes["file_size"] == 12.0


def test_unknown_message_type_is_kept_raw() -> None:
    fields = _message("hologram", Beam="x")
    [msg] = normalize(fields, app_id=APP, channel_id=1).messages
    assert msg.content_type is ContentType.UNKNOWN and msg.source_id == "99"
    assert msg.raw["Beam"] == "x" and msg.content_attributes == {"msgtype": "hologram"}


@pytest.mark.parametrize("drop", ["FromUserName", "MsgType", "CreateTime"])
def test_missing_head_fields_are_refused(drop: str) -> None:
    fields = _load("callback_msg_text.xml")
    del fields[drop]
    with pytest.raises(XmlParseError):
        normalize(fields, app_id=APP, channel_id=1)


def test_non_numeric_create_time_is_refused() -> None:
    fields = _load("callback_msg_text.xml")
    fields["CreateTime"] = "yesterday"
    with pytest.raises(XmlParseError):
        normalize(fields, app_id=APP, channel_id=1)


def test_normalize_callback_xml_for_the_cli() -> None:
    [item] = normalize_callback_xml((DATA / "callback_msg_text_msgmenu_click.xml").read_text("utf-8"), APP)
    assert item["kind"] == "message" and item["source_id"] == "1234567890123456"
    assert item["content_type"] == "text" and item["content_attributes"] == {"menu_id": "101"}
    assert item["sent_at"] == "2017-07-14T02:40:00Z"
    [change] = normalize_callback_xml((DATA / "callback_event_kf_switch_session.xml").read_bytes(), APP)
    assert change == {
        "kind": "state_change",
        "inbox_source_id": APP,
        "contact_source_id": "fromuser",
        "at": "2014-05-04T10:01:12Z",
        "status": "open",
        "platform_state": "kf_switch_session",
        "assignee_source_id": "test2@test",
    }
    with pytest.raises(XmlParseError):
        normalize_callback_xml("<xml><MsgType>text", APP)
