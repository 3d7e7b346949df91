"""Driver API for WeCom 微信客服 setup under /_sim/wecom: corps, members, media, kf accounts, customers.

Setting up (corp, members, kf accounts, upgrade config) goes through here, plus read-outs of the
sessions and of every sync_msg item; what customers and servicers do is in wecom_kf_actions.py.
Bad input is a 400, unknown ids 404.
"""

from __future__ import annotations

import base64
import string
from typing import Any

import msgspec
from litestar import Request, get, patch, post, put
from litestar.exceptions import NotFoundException

from kefu_sim.driver.common import DriverError, driver_body
from kefu_sim.samples import MEDIA_FILES
from kefu_sim.wecom.base import store_media
from kefu_sim.wecom.state import Customer, KfAccount, Member, Servicer, UpgradeConfig, WeComCorp
from kefu_sim.wecom_kf.session import member_info
from kefu_sim.world import Person, World

ALNUM = string.ascii_letters + string.digits
SETTINGS = (
    "verified",
    "callback_url",
    "callback_token",
    "encoding_aes_key",
    "wechat_channels_binding",
    "kf_account_cap",
    "sync_empty_page_rate",
    "sync_calls_per_minute",
)


def find_corp(world: World, corpid: str) -> WeComCorp:
    corp = world.state.corps.get(corpid)
    if corp is None:
        raise NotFoundException(detail=f"no corp {corpid}")
    return corp


def find_account(corp: WeComCorp, open_kfid: object) -> KfAccount:
    account = corp.kf_accounts.get(open_kfid) if isinstance(open_kfid, str) else None
    if account is None:
        raise NotFoundException(detail=f"no kf account {open_kfid!r} in {corp.corpid}")
    return account


def find_customer(corp: WeComCorp, external_userid: object) -> Customer:
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
    return _summary(find_corp(world, corpid))


@patch("/wecom/corps/{corpid:str}", status_code=200)
async def update_corp(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """Change settings (callback, verified, caps, sync_empty_page_rate...); {"add_secret": s} adds a secret."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    _apply_settings(corp, body, world)
    if body.get("add_secret"):
        corp.secrets.append(body["add_secret"])
    return _summary(corp)


@post("/wecom/corps/{corpid:str}/members", status_code=201)
async def add_member(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """{userid, name?, department?: [ids], active?}; adding again updates the member."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    if not body.get("userid"):
        raise DriverError(detail="userid is required")
    member = Member(
        userid=str(body["userid"]),
        name=str(body.get("name") or body["userid"]),
        department=list(body.get("department") or [1]),
        active=bool(body.get("active", True)),
    )
    corp.members[member.userid] = member
    corp.departments = sorted(set(corp.departments) | set(member.department))
    return msgspec.to_builtins(member)


@post("/wecom/corps/{corpid:str}/media", status_code=201)
async def add_media(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """{type: image|voice|video|file, filename?, content_b64?}: a temporary media without multipart."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    media_type = body.get("type", "image")
    if media_type not in MEDIA_FILES:
        raise DriverError(detail="type must be image, voice, video or file")
    filename, content = MEDIA_FILES[media_type]
    if body.get("content_b64"):
        content = base64.b64decode(body["content_b64"])
    media = store_media(world, corp, media_type, body.get("filename") or filename, content)
    return {"media_id": media.media_id, "type": media.type, "created_at": media.created_at}


@post("/wecom/corps/{corpid:str}/kf_accounts", status_code=201)
async def add_kf_account(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """{name, open_kfid?, servicers?: [userid], department_ids?, native_welcome?, manage_privilege?}."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    filename, content = MEDIA_FILES["image"]
    media = store_media(world, corp, "image", filename, content)
    open_kfid = body.get("open_kfid") or world.new_id("wk", 30, ALNUM + "_-")
    account = KfAccount(
        open_kfid=open_kfid,
        name=str(body.get("name") or "客服"),
        media_id=media.media_id,
        avatar=f"https://wework.qpic.cn/wwhead/{media.media_id[:24]}/0",
        created_at=world.now(),
        native_welcome=bool(body.get("native_welcome", False)),
        manage_privilege=bool(body.get("manage_privilege", True)),
        department_ids=list(body.get("department_ids") or []),
    )
    for userid in body.get("servicers") or []:
        if member_info(corp, userid) is None:
            raise DriverError(detail=f"{userid} is not a member of {corpid}: add it first")
        account.servicers[userid] = Servicer(userid=userid)
    corp.kf_accounts[open_kfid] = account
    return _account_view(account)


@patch("/wecom/corps/{corpid:str}/kf_accounts/{open_kfid:str}", status_code=200)
async def update_kf_account(request: Request, world: World, corpid: str, open_kfid: str) -> dict[str, Any]:
    """{native_welcome?, manage_privilege?}."""
    account = find_account(find_corp(world, corpid), open_kfid)
    body = await driver_body(request)
    for name in ("native_welcome", "manage_privilege"):
        if name in body:
            setattr(account, name, bool(body[name]))
    return _account_view(account)


@post("/wecom/corps/{corpid:str}/customers", status_code=201)
async def add_customer(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """{unionid?, nickname?, avatar?, gender?, external_userid?}: the Person is created when unknown."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    unionid = body.get("unionid") or world.new_id("o6_bmasdasdsad6_2sgVt7hM", 8)
    person = world.state.persons.get(unionid)
    if person is None:
        person = world.state.persons[unionid] = Person(
            unionid=unionid,
            nickname=str(body.get("nickname") or f"user-{unionid[-4:]}"),
            avatar=str(body.get("avatar") or ""),
            gender=int(body.get("gender") or 0),
        )
    contact = corp.contacts.contact_by_unionid(unionid)  # the same person as an external contact
    external_userid = (
        corp.external_userids.get(unionid)
        or (contact.external_userid if contact else None)
        or body.get("external_userid")
        or world.new_id("wm", 30, ALNUM + "_-")
    )
    corp.external_userids[unionid] = external_userid
    customer = corp.customers.get(external_userid)
    if customer is None:
        customer = corp.customers[external_userid] = Customer(
            external_userid=external_userid, unionid=unionid, created_at=world.now()
        )
    return {"external_userid": external_userid, "unionid": unionid, "nickname": person.nickname}


@put("/wecom/corps/{corpid:str}/upgrade_config", status_code=200)
async def upgrade_config(request: Request, world: World, corpid: str) -> dict[str, Any]:
    """{userid_list?, department_id_list?, chat_id_list?}: the admin console's 升级服务 ranges."""
    corp = find_corp(world, corpid)
    body = await driver_body(request)
    try:
        corp.upgrade_config = msgspec.convert(body, UpgradeConfig)
    except msgspec.ValidationError as exc:
        raise DriverError(detail=f"bad upgrade config: {exc}") from None
    return msgspec.to_builtins(corp.upgrade_config)


@get("/wecom/corps/{corpid:str}/sessions", sync_to_thread=False)
def list_sessions(world: World, corpid: str) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(s) for s in find_corp(world, corpid).sessions.values()]


@get("/wecom/corps/{corpid:str}/messages", sync_to_thread=False)
def list_messages(world: World, corpid: str, open_kfid: str | None = None) -> list[dict[str, Any]]:
    """Every sync_msg item ever produced (no 3-day horizon), oldest first."""
    return [m.item for m in find_corp(world, corpid).messages if open_kfid is None or m.open_kfid == open_kfid]


HANDLERS = [
    create_corp,
    show_corp,
    update_corp,
    add_member,
    add_media,
    add_kf_account,
    update_kf_account,
    add_customer,
    upgrade_config,
    list_sessions,
    list_messages,
]
