# Generated from the kefu-gateway OpenAPI document (/schema/openapi.json) by
# scripts/openapi_python.py. Do not edit: run `python scripts/openapi_python.py` instead.

"""The API's request and response bodies as msgspec Structs (absent optional fields are UNSET)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ['UNSET', 'UnsetType', 'datetime']

ErrorCode = Literal[
    'agent_already_linked',
    'agent_not_servicer',
    'agent_unavailable',
    'already_exists',
    'api_base_not_allowed',
    'bad_request',
    'callback_bad_aes_key',
    'callback_bad_base64',
    'callback_bad_buffer',
    'callback_bad_receive_id',
    'callback_bad_signature',
    'callback_bad_xml',
    'callback_base64_encode_failed',
    'callback_decrypt_failed',
    'callback_encrypt_failed',
    'callback_reply_xml_failed',
    'callback_sha_error',
    'callback_stale',
    'channel_misconfigured',
    'channel_not_found',
    'conflict',
    'contact_unreachable',
    'conversation_ended',
    'conversation_not_resolved',
    'conversation_superseded',
    'csrf_failed',
    'email_taken',
    'event_code_expired',
    'forbidden',
    'idempotency_key_busy',
    'idempotency_key_reused',
    'internal_error',
    'invalid_credentials',
    'invalid_event_code',
    'invalid_media',
    'invalid_message',
    'invalid_plan',
    'invalid_wechat_id',
    'invitation_conflict',
    'label_exists',
    'last_admin',
    'media_expired',
    'media_failed',
    'media_not_found',
    'media_pending',
    'message_not_in_conversation',
    'no_platform_session',
    'not_found',
    'note_too_long',
    'operator_required',
    'overloaded',
    'payload_too_large',
    'platform_busy',
    'platform_conflict',
    'platform_error',
    'platform_forbids',
    'platform_holds_session',
    'platform_invalid_argument',
    'platform_limit_reached',
    'platform_not_found',
    'platform_rate_limited',
    'platform_unreachable',
    'quota_exhausted',
    'range_not_satisfiable',
    'reply_not_allowed',
    'secret_reentry_required',
    'served_by_another_agent',
    'short_code_taken',
    'state_forbids_api',
    'state_transition_refused',
    'too_many_attempts',
    'too_many_streams',
    'typing_not_allowed',
    'unauthorized',
    'unknown_label',
    'unknown_operator',
    'unsupported_by_channel',
    'upgrade_target_not_configured',
    'validation_error',
    'variant_failed',
    'weak_password',
    'webhook_target_forbidden',
    'webhook_target_unresolvable',
    'webhook_url_insecure',
    'window_closed',
]
"""Every `error.code` an operation documents (ApiError.code is one of these, or a newer one)."""


class ActionResult(msgspec.Struct, kw_only=True):
    conversation_id: int
    status: Literal['pending', 'queued', 'open', 'resolved']
    platform_state: str | None
    assignee_id: int | None
    operator_id: int | UnsetType | None = UNSET
    assigned_on_platform: bool | UnsetType | None = UNSET


class AgentLink(msgspec.Struct, kw_only=True):
    agent_id: int


class AgentList(msgspec.Struct, kw_only=True):
    data: list[AgentOut]
    next_cursor: str | None


class AgentOut(msgspec.Struct, kw_only=True):
    id: int
    channel_id: int | None
    source_id: str
    name: str
    email: str | None
    status: Literal['online', 'offline', 'suspended', 'deleted']
    inboxes: list[InboxMembership]
    created_at: datetime
    updated_at: datetime


class AgentSummary(msgspec.Struct, kw_only=True):
    id: int
    source_id: str
    name: str
    status: Literal['online', 'offline', 'suspended', 'deleted']


class ApiKeyCreate(msgspec.Struct, kw_only=True):
    name: str
    scope: Literal['read', 'write', 'admin']


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    key: str


class ApiKeyList(msgspec.Struct, kw_only=True):
    data: list[ApiKeyOut]
    next_cursor: str | None


class ApiKeyOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class Assign(msgspec.Struct, kw_only=True):
    agent_id: int | UnsetType | None = UNSET
    operator_id: int | UnsetType | None = UNSET


class AttachmentOut(msgspec.Struct, kw_only=True):
    media_id: int | None
    kind: Literal['file', 'image', 'video', 'voice']
    mime: str | None
    size: int | None
    filename: str | None
    status: Literal['pending', 'stored', 'failed', 'expired', 'unavailable']
    url: str | None
    playable_url: str | UnsetType | None = UNSET
    thumb_url: str | UnsetType | None = UNSET


class CannedCreate(msgspec.Struct, kw_only=True):
    short_code: str
    content: str


class CannedOut(msgspec.Struct, kw_only=True):
    id: int
    short_code: str
    content: str
    created_at: datetime
    updated_at: datetime


class CannedPage(msgspec.Struct, kw_only=True):
    data: list[CannedOut]
    next_cursor: str | None


class CannedPatch(msgspec.Struct, kw_only=True):
    short_code: str | UnsetType = UNSET
    content: str | UnsetType = UNSET


class ChannelCreate(msgspec.Struct, kw_only=True):
    kind: Literal['wecom', 'mp']
    name: str
    app_id: str
    secrets: ChannelSecrets
    settings: ChannelSettings | UnsetType = UNSET


class ChannelHealthOut(msgspec.Struct, kw_only=True):
    last_callback_at: datetime | None
    last_pull_at: datetime | None
    errors: dict[str, str]


class ChannelList(msgspec.Struct, kw_only=True):
    data: list[ChannelOut]
    next_cursor: str | None


class ChannelOut(msgspec.Struct, kw_only=True):
    id: int
    kind: Literal['wecom', 'mp']
    name: str
    app_id: str
    enabled: bool
    settings: dict[str, Any]
    secrets_set: list[str]
    callback_url: str
    created_at: datetime
    updated_at: datetime
    warnings: list[str] | UnsetType = UNSET
    health: ChannelHealthOut | UnsetType | None = UNSET


class ChannelSecrets(msgspec.Struct, kw_only=True):
    secret: str | UnsetType = UNSET
    token: str | UnsetType = UNSET
    encoding_aes_key: str | UnsetType = UNSET


class ChannelSettings(msgspec.Struct, kw_only=True):
    api_base: str | UnsetType = UNSET
    callback_mode: Literal['plain', 'compat', 'safe'] | UnsetType = UNSET
    welcome_message: str | UnsetType = UNSET
    receive_ids: list[str] | UnsetType = UNSET
    voice_format: Literal[0, 1] | UnsetType = UNSET
    token_kind: Literal['mp', 'mp-token'] | UnsetType = UNSET


class ChannelUpdate(msgspec.Struct, kw_only=True):
    name: str | UnsetType = UNSET
    settings: ChannelSettings | UnsetType = UNSET
    secrets: ChannelSecrets | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


class ContactMerge(msgspec.Struct, kw_only=True):
    into_contact_id: int


class ContactOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    avatar_url: str | None
    gender: int | None
    unionid: str | None
    external_id: str | None
    attributes: dict[str, Any]
    merged_into_id: int | None
    identities: list[IdentityOut]
    labels: list[str] | UnsetType = UNSET
    created_at: datetime
    updated_at: datetime


class ContactPage(msgspec.Struct, kw_only=True):
    data: list[ContactOut]
    next_cursor: str | None


class ContactPatch(msgspec.Struct, kw_only=True):
    name: str | UnsetType = UNSET
    external_id: str | UnsetType | None = UNSET
    attributes: dict[str, Any] | UnsetType = UNSET


class ContactSummary(msgspec.Struct, kw_only=True):
    id: int
    name: str
    avatar_url: str | None
    external_id: str | None


class ContactWayCreate(msgspec.Struct, kw_only=True):
    scene: str | UnsetType | None = UNSET
    scene_param: str | UnsetType | None = UNSET


class ContactWayOut(msgspec.Struct, kw_only=True):
    url: str
    scene: str | None
    scene_param: str | None
    created_at: str


class ConversationOut(msgspec.Struct, kw_only=True):
    id: int
    status: Literal['pending', 'queued', 'open', 'resolved']
    platform_state: str | None
    state_checked_at: datetime | None
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
    event_code: EventCodeOut | UnsetType | None = UNSET
    reply_policy: ReplyPolicy | UnsetType | None = UNSET
    operator_id: int | UnsetType | None = UNSET
    waiting_since: datetime | UnsetType | None = UNSET
    unread_count: int | UnsetType | None = UNSET
    last_message: LastMessageOut | UnsetType | None = UNSET
    labels: list[str] | UnsetType = UNSET


class ConversationPage(msgspec.Struct, kw_only=True):
    data: list[ConversationOut]
    next_cursor: str | None

ConversationStatus = Literal['pending', 'queued', 'open', 'resolved']


class DeliveryOut(msgspec.Struct, kw_only=True):
    id: int
    webhook_id: int
    event_id: int
    event_type: str
    status: str
    attempts: int
    response_status: int | None
    response_excerpt: str | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliveryPage(msgspec.Struct, kw_only=True):
    data: list[DeliveryOut]
    next_cursor: str | None


class DirectorySync(msgspec.Struct, kw_only=True):
    channel_id: int


class DirectorySynced(msgspec.Struct, kw_only=True):
    inboxes: int
    agents: int


class ErrorBody(msgspec.Struct, kw_only=True):
    error: ErrorDetail


class ErrorDetail(msgspec.Struct, kw_only=True):
    code: str
    message: str
    field: str | UnsetType | None = UNSET
    reason: str | UnsetType | None = UNSET
    errcode: int | UnsetType | None = UNSET
    errmsg: str | UnsetType | None = UNSET
    path: str | UnsetType | None = UNSET


class EventCodeOut(msgspec.Struct, kw_only=True):
    code: str
    kind: str | None
    issued_at: datetime | None
    expires_at: datetime | None
    expired: bool


class EventOut(msgspec.Struct, kw_only=True):
    id: int
    type: str
    created_at: datetime
    data: dict[str, Any]


class EventPage(msgspec.Struct, kw_only=True):
    data: list[EventOut]
    next_cursor: str
    has_more: bool
    next_after: int


class EventReply(msgspec.Struct, kw_only=True):
    content_type: str | UnsetType = UNSET
    content: str | UnsetType | None = UNSET
    head_content: str | UnsetType | None = UNSET
    items: list[dict[str, Any]] | UnsetType | None = UNSET
    tail_content: str | UnsetType | None = UNSET


class Handover(msgspec.Struct, kw_only=True):
    target: str


class IdentityOut(msgspec.Struct, kw_only=True):
    id: int
    channel_id: int
    source_id: str
    unionid: str | None
    profile: dict[str, Any]
    created_at: datetime


class InboxCreate(msgspec.Struct, kw_only=True):
    channel_id: int
    name: str
    avatar_base64: str | UnsetType | None = UNSET


class InboxList(msgspec.Struct, kw_only=True):
    data: list[InboxOut]
    next_cursor: str | None


class InboxMembership(msgspec.Struct, kw_only=True):
    inbox_id: int
    status: str


class InboxOut(msgspec.Struct, kw_only=True):
    id: int
    channel_id: int
    source_id: str
    name: str
    avatar_url: str | None
    enabled: bool
    contact_ways: list[ContactWayOut]
    created_at: datetime
    updated_at: datetime


class InboxSummary(msgspec.Struct, kw_only=True):
    id: int
    channel_id: int
    kind: str
    source_id: str
    name: str
    migrating: bool | UnsetType = UNSET


class InboxUpdate(msgspec.Struct, kw_only=True):
    name: str


class LabelCreate(msgspec.Struct, kw_only=True):
    name: str
    color: str | UnsetType = UNSET
    description: str | UnsetType = UNSET


class LabelList(msgspec.Struct, kw_only=True):
    data: list[LabelOut]
    next_cursor: str | None


class LabelOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    color: str
    description: str
    created_at: datetime
    updated_at: datetime


class LabelPatch(msgspec.Struct, kw_only=True):
    name: str | UnsetType = UNSET
    color: str | UnsetType = UNSET
    description: str | UnsetType = UNSET


class Labels(msgspec.Struct, kw_only=True):
    labels: list[str]


class LabelsAdd(msgspec.Struct, kw_only=True):
    labels: list[str]


class LastMessageOut(msgspec.Struct, kw_only=True):
    id: int
    message_type: Literal['incoming', 'outgoing', 'activity', 'note']
    content_type: Literal['text', 'image', 'voice', 'video', 'file', 'location', 'link', 'business_card', 'miniprogram', 'menu', 'news', 'channels', 'event', 'unknown']
    preview: str
    created_at: datetime


class LinkedAgent(msgspec.Struct, kw_only=True):
    id: int
    channel_id: int | None
    source_id: str
    name: str


class Me(msgspec.Struct, kw_only=True):
    operator: OperatorOut
    csrf_token: str


class MediaUploaded(msgspec.Struct, kw_only=True):
    media_id: str
    type: str
    sha256: str
    size: int
    expires_at: datetime
    reused: bool


class MessageOut(msgspec.Struct, kw_only=True):
    id: int
    conversation_id: int
    inbox_id: int
    source_id: str | None
    message_type: Literal['incoming', 'outgoing', 'activity', 'note']
    sender_type: Literal['contact', 'agent', 'bot', 'system', 'operator', 'api_key']
    sender_agent_id: int | None
    content_type: Literal['text', 'image', 'voice', 'video', 'file', 'location', 'link', 'business_card', 'miniprogram', 'menu', 'news', 'channels', 'event', 'unknown']
    content: str | None
    content_attributes: dict[str, Any]
    status: Literal['queued', 'sent', 'failed', 'received']
    error_code: str | None
    error_message: str | None
    recalled_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    raw: dict[str, Any] | UnsetType | None = UNSET
    author: dict[str, Any] | UnsetType | None = UNSET
    attachment: AttachmentOut | UnsetType | None = UNSET


class MessagePage(msgspec.Struct, kw_only=True):
    data: list[MessageOut]
    next_cursor: str | None
    newer_cursor: str


class MpAgentCreate(msgspec.Struct, kw_only=True):
    channel_id: int
    kf_account: str
    nickname: str


class MpAgentInvite(msgspec.Struct, kw_only=True):
    invite_wx: str


class MpAgentUpdate(msgspec.Struct, kw_only=True):
    nickname: str


class NoteCreate(msgspec.Struct, kw_only=True):
    content: str | UnsetType | None = UNSET


class OperatorCreate(msgspec.Struct, kw_only=True):
    email: str
    name: str
    password: str
    role: str | UnsetType = UNSET


class OperatorList(msgspec.Struct, kw_only=True):
    data: list[OperatorOut]
    next_cursor: str | None


class OperatorOut(msgspec.Struct, kw_only=True):
    id: int
    email: str
    name: str
    role: str
    active: bool
    agents: list[LinkedAgent]
    last_sign_in_at: datetime | None
    created_at: datetime


class OperatorUpdate(msgspec.Struct, kw_only=True):
    name: str | UnsetType = UNSET
    role: str | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    password: str | UnsetType = UNSET


class ReadIn(msgspec.Struct, kw_only=True):
    message_id: int | UnsetType | None = UNSET
    operator_id: int | UnsetType | None = UNSET


class ReadOut(msgspec.Struct, kw_only=True):
    conversation_id: int
    operator_id: int
    last_read_message_id: int
    unread_count: int


class Reopened(msgspec.Struct, kw_only=True):
    conversation_id: int
    status: Literal['pending', 'queued', 'open', 'resolved']
    platform_state: str | None
    assignee_id: int | None
    platform_reopened: bool
    reason: str | None
    detail: str


class ReplyPolicy(msgspec.Struct, kw_only=True):
    can_reply: bool
    reason: str | None
    detail: str
    grant: str | None
    window_closes_at: datetime | UnsetType | None = UNSET
    replies_left: int | UnsetType | None = UNSET


class SendMessage(msgspec.Struct, kw_only=True):
    content_type: Literal['business_card', 'ca_link', 'file', 'image', 'link', 'location', 'menu', 'miniprogram', 'miniprogrampage', 'mpnews', 'mpnewsarticle', 'msgmenu', 'music', 'news', 'text', 'video', 'voice', 'wxcard'] | UnsetType = UNSET
    content: str | UnsetType | None = UNSET
    media_id: str | UnsetType | None = UNSET
    thumb_media_id: str | UnsetType | None = UNSET
    title: str | UnsetType | None = UNSET
    description: str | UnsetType | None = UNSET
    url: str | UnsetType | None = UNSET
    picurl: str | UnsetType | None = UNSET
    musicurl: str | UnsetType | None = UNSET
    hqmusicurl: str | UnsetType | None = UNSET
    articles: list[dict[str, Any]] | UnsetType | None = UNSET
    article_id: str | UnsetType | None = UNSET
    card_id: str | UnsetType | None = UNSET
    link_url: str | UnsetType | None = UNSET
    appid: str | UnsetType | None = UNSET
    pagepath: str | UnsetType | None = UNSET
    head_content: str | UnsetType | None = UNSET
    items: list[dict[str, Any]] | UnsetType | None = UNSET
    tail_content: str | UnsetType | None = UNSET
    latitude: float | UnsetType | None = UNSET
    longitude: float | UnsetType | None = UNSET
    name: str | UnsetType | None = UNSET
    address: str | UnsetType | None = UNSET
    userid: str | UnsetType | None = UNSET
    kf_account: str | UnsetType | None = UNSET
    agent_id: int | UnsetType | None = UNSET


class ServicerResult(msgspec.Struct, kw_only=True):
    userid: str
    errcode: int
    agent_id: int | UnsetType | None = UNSET


class ServicerResults(msgspec.Struct, kw_only=True):
    data: list[ServicerResult]


class ServicersAdd(msgspec.Struct, kw_only=True):
    userids: list[str]


class SignIn(msgspec.Struct, kw_only=True):
    email: str
    password: str


class Typing(msgspec.Struct, kw_only=True):
    on: bool | UnsetType = UNSET


class UnreadOut(msgspec.Struct, kw_only=True):
    conversations: int
    messages: int


class UpgradeService(msgspec.Struct, kw_only=True):
    type: str
    userid: str | UnsetType | None = UNSET
    chat_id: str | UnsetType | None = UNSET
    wording: str | UnsetType | None = UNSET


class WebhookCreate(msgspec.Struct, kw_only=True):
    url: str
    events: list[str] | UnsetType = UNSET
    secret: str | UnsetType | None = UNSET
    description: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


class WebhookCreated(msgspec.Struct, kw_only=True):
    id: int
    url: str
    events: list[str]
    description: str
    enabled: bool
    pending_deliveries: int
    created_at: datetime
    updated_at: datetime
    secret: str


class WebhookList(msgspec.Struct, kw_only=True):
    data: list[WebhookOut]
    next_cursor: str | None


class WebhookOut(msgspec.Struct, kw_only=True):
    id: int
    url: str
    events: list[str]
    description: str
    enabled: bool
    pending_deliveries: int
    created_at: datetime
    updated_at: datetime


class WebhookUpdate(msgspec.Struct, kw_only=True):
    url: str | UnsetType = UNSET
    events: list[str] | UnsetType = UNSET
    secret: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
