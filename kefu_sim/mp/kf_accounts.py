"""MP kf account management: kfaccount add/update/del/inviteworker/uploadheadimg, kf lists (docs/platforms.md §4.1)."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, get, post, route
from litestar.datastructures import UploadFile

from kefu_sim.common import json_body, ok
from kefu_sim.mp.ops import app_of, kf_of
from kefu_sim.mp.state import MpApp, MpKfAccount
from kefu_sim.world import SimError, World

MAX_ACCOUNTS = 100
MAX_NICKNAME = 16  # characters
HEADIMG_MAX = 5 * 1024 * 1024
INVITE_LIFETIME = 7 * 86400  # UNVERIFIED: how long an invitation waits for the invitee
MAX_BINDINGS = 5  # UNVERIFIED: kf accounts one WeChat user may be bound to across accounts (65410)
_PREFIX = re.compile(r"[A-Za-z0-9_]{1,10}")
_WECHAT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{5,19}")  # WeChat IDs: 6-20 chars, a letter first


def _check_account_name(app: MpApp, kf_account: Any) -> str:
    """ "prefix@<the account's WeChat ID>", prefix ≤10 of [A-Za-z0-9_]; 65404 otherwise."""
    if not isinstance(kf_account, str) or kf_account.count("@") != 1:
        raise SimError(65404, "invalid kf_account format: expected prefix@wechat_id")
    prefix, suffix = kf_account.split("@")
    if not _PREFIX.fullmatch(prefix):
        raise SimError(65404, "invalid kf_account: prefix must be 1-10 of [A-Za-z0-9_]")
    if not app.wechat_id or suffix != app.wechat_id or len(suffix) > 30:
        raise SimError(65404, "invalid kf_account: suffix must be the official account's WeChat ID")
    return kf_account


def _check_nickname(nickname: Any) -> str:
    if not isinstance(nickname, str) or not nickname.strip() or len(nickname) > MAX_NICKNAME:
        raise SimError(65403, f"invalid nickname: 1-{MAX_NICKNAME} characters")
    return nickname


def invite_status(world: World, kf: MpKfAccount) -> str | None:
    if kf.invite_status == "waiting" and kf.invite_expire_time is not None and world.now() > kf.invite_expire_time:
        kf.invite_status = "expired"
    return kf.invite_status


@post("/customservice/kfaccount/add", status_code=200)
async def kfaccount_add(request: Request, world: World) -> dict[str, Any]:
    """{kf_account, nickname, password?}: the legacy md5 password is accepted and ignored."""
    app = app_of(request, world)
    body = await json_body(request)
    name = _check_account_name(app, body.get("kf_account"))
    nickname = _check_nickname(body.get("nickname"))
    if name in app.kf_accounts:
        raise SimError(65406, "kf_account already exists")
    if len(app.kf_accounts) >= MAX_ACCOUNTS:
        raise SimError(65405, f"kf account count reached the limit of {MAX_ACCOUNTS}")
    app.kf_accounts[name] = MpKfAccount(kf_account=name, kf_id=str(app.next_kf_id), nickname=nickname)
    app.next_kf_id += 1
    return ok()


@post("/customservice/kfaccount/update", status_code=200)
async def kfaccount_update(request: Request, world: World) -> dict[str, Any]:
    app = app_of(request, world)
    body = await json_body(request)
    kf = kf_of(app, body.get("kf_account"))
    kf.nickname = _check_nickname(body.get("nickname"))
    return ok()


@route("/customservice/kfaccount/del", http_method=["GET", "POST"], status_code=200)
async def kfaccount_del(request: Request, world: World) -> dict[str, Any]:
    """GET ?kf_account= (what the SDKs send) or POST {kf_account} (current doc) — docs/platforms.md §7.12."""
    app = app_of(request, world)
    name = request.query_params.get("kf_account")
    if request.method == "POST" and not name:
        name = (await json_body(request)).get("kf_account")
    kf = kf_of(app, name)
    del app.kf_accounts[kf.kf_account]
    for openid in [o for o, s in app.sessions.items() if s.kf_account == kf.kf_account]:
        del app.sessions[openid]
    return ok()


@post("/customservice/kfaccount/inviteworker", status_code=200)
async def kfaccount_inviteworker(request: Request, world: World) -> dict[str, Any]:
    """{kf_account, invite_wx}: invite a WeChat user to bind the kf account (65407–65412)."""
    app = app_of(request, world)
    body = await json_body(request)
    kf = kf_of(app, body.get("kf_account"))
    wx = body.get("invite_wx")
    if not isinstance(wx, str) or not _WECHAT_ID.fullmatch(wx):
        raise SimError(65409, "invalid wechat id")
    if kf.kf_wx:
        raise SimError(65412, "the kf account is already bound to a wechat user")
    if invite_status(world, kf) == "waiting":
        raise SimError(65411, "an invitation for this kf account is already waiting")
    others = [k for k in app.kf_accounts.values() if k is not kf]
    if any(k.kf_wx == wx for k in others):
        raise SimError(65407, "the invitee is already a kf of this official account")
    if any(k.invite_wx == wx and invite_status(world, k) == "waiting" for k in others):
        raise SimError(65408, "an invitation was already sent to this wechat user")
    bound = sum(1 for a in world.state.mp_apps.values() for k in a.kf_accounts.values() if k.kf_wx == wx)
    if bound >= MAX_BINDINGS:
        raise SimError(65410, "the invitee is bound to too many kf accounts")
    kf.invite_wx = wx
    kf.invite_status = "waiting"
    kf.invite_expire_time = int(world.now()) + INVITE_LIFETIME
    return ok()


@post("/customservice/kfaccount/uploadheadimg", status_code=200)
async def kfaccount_uploadheadimg(request: Request, world: World) -> dict[str, Any]:
    """?kf_account= with multipart field `media`: a jpg of at most 5 MB."""
    app = app_of(request, world)
    kf = kf_of(app, request.query_params.get("kf_account"))
    filename, data = await multipart_media(request)
    is_jpeg = data[:3] == b"\xff\xd8\xff" or filename.lower().endswith((".jpg", ".jpeg"))
    if not is_jpeg:
        raise SimError(40005, "invalid file type: the head image must be a jpg")
    if len(data) > HEADIMG_MAX:
        raise SimError(40009, "invalid image size: at most 5 MB")
    kf.headimgurl = f"http://mmbiz.qpic.cn/mmbiz_jpg/{world.new_id('', 32)}/300?wx_fmt=jpeg"
    return ok()


async def multipart_media(request: Request) -> tuple[str, bytes]:
    """The `media` file of a multipart body; 41005 when absent."""
    try:
        form = await request.form()
    except Exception:  # a non-multipart or broken body: the platform just sees no media
        form = None
    upload = form.get("media") if form is not None else None
    if not isinstance(upload, UploadFile):
        raise SimError(41005, "media data missing")
    data = await upload.read()
    if not data:
        raise SimError(41005, "media data missing")
    return upload.filename or "", data


@get("/cgi-bin/customservice/getkflist", sync_to_thread=False)
def getkflist(request: Request, world: World) -> dict[str, Any]:
    app = app_of(request, world)
    items = []
    for kf in app.kf_accounts.values():
        item: dict[str, Any] = {
            "kf_account": kf.kf_account,
            "kf_headimgurl": kf.headimgurl,
            "kf_id": kf.kf_id,
            "kf_nick": kf.nickname,
        }
        if kf.kf_wx:
            item["kf_wx"] = kf.kf_wx
        elif kf.invite_wx:
            item.update(
                invite_wx=kf.invite_wx,
                invite_expire_time=kf.invite_expire_time,
                invite_status=invite_status(world, kf),
            )
        items.append(item)
    return {"kf_list": items}


@get("/cgi-bin/customservice/getonlinekflist", sync_to_thread=False)
def getonlinekflist(request: Request, world: World) -> dict[str, Any]:
    """Kfs whose web client is online (status 1) and how many sessions each holds."""
    app = app_of(request, world)
    return {
        "kf_online_list": [
            {
                "kf_account": kf.kf_account,
                "status": 1,
                "kf_id": kf.kf_id,
                "accepted_case": sum(1 for s in app.sessions.values() if s.kf_account == kf.kf_account),
            }
            for kf in app.kf_accounts.values()
            if kf.online
        ]
    }


HANDLERS = [
    kfaccount_add,
    kfaccount_update,
    kfaccount_del,
    kfaccount_inviteworker,
    kfaccount_uploadheadimg,
    getkflist,
    getonlinekflist,
]
