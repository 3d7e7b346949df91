"""WeCom 微信客服 servicers (add/del/list) and the session service state (get/trans): docs/platforms.md §2.2, §2.3."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post

from kefu_sim.common import json_body, ok
from kefu_sim.wecom.base import corp_for
from kefu_sim.wecom.state import KfAccount, Servicer
from kefu_sim.wecom_kf.session import (
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
from kefu_sim.world import SimError, World

INVALID = 40058


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


HANDLERS = [servicer_add, servicer_del, servicer_list, service_state_get, service_state_trans]
