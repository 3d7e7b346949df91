"""The unread total answered from an index alone on PostgreSQL

Revision ID: 0009_inbox_speed
Revises: 0008_cutover
Create Date: 2026-12-06 05:00:00.000000+00:00

`ix_conversations_status_unread` (0007) covers what the unread total reads of each live
conversation, except its id, which the join with read_states needs. SQLite gets the id free (it is
the rowid every index carries); PostgreSQL had to visit the table for each live conversation.
On PostgreSQL the index is rebuilt with `INCLUDE (id)`, so the total is an index-only scan once
(auto)vacuum has marked the pages all-visible. SQLite is unchanged.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_inbox_speed"
down_revision: str | None = "0008_cutover"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_conversations_status_unread"
COLUMNS = ["status", "operator_id", "assignee_id", "incoming_count"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(NAME, table_name="conversations")
    op.create_index(NAME, "conversations", COLUMNS, postgresql_include=["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(NAME, table_name="conversations")
    op.create_index(NAME, "conversations", COLUMNS)
