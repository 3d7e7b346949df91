"""Request and response types of the WeCom 微信客服 API (docs/platforms.md §2), as msgspec Structs.

Responses are decoded with `msgspec.convert` from the ApiClient's dict, so fields the platform adds
later are ignored and absent optional fields take their defaults. sync_msg items stay plain dicts:
they are normalized by gateway.channels.wecom_normalize, which keeps the raw item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import msgspec

# ---------------------------------------------------------------------- accounts, servicers, state


class KfAccount(msgspec.Struct, kw_only=True):
    """account/list item; `manage_privilege` is absent for component (third-party) apps."""

    open_kfid: str
    name: str = ""
    avatar: str = ""
    manage_privilege: bool | None = None


class ServicerResult(msgspec.Struct, kw_only=True):
    """Per-item result of servicer/add|del; errmsg "ignored" = already present/absent."""

    userid: str | None = None
    department_id: int | None = None
    errcode: int = 0
    errmsg: str = ""


class Servicer(msgspec.Struct, kw_only=True):
    """servicer/list item: a userid (status 0 接待中 / 1 停止接待, stop_type 0 停止 / 1 挂起) or a department."""

    userid: str | None = None
    department_id: int | None = None
    status: int | None = None
    stop_type: int | None = None


class ServiceState(msgspec.Struct, kw_only=True):
    """service_state/get: 0 未处理, 1 智能助手, 2 待接入池, 3 人工接待 (servicer set), 4 已结束/未开始."""

    service_state: int
    servicer_userid: str = ""


class SyncMsgPage(msgspec.Struct, kw_only=True):
    """One sync_msg page. Loop while `has_more`; an empty page may still have more."""

    next_cursor: str = ""
    has_more: int = 0  # 0 / 1 on the wire
    msg_list: list[dict[str, Any]] = msgspec.field(default_factory=list)


# ---------------------------------------------------------------------- sending (§2.5)


class SendPayload(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Body of one msgtype for send_msg / send_msg_on_event; `msgtype` names the JSON key."""

    msgtype: ClassVar[str]


class TextMsg(SendPayload):
    """≤2048 bytes."""

    msgtype: ClassVar[str] = "text"
    content: str


class ImageMsg(SendPayload):
    msgtype: ClassVar[str] = "image"
    media_id: str


class VoiceMsg(SendPayload):
    msgtype: ClassVar[str] = "voice"
    media_id: str


class VideoMsg(SendPayload):
    msgtype: ClassVar[str] = "video"
    media_id: str


class FileMsg(SendPayload):
    msgtype: ClassVar[str] = "file"
    media_id: str


class LinkMsg(SendPayload):
    """title ≤128 bytes (truncated), desc ≤512, url ≤2048 with scheme, thumb = image media_id."""

    msgtype: ClassVar[str] = "link"
    title: str
    url: str
    thumb_media_id: str
    desc: str = ""


class MiniprogramMsg(SendPayload):
    """appid must be linked to the corp; thumb 520×416 suggested; title ≤64 bytes."""

    msgtype: ClassVar[str] = "miniprogram"
    appid: str
    pagepath: str
    thumb_media_id: str
    title: str = ""


class LocationMsg(SendPayload):
    msgtype: ClassVar[str] = "location"
    latitude: float  # -90..90
    longitude: float  # -180..180
    name: str = ""
    address: str = ""


class BusinessCardMsg(SendPayload):
    msgtype: ClassVar[str] = "business_card"
    userid: str


class CaLinkMsg(SendPayload):
    """获客链接."""

    msgtype: ClassVar[str] = "ca_link"
    link_url: str


MEDIA_MESSAGES: dict[str, type[SendPayload]] = {
    "image": ImageMsg,
    "voice": VoiceMsg,
    "video": VideoMsg,
    "file": FileMsg,
}


class MenuClick(msgspec.Struct, kw_only=True):
    """A reply button; the customer's click comes back as a text message with `menu_id` = `id`."""

    id: str
    content: str


class MenuView(msgspec.Struct, kw_only=True):
    url: str
    content: str


class MenuMiniprogram(msgspec.Struct, kw_only=True):
    appid: str
    pagepath: str
    content: str


class MenuText(msgspec.Struct, kw_only=True):
    """Plain text line; write a literal "\\n" for a newline, `no_newline` 1 joins it to the next item."""

    content: str
    no_newline: int = 0


MenuItem = MenuClick | MenuView | MenuMiniprogram | MenuText
_MENU_TYPES: dict[type, str] = {
    MenuClick: "click",
    MenuView: "view",
    MenuMiniprogram: "miniprogram",
    MenuText: "text",
}


def menu_item_wire(item: MenuItem | dict[str, Any]) -> dict[str, Any]:
    """`{"type": "click", "click": {...}}`; dicts already in wire form pass through."""
    if isinstance(item, dict):
        return item
    kind = _MENU_TYPES[type(item)]
    return {"type": kind, kind: msgspec.to_builtins(item)}


class MenuMsg(SendPayload):
    """msgmenu: ≤10 items (95008), item types click / view / miniprogram / text (95009), head/tail ≤1024 bytes."""

    msgtype: ClassVar[str] = "msgmenu"
    items: list[dict[str, Any]] = msgspec.field(default_factory=list, name="list")
    head_content: str = ""
    tail_content: str = ""

    @classmethod
    def of(cls, items: Sequence[MenuItem | dict[str, Any]], head: str = "", tail: str = "") -> MenuMsg:
        return cls(items=[menu_item_wire(i) for i in items], head_content=head, tail_content=tail)


class SendResponse(msgspec.Struct, kw_only=True):
    msgid: str = ""


# ---------------------------------------------------------------------- customers, upgrade, statistics


class WechatChannels(msgspec.Struct, kw_only=True):
    """视频号 context; scene 1 主页, 2 直播间商品列表, 3 商品橱窗, 4 小店商品详情, 5 小店订单."""

    nickname: str = ""
    shop_nickname: str = ""
    scene: int | None = None


class EnterSessionContext(msgspec.Struct, kw_only=True):
    scene: str = ""
    scene_param: str = ""
    wechat_channels: WechatChannels | None = None


class Customer(msgspec.Struct, kw_only=True):
    """customer/batchget item; avatar and unionid are missing for third-party apps."""

    external_userid: str
    nickname: str = ""
    avatar: str = ""
    gender: int = 0
    unionid: str = ""
    enter_session_context: EnterSessionContext | None = None


class CustomerBatch(msgspec.Struct, kw_only=True):
    customer_list: list[Customer] = msgspec.field(default_factory=list)
    invalid_external_userid: list[str] = msgspec.field(default_factory=list)


class MemberRange(msgspec.Struct, kw_only=True):
    userid_list: list[str] = msgspec.field(default_factory=list)
    department_id_list: list[int] = msgspec.field(default_factory=list)


class GroupchatRange(msgspec.Struct, kw_only=True):
    chat_id_list: list[str] = msgspec.field(default_factory=list)


class UpgradeServiceConfig(msgspec.Struct, kw_only=True):
    member_range: MemberRange = msgspec.field(default_factory=MemberRange)
    groupchat_range: GroupchatRange = msgspec.field(default_factory=GroupchatRange)


class Statistic(msgspec.Struct, kw_only=True):
    """Day metrics of get_corp_statistic / get_servicer_statistic; rates are absent when not computable."""

    session_cnt: int | None = None
    customer_cnt: int | None = None
    customer_msg_cnt: int | None = None
    upgrade_service_customer_cnt: int | None = None
    ai_session_reply_cnt: int | None = None
    ai_transfer_rate: float | None = None
    ai_knowledge_hit_rate: float | None = None
    msg_rejected_customer_cnt: int | None = None
    reply_rate: float | None = None
    first_reply_average_sec: float | None = None
    satisfaction_investgate_cnt: int | None = None
    satisfaction_participation_rate: float | None = None
    satisfied_rate: float | None = None
    middling_rate: float | None = None
    dissatisfied_rate: float | None = None
    upgrade_service_member_invite_cnt: int | None = None
    upgrade_service_member_customer_cnt: int | None = None
    upgrade_service_groupchat_invite_cnt: int | None = None
    upgrade_service_groupchat_customer_cnt: int | None = None


class StatisticDay(msgspec.Struct, kw_only=True):
    stat_time: int  # epoch seconds of the day's 00:00
    statistic: Statistic = msgspec.field(default_factory=Statistic)


class CorpQualification(msgspec.Struct, kw_only=True):
    wechat_channels_binding: bool = False


# ---------------------------------------------------------------------- media


class UploadedMedia(msgspec.Struct, kw_only=True):
    """media/upload answer; the media_id lives 3 days (created_at is epoch seconds, a string on the wire)."""

    type: str
    media_id: str
    created_at: int | str = 0

    @property
    def created_at_epoch(self) -> int:
        return int(self.created_at)


class MediaFile(msgspec.Struct, kw_only=True):
    """A downloaded media file (media/get)."""

    content: bytes
    content_type: str
    filename: str | None = None
