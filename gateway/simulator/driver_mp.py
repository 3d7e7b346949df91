"""Driver API for the simulated MP under /_sim/mp: accounts, followers acting, kf workers acting.

Platform refusals met while driving (e.g. a kf reply outside the 48 h window) answer HTTP 409
with the errcode in the message; unknown accounts/users answer 404.
"""

from __future__ import annotations

import string
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import HTTPException

from gateway.errors import AesKeyError
from gateway.simulator.callbacks import CallbackDispatcher
from gateway.simulator.driver import DriverError, driver_body
from gateway.simulator.mp_callback import MODES, verify_url
from gateway.simulator.mp_inbound import follow, menu_event, unfollow, user_message
from gateway.simulator.mp_ops import close_session, kf_of, open_session, require_session_kf, switch_session
from gateway.simulator.mp_send import deliver
from gateway.simulator.mp_state import MpApp, MpFollower, MpKfAccount
from gateway.simulator.world import Person, SimError, World
from gateway.wechat.crypto import decode_aes_key

_HEX = "0123456789abcdef"
_CONFIG_FIELDS = (
    "wechat_id",
    "gh_id",
    "callback_url",
    "callback_token",
    "encoding_aes_key",
    "callback_mode",
    "transfer_to_kf",
)


def _conflict(exc: SimError) -> HTTPException:
    return HTTPException(status_code=409, detail=f"errcode {exc.errcode}: {exc.errmsg}")


def _app(world: World, appid: str) -> MpApp:
    app = world.state.mp_apps.get(appid)
    if app is None:
        raise HTTPException(status_code=404, detail=f"no MP account {appid}")
    return app


def _follower(app: MpApp, openid: str) -> MpFollower:
    follower = app.followers.get(openid)
    if follower is None:
        raise HTTPException(status_code=404, detail=f"{openid} is not known to {app.appid}")
    return follower


def _kf(app: MpApp, kf_account: Any) -> MpKfAccount:
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
    callback_mode? (plain|compat|safe), transfer_to_kf?}; missing ids and keys are generated."""
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
    app = _app(world, appid)
    _configure(world, app, await driver_body(request))
    return _app_view(app)


@get("/mp/apps/{appid:str}", sync_to_thread=False)
def show_app(appid: str, world: World) -> dict[str, Any]:
    return _app_view(_app(world, appid))


@post("/mp/apps/{appid:str}/verify_url", status_code=200)
async def check_url(appid: str, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Run the MP server-URL check against callback_url; `ok` says whether echostr came back."""
    return await verify_url(world, dispatcher, _app(world, appid))


@post("/mp/apps/{appid:str}/followers", status_code=201)
async def add_follower(appid: str, request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """{openid?, unionid?, nickname?, subscribe? (default true), qr_scene_str?}: pushes `subscribe`.

    A new Person is made when `unionid` is unknown; `subscribe: false` makes an openid the account
    knows (e.g. from web OAuth) but that never followed.
    """
    app = _app(world, appid)
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
    return msgspec.to_builtins(_follower(_app(world, appid), openid))


@post("/mp/apps/{appid:str}/followers/{openid:str}/subscribe", status_code=200)
async def subscribe(
    appid: str, openid: str, request: Request, world: World, dispatcher: CallbackDispatcher
) -> dict[str, Any]:
    app = _app(world, appid)
    follower = _follower(app, openid)
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
    app = _app(world, appid)
    follower = _follower(app, openid)
    unfollow(world, dispatcher, app, follower)
    return msgspec.to_builtins(follower)


@post("/mp/apps/{appid:str}/followers/{openid:str}/messages", status_code=201)
async def follower_writes(
    appid: str, openid: str, request: Request, world: World, dispatcher: CallbackDispatcher
) -> dict[str, Any]:
    """{msgtype: text|image|voice|video|shortvideo|location|link, ...}; text may carry bizmsgmenuid."""
    app = _app(world, appid)
    follower = _follower(app, openid)
    try:
        msgid, record = user_message(world, dispatcher, app, follower, await driver_body(request))
    except SimError as exc:
        raise _conflict(exc) from None
    return {"msgid": msgid, "callback_seq": record.seq if record else None}


@post("/mp/apps/{appid:str}/followers/{openid:str}/events", status_code=201)
async def follower_clicks(
    appid: str, openid: str, request: Request, world: World, dispatcher: CallbackDispatcher
) -> dict[str, Any]:
    """{event: CLICK|VIEW|SCAN, event_key}: a menu click, a menu link or a QR scan by a follower."""
    app = _app(world, appid)
    follower = _follower(app, openid)
    body = await driver_body(request)
    try:
        record = menu_event(world, dispatcher, app, follower, str(body.get("event")), str(body.get("event_key", "")))
    except SimError as exc:
        raise _conflict(exc) from None
    return {"callback_seq": record.seq if record else None}


@post("/mp/apps/{appid:str}/kf/bind", status_code=200)
async def kf_bind(appid: str, request: Request, world: World) -> dict[str, Any]:
    """{kf_account, kf_wx?, reject?}: bind a WeChat user directly (kf_wx), or answer the pending invite."""
    app = _app(world, appid)
    body = await driver_body(request)
    kf = _kf(app, body.get("kf_account"))
    if body.get("kf_wx"):
        kf.kf_wx = str(body["kf_wx"])
    elif kf.invite_status != "waiting" or (kf.invite_expire_time or 0) < world.now():
        raise HTTPException(status_code=409, detail="no waiting invitation for this kf account")
    elif body.get("reject"):
        kf.invite_status = "rejected"
        return msgspec.to_builtins(kf)
    else:
        kf.kf_wx = kf.invite_wx
    kf.invite_wx = kf.invite_status = kf.invite_expire_time = None
    return msgspec.to_builtins(kf)


@post("/mp/apps/{appid:str}/kf/status", status_code=200)
async def kf_status(appid: str, request: Request, world: World) -> dict[str, Any]:
    """{kf_account, online}: the kf's web client logs in or out (needs a bound WeChat user)."""
    app = _app(world, appid)
    body = await driver_body(request)
    kf = _kf(app, body.get("kf_account"))
    if body.get("online") and not kf.kf_wx:
        raise HTTPException(status_code=409, detail="a kf account must be bound to a WeChat user to go online")
    kf.online = bool(body.get("online"))
    return msgspec.to_builtins(kf)


@post("/mp/apps/{appid:str}/kf/accept", status_code=200)
async def kf_accept(appid: str, request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """{kf_account, openid?}: take a wait case (the oldest without openid); pushes kf_create_session."""
    app = _app(world, appid)
    body = await driver_body(request)
    kf = _kf(app, body.get("kf_account"))
    cases = sorted(app.waitcases.values(), key=lambda c: c.createtime)
    openid = body.get("openid") or (cases[0].openid if cases else None)
    if openid not in app.waitcases:
        raise HTTPException(status_code=409, detail="no such wait case")
    try:
        require_session_kf(kf)
    except SimError as exc:
        raise _conflict(exc) from None
    return msgspec.to_builtins(open_session(world, dispatcher, app, kf, openid))


@post("/mp/apps/{appid:str}/kf/send", status_code=201)
async def kf_send(appid: str, request: Request, world: World) -> dict[str, Any]:
    """{kf_account, openid, msgtype, <msgtype>: {...}}: a kf replies from its client in its session."""
    app = _app(world, appid)
    body = await driver_body(request)
    kf = _kf(app, body.get("kf_account"))
    follower = _follower(app, str(body.get("openid")))
    session = app.sessions.get(follower.openid)
    if session is None or session.kf_account != kf.kf_account:
        raise HTTPException(status_code=409, detail=f"{kf.kf_account} has no session with {follower.openid}")
    msgtype = body.get("msgtype")
    try:
        delivery = deliver(
            world,
            app,
            follower,
            msgtype,
            body.get(str(msgtype)),
            kf_account=kf.kf_account,
            sender=f"kf:{kf.kf_account}",
        )
    except SimError as exc:
        raise _conflict(exc) from None
    return msgspec.to_builtins(delivery)


@post("/mp/apps/{appid:str}/kf/close", status_code=200)
async def kf_close(appid: str, request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """{kf_account, openid}: the kf ends its session; pushes kf_close_session."""
    app = _app(world, appid)
    body = await driver_body(request)
    kf = _kf(app, body.get("kf_account"))
    session = app.sessions.get(str(body.get("openid")))
    if session is None or session.kf_account != kf.kf_account:
        raise HTTPException(status_code=409, detail=f"{kf.kf_account} has no session with {body.get('openid')}")
    close_session(world, dispatcher, app, session.openid)
    return {"closed": session.openid}


@post("/mp/apps/{appid:str}/kf/switch", status_code=200)
async def kf_switch(appid: str, request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """{openid, to_kf_account}: hand a session to another (bound, online) kf; pushes kf_switch_session."""
    app = _app(world, appid)
    body = await driver_body(request)
    to = _kf(app, body.get("to_kf_account"))
    openid = str(body.get("openid"))
    if openid not in app.sessions:
        raise HTTPException(status_code=409, detail=f"{openid} has no session")
    try:
        require_session_kf(to)
    except SimError as exc:
        raise _conflict(exc) from None
    return msgspec.to_builtins(switch_session(world, dispatcher, app, openid, to))


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
    kf_bind,
    kf_status,
    kf_accept,
    kf_send,
    kf_close,
    kf_switch,
]
