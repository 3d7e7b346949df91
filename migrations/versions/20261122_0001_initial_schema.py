"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:57:08.933766+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import gateway.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "access_tokens",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("token_sealed", sa.Text(), nullable=True),
        sa.Column("expires_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refresh_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_access_tokens")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_prefix"), ["prefix"], unique=False)

    op.create_table(
        "channels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column(
            "settings", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("secrets_sealed", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_channels_name")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("gender", sa.Integer(), nullable=True),
        sa.Column("unionid", sa.String(length=128), nullable=True),
        sa.Column("external_id", sa.String(length=256), nullable=True),
        sa.Column(
            "attributes", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merged_into_id"], ["contacts.id"], name=op.f("fk_contacts_merged_into_id_contacts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("external_id", name=op.f("uq_contacts_external_id")),
        sa.UniqueConstraint("unionid", name=op.f("uq_contacts_unionid")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_merged_into_id"), ["merged_into_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_name"), ["name"], unique=False)

    op.create_table(
        "webhooks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column(
            "events", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=256), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raw", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_agents_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("channel_id", "source_id", name=op.f("uq_agents_channel_id_source_id")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agents_channel_id"), ["channel_id"], unique=False)

    op.create_table(
        "contact_identities",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("unionid", sa.String(length=128), nullable=True),
        sa.Column(
            "profile", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("profile_fetched_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_contact_identities_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_identities_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_identities")),
        sa.UniqueConstraint("channel_id", "source_id", name=op.f("uq_contact_identities_channel_id_source_id")),
    )
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_identities_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_identities_unionid"), ["unionid"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("api_key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_idempotency_keys_api_key_id_api_keys"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("api_key_id", "key", name=op.f("uq_idempotency_keys_api_key_id_key")),
    )
    op.create_table(
        "inbound_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_key", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_inbound_events_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_events")),
        sa.UniqueConstraint("channel_id", "event_key", name=op.f("uq_inbound_events_channel_id_event_key")),
    )
    op.create_table(
        "inboxes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "settings", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_inboxes_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inboxes")),
        sa.UniqueConstraint("channel_id", "source_id", name=op.f("uq_inboxes_channel_id_source_id")),
    )
    with op.batch_alter_table("inboxes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inboxes_channel_id"), ["channel_id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=256), nullable=True),
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=128), nullable=True),
        sa.Column("locked_until", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_jobs_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_jobs_dedupe_key")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index("ix_jobs_status_run_at", ["status", "run_at"], unique=False)

    op.create_table(
        "sync_cursors",
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stream", sa.String(length=128), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("callback_token", sa.String(length=256), nullable=True),
        sa.Column("callback_token_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_synced_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_sync_cursors_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("channel_id", "stream", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("inbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("identity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("active_key", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("platform_state", sa.String(length=32), nullable=True),
        sa.Column("assignee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("last_incoming_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("replies_since_incoming", sa.Integer(), nullable=False),
        sa.Column("last_event_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("replies_since_event", sa.Integer(), nullable=False),
        sa.Column("event_code", sa.String(length=128), nullable=True),
        sa.Column("event_code_kind", sa.String(length=16), nullable=True),
        sa.Column("event_code_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_reply_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["agents.id"], name=op.f("fk_conversations_assignee_id_agents"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_conversations_contact_id_contacts")),
        sa.ForeignKeyConstraint(
            ["identity_id"], ["contact_identities.id"], name=op.f("fk_conversations_identity_id_contact_identities")
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inboxes.id"], name=op.f("fk_conversations_inbox_id_inboxes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("active_key", name=op.f("uq_conversations_active_key")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index("ix_conversations_assignee_status", ["assignee_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_conversations_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conversations_identity_id"), ["identity_id"], unique=False)
        batch_op.create_index("ix_conversations_inbox_last_activity", ["inbox_id", "last_activity_at"], unique=False)
        batch_op.create_index("ix_conversations_last_activity_id", ["last_activity_at", "id"], unique=False)
        batch_op.create_index("ix_conversations_status_last_activity", ["status", "last_activity_at"], unique=False)

    op.create_table(
        "inbox_agents",
        sa.Column("inbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_inbox_agents_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inboxes.id"], name=op.f("fk_inbox_agents_inbox_id_inboxes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("inbox_id", "agent_id", name=op.f("pk_inbox_agents")),
    )
    with op.batch_alter_table("inbox_agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_agents_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "domain_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_domain_events_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_domain_events_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_events")),
    )
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_domain_events_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_domain_events_type"), ["type"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("inbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=True),
        sa.Column("message_type", sa.String(length=16), nullable=False),
        sa.Column("sender_type", sa.String(length=16), nullable=False),
        sa.Column("sender_agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column(
            "content_attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("raw", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("recalled_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inboxes.id"], name=op.f("fk_messages_inbox_id_inboxes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sender_agent_id"], ["agents.id"], name=op.f("fk_messages_sender_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("inbox_id", "source_id", name=op.f("uq_messages_inbox_id_source_id")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_conversation_id_id", ["conversation_id", "id"], unique=False)

    op.create_table(
        "media",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("source_media_id", sa.String(length=256), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("mime", sa.String(length=128), nullable=True),
        sa.Column("filename", sa.String(length=256), nullable=True),
        sa.Column("expires_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_media_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_media_message_id_messages"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.create_index("ix_media_channel_id_sha256", ["channel_id", "sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_message_id"), ["message_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["domain_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_domain_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name=op.f("fk_webhook_deliveries_webhook_id_webhooks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("webhook_id", "event_id", name=op.f("uq_webhook_deliveries_webhook_id_event_id")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_event_id"), ["event_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_event_id"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_message_id"))
        batch_op.drop_index("ix_media_channel_id_sha256")

    op.drop_table("media")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_conversation_id_id")

    op.drop_table("messages")
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domain_events_type"))
        batch_op.drop_index(batch_op.f("ix_domain_events_conversation_id"))

    op.drop_table("domain_events")
    with op.batch_alter_table("inbox_agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_agents_agent_id"))

    op.drop_table("inbox_agents")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_status_last_activity")
        batch_op.drop_index("ix_conversations_last_activity_id")
        batch_op.drop_index("ix_conversations_inbox_last_activity")
        batch_op.drop_index(batch_op.f("ix_conversations_identity_id"))
        batch_op.drop_index(batch_op.f("ix_conversations_contact_id"))
        batch_op.drop_index("ix_conversations_assignee_status")

    op.drop_table("conversations")
    op.drop_table("sync_cursors")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_run_at")
        batch_op.drop_index(batch_op.f("ix_jobs_channel_id"))

    op.drop_table("jobs")
    with op.batch_alter_table("inboxes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inboxes_channel_id"))

    op.drop_table("inboxes")
    op.drop_table("inbound_events")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_identities_unionid"))
        batch_op.drop_index(batch_op.f("ix_contact_identities_contact_id"))

    op.drop_table("contact_identities")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_channel_id"))

    op.drop_table("agents")
    op.drop_table("webhooks")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_name"))
        batch_op.drop_index(batch_op.f("ix_contacts_merged_into_id"))

    op.drop_table("contacts")
    op.drop_table("channels")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_prefix"))

    op.drop_table("api_keys")
    op.drop_table("access_tokens")
