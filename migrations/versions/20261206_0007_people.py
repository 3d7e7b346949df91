"""People in the inbox: operators and their sessions, read state, labels, canned responses, audit trail

Revision ID: 0007_people
Revises: 0006c_job_lanes
Create Date: 2026-12-06 00:00:00.000000+00:00

New tables (gateway.db.people) and the list columns of conversations (operator_id, last_message_id,
incoming_count, waiting_since), messages.operator_id (a note's or reply's author) and
media.variants (playable voice, thumbnails). Columns are added and dropped in place (ADD/DROP
COLUMN), never by a table rebuild: on SQLite a rebuild drops the FTS triggers of 0005 and, with
foreign keys on, dropping the old table would cascade into the rows that reference it. Existing conversations get their counts,
newest message and waiting time from their messages.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.db.types

revision: str = "0007_people"
down_revision: str | None = "0006c_job_lanes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
Time = gateway.db.types.UTCDateTime(timezone=True)


# the list columns of existing conversations, as the ingest keeps them (tests/inbound/test_list_columns.py)
BACKFILL = sa.text(
    """
    UPDATE conversations SET
      incoming_count = (SELECT count(*) FROM messages m
                        WHERE m.conversation_id = conversations.id AND m.message_type = 'incoming'),
      last_message_id = (SELECT max(m.id) FROM messages m
                         WHERE m.conversation_id = conversations.id AND m.message_type IN ('incoming', 'outgoing')),
      waiting_since = (SELECT min(coalesce(m.sent_at, m.created_at)) FROM messages m
                       WHERE m.conversation_id = conversations.id AND m.message_type = 'incoming'
                         AND m.id > coalesce((SELECT max(o.id) FROM messages o
                                              WHERE o.conversation_id = conversations.id
                                                AND o.message_type = 'outgoing'), 0))
    """
)


def _id() -> sa.Column:
    return sa.Column("id", BigId, primary_key=True, autoincrement=True)


def _stamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, Time, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "operators",
        _id(),
        sa.Column("email", sa.String(256), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _stamp("last_sign_in_at", True),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("email", name=op.f("uq_operators_email")),
    )
    op.create_table(
        "operator_agents",
        sa.Column("agent_id", BigId, nullable=False),
        sa.Column("operator_id", BigId, nullable=False),
        sa.Column("channel_id", BigId, nullable=False),
        _stamp("created_at"),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_operator_agents_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_operator_agents_operator_id_operators"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_operator_agents_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_operator_agents")),
        sa.UniqueConstraint("operator_id", "channel_id", name=op.f("uq_operator_agents_operator_id_channel_id")),
    )
    op.create_table(
        "operator_sessions",
        _id(),
        sa.Column("operator_id", BigId, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("csrf_hash", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(256), nullable=False),
        _stamp("created_at"),
        _stamp("last_seen_at"),
        _stamp("expires_at"),
        _stamp("revoked_at", True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_sessions_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operator_sessions_token_hash")),
    )
    op.create_index(op.f("ix_operator_sessions_operator_id"), "operator_sessions", ["operator_id"])
    op.create_table(
        "sign_in_failures",
        _id(),
        sa.Column("email", sa.String(256), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        _stamp("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index("ix_sign_in_failures_email_at", "sign_in_failures", ["email", "at"])
    op.create_index("ix_sign_in_failures_ip_at", "sign_in_failures", ["ip", "at"])
    op.create_table(
        "read_states",
        sa.Column("operator_id", BigId, nullable=False),
        sa.Column("conversation_id", BigId, nullable=False),
        sa.Column("last_read_message_id", sa.BigInteger(), nullable=False),
        sa.Column("read_incoming", sa.Integer(), nullable=False),
        _stamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_read_states_operator_id_operators"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_read_states_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operator_id", "conversation_id", name=op.f("pk_read_states")),
        sqlite_with_rowid=False,  # the unread total probes it per conversation: one lookup, not two
    )
    op.create_index(op.f("ix_read_states_conversation_id"), "read_states", ["conversation_id"])
    op.create_table(
        "labels",
        _id(),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("color", sa.String(16), nullable=False),
        sa.Column("description", sa.String(256), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("name", name=op.f("uq_labels_name")),
    )
    for owner, table in (("conversation", "conversations"), ("contact", "contacts")):
        name = f"{owner}_labels"
        op.create_table(
            name,
            sa.Column(f"{owner}_id", BigId, nullable=False),
            sa.Column("label_id", BigId, nullable=False),
            _stamp("created_at"),
            sa.ForeignKeyConstraint(
                [f"{owner}_id"], [f"{table}.id"], name=op.f(f"fk_{name}_{owner}_id_{table}"), ondelete="CASCADE"
            ),
            sa.ForeignKeyConstraint(["label_id"], ["labels.id"], name=op.f(f"fk_{name}_label_id_labels"), ondelete="CASCADE"),
            sa.PrimaryKeyConstraint(f"{owner}_id", "label_id", name=op.f(f"pk_{name}")),
        )
        op.create_index(op.f(f"ix_{name}_label_id"), name, ["label_id"])
    op.create_table(
        "canned_responses",
        _id(),
        sa.Column("short_code", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
        sa.UniqueConstraint("short_code", name=op.f("uq_canned_responses_short_code")),
    )
    op.create_table(
        "audit_log",
        _id(),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", Json, nullable=False),
        _stamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_subject", "audit_log", ["subject_type", "subject_id", "id"])

    # no foreign key (operators are deactivated, never deleted): SQLite would add one only by
    # rebuilding conversations, and a rebuild under foreign_keys=ON cascades into its messages
    op.add_column("conversations", sa.Column("operator_id", sa.BigInteger(), nullable=True))
    op.add_column("conversations", sa.Column("last_message_id", sa.BigInteger(), nullable=True))
    op.add_column("conversations", sa.Column("incoming_count", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("conversations", sa.Column("waiting_since", Time, nullable=True))
    op.create_index(
        "ix_conversations_operator_status_last_activity",
        "conversations",
        ["operator_id", "status", "last_activity_at", "id"],
    )
    op.create_index(
        "ix_conversations_operator_last_activity", "conversations", ["operator_id", "last_activity_at", "id"]
    )  # assignee=me without a status
    op.create_index("ix_conversations_status_waiting_since", "conversations", ["status", "waiting_since", "id"])
    op.create_index("ix_conversations_waiting_since", "conversations", ["waiting_since", "id"])
    # the unread total: covers what it reads of each live conversation
    op.create_index(
        "ix_conversations_status_unread", "conversations", ["status", "operator_id", "assignee_id", "incoming_count"]
    )
    op.add_column("messages", sa.Column("operator_id", sa.BigInteger(), nullable=True))  # no FK: see downgrade
    op.add_column("media", sa.Column("variants", Json, nullable=False, server_default="{}"))

    # existing conversations: customer message count, newest message, oldest unanswered customer message
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_column("media", "variants")
    op.drop_index("ix_conversations_status_unread", table_name="conversations")
    op.drop_index("ix_conversations_operator_last_activity", table_name="conversations")
    op.drop_index("ix_conversations_waiting_since", table_name="conversations")
    op.drop_index("ix_conversations_status_waiting_since", table_name="conversations")
    op.drop_index("ix_conversations_operator_status_last_activity", table_name="conversations")
    # messages.operator_id has no FK (operators are deactivated, never deleted): SQLite drops it
    # in place, where a table rebuild would lose the FTS triggers of 0005
    op.drop_column("messages", "operator_id")
    for column in ("waiting_since", "incoming_count", "last_message_id", "operator_id"):
        op.drop_column("conversations", column)  # in place on SQLite too: no table rebuild
    for table in ("audit_log", "canned_responses", "contact_labels", "conversation_labels", "labels", "read_states"):
        op.drop_table(table)
    for table in ("sign_in_failures", "operator_sessions", "operator_agents", "operators"):
        op.drop_table(table)
