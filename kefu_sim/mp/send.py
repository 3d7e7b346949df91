"""MP custom/send for every msgtype and custom/typing, with the reply window and quotas (docs/platforms.md §4.2)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from kefu_sim.common import json_body, ok
from kefu_sim.mp.ops import (
    OPERCODE_KF_SENT,
    add_record,
    app_of,
    kf_of,
    new_msgid,
    reachable_follower,
    record_text,
    send_grant,
    spend_grant,
)
from kefu_sim.mp.state import MEDIA_LIFETIME, MpApp, MpFollower, MpMedia
from kefu_sim.world import Delivery, SimError, World

TYPING_NEEDS_INTERACTION = 30  # seconds: typing needs a message exchanged with the user this recently
TYPING_LASTS = 15
# From the MP global errcode table: 45072 bad `command`, 45080 no message exchanged with the user
# in the last 30 s, 45081 the user already sees "typing".
BAD_COMMAND, NO_RECENT_INTERACTION, ALREADY_TYPING = 45072, 45080, 45081


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _require(condition: bool, errcode: int, errmsg: str) -> None:
    if not condition:
        raise SimError(errcode, errmsg)


def live_media(world: World, app: MpApp, media_id: Any) -> MpMedia:
    """Temporary media of this account uploaded less than 3 days ago; 40007 otherwise."""
    media = app.media.get(media_id) if isinstance(media_id, str) else None
    if media is None or world.now() - media.created_at >= MEDIA_LIFETIME:
        raise SimError(40007, "invalid media_id")
    return media


def _check_payload(world: World, app: MpApp, msgtype: str, p: dict[str, Any]) -> None:
    if msgtype == "text":
        _require(_text(p.get("content")), 44004, "empty content")
    elif msgtype in ("image", "voice"):
        live_media(world, app, p.get("media_id"))
    elif msgtype == "video":
        live_media(world, app, p.get("media_id"))
        if p.get("thumb_media_id"):
            live_media(world, app, p["thumb_media_id"])
    elif msgtype == "music":
        _require(_text(p.get("musicurl")) and _text(p.get("hqmusicurl")), 40058, "invalid musicurl/hqmusicurl")
        live_media(world, app, p.get("thumb_media_id"))
    elif msgtype == "news":
        articles = p.get("articles")
        _require(isinstance(articles, list) and len(articles) > 0, 44003, "empty news")
        # One article since 2018-10 (older docs allowed 8).
        _require(len(articles) <= 1, 45008, "article size out of limit")
        _require(all(isinstance(a, dict) and _text(a.get("title")) for a in articles), 40058, "invalid article")
    elif msgtype == "mpnews":
        _require(_text(p.get("media_id")), 40007, "invalid media_id")  # permanent material is not modelled
    elif msgtype == "mpnewsarticle":
        _require(_text(p.get("article_id")), 40058, "invalid article_id")
    elif msgtype == "msgmenu":
        items = p.get("list")
        _require(
            isinstance(items, list)
            and len(items) > 0
            and all(isinstance(i, dict) and _text(i.get("id")) and _text(i.get("content")) for i in items),
            40058,
            "invalid msgmenu list: needs items {id, content}",
        )
    elif msgtype == "wxcard":
        _require(_text(p.get("card_id")), 40073, "invalid card id")
    elif msgtype == "miniprogrampage":
        _require(
            _text(p.get("appid")) and _text(p.get("pagepath")),
            40058,
            "invalid miniprogrampage appid/pagepath",
        )
        live_media(world, app, p.get("thumb_media_id"))


MSGTYPES: tuple[str, ...] = (
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
)


def deliver(
    world: World,
    app: MpApp,
    follower: MpFollower,
    msgtype: Any,
    payload: Any,
    *,
    kf_account: str | None = None,
    sender: str = "api",
) -> Delivery:
    """Validate and deliver one message to a follower: what custom/send and a kf's client both do."""
    _require(msgtype in MSGTYPES, 40008, "invalid message type")
    body = payload if isinstance(payload, dict) else {}
    _check_payload(world, app, msgtype, body)
    now = world.now()
    grant = send_grant(follower, now)
    spend_grant(follower, grant, now)
    add_record(world, app, follower.openid, OPERCODE_KF_SENT, record_text(msgtype, body), kf_account or "")
    return world.record_delivery(
        platform="mp",
        app_id=app.appid,
        account="",
        touser=follower.openid,
        msgid=str(new_msgid(world)),
        msgtype=msgtype,
        payload=body,
        sender=sender,
        kf_account=kf_account,
    )


@post("/cgi-bin/message/custom/send", status_code=200)
async def custom_send(request: Request, world: World) -> dict[str, Any]:
    """{touser, msgtype, <msgtype>: {...}, customservice?: {kf_account}} → {"errcode": 0, "errmsg": "ok"}.

    40003 unknown openid, 43004 not following, 45015 window closed / unsubscribed, 45047 quota
    used up, 40008 unknown msgtype, 65401 unknown customservice.kf_account, 45008 >1 article.
    """
    app = app_of(request, world)
    body = await json_body(request)
    follower = reachable_follower(app, body.get("touser"))
    msgtype = body.get("msgtype")
    _require(msgtype in MSGTYPES, 40008, "invalid message type")
    service = body.get("customservice")
    kf_account = service.get("kf_account") if isinstance(service, dict) else None
    if kf_account:
        kf_account = kf_of(app, kf_account).kf_account
    deliver(
        world,
        app,
        follower,
        msgtype,
        body.get(msgtype),
        kf_account=kf_account or None,
        sender=f"kf:{kf_account}" if kf_account else "api",
    )
    return ok()


@post("/cgi-bin/message/custom/typing", status_code=200)
async def custom_typing(request: Request, world: World) -> dict[str, Any]:
    """{touser, command: Typing|CancelTyping}: the user must be send-eligible (45015/45047)."""
    app = app_of(request, world)
    body = await json_body(request)
    follower = reachable_follower(app, body.get("touser"))
    command = body.get("command")
    _require(command in ("Typing", "CancelTyping"), BAD_COMMAND, "invalid command: Typing or CancelTyping")
    now = world.now()
    send_grant(follower, now)
    if command == "Typing":
        _start_typing(follower, now)
    else:
        follower.typing_until = None
    return ok()


def _start_typing(follower: MpFollower, now: float) -> None:
    # "Interaction" counts both directions: the usual flow is user writes → typing → reply.
    recent = follower.interaction_at is not None and now - follower.interaction_at <= TYPING_NEEDS_INTERACTION
    _require(recent, NO_RECENT_INTERACTION, "typing needs a message exchanged with the user in the last 30 s")
    _require(
        follower.typing_until is None or now >= follower.typing_until,
        ALREADY_TYPING,
        "the user already sees typing",
    )
    follower.typing_until = now + TYPING_LASTS


HANDLERS = [custom_send, custom_typing]
