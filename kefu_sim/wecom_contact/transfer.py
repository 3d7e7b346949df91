"""Simulated customer inheritance: get_unassigned_list, (resigned/)transfer_customer and transfer_result.

A transfer waits 24 h (status 2), then completes (status 1) when the corp is next settled; an
on-job customer may refuse meanwhile (driver), which gives status 3 and a transfer_fail callback.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.common import field_int, json_body, ok
from kefu_sim.wecom_contact.common import (
    DAY,
    INVALID_PARAM,
    TRANSFER_WAIT,
    decode_cursor,
    encode_cursor,
    follow_member,
    member_of,
    open_book,
    page,
    str_list,
    text_len,
)
from kefu_sim.wecom_contact.state import ContactBook, Transfer
from kefu_sim.world import SimError, World

BASE = "/cgi-bin/externalcontact"
# UNVERIFIED codes from WeCom's public errcode list: 40128 "customer transferred too often (90-day
# protection, at most twice)", 40129 "customer is already being transferred".
TRANSFER_TOO_OFTEN = 40128
IN_TRANSFER = 40129
TRANSFER_WINDOW = 90 * DAY
TRANSFER_MAX = 2  # on-job transfers per customer inside the 90-day window (docs/platforms.md: "≤2; 90-day protection")


def _unassigned(book: ContactBook) -> list[dict[str, Any]]:
    """Customers of resigned members that no resigned transfer has claimed yet."""
    claimed = {
        (t.handover_userid, t.external_userid) for t in book.transfers if t.kind == "resigned" and t.status in (1, 2)
    }
    rows = []
    for follow in book.follows:
        member = book.members.get(follow.userid)
        if member is None or member.resigned_at is None or (follow.userid, follow.external_userid) in claimed:
            continue
        rows.append(
            {
                "handover_userid": follow.userid,
                "external_userid": follow.external_userid,
                "dimission_time": int(member.resigned_at),
            }
        )
    rows.sort(key=lambda r: (r["dimission_time"], r["handover_userid"], r["external_userid"]))
    return rows


@post(f"{BASE}/get_unassigned_list", status_code=200)
async def get_unassigned_list(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """`page_id` (from 0) or `cursor`, `page_size` ≤1000 (default 1000) → info[], is_last, next_cursor."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    size = field_int(body, "page_size", INVALID_PARAM, default=1000)
    if not 1 <= size <= 1000:
        raise SimError(INVALID_PARAM, "invalid page_size: 1-1000")
    rows = _unassigned(book)
    if body.get("cursor"):
        start = decode_cursor(body["cursor"])
    else:
        page_id = field_int(body, "page_id", INVALID_PARAM, default=0)
        if page_id < 0:
            raise SimError(INVALID_PARAM, "invalid page_id")
        start = page_id * size
    end = start + size
    is_last = end >= len(rows)
    return ok(info=rows[start:end], is_last=is_last, next_cursor="" if is_last else encode_cursor(end))


def _transfer(book: ContactBook, body: dict[str, Any], now: float, *, kind: str) -> list[dict[str, Any]]:
    handover = member_of(book, body.get("handover_userid"))
    takeover = follow_member(book, body.get("takeover_userid"))
    if handover.userid == takeover.userid:
        raise SimError(INVALID_PARAM, "handover_userid and takeover_userid must differ")
    if takeover.resigned_at is not None:
        raise SimError(INVALID_PARAM, "takeover_userid has resigned")
    if kind == "onjob" and handover.resigned_at is not None:
        raise SimError(INVALID_PARAM, "handover_userid has resigned: use resigned/transfer_customer")
    if kind == "resigned" and handover.resigned_at is None:
        raise SimError(INVALID_PARAM, "handover_userid has not resigned: use transfer_customer")
    ids = str_list(body, "external_userid", max_items=100, required=True)
    message = text_len(body, "transfer_success_msg", 200) or ""
    results = []
    for ext in ids:
        results.append(
            {
                "external_userid": ext,
                "errcode": _one(book, handover.userid, takeover.userid, ext, now, kind, message),
            }
        )
    return results


def _one(book: ContactBook, handover: str, takeover: str, ext: str, now: float, kind: str, message: str) -> int:
    """The per-customer errcode of a transfer request (0 = accepted, now waiting 24 h)."""
    if ext not in book.contacts:
        return 40096
    if book.follow(handover, ext) is None:
        return 84061
    mine = [t for t in book.transfers if t.external_userid == ext]
    if any(t.status == 2 for t in mine):
        return IN_TRANSFER
    recent = [t for t in mine if t.kind == "onjob" and t.status in (1, 2) and now - t.created_at < TRANSFER_WINDOW]
    if kind == "onjob" and len(recent) >= TRANSFER_MAX:
        return TRANSFER_TOO_OFTEN
    book.transfers.append(
        Transfer(
            kind=kind,
            handover_userid=handover,
            takeover_userid=takeover,
            external_userid=ext,
            created_at=now,
            takeover_time=int(now + TRANSFER_WAIT),
            message=message,
        )
    )
    return 0


def _result(book: ContactBook, body: dict[str, Any], *, kind: str) -> dict[str, Any]:
    handover = member_of(book, body.get("handover_userid")).userid
    takeover = member_of(book, body.get("takeover_userid")).userid
    latest: dict[str, Transfer] = {}
    for t in book.transfers:
        if t.kind == kind and t.handover_userid == handover and t.takeover_userid == takeover:
            latest[t.external_userid] = t
    rows = [
        {"external_userid": t.external_userid, "status": t.status, "takeover_time": t.takeover_time}
        for t in latest.values()
    ]
    chunk, next_cursor = page(rows, body.get("cursor"), 1000)
    return ok(customer=chunk, next_cursor=next_cursor)


@post(f"{BASE}/transfer_customer", status_code=200)
async def transfer_customer(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """在职继承: ≤100 customers a call; each gets its own errcode (40096, 84061, 40128, 40129)."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    return ok(customer=_transfer(book, body, world.now(), kind="onjob"))


@post(f"{BASE}/transfer_result", status_code=200)
async def transfer_result(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    _, book = open_book(request, world, dispatcher)
    return _result(book, await json_body(request), kind="onjob")


@post(f"{BASE}/resigned/transfer_customer", status_code=200)
async def resigned_transfer_customer(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """离职继承: hand a resigned member's customers over (no 90-day limit, customers cannot refuse)."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    return ok(customer=_transfer(book, body, world.now(), kind="resigned"))


@post(f"{BASE}/resigned/transfer_result", status_code=200)
async def resigned_transfer_result(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    _, book = open_book(request, world, dispatcher)
    return _result(book, await json_body(request), kind="resigned")


HANDLERS = [
    get_unassigned_list,
    transfer_customer,
    transfer_result,
    resigned_transfer_customer,
    resigned_transfer_result,
]
