"""WeCom kf sync_msg items → gateway.domain types (docs/platforms.md §2.4). Pure functions, no I/O.

Every item is kept: known msgtypes get a content type and normalized `content_attributes`, unknown
ones (meeting, schedule, note, whatever comes next) become content_type `unknown` with `raw` intact.
Origin 3 = customer (incoming), 5 = servicer in the WeCom client (outgoing, agent), 4 = system
(activity). Events carry their ids inside `event`, so those win over the item header.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from gateway.domain import (
    AgentChange,
    AgentStatus,
    Batch,
    ContentType,
    ConversationStatus,
    InboundMessage,
    MessageType,
    MessageUpdate,
    SenderType,
    StateChange,
    WindowTrigger,
)
from gateway.wechat.xmlmsg import FieldCheck, check_fields, epoch, ident, parse_verified

ORIGIN_CUSTOMER, ORIGIN_SYSTEM, ORIGIN_SERVICER = 3, 4, 5
MEDIA_TYPES = {
    "image": ContentType.IMAGE,
    "voice": ContentType.VOICE,
    "video": ContentType.VIDEO,
    "file": ContentType.FILE,
}
# msg_send_fail.fail_type → failed_reason (7 and 9 only in older lists, 11–13 only in newer ones)
FAIL_REASONS = {
    0: "unknown",
    1: "kf_account_deleted",
    2: "app_closed",
    4: "session_expired",
    5: "session_closed",
    6: "quota_exhausted",
    7: "channels_not_bound",
    8: "corp_not_verified",
    9: "channels_not_bound_and_corp_not_verified",
    10: "user_rejected",
    11: "no_member_logged_in",
    12: "msgtype_forbidden",
    13: "security_restriction",
}

Attrs = dict[str, Any]

# What the gateway reads of a (decrypted) kf callback, with the documented bounds (docs/platforms.md §2.4):
# open_kfid ≤ 64 bytes, the sync Token ≤ 128 bytes (sync_cursors holds 128 and 256). Other events on the
# same URL are only stored.
CALLBACK_FIELDS: dict[str, FieldCheck] = {
    "ToUserName": ident(64),
    "CreateTime": epoch,
    "MsgType": ident(32),
    "Event": ident(48),
    "Token": ident(128),
    "OpenKfId": ident(64),
    "AuthAddOpenKfId": ident(64, repeat=True),
    "AuthDelOpenKfId": ident(64, repeat=True),
}


def callback_fields(payload: str) -> dict[str, Any]:
    """A verified callback's plaintext → its fields; MalformedCallback (carrying `payload`) when it
    is no XML or a field breaks CALLBACK_FIELDS."""
    return check_fields(parse_verified(payload), CALLBACK_FIELDS, payload=payload)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _join(*parts: Any) -> str | None:
    text = "\n".join(str(p) for p in parts if p not in (None, ""))
    return text or None


def sent_at(item: dict[str, Any]) -> datetime:
    """send_time (epoch seconds) as an aware UTC datetime; 0 when absent."""
    try:
        return datetime.fromtimestamp(int(item.get("send_time") or 0), UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.fromtimestamp(0, UTC)


# ---------------------------------------------------------------------- message payloads


def _text(p: Attrs) -> tuple[ContentType, str | None, Attrs]:
    attrs = {"menu_id": p["menu_id"]} if p.get("menu_id") else {}
    return ContentType.TEXT, _str(p.get("content")), attrs


def _location(p: Attrs) -> tuple[ContentType, str | None, Attrs]:
    attrs = {
        "latitude": p.get("latitude"),
        "longitude": p.get("longitude"),
        "name": _str(p.get("name")),
        "address": _str(p.get("address")),
    }
    return ContentType.LOCATION, _join(p.get("name"), p.get("address")), attrs


def _link(p: Attrs) -> tuple[ContentType, str | None, Attrs]:
    attrs = {
        "title": _str(p.get("title")),
        "description": _str(p.get("desc")),
        "url": _str(p.get("url")),
        "thumb_url": _str(p.get("pic_url")),
    }
    return ContentType.LINK, _join(p.get("title"), p.get("desc"), p.get("url")), attrs


def _business_card(p: Attrs) -> tuple[ContentType, str | None, Attrs]:
    return ContentType.BUSINESS_CARD, _str(p.get("userid")) or None, {"userid": _str(p.get("userid"))}


def _miniprogram(p: Attrs) -> tuple[ContentType, str | None, Attrs]:
    attrs = {
        "title": _str(p.get("title")),
        "appid": _str(p.get("appid")),
        "pagepath": _str(p.get("pagepath")),
        "thumb_media_id": _str(p.get("thumb_media_id")),
    }
    return ContentType.MINIPROGRAM, _str(p.get("title")) or None, attrs


def menu_items(items: Iterable[Any]) -> list[Attrs]:
    """msgmenu `list` → [{type, content, id? | url? | appid+pagepath? | no_newline?}]."""
    out: list[Attrs] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = _str(item.get("type"))
        body = found if isinstance(found := item.get(kind), dict) else {}
        entry: Attrs = {"type": kind, "content": _str(body.get("content"))}
        for key in ("id", "url", "appid", "pagepath", "no_newline"):
            if key in body:
                entry[key] = body[key]
        out.append(entry)
    return out


def _menu(p: Attrs) -> tuple[ContentType, str | None, Attrs]:
    items = menu_items(p.get("list") or [])
    attrs = {"head_content": _str(p.get("head_content")), "items": items, "tail_content": _str(p.get("tail_content"))}
    return ContentType.MENU, _join(p.get("head_content"), *(i["content"] for i in items), p.get("tail_content")), attrs


def _channels(p: Attrs) -> tuple[ContentType, str | None, Attrs]:
    attrs = {
        "kind": "channels",
        "sub_type": p.get("sub_type"),
        "nickname": _str(p.get("nickname")),
        "title": _str(p.get("title")),
    }
    return ContentType.CHANNELS, _join(p.get("nickname"), p.get("title")), attrs


def _shop_product(p: Attrs) -> tuple[ContentType, str | None, Attrs]:
    attrs = {
        "kind": "shop_product",
        "product_id": _str(p.get("product_id")),
        "title": _str(p.get("title")),
        "sales_price": p.get("sales_price"),
        "shop_nickname": _str(p.get("shop_nickname")),
        # one SDK spells these head_image / shop_head_image (doc-version drift)
        "image_url": _str(p.get("head_img") or p.get("head_image")),
        "shop_image_url": _str(p.get("shop_head_img") or p.get("shop_head_image")),
    }
    return ContentType.CHANNELS, _join(p.get("title"), p.get("shop_nickname")), attrs


def _shop_order(p: Attrs) -> tuple[ContentType, str | None, Attrs]:
    attrs = {
        "kind": "shop_order",
        "order_id": _str(p.get("order_id")),
        "product_titles": _str(p.get("product_titles")),
        "price_wording": _str(p.get("price_wording")),
        "state": _str(p.get("state")),
        "image_url": _str(p.get("image_url")),
        "shop_nickname": _str(p.get("shop_nickname")),
    }
    return ContentType.CHANNELS, _join(p.get("product_titles"), p.get("price_wording")), attrs


def _merged(p: Attrs) -> tuple[ContentType, str | None, Attrs]:
    """Chat history forwarded as one message; each `msg_content` is a JSON string of the inner message."""
    items: list[Attrs] = []
    lines: list[str] = []
    for entry in p.get("item") or []:
        if not isinstance(entry, dict):
            continue
        inner: Any = entry.get("msg_content")
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except ValueError:
                inner = {"text": {"content": inner}}
        msgtype = _str(entry.get("msgtype"))
        text = ""
        if isinstance(inner, dict):
            body = found if isinstance(found := inner.get(msgtype), dict) else {}
            text = _str(body.get("content") or body.get("title"))
        items.append(
            {
                "sender_name": _str(entry.get("sender_name")),
                "send_time": entry.get("send_time"),
                "msgtype": msgtype,
                "content": inner,
            }
        )
        lines.append(f"{_str(entry.get('sender_name'))}: {text or '[' + msgtype + ']'}")
    return (
        ContentType.TEXT,
        _join(p.get("title"), *lines),
        {"merged": True, "title": _str(p.get("title")), "items": items},
    )


PAYLOADS: dict[str, Callable[[Attrs], tuple[ContentType, str | None, Attrs]]] = {
    "text": _text,
    "location": _location,
    "link": _link,
    "business_card": _business_card,
    "miniprogram": _miniprogram,
    "msgmenu": _menu,
    "channels": _channels,
    "channels_shop_product": _shop_product,
    "channels_shop_order": _shop_order,
    "merged_msg": _merged,
}


def normalize_message(item: dict[str, Any]) -> InboundMessage:
    """A non-event item (any msgtype, known or not) → InboundMessage with the item as `raw`."""
    msgtype = _str(item.get("msgtype"))
    payload = found if isinstance(found := item.get(msgtype), dict) else {}
    media_id = None
    if msgtype in MEDIA_TYPES:
        media_id = _str(payload.get("media_id")) or None
        content_type, content, attrs = MEDIA_TYPES[msgtype], None, {"media_id": media_id}
    elif msgtype in PAYLOADS:
        content_type, content, attrs = PAYLOADS[msgtype](payload)
    else:
        content_type, content, attrs = ContentType.UNKNOWN, None, {"msgtype": msgtype}
    origin = item.get("origin")
    servicer = _str(item.get("servicer_userid")) or None
    if origin == ORIGIN_SERVICER:
        message_type, sender_type, agent = MessageType.OUTGOING, SenderType.AGENT, servicer
    elif origin == ORIGIN_SYSTEM:
        message_type, sender_type, agent = MessageType.ACTIVITY, SenderType.SYSTEM, None
    else:  # 3, and anything undocumented: treat it as the customer's
        message_type, sender_type, agent = MessageType.INCOMING, SenderType.CONTACT, None
    return InboundMessage(
        source_id=_str(item.get("msgid")),
        inbox_source_id=_str(item.get("open_kfid")),
        contact_source_id=_str(item.get("external_userid")),
        message_type=message_type,
        sender_type=sender_type,
        content_type=content_type,
        sent_at=sent_at(item),
        content=content,
        content_attributes=attrs,
        raw=item,
        agent_source_id=agent,
        window_trigger=WindowTrigger.USER_MESSAGE if message_type is MessageType.INCOMING else None,
        media_id=media_id,
    )


def normalize_item(item: dict[str, Any], batch: Batch, seq: int = 0) -> None:
    """Add what one sync_msg item means to `batch`; everything it yields carries `seq` (page order)."""
    lists: tuple[Sequence[InboundMessage | StateChange | MessageUpdate], ...] = (
        batch.messages,
        batch.state_changes,
        batch.message_updates,
    )
    before = [len(entries) for entries in lists]
    if item.get("msgtype") == "event" and isinstance(item.get("event"), dict):
        normalize_event(item, batch)
    else:
        batch.messages.append(normalize_message(item))
    for entries, start in zip(lists, before, strict=True):
        for entry in entries[start:]:
            entry.seq = seq


def normalize_items(
    channel_id: int, items: Iterable[dict[str, Any]], *, stream: str | None = None, cursor: str | None = None
) -> Batch:
    """A page of items → one Batch; items are numbered from 1 so ingest keeps the page order."""
    batch = Batch(channel_id=channel_id, stream=stream, cursor=cursor)
    for seq, item in enumerate((i for i in items if isinstance(i, dict)), start=1):
        normalize_item(item, batch, seq)
    return batch


def normalize_sync_response(data: dict[str, Any], channel_id: int = 0) -> Batch:
    """A whole sync_msg answer (e.g. a captured JSON file) → Batch with `next_cursor` as cursor."""
    items = data.get("msg_list") or []
    stream = next((i.get("open_kfid") for i in items if isinstance(i, dict) and i.get("open_kfid")), None)
    return normalize_items(channel_id, items, stream=stream, cursor=data.get("next_cursor") or None)


# ---------------------------------------------------------------------- events (origin 4)


def _activity(
    item: dict[str, Any], event: Attrs, content: str, attrs: Attrs, agent: str | None = None
) -> InboundMessage:
    return InboundMessage(
        source_id=_str(item.get("msgid")),
        inbox_source_id=_str(event.get("open_kfid") or item.get("open_kfid")),
        contact_source_id=_str(event.get("external_userid") or item.get("external_userid")),
        message_type=MessageType.ACTIVITY,
        sender_type=SenderType.SYSTEM,
        content_type=ContentType.EVENT,
        sent_at=sent_at(item),
        content=content,
        content_attributes={"event_type": _str(event.get("event_type")), **attrs},
        raw=item,
        agent_source_id=agent or None,
    )


# session_status_change.change_type → (status, platform state, activity text)
SESSION_CHANGES = {
    1: (ConversationStatus.OPEN, "3", "taken from the queue by {new}"),
    2: (ConversationStatus.OPEN, "3", "transferred from {old} to {new}"),
    3: (ConversationStatus.RESOLVED, "4", "ended by {old}"),
    4: (ConversationStatus.OPEN, "3", "taken back by {new}"),
}
CODE_KINDS = {1: "taken", 3: "closing"}  # change_type → event_code_kind of its msg_code


def normalize_event(item: dict[str, Any], batch: Batch) -> None:
    """One event item → an activity message (when it concerns a customer) plus its typed change."""
    event: Attrs = item["event"]
    kind = _str(event.get("event_type"))
    at = sent_at(item)
    inbox = _str(event.get("open_kfid") or item.get("open_kfid"))
    contact = _str(event.get("external_userid"))
    servicer = _str(event.get("servicer_userid")) or None

    if kind == "servicer_status_change":  # about an agent, not a conversation: no message
        status = AgentStatus.ONLINE
        if event.get("status") == 2:
            status = AgentStatus.SUSPENDED if event.get("stop_type") == 1 else AgentStatus.OFFLINE
        if servicer:
            batch.agent_changes.append(
                AgentChange(agent_source_id=servicer, status=status, inbox_source_id=inbox or None)
            )
        return
    if not contact:  # an event we do not know that names no customer: nothing to attach it to
        contact = _str(item.get("external_userid"))
        if not contact:
            return

    if kind == "enter_session":
        attrs = {k: event[k] for k in ("scene", "scene_param", "wechat_channels") if event.get(k)}
        batch.messages.append(_activity(item, event, "entered the session", attrs))
        if event.get("welcome_code"):
            batch.state_changes.append(
                StateChange(
                    inbox_source_id=inbox,
                    contact_source_id=contact,
                    at=at,
                    event_code=_str(event["welcome_code"]),
                    event_code_kind="welcome",
                )
            )
    elif kind == "session_status_change":
        change_type = event.get("change_type")
        old, new = _str(event.get("old_servicer_userid")), _str(event.get("new_servicer_userid"))
        attrs = {"change_type": change_type, "old_servicer_userid": old, "new_servicer_userid": new}
        known = SESSION_CHANGES.get(change_type) if isinstance(change_type, int) else None
        text = known[2].format(old=old or "a servicer", new=new or "a servicer") if known else "session changed"
        batch.messages.append(_activity(item, event, text, attrs, new or old))
        if known is not None:
            code = _str(event.get("msg_code")) or None
            batch.state_changes.append(
                StateChange(
                    inbox_source_id=inbox,
                    contact_source_id=contact,
                    at=at,
                    status=known[0],
                    platform_state=known[1],
                    assignee_source_id="" if change_type == 3 else new,
                    event_code=code,
                    event_code_kind=CODE_KINDS.get(change_type) if code and isinstance(change_type, int) else None,
                )
            )
    elif kind == "msg_send_fail":
        fail_type = event.get("fail_type")
        fail_code = fail_type if isinstance(fail_type, int) else None
        reason = FAIL_REASONS.get(fail_code, f"fail_type_{fail_type}") if fail_code is not None else "unknown"
        msgid = _str(event.get("fail_msgid"))
        batch.messages.append(
            _activity(
                item,
                event,
                f"message {msgid} was not delivered: {reason}",
                {"fail_msgid": msgid, "fail_type": fail_type, "failed_reason": reason},
            )
        )
        batch.message_updates.append(
            MessageUpdate(
                inbox_source_id=inbox, message_source_id=msgid, at=at, failed_reason=reason, failed_code=fail_code
            )
        )
    elif kind in ("user_recall_msg", "servicer_recall_msg"):
        msgid = _str(event.get("recall_msgid"))
        who = "the customer" if kind == "user_recall_msg" else (servicer or "a servicer")
        batch.messages.append(_activity(item, event, f"{who} recalled a message", {"recall_msgid": msgid}, servicer))
        batch.message_updates.append(
            MessageUpdate(inbox_source_id=inbox, message_source_id=msgid, at=at, recalled=True)
        )
    elif kind == "reject_customer_msg_switch_change":
        switch = event.get("reject_switch")
        text = f"{servicer or 'a servicer'} {'rejects' if switch == 1 else 'accepts again'} this customer's messages"
        batch.messages.append(_activity(item, event, text, {"reject_switch": switch}, servicer))
    else:  # an event type we do not know yet: keep it visible and raw
        batch.messages.append(_activity(item, event, kind or "event", {}, servicer))
