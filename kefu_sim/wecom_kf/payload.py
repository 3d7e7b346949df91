"""Message bodies: validation of what send_msg accepts, and the shape of what sync_msg returns.

Send limits are docs/platforms.md §2.5; item shapes follow samples/wecom_kf/sync_msg_item_*.json (same keys,
same types), filled with defaults so a driver can say as little as it likes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from kefu_sim.samples import AMR, MEDIA_FILES, SILK
from kefu_sim.wecom.base import live_media, store_media
from kefu_sim.wecom.state import Media, WeComCorp
from kefu_sim.world import SimError, World

INVALID = 40058  # invalid parameter
MEDIA_MSGTYPES = ("image", "voice", "video", "file")
MENU_FIELDS = {  # item type → {field: (min bytes, max bytes)}
    "click": {"id": (1, 128), "content": (1, 128)},
    "view": {"url": (1, 2048), "content": (1, 1024)},
    "miniprogram": {"appid": (1, 32), "pagepath": (1, 1024), "content": (1, 1024)},
    "text": {"content": (1, 256)},
}
# msgtype → default payload of a sync_msg item (key order as in the samples)
ITEM_SHAPES: dict[str, dict[str, Any]] = {
    "text": {"content": ""},
    "image": {"media_id": ""},
    "voice": {"media_id": ""},
    "video": {"media_id": ""},
    "file": {"media_id": ""},
    "location": {"latitude": 0.0, "longitude": 0.0, "name": "", "address": ""},
    "link": {"title": "", "desc": "", "url": "", "pic_url": ""},
    "business_card": {"userid": ""},
    "miniprogram": {"title": "", "appid": "", "pagepath": "", "thumb_media_id": ""},
    "msgmenu": {"head_content": "", "list": [], "tail_content": ""},
    "channels_shop_product": {
        "product_id": "",
        "head_img": "",
        "title": "",
        "sales_price": "0",
        "shop_nickname": "",
        "shop_head_img": "",
    },
    "channels_shop_order": {
        "order_id": "",
        "product_titles": "",
        "price_wording": "",
        "state": "",
        "image_url": "",
        "shop_nickname": "",
    },
    "channels": {"sub_type": 1, "nickname": "", "title": ""},
    "merged_msg": {"title": "", "item": []},
}


def _text(
    payload: dict[str, Any],
    name: str,
    *,
    max_bytes: int,
    required: bool = True,
    truncate: bool = False,
    min_bytes: int = 1,
) -> str:
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise SimError(INVALID, f"invalid parameter: {name} missing")
        return ""
    if not isinstance(value, str):
        raise SimError(INVALID, f"invalid parameter: {name} must be a string")
    raw = value.encode()
    if len(raw) < min_bytes:
        raise SimError(INVALID, f"invalid parameter: {name} shorter than {min_bytes} bytes")
    if len(raw) > max_bytes:
        if not truncate:
            raise SimError(INVALID, f"invalid parameter: {name} longer than {max_bytes} bytes")
        value = raw[:max_bytes].decode(errors="ignore")
    return value


def _url(payload: dict[str, Any], name: str, max_bytes: int = 2048) -> str:
    value = _text(payload, name, max_bytes=max_bytes)
    if not value.startswith(("http://", "https://")):
        raise SimError(INVALID, f"invalid parameter: {name} must be a URL with a scheme")
    return value


def _media(world: World, corp: WeComCorp, payload: dict[str, Any], name: str, media_type: str | None) -> str:
    media_id = payload.get(name)
    if not media_id:
        raise SimError(41006, f"{name} missing")
    media = live_media(world, corp, media_id)
    if media_type is not None and media.type != media_type:
        raise SimError(40007, f"invalid media_id: {name} is a {media.type}, not a {media_type}")
    return media.media_id


def _menu(payload: dict[str, Any]) -> dict[str, Any]:
    items = payload.get("list", [])
    if not isinstance(items, list):
        raise SimError(INVALID, "invalid parameter: msgmenu.list must be an array")
    if len(items) > 10:
        raise SimError(95008, "too many menu items: at most 10")
    for item in items:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in MENU_FIELDS:
            raise SimError(95009, f"invalid menu item type: {kind!r}")
        body = item.get(kind)
        if not isinstance(body, dict):
            raise SimError(INVALID, f"invalid parameter: menu item {kind} needs a {kind} object")
        for field, (low, high) in MENU_FIELDS[kind].items():
            _text(body, field, max_bytes=high, min_bytes=low)
        if kind == "text" and body.get("no_newline", 0) not in (0, 1):
            raise SimError(INVALID, "invalid parameter: no_newline must be 0 or 1")
    return {
        "head_content": _text(payload, "head_content", max_bytes=1024, required=False),
        "list": items,
        "tail_content": _text(payload, "tail_content", max_bytes=1024, required=False),
    }


def check_send(
    world: World, corp: WeComCorp, body: dict[str, Any], allowed: frozenset[str] | None = None
) -> tuple[str, dict[str, Any]]:
    """Validate the `msgtype` + payload of a send; returns them normalised (titles truncated)."""
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or not msgtype:
        raise SimError(INVALID, "invalid parameter: msgtype missing")
    known = {"text", "link", "miniprogram", "msgmenu", "location", "business_card", "ca_link", *MEDIA_MSGTYPES}
    if msgtype not in known or (allowed is not None and msgtype not in allowed):
        raise SimError(40008, f"invalid message type: {msgtype}")
    payload = body.get(msgtype)
    if not isinstance(payload, dict):
        raise SimError(INVALID, f"invalid parameter: {msgtype} object missing")
    if msgtype == "text":
        content = payload.get("content")
        if not isinstance(content, str) or not content:
            raise SimError(44004, "empty content")
        if len(content.encode()) > 2048:
            raise SimError(45002, "content size out of limit: text is at most 2048 bytes")
        return msgtype, {"content": content}
    if msgtype in MEDIA_MSGTYPES:
        return msgtype, {"media_id": _media(world, corp, payload, "media_id", None if msgtype == "file" else msgtype)}
    if msgtype == "link":
        return msgtype, {
            "title": _text(payload, "title", max_bytes=128, truncate=True),
            "desc": _text(payload, "desc", max_bytes=512, required=False, truncate=True),
            "url": _url(payload, "url"),
            "thumb_media_id": _media(world, corp, payload, "thumb_media_id", "image"),
        }
    if msgtype == "miniprogram":
        return msgtype, {
            "appid": _text(payload, "appid", max_bytes=32),
            "title": _text(payload, "title", max_bytes=64, required=False, truncate=True),
            "thumb_media_id": _media(world, corp, payload, "thumb_media_id", "image"),
            "pagepath": _text(payload, "pagepath", max_bytes=1024),
        }
    if msgtype == "msgmenu":
        return msgtype, _menu(payload)
    if msgtype == "location":
        lat, lng = payload.get("latitude"), payload.get("longitude")
        for name, value, bound in (("latitude", lat, 90), ("longitude", lng, 180)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not -bound <= value <= bound:
                raise SimError(INVALID, f"invalid parameter: {name} must be a number in [-{bound}, {bound}]")
        return msgtype, {
            "name": _text(payload, "name", max_bytes=256, required=False),
            "address": _text(payload, "address", max_bytes=512, required=False),
            "latitude": lat,
            "longitude": lng,
        }
    if msgtype == "business_card":
        userid = _text(payload, "userid", max_bytes=64)
        if userid not in corp.members and userid not in corp.contacts.members:
            raise SimError(60111, f"userid not found: {userid}")
        return msgtype, {"userid": userid}
    return msgtype, {"link_url": _url(payload, "link_url")}  # ca_link (获客链接)


def shape_item(
    world: World, corp: WeComCorp, msgtype: str, given: dict[str, Any]
) -> tuple[dict[str, Any], Media | None]:
    """A customer/servicer message payload in sync_msg shape; makes media when none is given.

    Returns the payload and, for voice, the SILK twin of the media (voice_format=1).
    """
    shape = ITEM_SHAPES.get(msgtype)
    if shape is None:  # unknown/newer msgtypes (meeting, schedule, note...) pass through untouched
        return dict(given), None
    payload = {**shape, **{k: v for k, v in given.items() if k not in ("content_b64", "filename")}}
    if msgtype == "text" and not given.get("menu_id"):
        payload.pop("menu_id", None)
    if msgtype == "location":
        payload["latitude"], payload["longitude"] = float(payload["latitude"]), float(payload["longitude"])
    if msgtype == "merged_msg":
        payload["item"] = [
            {
                **i,
                "msg_content": i["msg_content"]
                if isinstance(i.get("msg_content"), str)
                else json.dumps(i.get("msg_content", {}), ensure_ascii=False),
            }
            for i in payload["item"]
        ]
    silk = None
    if msgtype in MEDIA_MSGTYPES and not payload["media_id"]:
        filename, content = MEDIA_FILES[msgtype]
        if given.get("content_b64"):
            content = base64.b64decode(given["content_b64"])
        filename = given.get("filename") or filename
        payload["media_id"] = store_media(world, corp, msgtype, filename, content).media_id
        if msgtype == "voice":  # the same voice as SILK (the sample's own SILK; given bytes stay as they are)
            as_silk = SILK if content == AMR else content
            silk = store_media(world, corp, "voice", filename.rsplit(".", 1)[0] + ".silk", as_silk, "audio/silk")
    if msgtype == "miniprogram" and not payload["thumb_media_id"]:
        filename, content = MEDIA_FILES["image"]
        payload["thumb_media_id"] = store_media(world, corp, "image", filename, content).media_id
    return payload, silk
