"""feed counter (commit-ordered event ids) and the webhook queue index

Revision ID: 0002_feed
Revises: 0001
Create Date: 2026-11-22 02:06:51.703504+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_feed"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_counter")),
    )
    # Continue after the events written before the counter existed.
    op.execute("INSERT INTO feed_counter (id, last_event_id) SELECT 1, COALESCE(MAX(id), 0) FROM domain_events")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_webhook_id_status_event_id", ["webhook_id", "status", "event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_webhook_id_status_event_id")
    op.drop_table("feed_counter")
