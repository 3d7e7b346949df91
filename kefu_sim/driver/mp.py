"""Driver API for the simulated MP under /_sim/mp: accounts and what followers do.

Platform refusals met while driving answer HTTP 409 with the errcode in the message; unknown
accounts/users answer 404. What kf workers do in their client is in mp_kf.py.
"""

from __future__ import annotations

import string
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import HTTPException

from gateway.wechat.crypto import AesKeyError, decode_aes_key
from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.driver.common import DriverError, driver_body
from kefu_sim.mp.callbacks import MODES, verify_url
from kefu_sim.mp.inbound import follow, menu_event, unfollow, user_message
from kefu_sim.mp.ops import kf_of
from kefu_sim.mp.state import MpApp, MpFollower, MpKfAccount
from kefu_sim.world import Person, SimError, World

_HEX = "0123456789abcdef"

_CONFIG_FIELDS = (
    "wechat_id",
    "gh_id",
    "callback_url",
    "callback_token",
    "encoding_aes_key",
    "callback_mode",
    "transfer_to_kf",
    "session_records",
)


def conflict(exc: SimError) -> HTTPException:
    return HTTPException(status_code=409, detail=f"errcode {exc.errcode}: {exc.errmsg}")


def find_app(world: World, appid: str) -> MpApp:
    app = world.state.mp_apps.get(appid)
    if app is None:
        raise HTTPException(status_code=404, detail=f"no MP account {appid}")
    return app


def find_follower(app: MpApp, openid: str) -> MpFollower:
    follower = app.followers.get(openid)
    if follower is None:
        raise HTTPException(status_code=404, detail=f"{openid} is not known to {app.appid}")
    return follower


def find_kf(app: MpApp, kf_account: Any) -> MpKfAccount:
    try:
        return kf_of(app, kf_account)
    except SimError:
        raise HTTPException(status_code=404, detail=f"no kf account {kf_account!r}") from None


def _configure(world: World, app: MpApp, body: dict[str, Any]) -> None:
    for name in _CONFIG_FIELDS:
        if name in body:
            setattr(app, name, body[name])
    if app.callback_mode not in MODES:
        raise DriverError(detail=f"callback_mode must be one of {MODES}")
    if app.callback_url and not app.callback_token:
        app.callback_token = world.new_id("", 32)
    if app.callback_mode != "plain":
        app.encoding_aes_key = app.encoding_aes_key or world.new_id("", 43)
        try:
            decode_aes_key(app.encoding_aes_key)
        except AesKeyError as exc:
            raise DriverError(detail=str(exc)) from None


def _app_view(app: MpApp) -> dict[str, Any]:
    view = msgspec.to_builtins(app)
    view["media"] = {
        m.media_id: {"type": m.type, "created_at": m.created_at, "size": len(m.content)} for m in app.media.values()
    }
    return view


@post("/mp/apps", status_code=201)
async def create_app(request: Request, world: World) -> dict[str, Any]:
    """{appid?, secret?, wechat_id?, gh_id?, callback_url?, callback_token?, encoding_aes_key?,
    callback_mode? (plain|compat|safe), transfer_to_kf?, session_records?}; missing ids and keys are generated."""
    body = await driver_body(request)
    appid = body.get("appid") or world.new_id("wx", 16, _HEX)
    if appid in world.state.mp_apps:
        raise HTTPException(status_code=409, detail=f"MP account {appid} exists")
    app = MpApp(
        appid=appid,
        secret=body.get("secret") or world.new_id("", 32, _HEX),
        gh_id=world.new_id("gh_", 12, _HEX),
        wechat_id=world.new_id("kf", 6, string.ascii_lowercase),
    )
    _configure(world, app, body)
    world.state.mp_apps[appid] = app
    return _app_view(app)


@post("/mp/apps/{appid:str}/config", status_code=200)
async def configure_app(appid: str, request: Request, world: World) -> dict[str, Any]:
    """Change callback settings, mode, wechat_id or transfer_to_kf of an existing account."""
    app = find_app(world, appid)
    _configure(world, app, await driver_body(request))
    return _app_view(app)


@get("/mp/apps/{appid:str}", sync_to_thread=False)
def show_app(appid: str, world: World) -> dict[str, Any]:
    return _app_view(find_app(world, appid))


@post("/mp/apps/{appid:str}/verify_url", status_code=200)
async def check_url(appid: str, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Run the MP server-URL check against callback_url; `ok` says whether echostr came back."""
    return await verify_url(world, dispatcher, find_app(world, appid))


@post("/mp/apps/{appid:str}/followers", status_code=201)
async def add_follower(appid: str, request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """{openid?, unionid?, nickname?, subscribe? (default true), qr_scene_str?}: pushes `subscribe`.

    A new Person is made when `unionid` is unknown; `subscribe: false` makes an openid the account
    knows (e.g. from web OAuth) but that never followed.
    """
    app = find_app(world, appid)
    body = await driver_body(request)
    unionid = body.get("unionid") or world.new_id("o6_bm", 23)
    if unionid not in world.state.persons:
        world.state.persons[unionid] = Person(unionid=unionid, nickname=str(body.get("nickname") or "WeChat user"))
    openid = body.get("openid") or world.new_id("o", 27, string.ascii_letters + string.digits + "_-")
    if openid in app.followers:
        raise HTTPException(status_code=409, detail=f"{openid} already known")
    follower = MpFollower(openid=openid, unionid=unionid, subscribed=False)
    app.followers[openid] = follower
    if body.get("subscribe", True):
        follow(world, dispatcher, app, follower, qr_scene_str=str(body.get("qr_scene_str") or ""))
    return msgspec.to_builtins(follower)


@get("/mp/apps/{appid:str}/followers/{openid:str}", sync_to_thread=False)
def show_follower(appid: str, openid: str, world: World) -> dict[str, Any]:
    return msgspec.to_builtins(find_follower(find_app(world, appid), openid))


@post("/mp/apps/{appid:str}/followers/{openid:str}/subscribe", status_code=200)
async def subscribe(
    appid: str, openid: str, request: Request, world: World, dispatcher: CallbackDispatcher
) -> dict[str, Any]:
    app = find_app(world, appid)
    follower = find_follower(app, openid)
    follow(
        world,
        dispatcher,
        app,
        follower,
        qr_scene_str=str((await driver_body(request)).get("qr_scene_str") or ""),
    )
    return msgspec.to_builtins(follower)


@post("/mp/apps/{appid:str}/followers/{openid:str}/unsubscribe", status_code=200)
async def unsubscribe(appid: str, openid: str, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    app = find_app(world, appid)
    follower = find_follower(app, openid)
    unfollow(world, dispatcher, app, follower)
    return msgspec.to_builtins(follower)


@post("/mp/apps/{appid:str}/followers/{openid:str}/messages", status_code=201)
async def follower_writes(
    appid: str, openid: str, request: Request, world: World, dispatcher: CallbackDispatcher
) -> dict[str, Any]:
    """{msgtype: text|image|voice|video|shortvideo|location|link, ...}; text may carry bizmsgmenuid."""
    app = find_app(world, appid)
    follower = find_follower(app, openid)
    try:
        msgid, record = user_message(world, dispatcher, app, follower, await driver_body(request))
    except SimError as exc:
        raise conflict(exc) from None
    return {"msgid": msgid, "callback_seq": record.seq if record else None}


@post("/mp/apps/{appid:str}/followers/{openid:str}/events", status_code=201)
async def follower_clicks(
    appid: str, openid: str, request: Request, world: World, dispatcher: CallbackDispatcher
) -> dict[str, Any]:
    """{event: CLICK|VIEW|SCAN, event_key}: a menu click, a menu link or a QR scan by a follower."""
    app = find_app(world, appid)
    follower = find_follower(app, openid)
    body = await driver_body(request)
    try:
        record = menu_event(world, dispatcher, app, follower, str(body.get("event")), str(body.get("event_key", "")))
    except SimError as exc:
        raise conflict(exc) from None
    return {"callback_seq": record.seq if record else None}


HANDLERS = [
    create_app,
    configure_app,
    show_app,
    check_url,
    add_follower,
    show_follower,
    subscribe,
    unsubscribe,
    follower_writes,
    follower_clicks,
]
