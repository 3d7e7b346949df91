"""Shared fixtures: a migrated database (SQLite always; PostgreSQL when GATEWAY_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.db import migrate
from gateway.db.engine import Database, create_engine
from gateway.db.models import Base
from gateway.sealing import SecretBox
from gateway.settings import normalize_database_url

TEST_SECRET_KEY = "test-secret-key-0123456789abcdef"


def _pg_admin_url() -> str | None:
    raw = os.environ.get("GATEWAY_TEST_DATABASE_URL")
    return normalize_database_url(raw) if raw else None


async def _pg_exec(url: str, statement: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def fresh_database_url(tmp_dir: Path) -> tuple[str, object]:
    """A new, empty database: a SQLite file, or a PostgreSQL database made for this run.

    Returns (url, cleanup) where cleanup() drops what was made.
    """
    admin = _pg_admin_url()
    if admin is None:
        path = tmp_dir / f"gw-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite+aiosqlite:///{path}", lambda: None
    name = f"kgw_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_exec(admin, f'CREATE DATABASE "{name}"'))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)

    def cleanup() -> None:
        asyncio.run(_pg_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return url, cleanup


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database for the whole session (built with `alembic upgrade head`)."""
    url, cleanup = fresh_database_url(tmp_path_factory.mktemp("db"))
    migrate.upgrade(url)
    yield url
    cleanup()  # type: ignore[operator]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The session database, emptied after each test."""
    database = Database(database_url)
    try:
        yield database
    finally:
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        async with database.engine.begin() as connection:
            if database.is_sqlite:
                for table in tables:
                    await connection.execute(text(f'DELETE FROM "{table}"'))
            else:
                await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        await database.dispose()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(TEST_SECRET_KEY)
