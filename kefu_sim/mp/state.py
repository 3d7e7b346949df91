"""Official Account (MP) state held by the simulator (followers, kf accounts, sessions, records)."""

from __future__ import annotations

import msgspec

REPLY_WINDOW = 48 * 3600  # seconds a user message keeps custom/send open (docs/platforms.md §4.2)
MESSAGE_QUOTA = 5  # custom/send messages per user message
EVENT_WINDOW = 60  # seconds a menu click / subscribe / scan keeps custom/send open
EVENT_QUOTA = 3  # custom/send messages per such event
MEDIA_LIFETIME = 3 * 86400  # temporary media expire after 3 days


class MpFollower(msgspec.Struct, kw_only=True):
    """One user's relation to one official account, and the custom/send grants they opened.

    `subscribed` False with `unsubscribe_time` set = left the account (custom/send → 45015);
    False without it = an openid known to the account (e.g. via web OAuth) that never followed
    (→ 43004).
    """

    openid: str
    unionid: str
    subscribed: bool = True
    subscribe_time: int = 0
    unsubscribe_time: int | None = None
    language: str = "zh_CN"
    remark: str = ""
    subscribe_scene: str = "ADD_SCENE_SEARCH"
    qr_scene: int = 0
    qr_scene_str: str = ""
    message_at: float | None = None  # last user message: opens the 48 h / 5-message grant
    message_sent: int = 0
    event_at: float | None = None  # last CLICK / subscribe / SCAN: opens the 1 min / 3-message grant
    event_sent: int = 0
    interaction_at: float | None = None  # last message either way (typing needs one within 30 s)
    typing_until: float | None = None


class MpKfAccount(msgspec.Struct, kw_only=True):
    """A legacy multi-kf account; `kf_wx` is the WeChat user bound to it (needed for sessions)."""

    kf_account: str
    kf_id: str
    nickname: str
    headimgurl: str = ""
    kf_wx: str | None = None
    invite_wx: str | None = None
    invite_expire_time: int | None = None
    invite_status: str | None = None  # waiting | rejected | expired (computed on read)
    online: bool = False  # getonlinekflist status 1 = web client online


class MpSession(msgspec.Struct, kw_only=True):
    openid: str
    kf_account: str
    createtime: int


class MpWaitCase(msgspec.Struct, kw_only=True):
    """A user queued for the multi-kf system (no kf has accepted yet)."""

    openid: str
    createtime: int
    latest_time: int


class MpRecord(msgspec.Struct, kw_only=True):
    """One line of msgrecord/getmsglist; `msgid` counts from 1 per account."""

    msgid: int
    openid: str
    opercode: int  # 2002 kf (or API) sent, 2003 kf received (the user wrote); 1001/1004 legacy session
    text: str
    time: int
    worker: str


class MpMedia(msgspec.Struct, kw_only=True):
    media_id: str
    type: str  # image | voice | video | thumb
    created_at: int
    content: bytes
    filename: str = "media"
    content_type: str = "application/octet-stream"


class MpApp(msgspec.Struct, kw_only=True):
    """One official account; `callback_mode` is "plain" | "compat" | "safe".

    `transfer_to_kf` models an account whose passive reply hands every message to the multi-kf
    system: a user message with no kf session then opens (or refreshes) a wait case.
    `session_records` models an account whose msgrecord still lists the legacy session codes
    (1001 accepted, 1004 closed) next to the messages.
    """

    appid: str
    secret: str
    gh_id: str = ""
    wechat_id: str = ""  # the account's WeChat ID: kf_account suffixes must use it
    callback_url: str | None = None
    callback_token: str | None = None
    encoding_aes_key: str | None = None
    callback_mode: str = "plain"
    transfer_to_kf: bool = False
    session_records: bool = False
    followers: dict[str, MpFollower] = msgspec.field(default_factory=dict)
    kf_accounts: dict[str, MpKfAccount] = msgspec.field(default_factory=dict)
    next_kf_id: int = 1001
    sessions: dict[str, MpSession] = msgspec.field(default_factory=dict)  # by openid
    waitcases: dict[str, MpWaitCase] = msgspec.field(default_factory=dict)  # by openid
    records: list[MpRecord] = msgspec.field(default_factory=list)
    media: dict[str, MpMedia] = msgspec.field(default_factory=dict)
    stable_force_times: list[float] = msgspec.field(default_factory=list)  # force_refresh calls
