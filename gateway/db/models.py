"""Every table of the gateway (SQLAlchemy 2 declarative); the migrations mirror this file.

Relationships are `lazy="raise"`: repositories load what they need explicitly. Constraint names
come from the MetaData naming convention so SQLite and PostgreSQL agree and autogenerate is clean.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.db import cutover as _cutover  # noqa: F401  (registers the cutover tables on Base)
from gateway.db import people as _people  # noqa: F401  (registers the people tables on Base)
from gateway.db.base import Base
from gateway.db.base import created_column as _created
from gateway.db.base import id_column as _id
from gateway.db.base import updated_column as _updated
from gateway.db.types import BigId, utcnow


class Channel(Base):
    """Credentials of one WeCom kf app (corpid) or one official account (appid)."""

    __tablename__ = "channels"
    id: Mapped[int] = _id()
    kind: Mapped[str] = mapped_column(String(16))  # wecom | mp
    name: Mapped[str] = mapped_column(String(128), unique=True)
    app_id: Mapped[str] = mapped_column(String(64))  # corpid / appid: also the callback receive id
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # api_base, callback mode, welcome text…
    secrets_sealed: Mapped[str] = mapped_column(Text)  # SecretBox JSON: app secret, token, EncodingAESKey
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Inbox(Base):
    """A WeCom kf account (source_id = open_kfid) or an MP account (source_id = appid)."""

    __tablename__ = "inboxes"
    __table_args__ = (UniqueConstraint("channel_id", "source_id"),)
    id: Mapped[int] = _id()
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128), default="")
    avatar_url: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)  # False after kf_account_auth_change(del)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Agent(Base):
    """A WeCom servicer, an MP kf account, or (channel_id NULL) an agent of the gateway itself."""

    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("channel_id", "source_id"),)
    id: Mapped[int] = _id()
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[str] = mapped_column(String(128))  # userid / kf_account / gateway login
    name: Mapped[str] = mapped_column(String(128), default="")
    email: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="offline")  # online | offline | suspended
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class InboxAgent(Base):
    """Membership; WeCom reports servicer status per kf account, so status lives here too."""

    __tablename__ = "inbox_agents"
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="online")
    created_at: Mapped[datetime] = _created()


class Contact(Base):
    """A person, whatever channels they write from; identities merge on unionid."""

    __tablename__ = "contacts"
    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(String(256), default="")  # searched through contact_grams
    avatar_url: Mapped[str | None] = mapped_column(Text)
    gender: Mapped[int | None] = mapped_column(Integer)
    unionid: Mapped[str | None] = mapped_column(String(128), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(256), unique=True)  # the CRM's id
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # CRM fields
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    identities: Mapped[list[ContactIdentity]] = relationship(back_populates="contact", lazy="raise")


class ContactGram(Base):
    """The 1- and 2-character grams of each contact's lower-cased name: the index behind name search.

    Written only by database triggers on `contacts` (migration 0004), so every writer, bulk inserts
    included, keeps it in step. Chinese names are 2–3 characters, too short for trigram indexes
    (pg_trgm, FTS5 trigram); a substring of any length is found through these grams and then checked
    with the same ILIKE as before (gateway.db.repositories.search).
    """

    __tablename__ = "contact_grams"
    __table_args__ = ({"sqlite_with_rowid": False},)
    gram: Mapped[str] = mapped_column(String(8), primary_key=True)
    contact_id: Mapped[int] = mapped_column(BigId, primary_key=True)


class ContactIdentity(Base):
    """A contact on one channel: WeCom external_userid or MP openid."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("channel_id", "source_id"),)
    id: Mapped[int] = _id()
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(String(128), index=True)  # exact search across channels
    unionid: Mapped[str | None] = mapped_column(String(128), index=True)
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    profile_fetched_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    contact: Mapped[Contact] = relationship(back_populates="identities", lazy="raise")


class Conversation(Base):
    """One session of a contact in an inbox; a message after `resolved` opens a new one.

    `active_key` is "<inbox_id>:<identity_id>" while not resolved and NULL after: its unique
    constraint guarantees one live conversation per identity and inbox, even across replicas.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        # keyset pages: every list index ends in (last_activity_at, id), the ORDER BY of the page
        Index("ix_conversations_last_activity_id", "last_activity_at", "id"),
        Index("ix_conversations_status_last_activity", "status", "last_activity_at", "id"),
        Index("ix_conversations_inbox_last_activity", "inbox_id", "last_activity_at", "id"),
        Index("ix_conversations_inbox_status_last_activity", "inbox_id", "status", "last_activity_at", "id"),
        Index("ix_conversations_assignee_status_last_activity", "assignee_id", "status", "last_activity_at", "id"),
        Index("ix_conversations_operator_status_last_activity", "operator_id", "status", "last_activity_at", "id"),
        Index("ix_conversations_operator_last_activity", "operator_id", "last_activity_at", "id"),  # assignee=me
        # sort=waiting, after a status or alone
        Index("ix_conversations_status_waiting_since", "status", "waiting_since", "id"),
        Index("ix_conversations_waiting_since", "waiting_since", "id"),
        # the unread total (all, mine, unassigned): covers what it reads of each live conversation,
        # so SQLite reads no table row per conversation (gateway.db.repositories.reading); the id
        # comes free as SQLite's rowid and is included on PostgreSQL (migration 0009)
        Index(
            "ix_conversations_status_unread",
            "status",
            "operator_id",
            "assignee_id",
            "incoming_count",
            postgresql_include=["id"],
        ),
    )
    id: Mapped[int] = _id()
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("contact_identities.id"), index=True)
    active_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    platform_state: Mapped[str | None] = mapped_column(String(32))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    # the person assigned (gateway.db.people); `assignee_id` is the platform's agent, when it has one
    operator_id: Mapped[int | None] = mapped_column(BigInteger)  # operators.id (no FK: see migration 0007)
    # for lists: the newest incoming or outgoing message, never an activity line or a note (no FK:
    # messages point back here), the number of customer messages (unread = incoming_count -
    # read_states.read_incoming), and since when the customer has waited for an answer (their
    # oldest message after the last reply; NULL if none)
    last_message_id: Mapped[int | None] = mapped_column(BigInteger)
    incoming_count: Mapped[int] = mapped_column(Integer, default=0)
    waiting_since: Mapped[datetime | None] = mapped_column()
    # reply window (gateway.outbound.policy reads only these)
    # Two grants, as the platforms count them: a contact message opens 48 h / 5 replies (WeCom and
    # MP); an MP menu click, subscribe or scan opens 1 min / 3 replies, spent first.
    last_incoming_at: Mapped[datetime | None] = mapped_column()
    replies_since_incoming: Mapped[int] = mapped_column(Integer, default=0)
    last_event_at: Mapped[datetime | None] = mapped_column()
    replies_since_event: Mapped[int] = mapped_column(Integer, default=0)
    event_code: Mapped[str | None] = mapped_column(String(128))  # WeCom send_msg_on_event code
    event_code_kind: Mapped[str | None] = mapped_column(String(16))
    event_code_at: Mapped[datetime | None] = mapped_column()
    # when the platform's session state was last read (gateway.inbound.sessions)
    state_checked_at: Mapped[datetime | None] = mapped_column()
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_reply_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Message(Base):
    """A message or activity in a conversation; `source_id` is unique per inbox."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("inbox_id", "source_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        # PostgreSQL only, and only where pg_trgm could be created (migration 0004): lets `content
        # ILIKE '%q%'` (conversation search) use a GIN index. The operator class sits in the
        # expression, so autogenerate skips comparing it, and SQLite never has it.
        Index("ix_messages_content_trgm", text("content gin_trgm_ops"), postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
    )
    id: Mapped[int] = _id()
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    source_id: Mapped[str | None] = mapped_column(String(128))
    message_type: Mapped[str] = mapped_column(String(16))
    sender_type: Mapped[str] = mapped_column(String(16))
    sender_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    operator_id: Mapped[int | None] = mapped_column(BigInteger)  # the author (operators.id; no FK, see 0007)
    content_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[str | None] = mapped_column(Text)
    content_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="received")
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    recalled_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()  # the platform's time for the message
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Media(Base):
    """A file in the media vault (inbound download) or an upload cached with its platform expiry."""

    __tablename__ = "media"
    __table_args__ = (Index("ix_media_channel_id_sha256", "channel_id", "sha256"),)
    id: Mapped[int] = _id()
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # in | out
    kind: Mapped[str | None] = mapped_column(String(16))  # image | voice | video | file
    source_media_id: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | stored | failed | expired
    path: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    mime: Mapped[str | None] = mapped_column(String(128))
    filename: Mapped[str | None] = mapped_column(String(256))
    expires_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    # derived files next to the original: "playable" (voice a browser plays), "thumb" (image preview)
    variants: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class SyncCursor(Base):
    """Where a pull stream stands: WeCom sync_msg per open_kfid, MP msgrecord import, …"""

    __tablename__ = "sync_cursors"
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True)
    stream: Mapped[str] = mapped_column(String(128), primary_key=True)  # open_kfid, "msgrecord", …
    cursor: Mapped[str | None] = mapped_column(Text)
    callback_token: Mapped[str | None] = mapped_column(String(256))  # the last sync Token (valid 10 min)
    callback_token_at: Mapped[datetime | None] = mapped_column()
    last_synced_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = _updated()


class InboundEvent(Base):
    """Every accepted callback, deduplicated on its key, kept for audit and replay."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("channel_id", "event_key"),)
    id: Mapped[int] = _id()
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # decrypted XML
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)


_LANE_UNFINISHED = "status IN ('pending', 'running') AND lane IS NOT NULL"


class Job(Base):
    """The outbox: sends, webhook deliveries, media downloads, pulls. Claimed with SKIP LOCKED."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_run_at", "status", "run_at"),
        Index(
            "ix_jobs_lane_unfinished",
            "lane",
            "id",
            postgresql_where=text(_LANE_UNFINISHED),
            sqlite_where=text(_LANE_UNFINISHED),
        ),
    )
    id: Mapped[int] = _id()
    kind: Mapped[str] = mapped_column(String(32))
    # jobs of one lane (a conversation's sends: "conv:<id>") run one at a time, in id order
    lane: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | running | done | failed
    dedupe_key: Mapped[str | None] = mapped_column(String(256), unique=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(128))
    locked_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class DomainEvent(Base):
    """The ordered feed behind webhooks, /api/v1/events and SSE."""

    __tablename__ = "domain_events"
    id: Mapped[int] = _id()
    type: Mapped[str] = mapped_column(String(64), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()


class FeedCounter(Base):
    """The last domain event id handed out (one row, id 1).

    Event ids are taken from this row when the writing transaction commits, under its row lock, so
    id order is commit order even on PostgreSQL (see gateway.db.repositories.feed).
    """

    __tablename__ = "feed_counter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)


class Webhook(Base):
    __tablename__ = "webhooks"
    id: Mapped[int] = _id()
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[Any]] = mapped_column(default=list)  # event types; empty = all
    secret_sealed: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(256), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        Index("ix_webhook_deliveries_webhook_id_status_event_id", "webhook_id", "status", "event_id"),
    )
    id: Mapped[int] = _id()
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("domain_events.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; `prefix` identifies it in lists and logs."""

    __tablename__ = "api_keys"
    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))  # read | write | admin
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class IdempotencyKey(Base):
    """The first answer to a request carrying an Idempotency-Key, replayed for repeats."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)
    id: Mapped[int] = _id()
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(256))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()


class AccessToken(Base):
    """Platform access tokens shared by every process and replica (sealed at rest).

    `key` is "<kind>:<app_id>:<sha256(secret)[:16]>": it tells credentials apart without ever
    containing the secret.
    """

    __tablename__ = "access_tokens"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    token_sealed: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column()
    refreshed_at: Mapped[datetime | None] = mapped_column()
    refresh_count: Mapped[int] = mapped_column(Integer, default=0)
