"""Response and payload types of the MP kefu API (docs/platforms.md §4): msgspec Structs, unknown fields ignored.

Decoded with `strict=False`, so numbers the platform sometimes sends as strings (kf_id, msgid)
still convert. Every Struct keeps only the documented fields; the raw dict stays with the caller.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

MSGTYPES = (
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
)

# msgrecord opercodes (docs/platforms.md §4.4): current doc uses 2002/2003; the 1xxx/2001 codes are legacy.
OPERCODE_KF_SENT = 2002
OPERCODE_KF_RECEIVED = 2003


def convert(data: Any, type_: type[T]) -> T:
    """Platform JSON (already decoded) → Struct, tolerating unknown fields and stringly numbers."""
    return msgspec.convert(data, type_, strict=False)


class KfAccount(msgspec.Struct, kw_only=True):
    """One entry of getkflist `kf_list`; invite_* present while an inviteworker invitation is open."""

    kf_account: str
    kf_nick: str = ""
    kf_id: str = ""
    kf_headimgurl: str = ""
    kf_wx: str | None = None
    invite_wx: str | None = None
    invite_expire_time: int | None = None
    invite_status: str | None = None  # waiting | rejected | expired


class OnlineKf(msgspec.Struct, kw_only=True):
    """One entry of getonlinekflist `kf_online_list`; status 1 = web client online."""

    kf_account: str
    status: int = 0
    kf_id: str = ""
    accepted_case: int = 0


class KfSession(msgspec.Struct, kw_only=True):
    """kfsession/getsession: `kf_account` "" = nobody is serving the user; createtime epoch s."""

    kf_account: str = ""
    createtime: int = 0


class SessionItem(msgspec.Struct, kw_only=True):
    openid: str
    createtime: int = 0


class WaitCase(msgspec.Struct, kw_only=True):
    """One queued user; the legacy fixture shows kf_account/createtime instead of latest_time."""

    openid: str
    latest_time: int = 0
    createtime: int | None = None
    kf_account: str | None = None


class WaitCaseList(msgspec.Struct, kw_only=True):
    """`count` of all waiting users; `waitcaselist` holds only the earliest 100."""

    count: int = 0
    waitcaselist: list[WaitCase] = msgspec.field(default_factory=list)


class MsgRecord(msgspec.Struct, kw_only=True, frozen=True):
    """One chat-record line; media show as "[image]" etc.; `worker` is the full kf_account."""

    openid: str
    opercode: int
    text: str = ""
    time: int = 0
    worker: str = ""


class MsgRecordPage(msgspec.Struct, kw_only=True):
    """A getmsglist answer; `msgid` is where the next page starts."""

    recordlist: list[MsgRecord] = msgspec.field(default_factory=list)
    number: int = 0
    msgid: int = 0


class UserInfo(msgspec.Struct, kw_only=True):
    """cgi-bin/user/info; `subscribe` 0 carries only openid (and unionid when bound)."""

    openid: str
    subscribe: int = 0
    nickname: str = ""
    sex: int = 0
    language: str = ""
    headimgurl: str = ""
    subscribe_time: int = 0
    unionid: str | None = None
    remark: str = ""
    subscribe_scene: str = ""
    qr_scene: int = 0
    qr_scene_str: str = ""


class MediaUpload(msgspec.Struct, kw_only=True):
    """media/upload: thumbs answer `thumb_media_id` instead of `media_id`; created_at epoch s."""

    type: str = ""
    media_id: str = ""
    thumb_media_id: str = ""
    created_at: int = 0

    @property
    def id(self) -> str:
        return self.media_id or self.thumb_media_id


class MediaContent(msgspec.Struct, kw_only=True):
    """media/get: the bytes, or (for video on the real platform) a `video_url` to fetch."""

    content: bytes = b""
    content_type: str = ""
    filename: str | None = None
    video_url: str | None = None


class Article(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A `news` article; since 2018-10 custom/send accepts exactly one (45008 otherwise)."""

    title: str
    description: str = ""
    url: str = ""
    picurl: str = ""


class MenuItem(msgspec.Struct, kw_only=True):
    """An msgmenu choice; a click comes back as a text message with `bizmsgmenuid` = id."""

    id: str
    content: str
