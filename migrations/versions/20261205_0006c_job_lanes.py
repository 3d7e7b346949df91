"""jobs.lane: jobs of one lane (a conversation's sends) run one at a time, in id order

Revision ID: 0006c_job_lanes
Revises: 0006b_session_truth
Create Date: 2026-12-05 13:00:00.000000+00:00

A job with a lane is claimable only when no older job of the same lane is pending or running
(gateway.outbound.jobs.JobQueue.claim). The partial index serves that check: it holds only the
unfinished jobs that have a lane.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006c_job_lanes"
down_revision: str | None = "0006b_session_truth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNFINISHED = sa.text("status IN ('pending', 'running') AND lane IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lane", sa.String(64), nullable=True))
    op.create_index(
        "ix_jobs_lane_unfinished",
        "jobs",
        ["lane", "id"],
        postgresql_where=UNFINISHED,
        sqlite_where=UNFINISHED,
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_lane_unfinished", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lane")
