"""inbox read indexes: keyset list indexes ending in id, identity source_id, contact name grams, message trigrams

Revision ID: 0004_inbox_reads
Revises: 0003_media_kind
Create Date: 2026-11-22 04:50:00.000000+00:00

`contact_grams` is filled by triggers on `contacts` (SQLite: json_each over a zero blob stands in
for generate_series, which SQLite lacks and trigger bodies cannot replace with a recursive CTE).
On PostgreSQL `pg_trgm` is created when the server allows it; without it the GIN index on
messages.content is skipped and conversation text search stays a scan.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_inbox_reads"
down_revision: str | None = "0003_media_kind"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYSET = {  # name → (old columns, new columns)
    "ix_conversations_status_last_activity": (["status", "last_activity_at"], ["status", "last_activity_at", "id"]),
    "ix_conversations_inbox_last_activity": (["inbox_id", "last_activity_at"], ["inbox_id", "last_activity_at", "id"]),
}
NEW_CONVERSATION_INDEXES = {
    "ix_conversations_inbox_status_last_activity": ["inbox_id", "status", "last_activity_at", "id"],
    "ix_conversations_assignee_status_last_activity": ["assignee_id", "status", "last_activity_at", "id"],
}


def _sqlite_grams(row: str, tables: str = "") -> str:
    """SELECT gram, id of the 1- and 2-character grams of `row`.name, lower-cased as ILIKE does."""
    return (
        f"SELECT lower(substr({row}.name, p.key + 1, w.n)), {row}.id FROM {tables}"
        f"json_each('[' || rtrim(replace(hex(zeroblob(length({row}.name))), '00', '0,'), ',') || ']') AS p, "
        f"(SELECT 1 AS n UNION ALL SELECT 2) AS w WHERE p.key + w.n <= length({row}.name)"
    )


SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER contact_grams_insert AFTER INSERT ON contacts BEGIN
    INSERT OR IGNORE INTO contact_grams (gram, contact_id) {_sqlite_grams("NEW")};
END""",
    f"""CREATE TRIGGER contact_grams_update AFTER UPDATE OF name ON contacts WHEN OLD.name IS NOT NEW.name BEGIN
    DELETE FROM contact_grams WHERE contact_id = OLD.id AND (gram, contact_id) IN ({_sqlite_grams("OLD")});
    INSERT OR IGNORE INTO contact_grams (gram, contact_id) {_sqlite_grams("NEW")};
END""",
    f"""CREATE TRIGGER contact_grams_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contact_grams WHERE contact_id = OLD.id AND (gram, contact_id) IN ({_sqlite_grams("OLD")});
END""",
]
SQLITE_BACKFILL = f"INSERT OR IGNORE INTO contact_grams (gram, contact_id) {_sqlite_grams('c', 'contacts AS c, ')}"

POSTGRESQL_FUNCTIONS = [
    """CREATE FUNCTION contact_name_grams(name text) RETURNS SETOF text LANGUAGE sql IMMUTABLE AS $$
    SELECT DISTINCT lower(substr(name, i, n)) FROM generate_series(1, length(name)) AS i, (VALUES (1), (2)) AS w(n)
    WHERE i + n - 1 <= length(name)
$$""",
    """CREATE FUNCTION contact_grams_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.name IS NOT DISTINCT FROM NEW.name THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM contact_grams WHERE contact_id = OLD.id AND gram IN (SELECT contact_name_grams(OLD.name));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO contact_grams (gram, contact_id) SELECT g, NEW.id FROM contact_name_grams(NEW.name) AS g
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER contact_grams_sync AFTER INSERT OR DELETE OR UPDATE OF name ON contacts
    FOR EACH ROW EXECUTE FUNCTION contact_grams_sync()""",
]
POSTGRESQL_BACKFILL = (
    "INSERT INTO contact_grams (gram, contact_id) SELECT g, c.id FROM contacts AS c, contact_name_grams(c.name) AS g"
)


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_identities_source_id"), ["source_id"], unique=False)
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_name"))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_assignee_status")  # now a prefix of the assignee keyset index
        for name, (_, columns) in KEYSET.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
        for name, columns in NEW_CONVERSATION_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)

    op.create_table(
        "contact_grams",
        sa.Column("gram", sa.String(length=8), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("gram", "contact_id", name=op.f("pk_contact_grams")),
        sqlite_with_rowid=False,
    )
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
        op.execute(SQLITE_BACKFILL)
        return
    for statement in POSTGRESQL_FUNCTIONS:
        op.execute(statement)
    op.execute(POSTGRESQL_BACKFILL)
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:  # not installed, or not allowed for this role: search still works, unindexed
        return
    op.create_index(
        "ix_messages_content_trgm",
        "messages",
        ["content"],
        postgresql_using="gin",
        postgresql_ops={"content": "gin_trgm_ops"},
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("contact_grams_insert", "contact_grams_update", "contact_grams_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_content_trgm")  # pg_trgm itself stays: others may use it
        op.execute("DROP TRIGGER IF EXISTS contact_grams_sync ON contacts")
        op.execute("DROP FUNCTION IF EXISTS contact_grams_sync()")
        op.execute("DROP FUNCTION IF EXISTS contact_name_grams(text)")
    op.drop_table("contact_grams")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        for name in NEW_CONVERSATION_INDEXES:
            batch_op.drop_index(name)
        for name, (columns, _) in KEYSET.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
        batch_op.create_index("ix_conversations_assignee_status", ["assignee_id", "status"], unique=False)
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_name"), ["name"], unique=False)
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_identities_source_id"))
