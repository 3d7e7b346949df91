"""MP callback XML (already verified and decrypted) → the unified model (docs/architecture.md §3, docs/platforms.md §4).

User messages become incoming messages (source_id = MsgId) that open the 48 h reply window;
events become activity items (source_id = "FromUserName:CreateTime:Event") and the kf session
events become StateChanges. Unknown message types and events are kept (content_type unknown /
event, raw payload), never dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from gateway.domain import (
    Batch,
    ContentType,
    ConversationStatus,
    InboundMessage,
    MessageType,
    SenderType,
    StateChange,
    WindowTrigger,
)
from gateway.wechat.xmlmsg import (
    FieldCheck,
    MalformedCallback,
    check_fields,
    digits,
    epoch,
    ident,
    number,
    parse_xml,
    text,
)

# Events that open the short custom/send grant (docs/platforms.md §4.2: click, scancode_push, scancode_waitmsg,
# subscribe, QR scan). VIEW, location and picture events grant nothing.
EVENT_TRIGGERS = {
    "subscribe": WindowTrigger.SUBSCRIBE,
    "CLICK": WindowTrigger.MENU_CLICK,
    "scancode_push": WindowTrigger.MENU_CLICK,
    "scancode_waitmsg": WindowTrigger.MENU_CLICK,
    "SCAN": WindowTrigger.SCAN,
}
SESSION_EVENTS = ("kf_create_session", "kf_switch_session", "kf_close_session")

# What the gateway reads of an MP callback, with the platform's types (docs/platforms.md §4, §5.5). Ids are
# visible ASCII, bounded by the widest the platform hands out (an openid is 28 characters, a kf_account
# "prefix@wechat-id" at most 41, media ids 64) with room to spare, and never past the columns they
# reach: an event's source_id "FromUserName:CreateTime:Event" stays within messages.source_id (128).
# Text has no bound but the document's: it is stored in full (Text and JSON columns).
FIELDS: dict[str, FieldCheck] = {
    "ToUserName": ident(64),
    "FromUserName": ident(64),
    "CreateTime": epoch,
    "MsgType": ident(32),
    "MsgId": digits(20),  # a 64-bit integer
    "MsgID": digits(20),
    "Event": ident(48),
    "Content": text,
    "bizmsgmenuid": text,
    "MediaId": ident(256),
    "ThumbMediaId": ident(256),
    "PicUrl": text,
    "Format": text,
    "Recognition": text,
    "Location_X": number(-90, 90),
    "Location_Y": number(-180, 180),
    "Scale": number(),
    "Label": text,
    "Title": text,
    "Description": text,
    "Url": text,
    "FileKey": text,
    "FileMd5": text,
    "FileTotalLen": digits(20),
    "EventKey": text,
    "Ticket": text,
    "MenuId": text,
    "Latitude": number(-90, 90),
    "Longitude": number(-180, 180),
    "Precision": number(),
    "KfAccount": ident(128),
    "FromKfAccount": ident(128),
    "ToKfAccount": ident(128),
}
REQUIRED = ("FromUserName", "MsgType", "CreateTime")


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) and value != "" else None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def event_key(fields: dict[str, Any]) -> str:
    """The dedupe key of a callback: MsgId for messages, FromUserName:CreateTime:Event for events.

    This is the platform's own dedupe advice and docs/architecture.md's contract. Its known limit: two different
    events of one user in the same second (two menu clicks) share a key, so the second is taken for
    a retry (tests/reliability/test_callback_replay.py records it as an expected failure).
    """
    created = str(fields.get("CreateTime", "")).strip()  # FIELDS allows whitespace around numbers
    if fields.get("MsgType") == "event":
        return f"{fields.get('FromUserName', '')}:{created}:{fields.get('Event', '')}"
    msgid = _text(fields, "MsgId") or _text(fields, "MsgID")
    if msgid is None or not msgid.strip():  # every user message carries MsgId; else the event shape
        return f"{fields.get('FromUserName', '')}:{created}:{fields.get('MsgType', '')}"
    return msgid.strip()


def _message_content(msgtype: str, f: dict[str, Any]) -> tuple[ContentType, str | None, dict[str, Any], str | None]:
    """(content_type, content, content_attributes, media_id) of a user message."""
    if msgtype == "text":
        attrs = _drop_none({"menu_id": _text(f, "bizmsgmenuid")})  # a click on an msgmenu item
        return ContentType.TEXT, f.get("Content") or "", attrs, None
    if msgtype == "image":
        media = _text(f, "MediaId")
        return ContentType.IMAGE, None, _drop_none({"media_id": media, "pic_url": _text(f, "PicUrl")}), media
    if msgtype == "voice":
        media = _text(f, "MediaId")
        attrs = _drop_none({"media_id": media, "format": _text(f, "Format"), "recognition": _text(f, "Recognition")})
        return ContentType.VOICE, _text(f, "Recognition"), attrs, media
    if msgtype in ("video", "shortvideo"):
        media = _text(f, "MediaId")
        attrs = _drop_none({"media_id": media, "thumb_media_id": _text(f, "ThumbMediaId")})
        if msgtype == "shortvideo":
            attrs["short"] = True
        return ContentType.VIDEO, None, attrs, media
    if msgtype == "location":
        attrs = _drop_none(
            {
                "latitude": _number(f.get("Location_X")),
                "longitude": _number(f.get("Location_Y")),
                "scale": _number(f.get("Scale")),
                "label": _text(f, "Label"),
            }
        )
        return ContentType.LOCATION, _text(f, "Label"), attrs, None
    if msgtype == "link":
        attrs = _drop_none({"title": _text(f, "Title"), "description": _text(f, "Description"), "url": _text(f, "Url")})
        return ContentType.LINK, _text(f, "Title"), attrs, None
    if msgtype == "file":
        attrs = _drop_none(
            {
                "title": _text(f, "Title"),
                "description": _text(f, "Description"),
                "file_key": _text(f, "FileKey"),
                "file_md5": _text(f, "FileMd5"),
                "file_size": _number(f.get("FileTotalLen")),
            }
        )
        return ContentType.FILE, _text(f, "Title"), attrs, None
    return ContentType.UNKNOWN, None, {"msgtype": msgtype}, None


_EVENT_TEXT = {"EventKey": "event_key", "Ticket": "ticket", "MenuId": "menu_id"}
_EVENT_NUMBERS = {"Latitude": "latitude", "Longitude": "longitude", "Precision": "precision"}  # LOCATION


def _event_attributes(event: str, f: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {"event": event}
    for tag, name in _EVENT_TEXT.items():
        if (value := _text(f, tag)) is not None:
            attrs[name] = value
    for tag, name in _EVENT_NUMBERS.items():
        if (found := _number(f.get(tag))) is not None:
            attrs[name] = found
    return attrs


def normalize(fields: dict[str, Any], *, app_id: str, channel_id: int, payload: str | None = None) -> Batch:
    """One decrypted callback → a Batch (one message or one state change).

    Raises MalformedCallback (an XmlParseError, -40002, carrying `payload`) when a field breaks FIELDS
    or FromUserName, MsgType or CreateTime is missing or empty.
    """
    check_fields(fields, FIELDS, required=REQUIRED, payload=payload)
    batch = Batch(channel_id=channel_id)
    openid, msgtype = _text(fields, "FromUserName"), _text(fields, "MsgType")
    if openid is None or msgtype is None:
        raise MalformedCallback("MP callback with an empty FromUserName or MsgType", payload=payload)
    at = datetime.fromtimestamp(int(fields["CreateTime"].strip()), tz=UTC)
    key = event_key(fields)
    common: dict[str, Any] = {
        "source_id": key,
        "inbox_source_id": app_id,
        "contact_source_id": openid,
        "sent_at": at,
        "raw": fields,
    }
    if msgtype != "event":
        content_type, content, attrs, media_id = _message_content(msgtype, fields)
        batch.messages.append(
            InboundMessage(
                message_type=MessageType.INCOMING,
                sender_type=SenderType.CONTACT,
                content_type=content_type,
                content=content,
                content_attributes=attrs,
                media_id=media_id,
                window_trigger=WindowTrigger.USER_MESSAGE,
                **common,
            )
        )
        return batch
    event = _text(fields, "Event") or ""
    if event in SESSION_EVENTS:
        batch.state_changes.append(_session_change(event, fields, app_id, openid, at))
        return batch
    batch.messages.append(
        InboundMessage(
            message_type=MessageType.ACTIVITY,
            sender_type=SenderType.CONTACT,
            content_type=ContentType.EVENT,
            content=event,
            content_attributes=_event_attributes(event, fields),
            window_trigger=EVENT_TRIGGERS.get(event),
            **common,
        )
    )
    return batch


def _session_change(event: str, f: dict[str, Any], app_id: str, openid: str, at: datetime) -> StateChange:
    """kf_create_session / kf_switch_session → open with the (new) kf; kf_close_session → resolved."""
    common: dict[str, Any] = {"inbox_source_id": app_id, "contact_source_id": openid, "at": at, "platform_state": event}
    if event == "kf_close_session":  # the closing kf rides along: a close by a kf that no longer holds it is stale
        return StateChange(status=ConversationStatus.RESOLVED, assignee_source_id=_text(f, "KfAccount"), **common)
    assignee = _text(f, "ToKfAccount") if event == "kf_switch_session" else _text(f, "KfAccount")
    return StateChange(status=ConversationStatus.OPEN, assignee_source_id=assignee or "", **common)


def normalize_callback_xml(xml: str | bytes, app_id: str) -> list[dict[str, Any]]:
    """A plaintext MP callback (e.g. a captured sample) → JSON-ready dicts, one per unified item.

    Each dict is the item's fields plus `kind`: "message" or "state_change". Used by
    `kefu-gateway normalize --platform mp FILE`; raises XmlParseError on bad input.
    """
    batch = normalize(parse_xml(xml), app_id=app_id, channel_id=0)
    items = [{"kind": "message", **msgspec.to_builtins(m)} for m in batch.messages]
    items += [{"kind": "state_change", **msgspec.to_builtins(s)} for s in batch.state_changes]
    return items
