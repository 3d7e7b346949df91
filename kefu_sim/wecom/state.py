"""WeCom corp state held by the simulator (kf accounts, servicers, customers, sessions, messages)."""

from __future__ import annotations

from typing import Any

import msgspec

from kefu_sim.wecom_contact.state import ContactBook

DAY = 86_400
MEDIA_LIFETIME = 3 * DAY  # temporary media and the sync_msg horizon
SESSION_WINDOW = 2 * DAY  # 48 h: reply window, idle session end, batchget "interacted" rule


class Member(msgspec.Struct, kw_only=True):
    """A corp member (成员); only members can be servicers. `active` = activated in WeCom (else 95014)."""

    userid: str
    name: str = ""
    department: list[int] = msgspec.field(default_factory=lambda: [1])
    active: bool = True


class Media(msgspec.Struct, kw_only=True):
    """A temporary media file (media/upload); readable for 3 days. `data` is base64."""

    media_id: str
    type: str  # image | voice | video | file
    filename: str
    content_type: str
    size: int
    created_at: float
    data: str = ""

    def alive(self, now: float) -> bool:
        return now < self.created_at + MEDIA_LIFETIME


class Servicer(msgspec.Struct, kw_only=True):
    """Reception status as servicer/list reports it: status 0 接待中, 1 停止接待 (+ stop_type 0 停止 / 1 挂起)."""

    userid: str
    status: int = 0
    stop_type: int = 0


class KfAccount(msgspec.Struct, kw_only=True):
    """One 客服账号. `servicers` are added by userid; members of `department_ids` serve too."""

    open_kfid: str
    name: str
    media_id: str
    avatar: str
    created_at: float
    manage_privilege: bool = True
    native_welcome: bool = False  # a welcome configured in the admin console: no welcome_code then
    servicers: dict[str, Servicer] = msgspec.field(default_factory=dict)
    department_ids: list[int] = msgspec.field(default_factory=list)
    dept_servicers: dict[str, Servicer] = msgspec.field(default_factory=dict)  # status of department members
    scenes: dict[str, str] = msgspec.field(default_factory=dict)  # enc_scene → scene (add_contact_way)
    next_assign: int = 0  # round-robin position for auto-assignment


class EnterContext(msgspec.Struct, kw_only=True):
    scene: str = ""
    scene_param: str = ""
    wechat_channels: dict[str, Any] | None = None


class Customer(msgspec.Struct, kw_only=True):
    """A WeChat user as one corp sees them; `unionid` points at the world's Person."""

    external_userid: str
    unionid: str
    created_at: float
    last_interaction_at: float | None = None
    enter_context: EnterContext | None = None


class Session(msgspec.Struct, kw_only=True):
    """The conversation of one customer with one kf account; `id` changes each time a session starts.

    `state` follows docs/platforms.md §2.3 (0 未处理, 1 智能助手, 2 待接入池, 3 人工接待, 4 已结束/未开始).
    """

    id: int = 0
    open_kfid: str
    external_userid: str
    state: int = 4
    servicer_userid: str = ""
    last_servicer_userid: str = ""
    started_at: float | None = None
    last_activity_at: float = 0.0
    last_customer_msg_at: float | None = None
    sends_since_customer_msg: int = 0
    coded_states: list[int] = msgspec.field(default_factory=list)  # 2/3: msg_code already handed out
    last_welcome_at: float | None = None
    upgrade: str = ""  # pending 升级服务: "member:<userid>" or "groupchat:<chat_id>"


class KfMessage(msgspec.Struct, kw_only=True):
    """One sync_msg-visible item (origin 3 customer, 4 event, 5 servicer client)."""

    seq: int
    open_kfid: str
    time: float
    item: dict[str, Any]
    silk_media_id: str | None = None  # the voice as SILK, for voice_format=1


class EventCode(msgspec.Struct, kw_only=True):
    """A send_msg_on_event code: kind welcome | pool | taken | ending."""

    code: str
    kind: str
    open_kfid: str
    external_userid: str
    session_id: int
    state: int
    expires_at: float
    used: bool = False


class SyncToken(msgspec.Struct, kw_only=True):
    token: str
    open_kfid: str
    expires_at: float


class SentMessage(msgspec.Struct, kw_only=True):
    """A message sent through send_msg / send_msg_on_event (never returned by sync_msg)."""

    msgid: str
    open_kfid: str
    touser: str
    time: float
    msgtype: str
    via: str = "api"  # api | event


class Activity(msgspec.Struct, kw_only=True):
    """One line of the log the statistics endpoints are computed from.

    kind: session | customer_msg | api_send | pool | assign | servicer_msg | end | upgrade_member |
    upgrade_groupchat | reject.
    """

    time: float
    open_kfid: str
    kind: str
    external_userid: str = ""
    servicer_userid: str = ""
    session_id: int = 0


class UpgradeConfig(msgspec.Struct, kw_only=True):
    """升级服务 configuration (admin console): who customers may be handed to."""

    userid_list: list[str] = msgspec.field(default_factory=list)
    department_id_list: list[int] = msgspec.field(default_factory=list)
    chat_id_list: list[str] = msgspec.field(default_factory=list)


class WeComCorp(msgspec.Struct, kw_only=True):
    """One WeCom corp. `secrets` are the app secrets gettoken accepts (kf app, contact app)."""

    corpid: str
    secrets: list[str] = msgspec.field(default_factory=list)
    verified: bool = True
    callback_url: str | None = None  # where kf_msg_or_event callbacks are POSTed
    callback_token: str | None = None
    encoding_aes_key: str | None = None
    contacts: ContactBook = msgspec.field(default_factory=ContactBook)
    # --- 微信客服 settings
    wechat_channels_binding: bool = False
    kf_account_cap: int = 5000  # verified corps; unverified corps are held to 10 (95027)
    sync_empty_page_rate: float = 0.1  # chance of an empty page with has_more=1 while items remain
    sync_calls_per_minute: int = 10  # sync_msg calls without a callback token, per open_kfid
    # --- 微信客服 state
    departments: list[int] = msgspec.field(default_factory=lambda: [1])
    members: dict[str, Member] = msgspec.field(default_factory=dict)
    media: dict[str, Media] = msgspec.field(default_factory=dict)
    kf_accounts: dict[str, KfAccount] = msgspec.field(default_factory=dict)
    customers: dict[str, Customer] = msgspec.field(default_factory=dict)
    external_userids: dict[str, str] = msgspec.field(default_factory=dict)  # unionid → external_userid
    served: dict[str, int] = msgspec.field(default_factory=dict)  # external_userid → rank of first kf message
    sessions: dict[str, Session] = msgspec.field(default_factory=dict)  # "<open_kfid>/<external_userid>"
    messages: list[KfMessage] = msgspec.field(default_factory=list)
    codes: dict[str, EventCode] = msgspec.field(default_factory=dict)
    sync_tokens: dict[str, SyncToken] = msgspec.field(default_factory=dict)
    sync_calls: dict[str, list[float]] = msgspec.field(default_factory=dict)  # open_kfid → call times
    sent: dict[str, SentMessage] = msgspec.field(default_factory=dict)  # "<open_kfid>/<msgid>"
    activity: list[Activity] = msgspec.field(default_factory=list)
    upgrade_config: UpgradeConfig = msgspec.field(default_factory=UpgradeConfig)
    session_counter: int = 0

    def customer_capacity(self) -> int | None:
        """How many customers the corp's kf may serve (95003 beyond): docs/platforms.md §2.7."""
        if not self.verified:
            return 100
        return None if self.wechat_channels_binding else 10_000

    def department_exists(self, department_id: int) -> bool:
        return department_id in self.departments or any(
            department_id in m.department for m in [*self.members.values(), *self.contacts.members.values()]
        )
