"""WeCom external-contact (客户联系) state held by the simulator: members, customers, ways, tags, chats."""

from __future__ import annotations

from typing import Any

import msgspec


class Member(msgspec.Struct, kw_only=True):
    """A corp member in the contact app's visible range; `follow` = has the customer-contact feature."""

    userid: str
    name: str = ""
    department: list[int] = msgspec.field(default_factory=lambda: [1])
    follow: bool = True
    resigned_at: float | None = None  # 离职 time; their customers become "unassigned"


class ExternalContact(msgspec.Struct, kw_only=True):
    """A customer of the corp: `type` 1 = WeChat user (carries the person's unionid), 2 = WeCom user."""

    external_userid: str
    name: str
    type: int = 1
    unionid: str = ""
    avatar: str = ""
    gender: int = 0
    position: str = ""
    corp_name: str = ""
    corp_full_name: str = ""
    external_profile: dict[str, Any] | None = None


class Follow(msgspec.Struct, kw_only=True):
    """One member ↔ customer relationship (a `follow_user` entry)."""

    userid: str
    external_userid: str
    createtime: int
    remark: str = ""
    description: str = ""
    remark_corp_name: str = ""
    remark_mobiles: list[str] = msgspec.field(default_factory=list)
    remark_pic_mediaid: str = ""
    tag_ids: list[str] = msgspec.field(default_factory=list)
    oper_userid: str = ""
    add_way: int = 0
    state: str = ""
    config_id: str = ""
    temp_until: float | None = None  # temp-chat (临时会话) relationships end at this time


class WelcomeCode(msgspec.Struct, kw_only=True):
    code: str
    userid: str
    external_userid: str
    issued_at: float
    used: bool = False


class ContactWay(msgspec.Struct, kw_only=True):
    """A 联系我 configuration made through add_contact_way."""

    config_id: str
    type: int
    scene: int
    created_at: float
    style: int = 0
    remark: str = ""
    skip_verify: bool = True
    state: str = ""
    qr_code: str = ""
    user: list[str] = msgspec.field(default_factory=list)
    party: list[int] = msgspec.field(default_factory=list)
    is_temp: bool = False
    expires_in: int = 0
    chat_expires_in: int = 0
    unionid: str = ""
    is_exclusive: bool = False
    conclusions: dict[str, Any] | None = None
    used: bool = False  # temp-chat QR codes are single-use


class Tag(msgspec.Struct, kw_only=True):
    id: str
    name: str
    create_time: int
    order: int = 0
    deleted: bool = False


class TagGroup(msgspec.Struct, kw_only=True):
    group_id: str
    group_name: str
    create_time: int
    order: int = 0
    deleted: bool = False
    tags: list[Tag] = msgspec.field(default_factory=list)


class Transfer(msgspec.Struct, kw_only=True):
    """A customer handed from one member to another; `kind` "onjob" (在职) or "resigned" (离职).

    status as transfer_result reports it: 1 done, 2 waiting (24 h), 3 refused by the customer,
    4 takeover's customer limit reached, 5 no record (the handover relationship vanished).
    """

    kind: str
    handover_userid: str
    takeover_userid: str
    external_userid: str
    created_at: float
    takeover_time: int
    status: int = 2
    message: str = ""


class ChatMember(msgspec.Struct, kw_only=True):
    userid: str
    type: int  # 1 member, 2 external contact
    join_time: int
    join_scene: int = 1  # 1 invited directly, 2 invited by link, 3 scanned the group QR code
    invitor: str = ""
    group_nickname: str = ""
    unionid: str = ""


class GroupMessage(msgspec.Struct, kw_only=True):
    time: float
    sender: str


class GroupChat(msgspec.Struct, kw_only=True):
    """A customer group chat; `status` 0 normal, 1 owner resigned, 2 inheriting, 3 inherited."""

    chat_id: str
    name: str
    owner: str
    create_time: int
    notice: str = ""
    members: list[ChatMember] = msgspec.field(default_factory=list)
    admins: list[str] = msgspec.field(default_factory=list)
    status: int = 0
    dismissed: bool = False
    messages: list[GroupMessage] = msgspec.field(default_factory=list)


class Activity(msgspec.Struct, kw_only=True):
    """One dated fact behind get_user_behavior_data and the welcome rule.

    kind: "add" (customer added the member), "customer_msg", "member_msg", "deleted_by_customer".
    """

    time: float
    kind: str
    userid: str
    external_userid: str


class MsgTemplate(msgspec.Struct, kw_only=True):
    """A 群发 task created by add_msg_template; members confirm it before anything is sent."""

    msgid: str
    chat_type: str
    create_time: int
    sender: str = ""
    external_userids: list[str] = msgspec.field(default_factory=list)
    chat_ids: list[str] = msgspec.field(default_factory=list)
    text: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] = msgspec.field(default_factory=list)
    sent_by: list[str] = msgspec.field(default_factory=list)


class ContactBook(msgspec.Struct, kw_only=True):
    """External contacts, follow users, contact ways, tags and group chats of one corp.

    `api_secrets`, when not empty, are the only secrets allowed to call the contact API (others
    get 48002). The limits are fields so a test can lower them.
    """

    members: dict[str, Member] = msgspec.field(default_factory=dict)
    contacts: dict[str, ExternalContact] = msgspec.field(default_factory=dict)
    follows: list[Follow] = msgspec.field(default_factory=list)
    contact_ways: dict[str, ContactWay] = msgspec.field(default_factory=dict)
    welcome_codes: dict[str, WelcomeCode] = msgspec.field(default_factory=dict)
    tag_groups: list[TagGroup] = msgspec.field(default_factory=list)
    transfers: list[Transfer] = msgspec.field(default_factory=list)
    group_chats: dict[str, GroupChat] = msgspec.field(default_factory=dict)
    activity: list[Activity] = msgspec.field(default_factory=list)
    msg_templates: dict[str, MsgTemplate] = msgspec.field(default_factory=dict)
    api_secrets: list[str] = msgspec.field(default_factory=list)
    contact_way_limit: int = 500_000  # API-made 联系我 per corp
    temp_chat_daily_limit: int = 100_000  # temp-chat ways made per day
    tag_limit: int = 3000  # corp tags (WxJava's older figure)
    follow_page_size: int = 500  # `get` pages follow_user past 500 followers

    def follow(self, userid: str, external_userid: str) -> Follow | None:
        for item in self.follows:
            if item.userid == userid and item.external_userid == external_userid:
                return item
        return None

    def follows_of(self, external_userid: str) -> list[Follow]:
        return [f for f in self.follows if f.external_userid == external_userid]

    def follows_by(self, userid: str) -> list[Follow]:
        return [f for f in self.follows if f.userid == userid]

    def contact_by_unionid(self, unionid: str) -> ExternalContact | None:
        for contact in self.contacts.values():
            if unionid and contact.unionid == unionid:
                return contact
        return None

    def tag(self, tag_id: str) -> tuple[TagGroup, Tag] | None:
        for group in self.tag_groups:
            for tag in group.tags:
                if tag.id == tag_id and not tag.deleted and not group.deleted:
                    return group, tag
        return None

    def live_groups(self) -> list[TagGroup]:
        return [g for g in self.tag_groups if not g.deleted]
