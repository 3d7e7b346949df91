"""The `access_tokens` table as a TokenStore: tokens sealed at rest, one refresher at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.engine import Database
from gateway.db.models import AccessToken
from gateway.sealing import SecretBox
from gateway.wechat.tokens import StoredToken


class SqlTokenStore:
    """Shares tokens between processes and replicas.

    `locked` takes a row lock (SELECT … FOR UPDATE) on PostgreSQL; on SQLite the transaction
    begins IMMEDIATE, which holds the database write lock: either way a second refresher waits,
    then reads the token the first one stored.
    """

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def _decode(self, row: AccessToken | None) -> StoredToken | None:
        if row is None or not row.token_sealed or row.expires_at is None:
            return None
        return StoredToken(self.box.open(row.token_sealed), row.expires_at.timestamp())

    async def load(self, key: str) -> StoredToken | None:
        async with self.db.sessions() as session:
            return self._decode(await session.get(AccessToken, key))

    @asynccontextmanager
    async def locked(self, key: str) -> AsyncIterator[_SqlSlot]:
        insert = pg_insert if not self.db.is_sqlite else sqlite_insert
        async with self.db.session() as session:
            await session.execute(insert(AccessToken).values(key=key, refresh_count=0).on_conflict_do_nothing())
            row = await session.scalar(
                select(AccessToken)
                .where(AccessToken.key == key)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            assert row is not None
            yield _SqlSlot(session, row, self)


class _SqlSlot:
    def __init__(self, session: AsyncSession, row: AccessToken, store: SqlTokenStore) -> None:
        self.session = session
        self.row = row
        self.store = store

    async def read(self) -> StoredToken | None:
        return self.store._decode(self.row)

    async def write(self, token: StoredToken) -> None:
        self.row.token_sealed = self.store.box.seal(token.token)
        self.row.expires_at = datetime.fromtimestamp(token.expires_at, UTC)
        self.row.refreshed_at = datetime.now(UTC)
        self.row.refresh_count += 1
        await self.session.flush()
