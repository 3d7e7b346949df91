"""Simulated customer-group and statistics endpoints (groupchat/list, get, statistic; get_user_behavior_data).

Figures are computed from the world's recorded activity, per China-time (UTC+8) day.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.common import field_int, json_body, ok
from kefu_sim.wecom_contact.common import (
    DAY,
    INVALID_CHAT_ID,
    INVALID_PARAM,
    VISIBLE_RANGE_TOO_LARGE,
    day_start,
    member_of,
    open_book,
    page,
    str_list,
)
from kefu_sim.wecom_contact.state import ContactBook, GroupChat
from kefu_sim.world import SimError, World

BASE = "/cgi-bin/externalcontact"
STAT_FIELDS = (
    "new_chat_cnt",
    "chat_total",
    "chat_has_msg",
    "new_member_cnt",
    "member_total",
    "member_has_msg",
    "msg_total",
    "migrate_trainee_chat_cnt",
)  # order_by 1..8 picks one


def _owner_filter(body: dict[str, Any], *, required: bool = False) -> list[str]:
    owner_filter = body.get("owner_filter") or {}
    if not isinstance(owner_filter, dict):
        raise SimError(INVALID_PARAM, "invalid owner_filter: must be an object")
    return str_list(owner_filter, "userid_list", max_items=100, required=required)


@post(f"{BASE}/groupchat/list", status_code=200)
async def groupchat_list(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """`status_filter` 0 all / 1 owner resigned / 2 inheriting / 3 inherited, `owner_filter.userid_list`
    (≤100), `cursor`, `limit` 1–1000. Without an owner filter a visible range above 1000 members is 81017."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    status = field_int(body, "status_filter", INVALID_PARAM, default=0)
    limit = field_int(body, "limit", INVALID_PARAM)
    if status not in (0, 1, 2, 3) or not 1 <= limit <= 1000:
        raise SimError(INVALID_PARAM, "invalid status_filter (0-3) or limit (1-1000)")
    owners = _owner_filter(body)
    if not owners and len(book.members) > 1000:
        raise SimError(VISIBLE_RANGE_TOO_LARGE, "visible range exceeds 1000 members: set owner_filter")
    chats = sorted(
        (
            c
            for c in book.group_chats.values()
            if not c.dismissed and (status == 0 or c.status == status) and (not owners or c.owner in owners)
        ),
        key=lambda c: (c.create_time, c.chat_id),
    )
    chunk, next_cursor = page(chats, body.get("cursor"), limit)
    return ok(group_chat_list=[{"chat_id": c.chat_id, "status": c.status} for c in chunk], next_cursor=next_cursor)


def _member_name(book: ContactBook, userid: str, kind: int) -> str:
    if kind == 1:
        member = book.members.get(userid)
        return member.name if member else ""
    contact = book.contacts.get(userid)
    return contact.name if contact else ""


@post(f"{BASE}/groupchat/get", status_code=200)
async def groupchat_get(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """`chat_id`, `need_name` 0/1 (member names only when 1). Unknown or dismissed chats: 40050."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    chat = book.group_chats.get(body.get("chat_id")) if isinstance(body.get("chat_id"), str) else None
    if chat is None or chat.dismissed:
        raise SimError(INVALID_CHAT_ID, f"invalid chat_id: {body.get('chat_id')!r}")
    need_name = field_int(body, "need_name", INVALID_PARAM, default=0) == 1
    members = []
    for m in chat.members:
        row: dict[str, Any] = {
            "userid": m.userid,
            "type": m.type,
            "join_time": m.join_time,
            "join_scene": m.join_scene,
            "group_nickname": m.group_nickname,
        }
        if m.invitor:
            row["invitor"] = {"userid": m.invitor}
        if m.unionid:
            row["unionid"] = m.unionid
        if need_name:
            row["name"] = _member_name(book, m.userid, m.type)
        members.append(row)
    return ok(
        group_chat={
            "chat_id": chat.chat_id,
            "name": chat.name,
            "owner": chat.owner,
            "create_time": chat.create_time,
            "notice": chat.notice,
            "member_list": members,
            "admin_list": [{"userid": u} for u in chat.admins],
            "member_version": str(len(chat.members)),
        }
    )


def _chat_stats(chat: GroupChat, start: int, end: int) -> dict[str, int]:
    messages = [m for m in chat.messages if start <= m.time < end]
    return {
        "new_chat_cnt": int(start <= chat.create_time < end),
        "chat_total": 1,
        "chat_has_msg": int(bool(messages)),
        "new_member_cnt": sum(1 for m in chat.members if start <= m.join_time < end),
        "member_total": len(chat.members),
        "member_has_msg": len({m.sender for m in messages}),
        "msg_total": len(messages),
        "migrate_trainee_chat_cnt": 0,
    }


@post(f"{BASE}/groupchat/statistic", status_code=200)
async def groupchat_statistic(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Per-owner group figures for days [day_begin_time, day_end_time] (≤30 days); `owner_filter` is
    required, `order_by` 1–8 (default 1), `order_asc`, `offset`, `limit` ≤1000 (default 500)."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    begin = day_start(field_int(body, "day_begin_time", INVALID_PARAM))
    end = day_start(field_int(body, "day_end_time", INVALID_PARAM, default=begin)) + DAY
    owners = _owner_filter(body, required=True)
    order_by = field_int(body, "order_by", INVALID_PARAM, default=1)
    offset = field_int(body, "offset", INVALID_PARAM, default=0)
    limit = field_int(body, "limit", INVALID_PARAM, default=500)
    if end <= begin or end - begin > 30 * DAY or not 1 <= order_by <= len(STAT_FIELDS):
        raise SimError(INVALID_PARAM, "invalid day range (≤30 days) or order_by (1-8)")
    if offset < 0 or not 1 <= limit <= 1000:
        raise SimError(INVALID_PARAM, "invalid offset or limit (1-1000)")
    items = []
    for owner in owners:
        member_of(book, owner)
        totals = dict.fromkeys(STAT_FIELDS, 0)
        for chat in book.group_chats.values():
            if chat.owner == owner and not chat.dismissed and chat.create_time < end:
                for key, value in _chat_stats(chat, begin, end).items():
                    totals[key] += value
        items.append({"owner": owner, "data": totals})
    key = STAT_FIELDS[order_by - 1]
    items.sort(key=lambda i: (i["data"][key], i["owner"]), reverse=not body.get("order_asc"))
    return ok(total=len(items), next_offset=min(offset + limit, len(items)), items=items[offset : offset + limit])


@post(f"{BASE}/get_user_behavior_data", status_code=200)
async def get_user_behavior_data(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Daily figures of members `userid[]` and/or departments `partyid[]` over ≤30 days within the last
    180; one row per day, summed across the selected members."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    userids = str_list(body, "userid", max_items=100)
    parties = body.get("partyid") or []
    if not isinstance(parties, list) or not all(isinstance(p, int) for p in parties):
        raise SimError(INVALID_PARAM, "invalid partyid: must be a list of department ids")
    if not userids and not parties:
        raise SimError(INVALID_PARAM, "userid and partyid cannot both be empty")
    selected = {member_of(book, u).userid for u in userids}
    selected |= {m.userid for m in book.members.values() if set(m.department) & set(parties)}
    start = day_start(field_int(body, "start_time", INVALID_PARAM))
    end = day_start(field_int(body, "end_time", INVALID_PARAM))
    if end < start or end - start > 30 * DAY or start < day_start(world.now()) - 180 * DAY:
        raise SimError(INVALID_PARAM, "invalid time range: at most 30 days, within the last 180 days")
    rows = []
    for day in range(start, end + 1, DAY):
        acts = [a for a in book.activity if a.userid in selected and day <= a.time < day + DAY]
        rows.append({"stat_time": day, **_day_figures(acts)})
    return ok(behavior_data=rows)


def _day_figures(acts: list[Any]) -> dict[str, Any]:
    member_msgs = [a for a in acts if a.kind == "member_msg"]
    figures: dict[str, Any] = {
        "chat_cnt": len({(a.userid, a.external_userid) for a in member_msgs}),
        "message_cnt": len(member_msgs),
        "negative_feedback_cnt": sum(1 for a in acts if a.kind == "deleted_by_customer"),
        "new_apply_cnt": sum(1 for a in acts if a.kind == "add"),
        "new_contact_cnt": sum(1 for a in acts if a.kind == "add"),
    }
    # Replies: a conversation the customer opened counts as answered once a member message follows.
    first_ask: dict[tuple[str, str], float] = {}
    delays: dict[tuple[str, str], float] = {}
    for a in sorted(acts, key=lambda a: a.time):
        pair = (a.userid, a.external_userid)
        if a.kind == "customer_msg":
            first_ask.setdefault(pair, a.time)
        elif a.kind == "member_msg" and pair in first_ask and pair not in delays:
            delays[pair] = a.time - first_ask[pair]
    if first_ask:
        figures["reply_percentage"] = round(100.0 * len(delays) / len(first_ask), 2)
        if delays:
            figures["avg_reply_time"] = round(sum(delays.values()) / len(delays) / 60)
    return figures


HANDLERS = [groupchat_list, groupchat_get, groupchat_statistic, get_user_behavior_data]
