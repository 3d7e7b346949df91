"""Request and response types of the WeCom external-contact (客户联系) subset, docs/platforms.md §3.

Decoded with `msgspec.convert` from ApiClient dicts: unknown fields are ignored, absent optional
fields take defaults. Times are epoch seconds.
"""

from __future__ import annotations

from typing import Any

import msgspec


class ContactWay(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A 联系我 configuration: request of add_contact_way and answer of get_contact_way.

    type 1 single / 2 multi member; scene 1 mini-program / 2 QR code (`qr_code` set); temp-chat
    ways (`is_temp`) are single-member, single-use, `expires_in` / `chat_expires_in` seconds.
    """

    type: int
    scene: int
    config_id: str = ""
    style: int | None = None
    remark: str = ""
    skip_verify: bool = True
    state: str = ""
    user: list[str] = msgspec.field(default_factory=list)
    party: list[int] = msgspec.field(default_factory=list)
    is_temp: bool = False
    expires_in: int | None = None
    chat_expires_in: int | None = None
    unionid: str = ""
    is_exclusive: bool = False
    conclusions: dict[str, Any] | None = None
    qr_code: str = ""


class AddedContactWay(msgspec.Struct, kw_only=True):
    config_id: str
    qr_code: str = ""


class ExternalContact(msgspec.Struct, kw_only=True):
    """type 1 = WeChat user (unionid when bound to an open-platform account), 2 = WeCom user."""

    external_userid: str
    name: str = ""
    type: int = 1
    avatar: str = ""
    gender: int = 0
    unionid: str = ""
    position: str = ""
    corp_name: str = ""
    corp_full_name: str = ""
    external_profile: dict[str, Any] | None = None


class FollowTag(msgspec.Struct, kw_only=True):
    tag_id: str = ""
    tag_name: str = ""
    group_name: str = ""
    type: int = 1  # 1 corp tag, 2 personal tag, 3 rule-group tag


class FollowUser(msgspec.Struct, kw_only=True):
    """A member who has the customer: `get` lists `tags` with names, batch/get_by_user only `tag_id`."""

    userid: str
    remark: str = ""
    description: str = ""
    createtime: int = 0
    tags: list[FollowTag] = msgspec.field(default_factory=list)
    tag_id: list[str] = msgspec.field(default_factory=list)
    remark_corp_name: str = ""
    remark_mobiles: list[str] = msgspec.field(default_factory=list)
    oper_userid: str = ""
    add_way: int = 0
    state: str = ""


class ContactDetail(msgspec.Struct, kw_only=True):
    """`get`: the customer and (a page of) the members following it."""

    external_contact: ExternalContact
    follow_user: list[FollowUser] = msgspec.field(default_factory=list)
    next_cursor: str = ""


class ContactWithFollow(msgspec.Struct, kw_only=True):
    external_contact: ExternalContact
    follow_info: FollowUser


class ContactPage(msgspec.Struct, kw_only=True):
    external_contact_list: list[ContactWithFollow] = msgspec.field(default_factory=list)
    next_cursor: str = ""


class UnassignedItem(msgspec.Struct, kw_only=True):
    handover_userid: str
    external_userid: str
    dimission_time: int = 0


class UnassignedPage(msgspec.Struct, kw_only=True):
    info: list[UnassignedItem] = msgspec.field(default_factory=list)
    is_last: bool = True
    next_cursor: str = ""


class TransferItem(msgspec.Struct, kw_only=True):
    """Per-customer result of a transfer request; errcode 0 = accepted (moves after 24 h)."""

    external_userid: str
    errcode: int = 0


class TransferStatus(msgspec.Struct, kw_only=True):
    """status 1 done, 2 waiting, 3 refused by the customer, 4 takeover full, 5 no relationship."""

    external_userid: str
    status: int
    takeover_time: int = 0


class TransferResultPage(msgspec.Struct, kw_only=True):
    customer: list[TransferStatus] = msgspec.field(default_factory=list)
    next_cursor: str = ""


class GroupChatRef(msgspec.Struct, kw_only=True):
    """status 0 normal, 1 owner resigned, 2 inheriting, 3 inherited."""

    chat_id: str
    status: int = 0


class GroupChatPage(msgspec.Struct, kw_only=True):
    group_chat_list: list[GroupChatRef] = msgspec.field(default_factory=list)
    next_cursor: str = ""


class GroupChatMember(msgspec.Struct, kw_only=True):
    """type 1 member, 2 external contact; `name` only with need_name=1."""

    userid: str
    type: int = 1
    join_time: int = 0
    join_scene: int = 0
    invitor: dict[str, Any] | None = None
    group_nickname: str = ""
    name: str = ""
    unionid: str = ""


class GroupChat(msgspec.Struct, kw_only=True):
    chat_id: str
    name: str = ""
    owner: str = ""
    create_time: int = 0
    notice: str = ""
    member_list: list[GroupChatMember] = msgspec.field(default_factory=list)
    admin_list: list[dict[str, Any]] = msgspec.field(default_factory=list)
    member_version: str = ""


class CorpTag(msgspec.Struct, kw_only=True):
    id: str
    name: str = ""
    create_time: int = 0
    order: int = 0
    deleted: bool = False


class TagGroup(msgspec.Struct, kw_only=True):
    group_id: str
    group_name: str = ""
    create_time: int = 0
    order: int = 0
    deleted: bool = False
    tag: list[CorpTag] = msgspec.field(default_factory=list)


class MsgTemplateResult(msgspec.Struct, kw_only=True):
    """add_msg_template: the task id and the customers it cannot reach."""

    msgid: str = ""
    fail_list: list[str] = msgspec.field(default_factory=list)
