"""Simulated WeCom external contact (客户联系) customer endpoints: get, batch get, remark, list (docs/platforms.md §3).

The other endpoint groups of §3 live beside this module: ways (联系我), transfer (在职/离职继承),
groups (customer groups, statistics), messages (群发, welcome message) and tags (corp tags).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.common import json_body, ok
from kefu_sim.wecom_contact.common import (
    INVALID_PARAM,
    NO_RELATIONSHIP,
    contact_of,
    follow_member,
    member_of,
    open_book,
    page,
    relation,
    render_contact,
    render_follow,
    str_list,
    text_len,
)
from kefu_sim.world import SimError, World

BASE = "/cgi-bin/externalcontact"


@get(f"{BASE}/get", sync_to_thread=False)
def get_contact(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """`?external_userid=&cursor=`: the customer and its follow users, 500 per page (next_cursor)."""
    _, book = open_book(request, world, dispatcher)
    contact = contact_of(book, request.query_params.get("external_userid"))
    follows = book.follows_of(contact.external_userid)
    if not follows:
        raise SimError(NO_RELATIONSHIP, "not external contact: nobody in the corp follows this customer")
    chunk, next_cursor = page(follows, request.query_params.get("cursor"), book.follow_page_size)
    return ok(
        external_contact=render_contact(contact),
        follow_user=[render_follow(book, f, tag_details=True) for f in chunk],
        next_cursor=next_cursor,
    )


@post(f"{BASE}/batch/get_by_user", status_code=200)
async def batch_get_by_user(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """`userid_list` (1–100), `cursor`, `limit` (1–100, default 50): customers of these members."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    userids = str_list(body, "userid_list", max_items=100, required=True)
    for userid in userids:
        member_of(book, userid)
    limit = body.get("limit", 50)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise SimError(INVALID_PARAM, "invalid limit: 1-100")
    rows = [f for userid in userids for f in sorted(book.follows_by(userid), key=lambda f: f.createtime)]
    chunk, next_cursor = page(rows, body.get("cursor"), limit)
    return ok(
        external_contact_list=[
            {
                "external_contact": render_contact(book.contacts[f.external_userid]),
                "follow_info": render_follow(book, f, tag_details=False),
            }
            for f in chunk
        ],
        next_cursor=next_cursor,
    )


@post(f"{BASE}/remark", status_code=200)
async def remark(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Edit a member's notes on a customer; absent fields stay, present ones replace (even "")."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    member_of(book, body.get("userid"))
    contact = contact_of(book, body.get("external_userid"))
    follow = relation(book, body["userid"], contact.external_userid)
    note = text_len(body, "remark", 20)
    description = text_len(body, "description", 150)
    company = text_len(body, "remark_company", 20)
    mobiles = body.get("remark_mobiles")
    pic = text_len(body, "remark_pic_mediaid", 256)
    if all(v is None for v in (note, description, company, mobiles, pic)):
        raise SimError(
            INVALID_PARAM,
            "remark, description, remark_company, remark_mobiles and remark_pic_mediaid cannot all be empty",
        )
    if mobiles is not None:
        if not isinstance(mobiles, list) or len(mobiles) > 5 or not all(isinstance(m, str) for m in mobiles):
            raise SimError(INVALID_PARAM, "invalid remark_mobiles: at most 5 strings")
        follow.remark_mobiles = list(mobiles)
    if note is not None:
        follow.remark = note
    if description is not None:
        follow.description = description
    if company is not None and contact.type == 1:  # only kept for WeChat users, per the doc
        follow.remark_corp_name = company
    if pic is not None:
        follow.remark_pic_mediaid = pic
    return ok()


@get(f"{BASE}/list", sync_to_thread=False)
def list_contacts(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """`?userid=`: the member's customers. A member without any customer gets 84061, not an empty list."""
    _, book = open_book(request, world, dispatcher)
    member = follow_member(book, request.query_params.get("userid"))
    ids = [f.external_userid for f in book.follows_by(member.userid)]
    if not ids:
        raise SimError(NO_RELATIONSHIP, "not external contact: this member has no customers")
    return ok(external_userid=ids)


@get(f"{BASE}/get_follow_user_list", sync_to_thread=False)
def get_follow_user_list(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Members with the customer-contact feature (resigned ones excluded)."""
    _, book = open_book(request, world, dispatcher)
    return ok(follow_user=[m.userid for m in book.members.values() if m.follow and m.resigned_at is None])


HANDLERS = [
    get_contact,
    batch_get_by_user,
    remark,
    list_contacts,
    get_follow_user_list,
]
