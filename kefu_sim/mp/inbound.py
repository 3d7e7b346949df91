"""What MP followers do (follow, leave, write, click, scan): state changes plus the pushed callbacks."""

from __future__ import annotations

from typing import Any

from kefu_sim.callbacks import CallbackDispatcher, CallbackRecord
from kefu_sim.mp.callbacks import base_fields, push, push_event
from kefu_sim.mp.ops import OPERCODE_KF_RECEIVED, add_record, new_msgid, record_text
from kefu_sim.mp.state import MpApp, MpFollower, MpWaitCase
from kefu_sim.mp.users import store_media
from kefu_sim.samples import AMR, JPEG, MP4
from kefu_sim.world import SimError, World

USER_MSGTYPES = ("text", "image", "voice", "video", "shortvideo", "location", "link")
GRANTING_EVENTS = ("CLICK", "SCAN")  # VIEW (opening a menu link) grants no custom/send allowance
MENU_EVENTS = ("CLICK", "VIEW", "SCAN")
# kind → (file name, bytes, content type) of what a follower sends: real files (kefu_sim.samples)
_SENT = {
    "image": ("image.jpg", JPEG, "image/jpeg"),
    "voice": ("voice.amr", AMR, "audio/amr"),
    "video": ("video.mp4", MP4, "video/mp4"),
}


def _open_event_grant(world: World, follower: MpFollower) -> None:
    follower.event_at = world.now()
    follower.event_sent = 0


def follow(
    world: World, dispatcher: CallbackDispatcher, app: MpApp, follower: MpFollower, *, qr_scene_str: str = ""
) -> CallbackRecord | None:
    """(Re)subscribe; a QR-code follow carries EventKey "qrscene_<scene>" and a Ticket."""
    follower.subscribed = True
    follower.unsubscribe_time = None
    follower.subscribe_time = int(world.now())
    _open_event_grant(world, follower)
    extra: dict[str, Any] = {}
    if qr_scene_str:
        follower.subscribe_scene, follower.qr_scene_str = "ADD_SCENE_QR_CODE", qr_scene_str
        extra = {"EventKey": f"qrscene_{qr_scene_str}", "Ticket": world.new_id("gQ", 94)}
    return push_event(world, dispatcher, app, follower.openid, "subscribe", **extra)


def unfollow(world: World, dispatcher: CallbackDispatcher, app: MpApp, follower: MpFollower) -> CallbackRecord | None:
    follower.subscribed = False
    follower.unsubscribe_time = int(world.now())
    follower.typing_until = None
    app.waitcases.pop(follower.openid, None)
    return push_event(world, dispatcher, app, follower.openid, "unsubscribe", EventKey="")


def menu_event(
    world: World, dispatcher: CallbackDispatcher, app: MpApp, follower: MpFollower, event: str, event_key: str
) -> CallbackRecord | None:
    """CLICK (EventKey = the button key), VIEW (EventKey = the URL) or SCAN of a QR code (scene value)."""
    if event not in MENU_EVENTS:
        raise SimError(40058, f"event must be one of {', '.join(MENU_EVENTS)}")
    _require_following(follower)
    if event in GRANTING_EVENTS:
        _open_event_grant(world, follower)
    extra: dict[str, Any] = {"EventKey": event_key}
    if event == "SCAN":
        extra["Ticket"] = world.new_id("gQ", 94)
    return push_event(world, dispatcher, app, follower.openid, event, **extra)


def _require_following(follower: MpFollower) -> None:
    if not follower.subscribed:
        raise SimError(43004, "the user does not follow the account")


def _message_fields(world: World, app: MpApp, msgtype: str, msg: dict[str, Any]) -> dict[str, Any]:
    """The type-specific part of a user-message callback, as in samples/mp_kefu/callback_msg_*.xml."""
    if msgtype == "text":
        content = msg.get("content")
        if not isinstance(content, str) or not content:
            raise SimError(44004, "text needs a content")
        return {"Content": content}
    if msgtype == "location":
        return {
            "Location_X": float(msg.get("location_x", 23.134521)),
            "Location_Y": float(msg.get("location_y", 113.358803)),
            "Scale": int(msg.get("scale", 20)),
            "Label": str(msg.get("label", "")),
        }
    if msgtype == "link":
        return {
            "Title": str(msg.get("title", "")),
            "Description": str(msg.get("description", "")),
            "Url": str(msg.get("url", "")),
        }
    kind = "video" if msgtype == "shortvideo" else msgtype
    filename, content, content_type = _SENT[kind]
    media = store_media(world, app, kind, content, filename=filename, content_type=content_type)
    if msgtype == "image":
        return {
            "PicUrl": str(msg.get("pic_url") or f"http://mmbiz.qpic.cn/mmbiz/{world.new_id('', 32)}/0"),
            "MediaId": media.media_id,
        }
    if msgtype == "voice":
        fields: dict[str, Any] = {"MediaId": media.media_id, "Format": str(msg.get("format", "amr"))}
        if msg.get("recognition"):
            fields["Recognition"] = str(msg["recognition"])
        return fields
    thumb = store_media(world, app, "thumb", JPEG, filename="thumb.jpg", content_type="image/jpeg")
    return {"MediaId": media.media_id, "ThumbMediaId": thumb.media_id}


def user_message(
    world: World, dispatcher: CallbackDispatcher, app: MpApp, follower: MpFollower, msg: dict[str, Any]
) -> tuple[int, CallbackRecord | None]:
    """The follower writes: opens the 48 h / 5-message grant, logs a 2003 record, maybe queues for a kf.

    A msgmenu click is a text message with `bizmsgmenuid` (the clicked item's id).
    """
    msgtype = msg.get("msgtype")
    if msgtype not in USER_MSGTYPES:
        raise SimError(40008, f"msgtype must be one of {', '.join(USER_MSGTYPES)}")
    _require_following(follower)
    fields = base_fields(world, app, follower.openid, msgtype)
    fields.update(_message_fields(world, app, msgtype, msg))
    msgid = new_msgid(world)
    fields["MsgId"] = msgid
    if msgtype == "text" and msg.get("bizmsgmenuid") not in (None, ""):
        fields["bizmsgmenuid"] = str(msg["bizmsgmenuid"])

    now = world.now()
    follower.message_at = follower.interaction_at = now
    follower.message_sent = 0
    session = app.sessions.get(follower.openid)
    add_record(
        world,
        app,
        follower.openid,
        OPERCODE_KF_RECEIVED,
        record_text(msgtype, {"content": fields.get("Content", "")}),
        session.kf_account if session else "",
    )
    if session is None and app.transfer_to_kf:
        case = app.waitcases.get(follower.openid)
        if case is None:
            app.waitcases[follower.openid] = MpWaitCase(
                openid=follower.openid, createtime=int(now), latest_time=int(now)
            )
        else:
            case.latest_time = int(now)
    return msgid, push(world, dispatcher, app, follower.openid, fields)
