"""Cutover from MP kefu to WeCom kf: the steps a plan has carried out, the personal invitations

Revision ID: 0008_cutover
Revises: 0007_people
Create Date: 2026-12-06 00:00:00.000000+00:00

New tables only (gateway.db.cutover): cutover_steps and cutover_invitations.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.db.types

revision: str = "0008_cutover"
down_revision: str | None = "0007_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
Time = gateway.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cutover_steps",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("plan", sa.String(128), nullable=False),
        sa.Column("step", sa.String(256), nullable=False),
        sa.Column("result", Json, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cutover_steps")),
        sa.UniqueConstraint("plan", "step", name=op.f("uq_cutover_steps_plan_step")),
    )
    op.create_table(
        "cutover_invitations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("channel_id", BigId, nullable=False),
        sa.Column("identity_id", BigId, nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("plan", sa.String(128), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("message_id", BigId, nullable=True),
        sa.Column("sent_at", Time, nullable=True),
        sa.Column("entered_at", Time, nullable=True),
        sa.Column("wecom_identity_id", BigId, nullable=True),
        sa.Column("opted_out_at", Time, nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_cutover_invitations_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["contact_identities.id"],
            name=op.f("fk_cutover_invitations_identity_id_contact_identities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_cutover_invitations_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["wecom_identity_id"],
            ["contact_identities.id"],
            name=op.f("fk_cutover_invitations_wecom_identity_id_contact_identities"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cutover_invitations")),
        sa.UniqueConstraint("identity_id", name=op.f("uq_cutover_invitations_identity_id")),
        sa.UniqueConstraint("token", name=op.f("uq_cutover_invitations_token")),
    )
    op.create_index(op.f("ix_cutover_invitations_channel_id"), "cutover_invitations", ["channel_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_cutover_invitations_channel_id"), table_name="cutover_invitations")
    op.drop_table("cutover_invitations")
    op.drop_table("cutover_steps")
