"""MP multi-kf sessions and chat records: kfsession/* and msgrecord/getmsglist (docs/platforms.md §4.3, §4.4)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.common import field_int, json_body, ok
from kefu_sim.mp.ops import (
    app_of,
    close_session,
    kf_of,
    known_follower,
    open_session,
    reachable_follower,
    require_session_kf,
)
from kefu_sim.world import SimError, World

WAITCASE_PAGE = 100  # getwaitcase lists the earliest 100 only
MAX_RECORD_SPAN = 24 * 3600
MAX_RECORD_NUMBER = 10_000


@post("/customservice/kfsession/create", status_code=200)
async def kfsession_create(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """{kf_account, openid, text?}: the kf takes the user; answers 0 when it already serves them.

    65414 when another kf serves the user (legacy code, wording UNVERIFIED).
    """
    app = app_of(request, world)
    body = await json_body(request)
    kf = kf_of(app, body.get("kf_account"))
    follower = reachable_follower(app, body.get("openid"))
    require_session_kf(kf)
    current = app.sessions.get(follower.openid)
    if current is not None:
        if current.kf_account == kf.kf_account:
            return ok()
        raise SimError(65414, "the user is being served by another kf")
    open_session(world, dispatcher, app, kf, follower.openid)
    return ok()


@post("/customservice/kfsession/close", status_code=200)
async def kfsession_close(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """{kf_account, openid, text?}: 65413 when the user has no session, 65414 when another kf has it."""
    app = app_of(request, world)
    body = await json_body(request)
    kf = kf_of(app, body.get("kf_account"))
    follower = known_follower(app, body.get("openid"))
    current = app.sessions.get(follower.openid)
    if current is None:
        raise SimError(65413, "the user has no session")
    if current.kf_account != kf.kf_account:
        raise SimError(65414, "the user is being served by another kf")
    close_session(world, dispatcher, app, follower.openid)
    return ok()


@get("/customservice/kfsession/getsession", sync_to_thread=False)
def kfsession_getsession(request: Request, world: World) -> dict[str, Any]:
    """?openid=: the serving kf_account ("" = nobody) and the session's createtime."""
    app = app_of(request, world)
    follower = known_follower(app, request.query_params.get("openid"))
    session = app.sessions.get(follower.openid)
    if session is None:
        return {"createtime": 0, "kf_account": ""}
    return {"createtime": session.createtime, "kf_account": session.kf_account}


@get("/customservice/kfsession/getsessionlist", sync_to_thread=False)
def kfsession_getsessionlist(request: Request, world: World) -> dict[str, Any]:
    app = app_of(request, world)
    kf = kf_of(app, request.query_params.get("kf_account"))
    sessions = sorted((s for s in app.sessions.values() if s.kf_account == kf.kf_account), key=lambda s: s.createtime)
    return {"sessionlist": [{"createtime": s.createtime, "openid": s.openid} for s in sessions]}


@get("/customservice/kfsession/getwaitcase", sync_to_thread=False)
def kfsession_getwaitcase(request: Request, world: World) -> dict[str, Any]:
    """`count` of all waiting users; `waitcaselist` the earliest 100 of them."""
    app = app_of(request, world)
    cases = sorted(app.waitcases.values(), key=lambda c: c.createtime)
    return {
        "count": len(cases),
        "waitcaselist": [{"latest_time": c.latest_time, "openid": c.openid} for c in cases[:WAITCASE_PAGE]],
    }


@post("/customservice/msgrecord/getmsglist", status_code=200)
async def msgrecord_getmsglist(request: Request, world: World) -> dict[str, Any]:
    """{starttime, endtime, msgid, number}: records with time in [starttime, endtime] from `msgid` on.

    The answer's `msgid` is where the next page starts; a page shorter than `number` is the last.
    65417 span over 24 h; 65416 for other bad parameters.
    """
    app = app_of(request, world)
    body = await json_body(request)
    start = field_int(body, "starttime", 65416)
    end = field_int(body, "endtime", 65416)
    msgid = field_int(body, "msgid", 65416, default=1)
    number = field_int(body, "number", 65416)
    if end < start:
        raise SimError(65416, "invalid parameter: endtime before starttime")
    if end - start > MAX_RECORD_SPAN:
        raise SimError(65417, "query time range too long: at most 24 hours")
    if msgid < 1 or not 1 <= number <= MAX_RECORD_NUMBER:
        raise SimError(65416, "invalid parameter: msgid starts at 1, number is 1-10000")
    page = [r for r in app.records if r.msgid >= msgid and start <= r.time <= end][:number]
    return {
        "recordlist": [
            {"openid": r.openid, "opercode": r.opercode, "text": r.text, "time": r.time, "worker": r.worker}
            for r in page
        ],
        "number": len(page),
        "msgid": page[-1].msgid + 1 if page else msgid,
    }


HANDLERS = [
    kfsession_create,
    kfsession_close,
    kfsession_getsession,
    kfsession_getsessionlist,
    kfsession_getwaitcase,
    msgrecord_getmsglist,
]
