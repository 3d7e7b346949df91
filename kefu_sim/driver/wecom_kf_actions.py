"""Driver API for what happens on WeCom 微信客服 under /_sim/wecom: customers and servicers acting.

Customers entering and writing, servicers accepting/transferring/ending/replying in the WeCom
client, pushed events and the admin console's URL check; every action answers with the ids a
test needs (msgid, msg_code, welcome_code, the latest sync token). Bad input is a 400, unknown ids
404, refused actions 409.
"""

from __future__ import annotations

import asyncio
import string
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from litestar import Request, post
from litestar.exceptions import NotFoundException

from gateway.wechat.crypto import WeChatCrypto
from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.driver.common import DriverError, driver_body
from kefu_sim.driver.wecom_kf import find_account, find_corp, find_customer
from kefu_sim.wecom.state import KfMessage, WeComCorp
from kefu_sim.wecom_kf.actor import Actor
from kefu_sim.wecom_kf.session import member_info, push_event, servicer_of
from kefu_sim.world import World


def _result(corp: WeComCorp, message: KfMessage, **extra: Any) -> dict[str, Any]:
    """A driver answer for an action that produced a sync_msg item (with the sync token it made)."""
    token = next((t.token for t in reversed(corp.sync_tokens.values()) if t.open_kfid == message.open_kfid), None)
    return {"msgid": message.item["msgid"], "item": message.item, "token": token, **extra}


@post("/wecom/corps/{corpid:str}/servicer_status", status_code=200)
async def servicer_status(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str
) -> dict[str, Any]:
    """{userid, status: 0 接待中 | 1 停止接待, stop_type?: 0|1, open_kfid?} (all the user's accounts by default)."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    status, userid = body.get("status"), body.get("userid")
    if status not in (0, 1) or not isinstance(userid, str):
        raise DriverError(detail="userid and status (0 on duty, 1 stopped) are required")
    if body.get("open_kfid"):
        accounts = [find_account(corp, body["open_kfid"])]
    else:
        accounts = [a for a in corp.kf_accounts.values() if servicer_of(corp, a, userid) is not None]
    actor = Actor(world, dispatcher, corp)
    events = [actor.set_status(a, userid, status, int(body.get("stop_type") or 0)) for a in accounts]
    return {"events": [_result(corp, e) for e in events]}


@post("/wecom/corps/{corpid:str}/enter", status_code=200)
async def enter_session(request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str) -> dict[str, Any]:
    """{external_userid, open_kfid + scene? + scene_param? | url (from add_contact_way, + &scene_param=)}."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    customer = find_customer(corp, body.get("external_userid"))
    scene, scene_param, open_kfid = body.get("scene") or "", body.get("scene_param") or "", body.get("open_kfid")
    if body.get("url"):
        parts = urlsplit(body["url"])
        query = parse_qs(parts.query)
        open_kfid = parts.path.rsplit("/", 1)[-1]
        account = find_account(corp, open_kfid)
        enc = query.get("enc_scene", [""])[0]
        if enc and enc not in account.scenes:
            raise DriverError(detail="enc_scene of this URL was not issued by add_contact_way")
        scene = account.scenes.get(enc, "")
        scene_param = query.get("scene_param", [scene_param])[0]
    account = find_account(corp, open_kfid)
    if len(scene_param.encode()) > 128:
        raise DriverError(detail="scene_param is at most 128 bytes")
    message, code = Actor(world, dispatcher, corp).enter(
        account, customer, scene=scene, scene_param=scene_param, wechat_channels=body.get("wechat_channels")
    )
    return _result(corp, message, welcome_code=code)


@post("/wecom/corps/{corpid:str}/messages", status_code=200)
async def customer_message(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str
) -> dict[str, Any]:
    """{open_kfid, external_userid, msgtype, <msgtype>: {...}}: the customer writes (origin 3)."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    account, customer = find_account(corp, body.get("open_kfid")), find_customer(corp, body.get("external_userid"))
    msgtype = body.get("msgtype") or "text"
    payload = body.get(msgtype) or {}
    if not isinstance(payload, dict):
        raise DriverError(detail=f"{msgtype} must be an object")
    message, session = Actor(world, dispatcher, corp).write(account, customer, msgtype, payload)
    return _result(corp, message, state=session.state, servicer_userid=session.servicer_userid, session_id=session.id)


@post("/wecom/corps/{corpid:str}/recall", status_code=200)
async def customer_recall(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str
) -> dict[str, Any]:
    """{open_kfid, external_userid, msgid}: user_recall_msg (within 2 minutes of sending)."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    account, customer = find_account(corp, body.get("open_kfid")), find_customer(corp, body.get("external_userid"))
    return _result(corp, Actor(world, dispatcher, corp).recall(account, customer, str(body.get("msgid"))))


@post("/wecom/corps/{corpid:str}/servicer/{action:str}", status_code=200)
async def servicer_action(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str, action: str
) -> dict[str, Any]:
    """action accept | transfer {to_userid} | end | send {msgtype, <msgtype>} | recall {msgid} | reject {reject_switch}.

    Body always has open_kfid, external_userid and userid (the servicer acting in the WeCom client).
    """
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    account, customer = find_account(corp, body.get("open_kfid")), find_customer(corp, body.get("external_userid"))
    userid = body.get("userid")
    if not isinstance(userid, str) or member_info(corp, userid) is None:
        raise DriverError(detail="userid must be a member of the corp")
    actor = Actor(world, dispatcher, corp)
    if action == "accept":
        message, code = actor.accept(account, customer, userid)
        return _result(corp, message, msg_code=code)
    if action == "transfer":
        return _result(corp, actor.transfer(account, customer, userid, str(body.get("to_userid"))))
    if action == "end":
        message, code = actor.end(account, customer, userid)
        return _result(corp, message, msg_code=code)
    if action == "send":
        msgtype = body.get("msgtype") or "text"
        message, reaccess = actor.reply(account, customer, userid, msgtype, body.get(msgtype) or {})
        return _result(corp, message, reaccess_msgid=reaccess.item["msgid"] if reaccess else None)
    if action == "recall":
        return _result(corp, actor.servicer_recall(account, customer, userid, str(body.get("msgid"))))
    if action == "reject":
        return _result(corp, actor.reject(account, customer, userid, int(body.get("reject_switch", 1))))
    raise NotFoundException(detail=f"unknown servicer action {action}")


@post("/wecom/corps/{corpid:str}/send_fail", status_code=200)
async def send_fail(request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str) -> dict[str, Any]:
    """{open_kfid, msgid, fail_type?}: msg_send_fail for a message the API sent."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    message = Actor(world, dispatcher, corp).send_failed(
        find_account(corp, body.get("open_kfid")), str(body.get("msgid")), int(body.get("fail_type") or 0)
    )
    return _result(corp, message)


@post("/wecom/corps/{corpid:str}/auth_change", status_code=200)
async def auth_change(request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str) -> dict[str, Any]:
    """{add?: [open_kfid], del?: [open_kfid]}: push kf_account_auth_change (and flip manage_privilege)."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    added, removed = list(body.get("add") or []), list(body.get("del") or [])
    for open_kfid, privilege in [(k, True) for k in added] + [(k, False) for k in removed]:
        if open_kfid in corp.kf_accounts:
            corp.kf_accounts[open_kfid].manage_privilege = privilege
    fields = {"Event": "kf_account_auth_change", "AuthAddOpenKfId": added or None, "AuthDelOpenKfId": removed or None}
    return {"pushed": push_event(world, dispatcher, corp, fields)}


@post("/wecom/corps/{corpid:str}/verify_url", status_code=200)
async def verify_url(request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str) -> dict[str, Any]:
    """The admin console's URL check: GET callback_url with an encrypted echostr; the receiver must
    answer 200 with the bare plaintext within `timeout` seconds (1 s by default)."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    if not (corp.callback_url and corp.callback_token and corp.encoding_aes_key):
        raise DriverError(detail="the corp has no callback_url/callback_token/encoding_aes_key")
    expected = world.new_id("", 19, string.digits)
    crypto = WeChatCrypto(corp.callback_token, corp.encoding_aes_key, corp.corpid)
    echostr = crypto.encrypt(expected, random16=world.rng.randbytes(16))
    timestamp, nonce = str(int(world.now())), world.new_id("", 10, string.digits)
    query = {
        "msg_signature": crypto.signature(timestamp, nonce, echostr),
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": echostr,
    }
    client = dispatcher._client_or_default()  # the dispatcher's client reaches the receiver (ASGI in tests)
    try:
        async with asyncio.timeout(float(body.get("timeout", 1.0))):
            response = await client.get(corp.callback_url, params=query)
    except (TimeoutError, httpx.HTTPError) as exc:
        return {"ok": False, "status": None, "body": "", "expected": expected, "error": type(exc).__name__}
    answer = response.text
    return {
        "ok": response.status_code == 200 and answer == expected,
        "status": response.status_code,
        "body": answer[:200],
        "expected": expected,
        "error": None,
    }


HANDLERS = [
    servicer_status,
    enter_session,
    customer_message,
    customer_recall,
    servicer_action,
    send_fail,
    auth_change,
    verify_url,
]
