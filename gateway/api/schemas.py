"""Request and response bodies of /api/v1 (msgspec Structs). No response type has a field for a secret.

Request bodies forbid unknown fields, so a typo answers 422 instead of being ignored. Partial
updates use `msgspec.UNSET` for "not given" (null means "clear" where a field is nullable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from gateway.db.views import (  # the shapes the REST API and the event payloads share
    AgentSummary,
    AttachmentOut,
    ContactOut,
    ContactSummary,
    ConversationOut,
    EventCodeOut,
    IdentityOut,
    InboxSummary,
    LastMessageOut,
    MessageOut,
    ReplyPolicy,
)

__all__ = [  # with the shapes re-exported from gateway.db.views
    "AgentList",
    "AgentOut",
    "AgentSummary",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyList",
    "ApiKeyOut",
    "AttachmentOut",
    "ChannelCreate",
    "ChannelHealthOut",
    "ChannelList",
    "ChannelOut",
    "ChannelSecrets",
    "ChannelSettings",
    "ChannelUpdate",
    "ChannelVerified",
    "ContactMerge",
    "ContactOut",
    "ContactPage",
    "ContactPatch",
    "ContactSummary",
    "ContactWayCreate",
    "ContactWayOut",
    "ConversationOut",
    "ConversationPage",
    "DirectorySync",
    "DirectorySynced",
    "EventCodeOut",
    "IdentityOut",
    "InboxCreate",
    "InboxList",
    "InboxMembership",
    "InboxOut",
    "InboxSummary",
    "InboxUpdate",
    "LastMessageOut",
    "MessageOut",
    "MessagePage",
    "MpAgentCreate",
    "MpAgentInvite",
    "MpAgentUpdate",
    "ReadIn",
    "ReadOut",
    "ReplyPolicy",
    "ServicerResult",
    "ServicerResults",
    "ServicersAdd",
    "UnreadOut",
]

Name = Annotated[str, Meta(min_length=1, max_length=128)]

# --------------------------------------------------------------------------- channels


class ChannelSecrets(Struct, kw_only=True, forbid_unknown_fields=True):
    """Write-only. On update a key given as "" is removed; keys not given are kept."""

    secret: str | UnsetType = UNSET  # WeCom kf app secret / MP AppSecret
    token: str | UnsetType = UNSET  # callback Token
    encoding_aes_key: str | UnsetType = UNSET  # 43 characters


class ChannelSettings(Struct, kw_only=True, forbid_unknown_fields=True):
    api_base: str | UnsetType = UNSET  # e.g. the simulator's http://host/wecom
    callback_mode: Literal["plain", "compat", "safe"] | UnsetType = UNSET  # MP only
    welcome_message: str | UnsetType = UNSET  # WeCom: sent with enter_session's welcome_code
    receive_ids: list[str] | UnsetType = UNSET  # extra accepted callback receive ids
    voice_format: Literal[0, 1] | UnsetType = UNSET  # WeCom sync_msg voice: 0 AMR, 1 SILK
    token_kind: Literal["mp", "mp-token"] | UnsetType = UNSET  # MP: stable_token or /cgi-bin/token


class ChannelCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    kind: Literal["wecom", "mp"]
    name: Name
    app_id: Annotated[str, Meta(min_length=1, max_length=64)]  # corpid / appid
    secrets: ChannelSecrets
    settings: ChannelSettings = msgspec.field(default_factory=ChannelSettings)


class ChannelUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    settings: ChannelSettings | UnsetType = UNSET
    secrets: ChannelSecrets | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


class ChannelHealthOut(Struct, kw_only=True):
    last_callback_at: datetime | None  # the last callback accepted from the platform
    last_pull_at: datetime | None  # the last successful sync_msg / msgrecord pull, any stream
    errors: dict[str, str]  # stream → its last error, while it stands


class ChannelOut(Struct, kw_only=True):
    id: int
    kind: str
    name: str
    app_id: str
    enabled: bool
    settings: dict[str, Any]
    secrets_set: list[str]  # which secrets are stored, never their values
    callback_url: str
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = []  # configuration the operator should change (gateway.channels.advice)
    health: ChannelHealthOut | None = None  # list and get only


class ChannelVerified(Struct, kw_only=True):
    id: int
    ok: bool = True


# --------------------------------------------------------------------------- API keys


class ApiKeyCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    scope: Literal["read", "write", "admin"]


class ApiKeyOut(Struct, kw_only=True):
    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut, kw_only=True):
    key: str  # shown once: only its SHA-256 is stored


# --------------------------------------------------------------------------- inboxes and agents


class ContactWayOut(Struct, kw_only=True):
    url: str
    scene: str | None
    scene_param: str | None
    created_at: str


class InboxOut(Struct, kw_only=True):
    id: int
    channel_id: int
    source_id: str  # open_kfid / MP appid
    name: str
    avatar_url: str | None
    enabled: bool
    contact_ways: list[ContactWayOut]
    created_at: datetime
    updated_at: datetime


class InboxCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    channel_id: int
    name: Annotated[str, Meta(min_length=1, max_length=16)]  # WeCom: at most 16 characters
    avatar_base64: str | None = None  # an image; a plain default avatar when absent


class InboxUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=16)]


class ContactWayCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    scene: Annotated[str, Meta(max_length=32)] | None = None
    scene_param: str | None = None


class InboxMembership(Struct, kw_only=True):
    inbox_id: int
    status: str


class AgentOut(Struct, kw_only=True):
    id: int
    channel_id: int | None
    source_id: str  # servicer userid / MP kf_account
    name: str
    email: str | None
    status: str  # online | offline | suspended | deleted
    inboxes: list[InboxMembership]
    created_at: datetime
    updated_at: datetime


class ServicersAdd(Struct, kw_only=True, forbid_unknown_fields=True):
    userids: Annotated[list[str], Meta(min_length=1, max_length=100)]


class ServicerResult(Struct, kw_only=True):
    userid: str
    errcode: int  # 0 = added; the platform's per-user code otherwise
    agent_id: int | None = None


class MpAgentCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    channel_id: int
    kf_account: Annotated[str, Meta(pattern=r"^[0-9A-Za-z_]{1,10}@[^@\s]{1,30}$")]  # prefix@WeChat id
    nickname: Annotated[str, Meta(min_length=1, max_length=16)]


class MpAgentUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    nickname: Annotated[str, Meta(min_length=1, max_length=16)]


class MpAgentInvite(Struct, kw_only=True, forbid_unknown_fields=True):
    invite_wx: Annotated[str, Meta(min_length=1, max_length=64)]  # the WeChat id to bind


class DirectorySync(Struct, kw_only=True, forbid_unknown_fields=True):
    channel_id: int


class DirectorySynced(Struct, kw_only=True):
    inboxes: int
    agents: int


# --------------------------------------------------------------------------- contacts


class ContactPage(Struct, kw_only=True):
    data: list[ContactOut]
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page; null on the last page


class ContactPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=256)] | UnsetType = UNSET
    external_id: Annotated[str, Meta(min_length=1, max_length=256)] | UnsetType | None = UNSET
    attributes: dict[str, Any] | UnsetType = UNSET  # merged; a key set to null is removed


class ContactMerge(Struct, kw_only=True, forbid_unknown_fields=True):
    into_contact_id: int


# --------------------------------------------------------------------------- conversations


class ReadIn(Struct, kw_only=True, forbid_unknown_fields=True):
    message_id: Annotated[int, Meta(ge=1, le=2**63 - 1)] | None = None  # default: the conversation's last message
    operator_id: Annotated[int, Meta(ge=1, le=2**63 - 1)] | None = None  # API keys: the operator this read is for


class ReadOut(Struct, kw_only=True):
    conversation_id: int
    operator_id: int
    last_read_message_id: int
    unread_count: int


class UnreadOut(Struct, kw_only=True):
    conversations: int  # non-resolved conversations with unread customer messages
    messages: int  # unread customer messages in them


class ConversationPage(Struct, kw_only=True):
    data: list[ConversationOut]
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page; null on the last page


class MessagePage(Struct, kw_only=True):
    data: list[MessageOut]  # oldest → newest
    next_cursor: str | None  # the next page in the same direction (older by default); null at the end
    newer_cursor: str  # what arrives after this page: poll it to catch up


# --------------------------------------------------------------------------- lists


class ChannelList(Struct, kw_only=True):
    data: list[ChannelOut]
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page; null on the last page


class ApiKeyList(Struct, kw_only=True):
    data: list[ApiKeyOut]
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page; null on the last page


class InboxList(Struct, kw_only=True):
    data: list[InboxOut]
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page; null on the last page


class AgentList(Struct, kw_only=True):
    data: list[AgentOut]
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page; null on the last page


class ServicerResults(Struct, kw_only=True):
    data: list[ServicerResult]
