"""Driver API for WeCom 微信客服 under /_sim/wecom: corps, members, customers and what they do.

Setting up (corp, members, kf accounts, upgrade config) and acting (customers entering and
writing, servicers accepting/transferring/ending/replying in the WeCom client) both go through
here; every action answers with the ids a test needs (msgid, msg_code, welcome_code, the latest
sync token). Bad input is a 400, unknown ids 404, refused actions 409.
"""

from __future__ import annotations

import asyncio
import base64
import string
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
from litestar import Request, get, patch, post, put
from litestar.exceptions import NotFoundException

from gateway.simulator.callbacks import CallbackDispatcher
from gateway.simulator.driver import DriverError, driver_body
from gateway.simulator.wecom_base import store_media
from gateway.simulator.wecom_kf_actor import Actor
from gateway.simulator.wecom_kf_payload import PLACEHOLDER_FILES
from gateway.simulator.wecom_kf_session import member_info, push_event, servicer_of
from gateway.simulator.wecom_state import Customer, KfAccount, KfMessage, Member, Servicer, UpgradeConfig, WeComCorp
from gateway.simulator.world import Person, World
from gateway.wechat.crypto import WeChatCrypto

ALNUM = string.ascii_letters + string.digits
SETTINGS = ("verified", "callback_url", "callback_token", "encoding_aes_key", "wechat_channels_binding",
            "kf_account_cap", "sync_empty_page_rate", "sync_calls_per_minute")


def _corp(world: World, corpid: str) -> WeComCorp:
    corp = world.state.corps.get(corpid)
    if corp is None:
        raise NotFoundException(detail=f"no corp {corpid}")
    return corp


def _account(corp: WeComCorp, open_kfid: object) -> KfAccount:
    account = corp.kf_accounts.get(open_kfid) if isinstance(open_kfid, str) else None
    if account is None:
        raise NotFoundException(detail=f"no kf account {open_kfid!r} in {corp.corpid}")
    return account


def _customer(corp: WeComCorp, external_userid: object) -> Customer:
    customer = corp.customers.get(external_userid) if isinstance(external_userid, str) else None
    if customer is None:
        raise NotFoundException(detail=f"no customer {external_userid!r} in {corp.corpid}")
    return customer


def _apply_settings(corp: WeComCorp, body: dict[str, Any], world: World) -> None:
    for name in SETTINGS:
        if name in body:
            setattr(corp, name, body[name])
    if corp.callback_url and not corp.callback_token:
        corp.callback_token = world.new_id("", 32, ALNUM)
    if corp.callback_url and not corp.encoding_aes_key:
        corp.encoding_aes_key = world.new_id("", 43, ALNUM)


def _summary(corp: WeComCorp) -> dict[str, Any]:
    return {
        "corpid": corp.corpid,
        "secrets": corp.secrets,
        "token_owners": [f"wecom:{corp.corpid}:{s}" for s in corp.secrets],
        **{name: getattr(corp, name) for name in SETTINGS},
        "members": [msgspec.to_builtins(m) for m in corp.members.values()],
        "kf_accounts": [_account_view(a) for a in corp.kf_accounts.values()],
    }


def _account_view(account: KfAccount) -> dict[str, Any]:
    return msgspec.to_builtins(account)


def _result(corp: WeComCorp, message: KfMessage, **extra: Any) -> dict[str, Any]:
    """A driver answer for an action that produced a sync_msg item (with the sync token it made)."""
    token = next((t.token for t in reversed(corp.sync_tokens.values()) if t.open_kfid == message.open_kfid), None)
    return {"msgid": message.item["msgid"], "item": message.item, "token": token, **extra}


@post("/wecom/corps", status_code=201)
async def create_corp(request: Request, world: World) -> dict[str, Any]:
    """{corpid?, secret?|secrets?, verified?, callback_url?, callback_token?, encoding_aes_key?, ...settings}."""
    body = await driver_body(request)
    corpid = body.get("corpid") or world.new_id("ww", 16, "0123456789abcdef")
    if corpid in world.state.corps:
        raise DriverError(detail=f"corp {corpid} exists")
    secrets = body.get("secrets") or [body.get("secret") or world.new_id("", 43, ALNUM + "-_")]
    corp = WeComCorp(corpid=corpid, secrets=list(secrets))
    _apply_settings(corp, body, world)
    world.state.corps[corpid] = corp
    return _summary(corp)


@get("/wecom/corps/{corpid:str}", sync_to_thread=False)
def show_corp(world: World, corpid: str) -> dict[str, Any]:
    return _summary(_corp(world, corpid))


@patch("/wecom/corps/{corpid:str}", status_code=200)
async def update_corp(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """Change settings (callback, verified, caps, sync_empty_page_rate...); {"add_secret": s} adds a secret."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    _apply_settings(corp, body, world)
    if body.get("add_secret"):
        corp.secrets.append(body["add_secret"])
    return _summary(corp)


@post("/wecom/corps/{corpid:str}/members", status_code=201)
async def add_member(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """{userid, name?, department?: [ids], active?}; adding again updates the member."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    if not body.get("userid"):
        raise DriverError(detail="userid is required")
    member = Member(userid=str(body["userid"]), name=str(body.get("name") or body["userid"]),
                    department=list(body.get("department") or [1]), active=bool(body.get("active", True)))
    corp.members[member.userid] = member
    corp.departments = sorted(set(corp.departments) | set(member.department))
    return msgspec.to_builtins(member)


@post("/wecom/corps/{corpid:str}/media", status_code=201)
async def add_media(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """{type: image|voice|video|file, filename?, content_b64?}: a temporary media without multipart."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    media_type = body.get("type", "image")
    if media_type not in PLACEHOLDER_FILES:
        raise DriverError(detail="type must be image, voice, video or file")
    filename, content = PLACEHOLDER_FILES[media_type]
    if body.get("content_b64"):
        content = base64.b64decode(body["content_b64"])
    media = store_media(world, corp, media_type, body.get("filename") or filename, content)
    return {"media_id": media.media_id, "type": media.type, "created_at": media.created_at}


@post("/wecom/corps/{corpid:str}/kf_accounts", status_code=201)
async def add_kf_account(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """{name, open_kfid?, servicers?: [userid], department_ids?, native_welcome?, manage_privilege?}."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    filename, content = PLACEHOLDER_FILES["image"]
    media = store_media(world, corp, "image", filename, content)
    open_kfid = body.get("open_kfid") or world.new_id("wk", 30, ALNUM + "_-")
    account = KfAccount(open_kfid=open_kfid, name=str(body.get("name") or "客服"), media_id=media.media_id,
                        avatar=f"https://wework.qpic.cn/wwhead/{media.media_id[:24]}/0", created_at=world.now(),
                        native_welcome=bool(body.get("native_welcome", False)),
                        manage_privilege=bool(body.get("manage_privilege", True)),
                        department_ids=list(body.get("department_ids") or []))
    for userid in body.get("servicers") or []:
        if member_info(corp, userid) is None:
            raise DriverError(detail=f"{userid} is not a member of {corpid}: add it first")
        account.servicers[userid] = Servicer(userid=userid)
    corp.kf_accounts[open_kfid] = account
    return _account_view(account)


@patch("/wecom/corps/{corpid:str}/kf_accounts/{open_kfid:str}", status_code=200)
async def update_kf_account(request: Request, world: World, corpid: str, open_kfid: str) -> dict[str, Any]:
    """{native_welcome?, manage_privilege?}."""
    account = _account(_corp(world, corpid), open_kfid)
    body = await driver_body(request)
    for name in ("native_welcome", "manage_privilege"):
        if name in body:
            setattr(account, name, bool(body[name]))
    return _account_view(account)


@post("/wecom/corps/{corpid:str}/servicer_status", status_code=200)
async def servicer_status(request: Request, world: World, dispatcher: CallbackDispatcher,
                          corpid: str) -> dict[str, Any]:
    """{userid, status: 0 接待中 | 1 停止接待, stop_type?: 0|1, open_kfid?} (all the user's accounts by default)."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    status, userid = body.get("status"), body.get("userid")
    if status not in (0, 1) or not isinstance(userid, str):
        raise DriverError(detail="userid and status (0 on duty, 1 stopped) are required")
    if body.get("open_kfid"):
        accounts = [_account(corp, body["open_kfid"])]
    else:
        accounts = [a for a in corp.kf_accounts.values() if servicer_of(corp, a, userid) is not None]
    actor = Actor(world, dispatcher, corp)
    events = [actor.set_status(a, userid, status, int(body.get("stop_type") or 0)) for a in accounts]
    return {"events": [_result(corp, e) for e in events]}


@post("/wecom/corps/{corpid:str}/customers", status_code=201)
async def add_customer(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """{unionid?, nickname?, avatar?, gender?, external_userid?}: the Person is created when unknown."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    unionid = body.get("unionid") or world.new_id("o6_bmasdasdsad6_2sgVt7hM", 8)
    person = world.state.persons.get(unionid)
    if person is None:
        person = world.state.persons[unionid] = Person(
            unionid=unionid, nickname=str(body.get("nickname") or f"user-{unionid[-4:]}"),
            avatar=str(body.get("avatar") or ""), gender=int(body.get("gender") or 0))
    contact = corp.contacts.contact_by_unionid(unionid)  # the same person as an external contact
    external_userid = corp.external_userids.get(unionid) or (contact.external_userid if contact else None) \
        or body.get("external_userid") or world.new_id("wm", 30, ALNUM + "_-")
    corp.external_userids[unionid] = external_userid
    customer = corp.customers.get(external_userid)
    if customer is None:
        customer = corp.customers[external_userid] = Customer(external_userid=external_userid, unionid=unionid,
                                                              created_at=world.now())
    return {"external_userid": external_userid, "unionid": unionid, "nickname": person.nickname}


@post("/wecom/corps/{corpid:str}/enter", status_code=200)
async def enter_session(request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str) -> dict[str, Any]:
    """{external_userid, open_kfid + scene? + scene_param? | url (from add_contact_way, + &scene_param=)}."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    customer = _customer(corp, body.get("external_userid"))
    scene, scene_param, open_kfid = body.get("scene") or "", body.get("scene_param") or "", body.get("open_kfid")
    if body.get("url"):
        parts = urlsplit(body["url"])
        query = parse_qs(parts.query)
        open_kfid = parts.path.rsplit("/", 1)[-1]
        account = _account(corp, open_kfid)
        enc = query.get("enc_scene", [""])[0]
        if enc and enc not in account.scenes:
            raise DriverError(detail="enc_scene of this URL was not issued by add_contact_way")
        scene = account.scenes.get(enc, "")
        scene_param = query.get("scene_param", [scene_param])[0]
    account = _account(corp, open_kfid)
    if len(scene_param.encode()) > 128:
        raise DriverError(detail="scene_param is at most 128 bytes")
    message, code = Actor(world, dispatcher, corp).enter(account, customer, scene=scene, scene_param=scene_param,
                                                         wechat_channels=body.get("wechat_channels"))
    return _result(corp, message, welcome_code=code)


@post("/wecom/corps/{corpid:str}/messages", status_code=200)
async def customer_message(request: Request, world: World, dispatcher: CallbackDispatcher,
                           corpid: str) -> dict[str, Any]:
    """{open_kfid, external_userid, msgtype, <msgtype>: {...}}: the customer writes (origin 3)."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    account, customer = _account(corp, body.get("open_kfid")), _customer(corp, body.get("external_userid"))
    msgtype = body.get("msgtype") or "text"
    payload = body.get(msgtype) or {}
    if not isinstance(payload, dict):
        raise DriverError(detail=f"{msgtype} must be an object")
    message, session = Actor(world, dispatcher, corp).write(account, customer, msgtype, payload)
    return _result(corp, message, state=session.state, servicer_userid=session.servicer_userid,
                   session_id=session.id)


@get("/wecom/corps/{corpid:str}/messages", sync_to_thread=False)
def list_messages(world: World, corpid: str, open_kfid: str | None = None) -> list[dict[str, Any]]:
    """Every sync_msg item ever produced (no 3-day horizon), oldest first."""
    return [m.item for m in _corp(world, corpid).messages if open_kfid is None or m.open_kfid == open_kfid]


@post("/wecom/corps/{corpid:str}/recall", status_code=200)
async def customer_recall(request: Request, world: World, dispatcher: CallbackDispatcher,
                          corpid: str) -> dict[str, Any]:
    """{open_kfid, external_userid, msgid}: user_recall_msg (within 2 minutes of sending)."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    account, customer = _account(corp, body.get("open_kfid")), _customer(corp, body.get("external_userid"))
    return _result(corp, Actor(world, dispatcher, corp).recall(account, customer, str(body.get("msgid"))))


@post("/wecom/corps/{corpid:str}/servicer/{action:str}", status_code=200)
async def servicer_action(request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str,
                          action: str) -> dict[str, Any]:
    """action accept | transfer {to_userid} | end | send {msgtype, <msgtype>} | recall {msgid} | reject {reject_switch}.

    Body always has open_kfid, external_userid and userid (the servicer acting in the WeCom client).
    """
    corp = _corp(world, corpid)
    body = await driver_body(request)
    account, customer = _account(corp, body.get("open_kfid")), _customer(corp, body.get("external_userid"))
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
    corp = _corp(world, corpid)
    body = await driver_body(request)
    message = Actor(world, dispatcher, corp).send_failed(_account(corp, body.get("open_kfid")),
                                                         str(body.get("msgid")), int(body.get("fail_type") or 0))
    return _result(corp, message)


@post("/wecom/corps/{corpid:str}/auth_change", status_code=200)
async def auth_change(request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str) -> dict[str, Any]:
    """{add?: [open_kfid], del?: [open_kfid]}: push kf_account_auth_change (and flip manage_privilege)."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    added, removed = list(body.get("add") or []), list(body.get("del") or [])
    for open_kfid, privilege in [(k, True) for k in added] + [(k, False) for k in removed]:
        if open_kfid in corp.kf_accounts:
            corp.kf_accounts[open_kfid].manage_privilege = privilege
    fields = {"Event": "kf_account_auth_change", "AuthAddOpenKfId": added or None, "AuthDelOpenKfId": removed or None}
    return {"pushed": push_event(world, dispatcher, corp, fields)}


@put("/wecom/corps/{corpid:str}/upgrade_config", status_code=200)
async def upgrade_config(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """{userid_list?, department_id_list?, chat_id_list?}: the admin console's 升级服务 ranges."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    try:
        corp.upgrade_config = msgspec.convert(body, UpgradeConfig)
    except msgspec.ValidationError as exc:
        raise DriverError(detail=f"bad upgrade config: {exc}") from None
    return msgspec.to_builtins(corp.upgrade_config)


@get("/wecom/corps/{corpid:str}/sessions", sync_to_thread=False)
def list_sessions(world: World, corpid: str) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(s) for s in _corp(world, corpid).sessions.values()]


@post("/wecom/corps/{corpid:str}/verify_url", status_code=200)
async def verify_url(request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str) -> dict[str, Any]:
    """The admin console's URL check: GET callback_url with an encrypted echostr; the receiver must
    answer 200 with the bare plaintext within `timeout` seconds (1 s by default)."""
    corp = _corp(world, corpid)
    body = await driver_body(request)
    if not (corp.callback_url and corp.callback_token and corp.encoding_aes_key):
        raise DriverError(detail="the corp has no callback_url/callback_token/encoding_aes_key")
    expected = world.new_id("", 19, string.digits)
    crypto = WeChatCrypto(corp.callback_token, corp.encoding_aes_key, corp.corpid)
    echostr = crypto.encrypt(expected, random16=world.rng.randbytes(16))
    timestamp, nonce = str(int(world.now())), world.new_id("", 10, string.digits)
    query = {"msg_signature": crypto.signature(timestamp, nonce, echostr), "timestamp": timestamp,
             "nonce": nonce, "echostr": echostr}
    client = dispatcher._client_or_default()  # the dispatcher's client reaches the receiver (ASGI in tests)
    try:
        async with asyncio.timeout(float(body.get("timeout", 1.0))):
            response = await client.get(corp.callback_url, params=query)
    except (TimeoutError, httpx.HTTPError) as exc:
        return {"ok": False, "status": None, "body": "", "expected": expected, "error": type(exc).__name__}
    answer = response.text
    return {"ok": response.status_code == 200 and answer == expected, "status": response.status_code,
            "body": answer[:200], "expected": expected, "error": None}


HANDLERS = [
    create_corp, show_corp, update_corp, add_member, add_media, add_kf_account, update_kf_account,
    servicer_status, add_customer, enter_session, customer_message, list_messages, customer_recall,
    servicer_action, send_fail, auth_change, upgrade_config, list_sessions, verify_url,
]
