"""The tables of people in the inbox: operators who sign in, what each has read, labels, canned
responses and the audit trail (the conversation and message columns that go with them live in
gateway.db.models). Migration 0007 creates them.

Operators are people; `agents` are the platforms' own (a WeCom servicer, an MP kf account).
`operator_agents` links the two, one operator to at most one agent per channel, so an assignment
or a reply by a person can name the platform agent where the platform needs one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base
from gateway.db.base import created_column as _created
from gateway.db.base import id_column as _id
from gateway.db.base import updated_column as _updated


class Operator(Base):
    """A person who signs in to the inbox: role `agent` or `admin`; `email` is stored lower-cased."""

    __tablename__ = "operators"
    id: Mapped[int] = _id()
    email: Mapped[str] = mapped_column(String(256), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id, never shown
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_sign_in_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class OperatorAgent(Base):
    """An operator's platform agent on one channel (a WeCom servicer userid or an MP kf account)."""

    __tablename__ = "operator_agents"
    __table_args__ = (UniqueConstraint("operator_id", "channel_id"),)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = _created()


class OperatorSession(Base):
    """A sign-in: only the SHA-256 of the cookie's token is stored, with the CSRF token's."""

    __tablename__ = "operator_sessions"
    id: Mapped[int] = _id()
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_hash: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = _created()
    last_seen_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class SignInFailure(Base):
    """A failed sign-in, kept for the rate limit (per email and per client address) across replicas."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_email_at", "email", "at"),
        Index("ix_sign_in_failures_ip_at", "ip", "at"),
    )
    id: Mapped[int] = _id()
    email: Mapped[str] = mapped_column(String(256))
    ip: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = _created()


class ReadState(Base):
    """What an operator has read of a conversation.

    `read_incoming` is the conversation's `incoming_count` as of `last_read_message_id`, so the
    unread count of a row is `conversations.incoming_count - read_incoming` with no count query.
    """

    __tablename__ = "read_states"
    # SQLite: clustered on the primary key, so the unread total's probe per conversation finds
    # read_incoming in one lookup (PostgreSQL ignores the option)
    __table_args__ = ({"sqlite_with_rowid": False},)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    last_read_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    read_incoming: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = _updated()


class Label(Base):
    __tablename__ = "labels"
    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(String(64), unique=True)
    color: Mapped[str] = mapped_column(String(16), default="#6b7280")
    description: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class ConversationLabel(Base):
    __tablename__ = "conversation_labels"
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = _created()


class ContactLabel(Base):
    __tablename__ = "contact_labels"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = _created()


class CannedResponse(Base):
    """A saved reply: typing `/short_code` in the composer offers `content` (prefix search)."""

    __tablename__ = "canned_responses"
    id: Mapped[int] = _id()
    short_code: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class AuditEntry(Base):
    """Who did what: every write through the API, by an operator or an API key."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id", "id"),)
    id: Mapped[int] = _id()
    actor_type: Mapped[str] = mapped_column(String(16))  # operator | api_key | cli | system
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str] = mapped_column(String(128), default="")
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32), default="")
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()
