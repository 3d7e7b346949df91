"""Simulated 联系我 endpoints: add/get/update/del/list_contact_way and close_temp_chat.

Limits: ≤500 000 API-made ways per corp; temp-chat (临时会话) ways ≤100 000 a day, single user
only, QR code single-use, relationship ends `chat_expires_in` after the add (docs/platforms.md §3).
"""

from __future__ import annotations

import string
from typing import Any

from litestar import Request, post

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.common import field_int, json_body, ok
from kefu_sim.wecom_contact.common import (
    DAY,
    INVALID_PARAM,
    QUOTA_EXCEEDED,
    contact_of,
    day_start,
    follow_member,
    member_of,
    open_book,
    page,
    relation,
    str_list,
    text_len,
)
from kefu_sim.wecom_contact.state import ContactBook, ContactWay
from kefu_sim.world import SimError, World

BASE = "/cgi-bin/externalcontact"
TEMP_EXPIRES_DEFAULT = 7 * DAY
CHAT_EXPIRES_DEFAULT = DAY
TEMP_MAX = 14 * DAY
LIST_RANGE_MAX = 90 * DAY


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool | int):
        raise SimError(INVALID_PARAM, f"invalid {name}: must be a boolean")
    return bool(value)


def _apply(book: ContactBook, way: ContactWay, body: dict[str, Any], *, creating: bool) -> None:
    """Validate and copy the settable fields of `body` onto `way` (absent fields stay)."""
    if "style" in body:
        way.style = field_int(body, "style", INVALID_PARAM)
    for name in ("remark", "state"):
        value = text_len(body, name, 30)
        if value is not None:
            setattr(way, name, value)
    way.skip_verify = _flag(body, "skip_verify", way.skip_verify)
    if creating:
        way.is_temp = _flag(body, "is_temp", False)
        way.is_exclusive = _flag(body, "is_exclusive", False)
    if "user" in body or creating:
        users = str_list(body, "user", max_items=100)
        for userid in users:
            follow_member(book, userid)
        way.user = users
    if "party" in body or creating:
        party = body.get("party") or []
        if not isinstance(party, list) or len(party) > 100 or not all(isinstance(p, int) for p in party):
            raise SimError(INVALID_PARAM, "invalid party: at most 100 department ids")
        way.party = party
    if way.type == 1 and (len(way.user) != 1 or way.party):
        raise SimError(INVALID_PARAM, "type 1 (single) takes exactly one user and no party")
    if way.type == 2 and not (way.user or way.party):
        raise SimError(INVALID_PARAM, "type 2 (multi) needs at least one user or party")
    if way.is_temp:
        if way.type != 1:
            raise SimError(INVALID_PARAM, "temp chat mode supports single-user ways only")
        for name, default in (
            ("expires_in", TEMP_EXPIRES_DEFAULT),
            ("chat_expires_in", CHAT_EXPIRES_DEFAULT),
        ):
            current = getattr(way, name) or default
            value = field_int(body, name, INVALID_PARAM, default=current)
            if not 0 < value <= TEMP_MAX:
                raise SimError(INVALID_PARAM, f"invalid {name}: 1..{TEMP_MAX} seconds")
            setattr(way, name, value)
        unionid = text_len(body, "unionid", 64)
        if unionid is not None:
            way.unionid = unionid
        if "conclusions" in body:
            if not isinstance(body["conclusions"], dict):
                raise SimError(INVALID_PARAM, "invalid conclusions: must be an object")
            way.conclusions = body["conclusions"]
    elif any(k in body for k in ("expires_in", "chat_expires_in", "unionid", "conclusions")) and creating:
        raise SimError(INVALID_PARAM, "expires_in, chat_expires_in, unionid and conclusions need is_temp")


def _way(book: ContactBook, body: dict[str, Any]) -> ContactWay:
    config_id = body.get("config_id")
    way = book.contact_ways.get(config_id) if isinstance(config_id, str) else None
    if way is None:
        raise SimError(INVALID_PARAM, f"invalid config_id: {config_id!r}")  # UNVERIFIED errcode
    return way


def _render(way: ContactWay) -> dict[str, Any]:
    out: dict[str, Any] = {
        "config_id": way.config_id,
        "type": way.type,
        "scene": way.scene,
        "style": way.style,
        "remark": way.remark,
        "skip_verify": way.skip_verify,
        "state": way.state,
        "user": way.user,
        "party": way.party,
        "is_temp": way.is_temp,
        "is_exclusive": way.is_exclusive,
    }
    if way.qr_code:
        out["qr_code"] = way.qr_code
    if way.is_temp:
        out.update(
            expires_in=way.expires_in,
            chat_expires_in=way.chat_expires_in,
            unionid=way.unionid,
            conclusions=way.conclusions or {},
        )
    return out


@post(f"{BASE}/add_contact_way", status_code=200)
async def add_contact_way(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Create a 联系我 way → `config_id` (+ `qr_code` for scene 2). Caps answer 45009."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    way_type = field_int(body, "type", INVALID_PARAM)
    scene = field_int(body, "scene", INVALID_PARAM)
    if way_type not in (1, 2) or scene not in (1, 2):
        raise SimError(INVALID_PARAM, "invalid type or scene: each must be 1 or 2")
    now = world.now()
    config_id = world.new_id("", 32, string.hexdigits[:16])
    way = ContactWay(config_id=config_id, type=way_type, scene=scene, created_at=now)
    _apply(book, way, body, creating=True)
    if len(book.contact_ways) >= book.contact_way_limit:
        raise SimError(QUOTA_EXCEEDED, f"contact way limit reached ({book.contact_way_limit} per corp)")
    if way.is_temp:
        today = day_start(now)
        made_today = sum(1 for w in book.contact_ways.values() if w.is_temp and day_start(w.created_at) == today)
        if made_today >= book.temp_chat_daily_limit:
            raise SimError(QUOTA_EXCEEDED, f"temp chat limit reached ({book.temp_chat_daily_limit} per day)")
    if scene == 2:
        way.qr_code = f"https://wework.qpic.cn/wwpic/sim_{config_id}/0"
    book.contact_ways[config_id] = way
    return ok(config_id=config_id, qr_code=way.qr_code) if way.qr_code else ok(config_id=config_id)


@post(f"{BASE}/get_contact_way", status_code=200)
async def get_contact_way(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    _, book = open_book(request, world, dispatcher)
    return ok(contact_way=_render(_way(book, await json_body(request))))


@post(f"{BASE}/update_contact_way", status_code=200)
async def update_contact_way(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Change a way's settable fields; `type`, `scene` and `is_temp` are fixed at creation."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    way = _way(book, body)
    draft = ContactWay(**{name: getattr(way, name) for name in ContactWay.__struct_fields__})
    _apply(book, draft, body, creating=False)  # validate everything before changing anything
    book.contact_ways[way.config_id] = draft
    return ok()


@post(f"{BASE}/del_contact_way", status_code=200)
async def del_contact_way(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    _, book = open_book(request, world, dispatcher)
    del book.contact_ways[_way(book, await json_body(request)).config_id]
    return ok()


@post(f"{BASE}/list_contact_way", status_code=200)
async def list_contact_way(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Ways made in [start_time, end_time] (default and maximum: 90 days), `limit` ≤1000 (default 100)."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    now = int(world.now())
    end = field_int(body, "end_time", INVALID_PARAM, default=now)
    start = field_int(body, "start_time", INVALID_PARAM, default=end - LIST_RANGE_MAX)
    limit = field_int(body, "limit", INVALID_PARAM, default=100)
    if start > end or end - start > LIST_RANGE_MAX or not 1 <= limit <= 1000:
        raise SimError(INVALID_PARAM, "invalid time range (≤90 days) or limit (1-1000)")
    ways = sorted((w for w in book.contact_ways.values() if start <= w.created_at <= end), key=lambda w: w.created_at)
    chunk, next_cursor = page(ways, body.get("cursor"), limit)
    return ok(contact_way=[{"config_id": w.config_id} for w in chunk], next_cursor=next_cursor)


@post(f"{BASE}/close_temp_chat", status_code=200)
async def close_temp_chat(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """End a temp-chat relationship now (84061 no relationship, 40058 not a temp chat)."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    member_of(book, body.get("userid"))
    contact = contact_of(book, body.get("external_userid"))
    follow = relation(book, body["userid"], contact.external_userid)
    if follow.temp_until is None:
        raise SimError(INVALID_PARAM, "not a temp chat: this customer was not added through a temp-chat way")
    book.follows.remove(follow)
    return ok()


HANDLERS = [
    add_contact_way,
    get_contact_way,
    update_contact_way,
    del_contact_way,
    list_contact_way,
    close_temp_chat,
]
