"""Driver API for MP kf workers under /_sim/mp/apps/{appid}/kf: bind, go online, accept, reply, close, switch.

Platform refusals met while driving (e.g. a kf reply outside the 48 h window) answer HTTP 409
with the errcode in the message; unknown accounts/users answer 404.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, post
from litestar.exceptions import HTTPException

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.driver.common import driver_body
from kefu_sim.driver.mp import conflict, find_app, find_follower, find_kf
from kefu_sim.mp.ops import close_session, open_session, require_session_kf, switch_session
from kefu_sim.mp.send import deliver
from kefu_sim.world import SimError, World


@post("/mp/apps/{appid:str}/kf/bind", status_code=200)
async def kf_bind(appid: str, request: Request, world: World) -> dict[str, Any]:
    """{kf_account, kf_wx?, reject?}: bind a WeChat user directly (kf_wx), or answer the pending invite."""
    app = find_app(world, appid)
    body = await driver_body(request)
    kf = find_kf(app, body.get("kf_account"))
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
    app = find_app(world, appid)
    body = await driver_body(request)
    kf = find_kf(app, body.get("kf_account"))
    if body.get("online") and not kf.kf_wx:
        raise HTTPException(status_code=409, detail="a kf account must be bound to a WeChat user to go online")
    kf.online = bool(body.get("online"))
    return msgspec.to_builtins(kf)


@post("/mp/apps/{appid:str}/kf/accept", status_code=200)
async def kf_accept(appid: str, request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """{kf_account, openid?}: take a wait case (the oldest without openid); pushes kf_create_session."""
    app = find_app(world, appid)
    body = await driver_body(request)
    kf = find_kf(app, body.get("kf_account"))
    cases = sorted(app.waitcases.values(), key=lambda c: c.createtime)
    openid = body.get("openid") or (cases[0].openid if cases else None)
    if openid not in app.waitcases:
        raise HTTPException(status_code=409, detail="no such wait case")
    try:
        require_session_kf(kf)
    except SimError as exc:
        raise conflict(exc) from None
    return msgspec.to_builtins(open_session(world, dispatcher, app, kf, openid))


@post("/mp/apps/{appid:str}/kf/send", status_code=201)
async def kf_send(appid: str, request: Request, world: World) -> dict[str, Any]:
    """{kf_account, openid, msgtype, <msgtype>: {...}}: a kf replies from its client in its session."""
    app = find_app(world, appid)
    body = await driver_body(request)
    kf = find_kf(app, body.get("kf_account"))
    follower = find_follower(app, str(body.get("openid")))
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
        raise conflict(exc) from None
    return msgspec.to_builtins(delivery)


@post("/mp/apps/{appid:str}/kf/close", status_code=200)
async def kf_close(appid: str, request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """{kf_account, openid}: the kf ends its session; pushes kf_close_session."""
    app = find_app(world, appid)
    body = await driver_body(request)
    kf = find_kf(app, body.get("kf_account"))
    session = app.sessions.get(str(body.get("openid")))
    if session is None or session.kf_account != kf.kf_account:
        raise HTTPException(status_code=409, detail=f"{kf.kf_account} has no session with {body.get('openid')}")
    close_session(world, dispatcher, app, session.openid)
    return {"closed": session.openid}


@post("/mp/apps/{appid:str}/kf/switch", status_code=200)
async def kf_switch(appid: str, request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """{openid, to_kf_account}: hand a session to another (bound, online) kf; pushes kf_switch_session."""
    app = find_app(world, appid)
    body = await driver_body(request)
    to = find_kf(app, body.get("to_kf_account"))
    openid = str(body.get("openid"))
    if openid not in app.sessions:
        raise HTTPException(status_code=409, detail=f"{openid} has no session")
    try:
        require_session_kf(to)
    except SimError as exc:
        raise conflict(exc) from None
    return msgspec.to_builtins(switch_session(world, dispatcher, app, openid, to))


HANDLERS = [
    kf_bind,
    kf_status,
    kf_accept,
    kf_send,
    kf_close,
    kf_switch,
]
