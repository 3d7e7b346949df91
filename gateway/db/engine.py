"""Async engine and session factory for SQLite (embedded default) and PostgreSQL.

SQLite connections run in WAL mode with synchronous=NORMAL, foreign keys on and a busy timeout,
and every write transaction (`Database.session()`) starts with BEGIN IMMEDIATE: SQLite has one
writer, and taking the write lock up front turns "database is locked" upgrade failures into a short
wait. Read sessions (`Database.sessions()`, which never commit) start a plain deferred BEGIN, so
readers see a WAL snapshot and never queue behind a writer.

A connection is waited for at most `pool_timeout` seconds (SQLAlchemy's TimeoutError, answered 503
`overloaded` by the API). `Database.reserved()` opens a second, small engine on the same database:
the callback writer's, so no amount of REST traffic can hold the connections callbacks need.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from gateway.db.repositories import snapshots as _snapshots  # noqa: F401  (event payloads carry their objects)
from gateway.settings import normalize_database_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 32 * 1024
READ_ONLY = "gateway_read_only"  # execution option: this connection's transactions only read


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # SQLite's default page cache is 2 MiB per connection: an inbox list that reads a few
        # thousand conversation rows (a label's) then goes to the OS for most pages. 32 MiB keeps a
        # busy working set in memory (the cache fills only as pages are read).
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _json_dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# JSON columns through msgspec: several times faster than the stdlib both ways (a sync page
# writes an event payload and the raw platform item per message); UTF-8 stored as is.
JSON_CODEC: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": msgspec.json.decode}


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10, pool_timeout: float = 30.0) -> AsyncEngine:
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        pooling: dict[str, Any] = (
            {"poolclass": NullPool}
            if memory
            else {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": pool_timeout}
        )
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **pooling, **JSON_CODEC
        )
        _sqlite_setup(engine)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        **JSON_CODEC,
    )


class Database:
    """The engine plus a session factory; one per process (tests make their own)."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10, pool_timeout: float = 30.0) -> None:
        self.url = normalize_database_url(url)
        self.echo = echo
        self.engine = create_engine(self.url, echo=echo, pool_size=pool_size, pool_timeout=pool_timeout)
        # sessions(): reads (never committed; deferred BEGIN on SQLite). session(): one write transaction.
        self.sessions = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False, autoflush=False
        )
        self._write_sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self._write_sessions() as session, session.begin():
            yield session

    def reserved(self, pool_size: int) -> Database:
        """A Database of its own (engine and pool) on the same database: capacity kept for one user."""
        return Database(self.url, echo=self.echo, pool_size=pool_size)

    async def dispose(self) -> None:
        await self.engine.dispose()
