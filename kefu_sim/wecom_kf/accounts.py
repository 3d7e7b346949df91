"""WeCom 微信客服 kf accounts: account add/del/update/list and add_contact_way links (docs/platforms.md §2.1)."""

from __future__ import annotations

import re
import string
from typing import Any

from litestar import Request, post, route

from kefu_sim.common import json_body, ok
from kefu_sim.wecom.base import corp_for, live_media
from kefu_sim.wecom.state import KfAccount
from kefu_sim.wecom_kf.session import account_of
from kefu_sim.world import SimError, World

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
    corp.kf_accounts[open_kfid] = KfAccount(
        open_kfid=open_kfid, name=name, media_id=media.media_id, avatar=_avatar(media.media_id), created_at=world.now()
    )
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
    return ok(
        account_list=[
            {"open_kfid": a.open_kfid, "name": a.name, "avatar": a.avatar, "manage_privilege": a.manage_privilege}
            for a in accounts
        ]
    )


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


HANDLERS = [account_add, account_del, account_update, account_list, add_contact_way]
