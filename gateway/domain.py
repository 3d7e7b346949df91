"""The unified conversation model as plain types (no I/O): enums and normalized inbound items.

Channels turn platform payloads into these; `gateway.inbound.ingest` is the only code that writes them.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import msgspec


class ChannelKind(StrEnum):
    WECOM = "wecom"
    MP = "mp"


class ConversationStatus(StrEnum):
    PENDING = "pending"  # new, or handled by the API / a bot
    QUEUED = "queued"  # waiting for a human
    OPEN = "open"  # a human agent holds it
    RESOLVED = "resolved"


class MessageType(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"
    ACTIVITY = "activity"
    NOTE = "note"  # a private note: never sent to the platform (gateway.db.repositories.notes)


class SenderType(StrEnum):
    CONTACT = "contact"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"
    OPERATOR = "operator"  # a person signed in to the gateway (notes)
    API_KEY = "api_key"  # a machine with an API key (notes)


class ContentType(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VOICE = "voice"
    VIDEO = "video"
    FILE = "file"
    LOCATION = "location"
    LINK = "link"
    BUSINESS_CARD = "business_card"
    MINIPROGRAM = "miniprogram"
    MENU = "menu"
    NEWS = "news"
    CHANNELS = "channels"
    EVENT = "event"
    UNKNOWN = "unknown"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    RECEIVED = "received"  # incoming and activity messages


class AgentStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    SUSPENDED = "suspended"


class WindowTrigger(StrEnum):
    """What opened the current reply window (MP quotas differ per trigger)."""

    USER_MESSAGE = "user_message"
    MENU_CLICK = "menu_click"
    SUBSCRIBE = "subscribe"
    SCAN = "scan"


MEDIA_CONTENT_TYPES = frozenset({ContentType.IMAGE, ContentType.VOICE, ContentType.VIDEO, ContentType.FILE})

# WeCom service_state → conversation status (docs/architecture.md §3)
WECOM_STATE_STATUS = {
    0: ConversationStatus.PENDING,
    1: ConversationStatus.PENDING,
    2: ConversationStatus.QUEUED,
    3: ConversationStatus.OPEN,
    4: ConversationStatus.RESOLVED,
}


class ContactProfile(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a platform tells us about a contact identity (customer batchget, user/info)."""

    source_id: str  # external_userid / openid
    name: str | None = None
    avatar_url: str | None = None
    gender: int | None = None
    unionid: str | None = None
    raw: dict[str, Any] | None = None


class InboundMessage(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One normalized message or event item, ready for ingest.

    `source_id` is unique per inbox (WeCom msgid; MP MsgId or FromUserName:CreateTime:Event).
    `inbox_source_id` is the open_kfid (WeCom) or the MP appid. For outgoing items sent from a
    platform client (WeCom origin 5, MP kf), `agent_source_id` names the servicer / kf account.
    """

    source_id: str
    inbox_source_id: str
    contact_source_id: str
    message_type: MessageType
    sender_type: SenderType
    content_type: ContentType
    sent_at: datetime
    content: str | None = None
    content_attributes: dict[str, Any] = msgspec.field(default_factory=dict)
    raw: dict[str, Any] = msgspec.field(default_factory=dict)
    agent_source_id: str | None = None
    window_trigger: WindowTrigger | None = None  # set when this item (re)opens the reply window
    media_id: str | None = None  # platform media to download into the vault
    seq: int = 0  # position in the page: ingest applies messages and changes in this order


class StateChange(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A conversation state change the platform reported (event or session query)."""

    inbox_source_id: str
    contact_source_id: str
    at: datetime
    status: ConversationStatus | None = None
    platform_state: str | None = None
    assignee_source_id: str | None = None  # servicer userid / kf_account; "" = unassigned
    event_code: str | None = None  # WeCom msg_code / welcome_code for send_msg_on_event
    event_code_kind: str | None = None  # welcome | queue | taken | closing
    seq: int = 0


class MessageUpdate(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A change to a message we already hold: recalled, or a send that failed after the fact."""

    inbox_source_id: str
    message_source_id: str
    at: datetime
    recalled: bool = False
    failed_reason: str | None = None
    failed_code: int | None = None
    seq: int = 0


class AgentChange(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An agent's (servicer / kf account) status, optionally per inbox."""

    agent_source_id: str
    status: AgentStatus
    inbox_source_id: str | None = None
    name: str | None = None


class InboxChange(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A kf account delegated to (added) or withdrawn from (removed) this channel."""

    inbox_source_id: str
    added: bool
    name: str | None = None


class Batch(msgspec.Struct, kw_only=True):
    """Everything one pull page or one callback produced, ingested in one transaction.

    `cursor` (with `stream`) is saved in the same commit as the rows, so a crash before the commit
    re-pulls the page and a crash after it never re-reads it; duplicates are ignored by source id.
    """

    channel_id: int
    messages: list[InboundMessage] = msgspec.field(default_factory=list)
    state_changes: list[StateChange] = msgspec.field(default_factory=list)
    message_updates: list[MessageUpdate] = msgspec.field(default_factory=list)
    agent_changes: list[AgentChange] = msgspec.field(default_factory=list)
    inbox_changes: list[InboxChange] = msgspec.field(default_factory=list)
    profiles: list[ContactProfile] = msgspec.field(default_factory=list)
    stream: str | None = None
    cursor: str | None = None


# U+0000 in an escaped JSON string, not preceded by an escaped backslash
ESCAPED_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def without_nul(batch: Batch) -> Batch:
    """`batch` with every U+0000 in its strings replaced by U+FFFD (the replacement character).

    PostgreSQL stores no NUL in text or jsonb, and a platform's JSON may carry one (`"\\u0000"` in a
    sync_msg text): left in, the page would fail on every retry and block its stream. Replaced on
    every database, so a message reads the same on SQLite and PostgreSQL. Returns `batch` itself
    when there is none (the common case: one encode to look).
    """
    encoded = msgspec.json.encode(batch)
    if b"\\u0000" not in encoded:
        return batch
    return msgspec.json.decode(ESCAPED_NUL.sub(rb"\1\\ufffd", encoded), type=Batch)


def new_msgid() -> str:
    """Our id for a message we send: WeCom takes ≤32 bytes of [0-9a-zA-Z_-], unique per kf account,
    as the send's idempotency key."""
    return "gw" + secrets.token_hex(12)


# WeCom send_msg_on_event codes (docs/platforms.md §2.6): how long each kind lives.
EVENT_CODE_LIFETIMES = {
    "welcome": timedelta(seconds=20),
    "closing": timedelta(seconds=20),
    "queue": timedelta(hours=48),
    "taken": timedelta(hours=48),
}
SHORTEST_CODE = timedelta(seconds=20)  # a kind we do not know: assume the short lifetime


def event_code_expires_at(kind: str | None, issued_at: datetime | None) -> datetime | None:
    if issued_at is None:
        return None
    return issued_at + EVENT_CODE_LIFETIMES.get(kind or "", SHORTEST_CODE)


def event_code_expired(kind: str | None, issued_at: datetime | None, now: datetime) -> bool:
    expires = event_code_expires_at(kind, issued_at)
    return expires is not None and now >= expires
