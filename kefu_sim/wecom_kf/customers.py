"""kf customers: batchget, 升级服务 (upgrade service) and corp qualification (docs/platforms.md §2.7).

The statistics endpoints of the same section live in stats.py.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post

from kefu_sim.common import json_body, ok
from kefu_sim.wecom.base import corp_for
from kefu_sim.wecom.state import SESSION_WINDOW, Customer, WeComCorp
from kefu_sim.wecom_kf.session import account_of, customer_of, log, member_info, session_of
from kefu_sim.world import SimError, World

INVALID = 40058


def _context(customer: Customer) -> dict[str, Any]:
    ctx = customer.enter_context
    channels = (ctx.wechat_channels if ctx else None) or {}
    return {
        "scene": ctx.scene if ctx else "",
        "scene_param": ctx.scene_param if ctx else "",
        "wechat_channels": {
            "nickname": channels.get("nickname", ""),
            "shop_nickname": channels.get("shop_nickname", ""),
            "scene": channels.get("scene", 0),
        },
    }


@post("/cgi-bin/kf/customer/batchget", status_code=200)
async def customer_batchget(request: Request, world: World) -> dict[str, Any]:
    """1–100 ids (40058); ids without an interaction in the last 48 h go to invalid_external_userid."""
    corp = corp_for(request, world)
    body = await json_body(request)
    ids = body.get("external_userid_list")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise SimError(INVALID, "invalid parameter: external_userid_list must hold 1 to 100 ids")
    with_context = bool(body.get("need_enter_session_context"))
    now = world.now()
    found: list[dict[str, Any]] = []
    invalid: list[Any] = []
    for external_userid in dict.fromkeys(i for i in ids if isinstance(i, str)):
        customer = corp.customers.get(external_userid)
        if (
            customer is None
            or customer.last_interaction_at is None
            or now - customer.last_interaction_at >= SESSION_WINDOW
        ):
            invalid.append(external_userid)
            continue
        person = world.state.persons.get(customer.unionid)
        entry: dict[str, Any] = {
            "external_userid": external_userid,
            "nickname": person.nickname if person else "",
            "avatar": person.avatar if person else "",
            "gender": person.gender if person else 0,
            "unionid": customer.unionid,
        }
        if with_context:
            entry["enter_session_context"] = _context(customer)
        found.append(entry)
    invalid += [i for i in ids if not isinstance(i, str)]
    return ok(customer_list=found, invalid_external_userid=invalid)


@get("/cgi-bin/kf/customer/get_upgrade_service_config", sync_to_thread=False)
def get_upgrade_service_config(request: Request, world: World) -> dict[str, Any]:
    config = corp_for(request, world).upgrade_config
    return ok(
        member_range={"userid_list": config.userid_list, "department_id_list": config.department_id_list},
        groupchat_range={"chat_id_list": config.chat_id_list},
    )


def _member_allowed(corp: WeComCorp, userid: str) -> bool:
    config = corp.upgrade_config
    info = member_info(corp, userid)
    if info is None:
        return False
    return userid in config.userid_list or bool(set(info[0]) & set(config.department_id_list))


@post("/cgi-bin/kf/customer/upgrade_service", status_code=200)
async def upgrade_service(request: Request, world: World) -> dict[str, Any]:
    """type 1 member{userid} / 2 groupchat{chat_id}; 95021 when not configured in 升级服务."""
    corp = corp_for(request, world)
    body = await json_body(request)
    account = account_of(corp, body.get("open_kfid"))
    customer = customer_of(corp, body.get("external_userid"))
    kind = body.get("type")
    if kind == 1:
        target = body.get("member")
        userid = target.get("userid") if isinstance(target, dict) else None
        if not isinstance(userid, str) or not userid:
            raise SimError(INVALID, "invalid parameter: member.userid missing")
        if not _member_allowed(corp, userid):
            raise SimError(95021, f"userid {userid} is not configured for upgrade service")
        upgrade, activity = f"member:{userid}", "upgrade_member"
    elif kind == 2:
        target = body.get("groupchat")
        chat_id = target.get("chat_id") if isinstance(target, dict) else None
        if not isinstance(chat_id, str) or not chat_id:
            raise SimError(INVALID, "invalid parameter: groupchat.chat_id missing")
        if chat_id not in corp.upgrade_config.chat_id_list:
            raise SimError(95021, f"chat_id {chat_id} is not configured for upgrade service")
        upgrade, activity = f"groupchat:{chat_id}", "upgrade_groupchat"
    else:
        raise SimError(INVALID, "invalid parameter: type must be 1 (member) or 2 (groupchat)")
    wording = target.get("wording", "")
    if not isinstance(wording, str) or len(wording.encode()) > 255:
        raise SimError(INVALID, "invalid parameter: wording is a string of at most 255 bytes")
    session = session_of(world, corp, account.open_kfid, customer.external_userid)
    session.upgrade = upgrade
    log(corp, world.now(), activity, session, session.servicer_userid)
    return ok()


@post("/cgi-bin/kf/customer/cancel_upgrade_service", status_code=200)
async def cancel_upgrade_service(request: Request, world: World) -> dict[str, Any]:
    corp = corp_for(request, world)
    body = await json_body(request)
    account = account_of(corp, body.get("open_kfid"))
    customer = customer_of(corp, body.get("external_userid"))
    session_of(world, corp, account.open_kfid, customer.external_userid).upgrade = ""
    return ok()


@get("/cgi-bin/kf/get_corp_qualification", sync_to_thread=False)
def get_corp_qualification(request: Request, world: World) -> dict[str, Any]:
    return ok(wechat_channels_binding=corp_for(request, world).wechat_channels_binding)


HANDLERS = [
    customer_batchget,
    get_upgrade_service_config,
    upgrade_service,
    cancel_upgrade_service,
    get_corp_qualification,
]
