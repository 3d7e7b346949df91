"""Shared pieces of the simulated external-contact API: errcodes, corp lookup, settling, cursors, rendering.

Errcodes marked UNVERIFIED were picked from memory of WeCom's public errcode list; docs/platforms.md only
pins 40096, 84061, 81017 and 41051 for this domain.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec
from litestar import Request

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.common import authorize
from kefu_sim.wecom.state import WeComCorp
from kefu_sim.wecom_contact.events import push_contact_change
from kefu_sim.wecom_contact.state import ContactBook, ExternalContact, Follow, Member, Transfer
from kefu_sim.world import SimError, World

INVALID_CORPID = 40013
INVALID_USERID = 40003
INVALID_PARAM = 40058
INVALID_EXTERNAL_USERID = 40096
NO_RELATIONSHIP = 84061
NO_CONTACT_PERMISSION = 84074  # UNVERIFIED: "member has no external-contact permission"
API_FORBIDDEN = 48002
INVALID_TAG = 40068  # UNVERIFIED for corp tags (the code of the member-tag API)
TAG_NAME_EXISTS = 40071  # UNVERIFIED, same origin
INVALID_CHAT_ID = 40050  # UNVERIFIED: "chatid does not exist"
VISIBLE_RANGE_TOO_LARGE = 81017
WELCOME_IMPOSSIBLE = 41051
NOTHING_TO_SEND = 41048  # UNVERIFIED: "no message to send"
QUOTA_EXCEEDED = 45009  # UNVERIFIED for the 联系我 / temp-chat / tag caps; the generic quota code

DAY = 86_400
CN_OFFSET = 8 * 3600  # WeCom statistics count days in China time (UTC+8)
TRANSFER_WAIT = DAY  # a transferred customer moves 24 h later unless they refuse
ADD_WAY_ASSIGNED = 202  # add_way "assigned by admin/owner" (transfers)

T = TypeVar("T")


def day_start(t: float) -> int:
    """Epoch of 00:00 China time of the day holding `t`."""
    return (int(t) + CN_OFFSET) // DAY * DAY - CN_OFFSET


def open_book(request: Request, world: World, dispatcher: CallbackDispatcher) -> tuple[WeComCorp, ContactBook]:
    """The calling corp (from the token's owner) with its contact book settled to `world.now()`."""
    grant = authorize(request, world, "wecom")
    _, corpid, secret = [*grant.owner.split(":", 2), "", ""][:3]
    corp = world.state.corps.get(corpid)
    if corp is None:
        raise SimError(INVALID_CORPID, "invalid corpid")
    book = corp.contacts
    if book.api_secrets and secret not in book.api_secrets:
        raise SimError(API_FORBIDDEN, "api forbidden: this secret may not call the external-contact API")
    settle(world, dispatcher, corp)
    return corp, book


def settle(world: World, dispatcher: CallbackDispatcher, corp: WeComCorp) -> None:
    """Apply what time decided: due transfers complete, temp-chat relationships end.

    The simulator settles lazily, on the next contact call or driver action of the corp, so the
    del_external_contact (DELETE_BY_TRANSFER) callback is pushed then rather than at the 24 h mark.
    """
    book = corp.contacts
    now = world.now()
    for transfer in book.transfers:
        if transfer.status == 2 and now >= transfer.takeover_time:
            _complete(world, dispatcher, corp, transfer)
    book.follows = [f for f in book.follows if f.temp_until is None or f.temp_until > now]


def _complete(world: World, dispatcher: CallbackDispatcher, corp: WeComCorp, transfer: Transfer) -> None:
    book = corp.contacts
    old = book.follow(transfer.handover_userid, transfer.external_userid)
    if old is None:
        transfer.status = 5
        return
    book.follows.remove(old)
    if book.follow(transfer.takeover_userid, transfer.external_userid) is None:
        book.follows.append(
            msgspec.structs.replace(
                old,
                userid=transfer.takeover_userid,
                createtime=transfer.takeover_time,
                add_way=ADD_WAY_ASSIGNED,
                oper_userid=transfer.takeover_userid,
                state="",
                config_id="",
                temp_until=None,
            )
        )
    transfer.status = 1
    if transfer.kind == "onjob":
        push_contact_change(
            world,
            dispatcher,
            corp,
            "del_external_contact",
            transfer.handover_userid,
            transfer.external_userid,
            Source="DELETE_BY_TRANSFER",
        )


# ---------------------------------------------------------------------- lookups


def member_of(book: ContactBook, userid: object) -> Member:
    """40003 for an unknown userid."""
    member = book.members.get(userid) if isinstance(userid, str) else None
    if member is None:
        raise SimError(INVALID_USERID, f"invalid userid: {userid!r}")
    return member


def follow_member(book: ContactBook, userid: object) -> Member:
    """A member with the customer-contact feature (40003 unknown, 84074 feature off)."""
    member = member_of(book, userid)
    if not member.follow:
        raise SimError(NO_CONTACT_PERMISSION, f"{member.userid} has no external contact permission")
    return member


def contact_of(book: ContactBook, external_userid: object) -> ExternalContact:
    """40096 for an external_userid this corp does not know (wrong corp, kf id, typo)."""
    contact = book.contacts.get(external_userid) if isinstance(external_userid, str) else None
    if contact is None:
        raise SimError(INVALID_EXTERNAL_USERID, f"invalid external userid: {external_userid!r}")
    return contact


def relation(book: ContactBook, userid: str, external_userid: str) -> Follow:
    """84061 when the member and the customer are not (or no longer) connected."""
    follow = book.follow(userid, external_userid)
    if follow is None:
        raise SimError(NO_RELATIONSHIP, "not external contact: no relationship between userid and external_userid")
    return follow


def str_list(body: dict[str, Any], name: str, *, max_items: int | None = None, required: bool = False) -> list[str]:
    """A list of strings (40058 when it is not one or is too long)."""
    value = body.get(name)
    if value is None or value == []:
        if required:
            raise SimError(INVALID_PARAM, f"invalid {name}: missing")
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SimError(INVALID_PARAM, f"invalid {name}: must be a list of strings")
    if max_items is not None and len(value) > max_items:
        raise SimError(INVALID_PARAM, f"invalid {name}: more than {max_items} items")
    return value


def text_len(body: dict[str, Any], name: str, max_chars: int) -> str | None:
    """An optional string field of at most `max_chars` characters; None when absent."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_chars:
        raise SimError(INVALID_PARAM, f"invalid {name}: a string of at most {max_chars} characters")
    return value


# ---------------------------------------------------------------------- cursors


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sim:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: object) -> int:
    """The offset behind a cursor this simulator issued ("" = start); 40058 otherwise."""
    if cursor in (None, ""):
        return 0
    try:
        text = base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4)).decode()
        prefix, offset = text.split(":", 1)
        if prefix != "sim" or not offset.isdigit():
            raise ValueError(text)
        return int(offset)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise SimError(INVALID_PARAM, "invalid cursor") from None


def page(items: Sequence[T], cursor: object, limit: int) -> tuple[list[T], str]:
    """One page and the next cursor ("" on the last page)."""
    start = decode_cursor(cursor)
    chunk = list(items[start : start + limit])
    return chunk, encode_cursor(start + limit) if start + limit < len(items) else ""


# ---------------------------------------------------------------------- rendering


def render_contact(contact: ExternalContact) -> dict[str, Any]:
    out: dict[str, Any] = {
        "external_userid": contact.external_userid,
        "name": contact.name,
        "type": contact.type,
        "avatar": contact.avatar,
        "gender": contact.gender,
    }
    if contact.type == 1 and contact.unionid:
        out["unionid"] = contact.unionid
    if contact.type == 2:
        out.update(position=contact.position, corp_name=contact.corp_name, corp_full_name=contact.corp_full_name)
    if contact.external_profile is not None:
        out["external_profile"] = contact.external_profile
    return out


def render_follow(book: ContactBook, follow: Follow, *, tag_details: bool) -> dict[str, Any]:
    """A follow_user entry (`get`: tags with names) or a follow_info (batch: tag_id list)."""
    out: dict[str, Any] = {
        "userid": follow.userid,
        "remark": follow.remark,
        "description": follow.description,
        "createtime": follow.createtime,
    }
    if tag_details:
        tags = []
        for tag_id in follow.tag_ids:
            found = book.tag(tag_id)
            if found is not None:
                tags.append(
                    {
                        "group_name": found[0].group_name,
                        "tag_name": found[1].name,
                        "tag_id": tag_id,
                        "type": 1,
                    }
                )
        out["tags"] = tags
    else:
        out["tag_id"] = [t for t in follow.tag_ids if book.tag(t) is not None]
    if follow.remark_corp_name:
        out["remark_corp_name"] = follow.remark_corp_name
    out["remark_mobiles"] = list(follow.remark_mobiles)
    out["oper_userid"] = follow.oper_userid or follow.external_userid
    out["add_way"] = follow.add_way
    if follow.state:
        out["state"] = follow.state
    return out
