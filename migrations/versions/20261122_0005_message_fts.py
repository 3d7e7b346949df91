"""message text search on SQLite: an FTS5 trigram index over messages.content

Revision ID: 0005_message_fts
Revises: 0004_inbox_reads
Create Date: 2026-11-22 08:00:00.000000+00:00

`message_fts` is an external-content FTS5 table (it stores the trigram index only; the text stays
in `messages`), kept in step by triggers on `messages`, so every writer, bulk inserts included,
maintains it. Conversation `q=` of 3+ characters looks up candidates there and checks them with
the same ILIKE as before (gateway.db.repositories.search.text_candidates). PostgreSQL has its
pg_trgm index (0004) instead; an SQLite library without FTS5 or its trigram tokenizer (before
3.34) skips this and the search stays a scan. The table and its shadow tables are outside the
models: migrations/env.py keeps them out of autogenerate.

Note for later migrations: an SQLite batch ALTER of `messages` rebuilds the table without its
triggers; recreate them (and `rebuild` the index) afterwards, as 0004 notes for `contacts`.
"""

import sqlite3
from collections.abc import Sequence

from alembic import op

revision: str = "0005_message_fts"
down_revision: str | None = "0004_inbox_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = {
    "message_fts_insert": """CREATE TRIGGER message_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_fts (rowid, content) VALUES (NEW.id, NEW.content);
END""",
    "message_fts_delete": """CREATE TRIGGER message_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_fts (message_fts, rowid, content) VALUES ('delete', OLD.id, OLD.content);
END""",
    "message_fts_update": """CREATE TRIGGER message_fts_update AFTER UPDATE OF content ON messages
WHEN OLD.content IS NOT NEW.content BEGIN
    INSERT INTO message_fts (message_fts, rowid, content) VALUES ('delete', OLD.id, OLD.content);
    INSERT INTO message_fts (rowid, content) VALUES (NEW.id, NEW.content);
END""",
}


def trigram_available() -> bool:
    """Whether the SQLite library (the one aiosqlite uses: the sqlite3 module's) has FTS5 with trigrams."""
    try:
        with sqlite3.connect(":memory:") as probe:
            probe.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')")
        return True
    except sqlite3.Error:
        return False


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite" or not trigram_available():
        return
    op.execute(
        "CREATE VIRTUAL TABLE message_fts USING fts5(content, content='messages', content_rowid='id', tokenize='trigram')"
    )
    for statement in TRIGGERS.values():
        op.execute(statement)
    op.execute("INSERT INTO message_fts (message_fts) VALUES ('rebuild')")  # the messages already stored


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS message_fts")
