"""WeCom 微信客服 endpoints: accounts, contact ways, servicers and service state (API.md §2.1–2.3).

`HANDLERS` also gathers the kf endpoints that live in the other wecom_kf_*.py modules (sync_msg,
send_msg, customers/statistics), so app.py mounts the whole kf API from here.
"""

from __future__ import annotations

import re
import string
from typing import Any

from litestar import Request, get, post, route

from gateway.simulator import wecom_kf_customer, wecom_kf_send, wecom_kf_sync
from gateway.simulator.common import json_body, ok
from gateway.simulator.wecom_base import corp_for, live_media
from gateway.simulator.wecom_kf_session import (
    TRANSITIONS,
    account_of,
    assign,
    close,
    customer_of,
    issue_code,
    log,
    member_info,
    servicer_of,
    session_of,
)
from gateway.simulator.wecom_state import KfAccount, Servicer
from gateway.simulator.world import SimError, World

INVALID = 40058
UNVERIFIED_ACCOUNT_CAP = 10
SCENE_RE = re.compile(r"[0-9a-zA-Z_-]*")


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 16:
        raise SimError(95006, "invalid kf account name: 1 to 16 characters")
    return value


def _avatar(media_id: str) -> str:
    return f"https://wework.qpic.cn/wwhead/{media_id[:24]}/0"


def _int(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SimError(INVALID, f"invalid parameter: {name} must be an integer in [{low}, {high}]")
    return value


@post("/cgi-bin/kf/account/add", status_code=200)
async def account_add(request: Request, world: World) -> dict[str, Any]:
    """95006 bad name; 41006/40007 avatar media; 95027 (unverified, 10) / 95005 (cap) too many accounts."""
    corp = corp_for(request, world)
    body = await json_body(request)
    name = _name(body.get("name"))
    if not body.get("media_id"):
        raise SimError(41006, "media_id missing")
    media = live_media(world, corp, body["media_id"])
    if not corp.verified and len(corp.kf_accounts) >= UNVERIFIED_ACCOUNT_CAP:
        raise SimError(95027, "unverified corp: at most 10 kf accounts")
    if len(corp.kf_accounts) >= corp.kf_account_cap:
        raise SimError(95005, f"too many kf accounts: at most {corp.kf_account_cap}")
    open_kfid = world.new_id("wk", 30, string.ascii_letters + string.digits + "_-")
    corp.kf_accounts[open_kfid] = KfAccount(open_kfid=open_kfid, name=name, media_id=media.media_id,
                                            avatar=_avatar(media.media_id), created_at=world.now())
    return ok(open_kfid=open_kfid)


@post("/cgi-bin/kf/account/del", status_code=200)
async def account_del(request: Request, world: World) -> dict[str, Any]:
    corp = corp_for(request, world)
    account = account_of(corp, (await json_body(request)).get("open_kfid"))
    del corp.kf_accounts[account.open_kfid]
    return ok()


@post("/cgi-bin/kf/account/update", status_code=200)
async def account_update(request: Request, world: World) -> dict[str, Any]:
    corp = corp_for(request, world)
    body = await json_body(request)
    account = account_of(corp, body.get("open_kfid"))
    name = _name(body["name"]) if body.get("name") is not None else None
    media = live_media(world, corp, body["media_id"]) if body.get("media_id") else None
    if name is not None:
        account.name = name
    if media is not None:
        account.media_id, account.avatar = media.media_id, _avatar(media.media_id)
    return ok()


@route("/cgi-bin/kf/account/list", http_method=["GET", "POST"], status_code=200)
async def account_list(request: Request, world: World) -> dict[str, Any]:
    """POST {offset, limit 1–100 (default 100)}; the historical GET form answers the first page."""
    corp = corp_for(request, world)
    body = await json_body(request) if request.method == "POST" else {}
    offset = _int(body, "offset", 0, 0, 1 << 31)
    limit = _int(body, "limit", 100, 1, 100)
    accounts = list(corp.kf_accounts.values())[offset : offset + limit]
    return ok(account_list=[{"open_kfid": a.open_kfid, "name": a.name, "avatar": a.avatar,
                             "manage_privilege": a.manage_privilege} for a in accounts])


@post("/cgi-bin/kf/add_contact_way", status_code=200)
async def add_contact_way(request: Request, world: World) -> dict[str, Any]:
    """A customer link; `scene` (≤32 bytes, [0-9a-zA-Z_-]) comes back in enter_session (40058 otherwise)."""
    corp = corp_for(request, world)
    body = await json_body(request)
    account = account_of(corp, body.get("open_kfid"))
    scene = body.get("scene") or ""
    if not isinstance(scene, str) or len(scene.encode()) > 32 or not SCENE_RE.fullmatch(scene):
        raise SimError(INVALID, "invalid parameter: scene is at most 32 bytes of [0-9a-zA-Z_-]")
    url = f"https://work.weixin.qq.com/kfid/{account.open_kfid}"
    if scene:
        enc = next((e for e, s in account.scenes.items() if s == scene), None)
        if enc is None:
            enc = world.new_id("", 24, string.ascii_letters + string.digits)
            account.scenes[enc] = scene
        url += f"?enc_scene={enc}"
    return ok(url=url)


async def _servicer_lists(request: Request, world: World) -> tuple[Any, KfAccount, list[Any], list[Any]]:
    corp = corp_for(request, world)
    body = await json_body(request)
    account = account_of(corp, body.get("open_kfid"))
    userids, departments = body.get("userid_list") or [], body.get("department_id_list") or []
    if not isinstance(userids, list) or not isinstance(departments, list):
        raise SimError(INVALID, "invalid parameter: userid_list and department_id_list must be arrays")
    if not userids and not departments:
        raise SimError(INVALID, "invalid parameter: userid_list or department_id_list is required")
    if len(userids) > 100 or len(departments) > 100:
        raise SimError(INVALID, "invalid parameter: at most 100 userids and 100 departments per call")
    return corp, account, userids, departments


@post("/cgi-bin/kf/servicer/add", status_code=200)
async def servicer_add(request: Request, world: World) -> dict[str, Any]:
    """Per-item result_list; errmsg "ignored" when already a servicer; 60111 / 60123 unknown ids."""
    corp, account, userids, departments = await _servicer_lists(request, world)
    results: list[dict[str, Any]] = []
    for userid in userids:
        if member_info(corp, userid) is None:
            results.append({"userid": userid, "errcode": 60111, "errmsg": "userid not found"})
        elif userid in account.servicers:
            results.append({"userid": userid, "errcode": 0, "errmsg": "ignored"})
        else:
            account.servicers[userid] = account.dept_servicers.pop(userid, None) or Servicer(userid=userid)
            results.append({"userid": userid, "errcode": 0, "errmsg": "success"})
    for dept in departments:
        if isinstance(dept, bool) or not isinstance(dept, int) or not corp.department_exists(dept):
            results.append({"department_id": dept, "errcode": 60123, "errmsg": "invalid department id"})
        elif dept in account.department_ids:
            results.append({"department_id": dept, "errcode": 0, "errmsg": "ignored"})
        else:
            account.department_ids.append(dept)
            results.append({"department_id": dept, "errcode": 0, "errmsg": "success"})
    return ok(result_list=results)


@post("/cgi-bin/kf/servicer/del", status_code=200)
async def servicer_del(request: Request, world: World) -> dict[str, Any]:
    """Per-item result_list; errmsg "ignored" when the userid/department was not a servicer."""
    _, account, userids, departments = await _servicer_lists(request, world)
    results: list[dict[str, Any]] = []
    for userid in userids:
        gone = account.servicers.pop(userid, None) if isinstance(userid, str) else None
        results.append({"userid": userid, "errcode": 0, "errmsg": "success" if gone else "ignored"})
    for dept in departments:
        present = dept in account.department_ids
        if present:
            account.department_ids.remove(dept)
        results.append({"department_id": dept, "errcode": 0, "errmsg": "success" if present else "ignored"})
    return ok(result_list=results)


@get("/cgi-bin/kf/servicer/list", sync_to_thread=False)
def servicer_list(request: Request, world: World) -> dict[str, Any]:
    """status 0 接待中 / 1 停止接待 (+ stop_type 0 停止 / 1 暂时挂起 when stopped); departments as {department_id}."""
    corp = corp_for(request, world)
    account = account_of(corp, request.query_params.get("open_kfid"))
    listing: list[dict[str, Any]] = []
    for servicer in account.servicers.values():
        entry: dict[str, Any] = {"userid": servicer.userid, "status": servicer.status}
        if servicer.status == 1:
            entry["stop_type"] = servicer.stop_type
        listing.append(entry)
    listing += [{"department_id": d} for d in account.department_ids]
    return ok(servicer_list=listing)


@post("/cgi-bin/kf/service_state/get", status_code=200)
async def service_state_get(request: Request, world: World) -> dict[str, Any]:
    corp = corp_for(request, world)
    body = await json_body(request)
    account = account_of(corp, body.get("open_kfid"))
    customer = customer_of(corp, body.get("external_userid"))
    session = session_of(world, corp, account.open_kfid, customer.external_userid)
    return ok(service_state=session.state, servicer_userid=session.servicer_userid)


@post("/cgi-bin/kf/service_state/trans", status_code=200)
async def service_state_trans(request: Request, world: World) -> dict[str, Any]:
    """95013 ended; 95016 transition not in the table; 95014 not a servicer; 95019 servicer stopped.

    msg_code comes back the first time the session moves to 2 or to 3, and on every move to 4.
    """
    corp = corp_for(request, world)
    body = await json_body(request)
    account = account_of(corp, body.get("open_kfid"))
    customer = customer_of(corp, body.get("external_userid"))
    target = body.get("service_state")
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target <= 4:
        raise SimError(INVALID, "invalid parameter: service_state must be 0..4")
    session = session_of(world, corp, account.open_kfid, customer.external_userid)
    if session.state == 4:
        raise SimError(95013, "session already ended")
    if target not in TRANSITIONS[session.state]:
        raise SimError(95016, f"state transition not allowed: {session.state} → {target}")
    userid = body.get("servicer_userid") or ""
    if target == 3:
        servicer = servicer_of(corp, account, userid) if isinstance(userid, str) and userid else None
        info = member_info(corp, userid)
        if servicer is None or info is None or not info[1]:
            raise SimError(95014, f"not a servicer of this account or not activated: {userid!r}")
        if servicer.status != 0:
            raise SimError(95019, f"servicer {userid} is not receiving (停止接待)")
        assign(world, corp, session, userid)
    elif target == 4:
        log(corp, world.now(), "end", session, session.servicer_userid)
        close(session)
    else:
        session.state, session.servicer_userid = target, ""
        if target == 2:
            log(corp, world.now(), "pool", session)
    session.last_activity_at = world.now()
    code = ""
    if target == 4:
        code = issue_code(world, corp, "ending", session)
    elif target in (2, 3) and target not in session.coded_states:
        session.coded_states.append(target)
        code = issue_code(world, corp, "pool" if target == 2 else "taken", session)
    return ok(msg_code=code) if code else ok()


HANDLERS = [
    account_add,
    account_del,
    account_update,
    account_list,
    add_contact_way,
    servicer_add,
    servicer_del,
    servicer_list,
    service_state_get,
    service_state_trans,
    *wecom_kf_sync.HANDLERS,
    *wecom_kf_send.HANDLERS,
    *wecom_kf_customer.HANDLERS,
]
