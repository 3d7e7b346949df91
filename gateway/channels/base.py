"""The Channel contract every platform adapter implements, and the types that cross it.

Adapters turn platform traffic into `gateway.domain` items and carry out actions; they never touch
the database (ingest.py writes, jobs.py and sync.py call adapters). Errors are gateway.errors
types: CallbackError for bad callbacks, PlatformError subclasses for refused calls,
UnsupportedByChannel for actions a platform does not have.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import msgspec

from gateway.channels.config import ChannelConfig
from gateway.domain import Batch, ChannelKind, ContactProfile, StateChange
from gateway.errors import UnsupportedByChannel

_T = TypeVar("_T")


class CallbackRequest(msgspec.Struct, kw_only=True):
    """A callback as received: method, decoded query (exact values, '+' kept), raw body."""

    method: str
    query: dict[str, str]
    body: bytes = b""
    content_type: str = ""


class PullRequest(msgspec.Struct, kw_only=True):
    """Ask sync to pull `stream` (WeCom: an open_kfid) now, with the callback's sync token."""

    stream: str
    token: str | None = None


class CallbackResult(msgspec.Struct, kw_only=True):
    """What a verified callback means. The HTTP layer answers `reply` with `media_type`.

    `event_key` dedupes the callback in inbound_events (None for URL verification). `batch` is
    content to ingest now (MP); `pull` asks for a sync (WeCom kf_msg_or_event).
    """

    reply: str = "success"
    media_type: str = "text/plain"
    event_key: str | None = None
    event_kind: str = ""
    payload: str = ""
    batch: Batch | None = None
    pull: PullRequest | None = None


class SyncPage(msgspec.Struct, kw_only=True):
    """One page of a pull: `batch.cursor` is the cursor after this page."""

    batch: Batch
    has_more: bool


class ConversationRef(msgspec.Struct, kw_only=True):
    """Enough to address a conversation on its platform."""

    inbox_source_id: str  # open_kfid / MP appid
    contact_source_id: str  # external_userid / openid
    assignee_source_id: str | None = None  # servicer userid / kf_account holding it
    event_code: str | None = None  # WeCom send_msg_on_event code held by the conversation
    event_code_kind: str | None = None


class OutboundMessage(msgspec.Struct, kw_only=True):
    """A message to send. `msgid` is our id (WeCom uses it as the idempotency key).

    `attributes` carry type-specific fields in the unified vocabulary: media_id, url, title,
    description, thumb_media_id, appid, pagepath, latitude, longitude, name, address,
    head_content, items [{id, content, type?}], tail_content, articles, kf_account, …
    """

    msgid: str
    content_type: str
    content: str | None = None
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)


class SendResult(msgspec.Struct, kw_only=True):
    source_id: str  # the platform message id (WeCom msgid; for MP our msgid, it returns none)
    raw: dict[str, Any] = msgspec.field(default_factory=dict)
    duplicate: bool = False  # the platform had already accepted this msgid (a retried send)


class MediaFile(msgspec.Struct, kw_only=True):
    """Downloaded platform media (image/voice/video/file)."""

    content: bytes
    content_type: str = "application/octet-stream"
    filename: str | None = None


class InboxInfo(msgspec.Struct, kw_only=True):
    source_id: str
    name: str
    avatar_url: str | None = None
    raw: dict[str, Any] = msgspec.field(default_factory=dict)


class AgentInfo(msgspec.Struct, kw_only=True):
    source_id: str
    name: str = ""
    status: str = "offline"
    inbox_source_ids: list[str] = msgspec.field(default_factory=list)
    raw: dict[str, Any] = msgspec.field(default_factory=dict)


@runtime_checkable
class Channel(Protocol):
    """One configured channel (credentials + settings) bound to a shared HTTP client and tokens.

    Constructed as `Cls(ChannelConfig(...))` (gateway.channels.config). What only some platforms
    have is an optional protocol below, checked with `isinstance` (or `require`), never by name.
    """

    kind: ClassVar[ChannelKind]
    display_name: ClassVar[str]
    default_api_base: ClassVar[str]
    send_types: ClassVar[frozenset[str]]  # the content types `send` accepts; REST derives its list from these

    channel_id: int
    app_id: str

    def __init__(self, config: ChannelConfig) -> None: ...

    async def handle_callback(self, request: CallbackRequest) -> CallbackResult:
        """Verify, decrypt and interpret a callback (GET URL check or POST). Raises CallbackError."""
        ...

    async def send(self, ref: ConversationRef, message: OutboundMessage) -> SendResult:
        """Send to the contact; PlatformError subclasses map window/quota/state refusals."""
        ...

    async def handover(self, ref: ConversationRef, target: str, agent_source_id: str | None = None) -> StateChange:
        """Move the conversation to "bot", "queue" or "agent" (with `agent_source_id`).

        A target the platform has no API for raises UnsupportedByChannel."""
        ...

    async def resolve(self, ref: ConversationRef) -> StateChange: ...

    async def session_state(self, ref: ConversationRef) -> StateChange: ...

    async def fetch_profiles(self, source_ids: list[str]) -> list[ContactProfile]:
        """Profiles (with unionid when the platform gives it) for contact source ids, batched."""
        ...

    async def list_inboxes(self) -> list[InboxInfo]: ...

    async def list_agents(self) -> list[AgentInfo]: ...

    async def verify(self) -> None:
        """Fetch a token: proves the credentials work."""
        ...

    async def upload_media(self, kind: str, filename: str, content: bytes, content_type: str) -> str:
        """Upload temporary media (image/voice/video/file; valid 3 days) for a send → media_id."""
        ...

    async def download_media(self, media_id: str) -> MediaFile:
        """Fetch temporary media (valid 3 days on both platforms) for the media vault."""
        ...


# ---------------------------------------------------------------------------- optional capabilities


@runtime_checkable
class Pulls(Protocol):
    """Content is pulled, not pushed (WeCom sync_msg): callbacks only announce it."""

    async def pull(self, stream: str, cursor: str | None, *, token: str | None = None, limit: int = 1000) -> SyncPage:
        """Fetch the page after `cursor` of `stream` (a kf account)."""
        ...


@runtime_checkable
class Typing(Protocol):
    """A typing indicator shown to the customer (MP custom/typing)."""

    async def typing(self, ref: ConversationRef, on: bool) -> None: ...


@runtime_checkable
class EventCodes(Protocol):
    """Replies with the one-off codes session events hand out (WeCom send_msg_on_event)."""

    welcome_message: str | None  # configured text for enter_session's welcome code

    async def send_on_event(self, code: str, message: OutboundMessage) -> SendResult: ...

    async def send_welcome(self, change: StateChange, msgid: str) -> SendResult | None:
        """Send the configured welcome message with the change's welcome code; None when none is configured."""
        ...


@runtime_checkable
class UpgradesService(Protocol):
    """Offer the customer a move to a member or a group (WeCom upgrade service)."""

    async def upgrade_service(
        self, ref: ConversationRef, *, userid: str | None = None, chat_id: str | None = None, wording: str | None = None
    ) -> None: ...

    async def cancel_upgrade_service(self, ref: ConversationRef) -> None: ...


@runtime_checkable
class ManagesInboxes(Protocol):
    """Inboxes are platform objects the gateway can create and staff (WeCom kf accounts and servicers)."""

    async def add_inbox(self, name: str, avatar: bytes, filename: str = "avatar.png") -> InboxInfo: ...

    async def update_inbox(self, open_kfid: str, *, name: str | None = None) -> None: ...

    async def delete_inbox(self, open_kfid: str) -> None: ...

    async def contact_way_url(
        self, open_kfid: str, scene: str | None = None, scene_param: str | None = None
    ) -> str: ...

    async def add_servicers(self, open_kfid: str, userids: list[str]) -> dict[str, int]: ...

    async def remove_servicers(self, open_kfid: str, userids: list[str]) -> dict[str, int]: ...


@runtime_checkable
class ManagesAgents(Protocol):
    """Agents are platform accounts the gateway can create and edit (MP kf accounts)."""

    async def add_agent(self, kf_account: str, nickname: str) -> None: ...

    async def update_agent(self, kf_account: str, nickname: str) -> None: ...

    async def delete_agent(self, kf_account: str) -> None: ...

    async def invite_agent(self, kf_account: str, invite_wx: str) -> None: ...


def require(adapter: Channel, capability: type[_T], what: str) -> _T:
    """`adapter` as `capability`, or 422 unsupported_by_channel naming what its kind cannot do."""
    if not isinstance(adapter, capability):
        raise UnsupportedByChannel(f"{adapter.kind} channels cannot {what}")
    return adapter
