"""Request and response bodies of /api/v1 (msgspec Structs). No response type has a field for a secret.

Request bodies forbid unknown fields, so a typo answers 422 instead of being ignored. Partial
updates use `msgspec.UNSET` for "not given" (null means "clear" where a field is nullable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

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


class IdentityOut(Struct, kw_only=True):
    id: int
    channel_id: int
    source_id: str  # external_userid / openid
    unionid: str | None
    profile: dict[str, Any]
    created_at: datetime


class ContactOut(Struct, kw_only=True):
    id: int
    name: str
    avatar_url: str | None
    gender: int | None
    unionid: str | None
    external_id: str | None
    attributes: dict[str, Any]
    merged_into_id: int | None
    identities: list[IdentityOut]
    labels: list[str] = msgspec.field(default_factory=list)  # sorted label names
    created_at: datetime
    updated_at: datetime


class ContactPage(Struct, kw_only=True):
    data: list[ContactOut]
    next_after: int | None  # pass as ?after= for the next page; null on the last page


class ContactPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=256)] | UnsetType = UNSET
    external_id: Annotated[str, Meta(min_length=1, max_length=256)] | UnsetType | None = UNSET
    attributes: dict[str, Any] | UnsetType = UNSET  # merged; a key set to null is removed


class ContactMerge(Struct, kw_only=True, forbid_unknown_fields=True):
    into_contact_id: int


# --------------------------------------------------------------------------- conversations


class ContactSummary(Struct, kw_only=True):
    id: int
    name: str
    avatar_url: str | None
    external_id: str | None


class InboxSummary(Struct, kw_only=True):
    id: int
    channel_id: int
    kind: str
    source_id: str
    name: str
    migrating: bool = False  # its MP channel is in cutover mode: new followers are sent to WeCom kf


class AgentSummary(Struct, kw_only=True):
    id: int
    source_id: str
    name: str
    status: str


class ReplyPolicy(Struct, kw_only=True):
    can_reply: bool
    reason: str | None  # window_closed | quota_exhausted | state_forbids_api
    detail: str
    grant: str | None  # which allowance a send would spend: message | event
    window_closes_at: datetime | None = None  # when allowed: when the last open grant lapses
    replies_left: int | None = None  # when allowed: sends left across open grants, queued ones counted


class EventCodeOut(Struct, kw_only=True):
    """The WeCom send_msg_on_event code a conversation holds (POST …/event-reply uses it)."""

    code: str
    kind: str | None  # welcome | queue | taken | closing
    issued_at: datetime | None
    expires_at: datetime | None  # welcome and closing codes live 20 s, queue and taken codes 48 h
    expired: bool  # also: each code works once, and event-reply drops it after use


class ConversationOut(Struct, kw_only=True):
    id: int
    status: str  # pending | queued | open | resolved
    platform_state: str | None
    state_checked_at: datetime | None  # when the platform's session state was last read
    inbox_id: int
    contact_id: int
    assignee_id: int | None
    last_activity_at: datetime
    last_incoming_at: datetime | None
    first_reply_at: datetime | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    contact: ContactSummary | None
    inbox: InboxSummary | None
    assignee: AgentSummary | None
    event_code: EventCodeOut | None = None
    reply_policy: ReplyPolicy | None = None  # on GET /conversations/{id} only
    operator_id: int | None = None  # the operator (person) assigned
    waiting_since: datetime | None = None  # the customer's oldest unanswered message; null if none waits
    unread_count: int | None = None  # for the operator looking; null for an API key without operator_id
    last_message: LastMessageOut | None = None
    labels: list[str] = msgspec.field(default_factory=list)


class LastMessageOut(Struct, kw_only=True):
    """A conversation's newest incoming or outgoing message as a list shows it."""

    id: int
    message_type: str  # incoming | outgoing
    content_type: str
    preview: str  # up to 80 characters of text, or a placeholder such as "[image]"
    created_at: datetime


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
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page


class AttachmentOut(Struct, kw_only=True):
    """The file of an image, voice, video or file message; the URLs need the same key or session."""

    media_id: int | None  # GET /api/v1/media/{media_id}; None while the gateway has no row for it
    kind: str  # image | voice | video | file
    mime: str | None
    size: int | None
    filename: str | None
    status: str  # pending | stored | failed | expired | unavailable (an upload the gateway kept no copy of)
    url: str | None
    playable_url: str | None = None  # voice: the MP3 a browser plays
    thumb_url: str | None = None  # image: a JPEG preview, at most 320 px on the long side


class MessageOut(Struct, kw_only=True):
    id: int
    conversation_id: int
    inbox_id: int
    source_id: str | None
    message_type: str
    sender_type: str
    sender_agent_id: int | None
    content_type: str
    content: str | None
    content_attributes: dict[str, Any]
    status: str
    error_code: str | None
    error_message: str | None
    recalled_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    raw: dict[str, Any] | None = None  # the platform payload, with ?include_raw=true
    author: dict[str, Any] | None = None  # notes: who wrote it ({type: operator | api_key, id, name})
    attachment: AttachmentOut | None = None  # media messages, in message lists


class MessagePage(Struct, kw_only=True):
    data: list[MessageOut]  # oldest → newest
    has_more: bool  # more in the paging direction (older for ?before= or none, newer for ?after=)


# --------------------------------------------------------------------------- lists


class ChannelList(Struct, kw_only=True):
    data: list[ChannelOut]


class ApiKeyList(Struct, kw_only=True):
    data: list[ApiKeyOut]


class InboxList(Struct, kw_only=True):
    data: list[InboxOut]


class AgentList(Struct, kw_only=True):
    data: list[AgentOut]


class ServicerResults(Struct, kw_only=True):
    data: list[ServicerResult]
