"""conversations.state_checked_at: when the platform's session state was last read

Revision ID: 0006b_session_truth
Revises: 0005_message_fts
Create Date: 2026-12-05 14:00:00.000000+00:00

The gateway reads the platform's session state (WeCom service_state/get, MP getsession /
getwaitcase) after session events, after a send refused with 95018 and when a conversation is
opened through the API with a state older than GATEWAY_SESSION_STATE_TTL; this column is that
clock. A plain nullable column: SQLite adds it without rebuilding the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.db.types

revision: str = "0006b_session_truth"
down_revision: str | None = "0005_message_fts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("state_checked_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("state_checked_at")
