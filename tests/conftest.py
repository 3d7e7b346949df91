"""Shared fixtures: a migrated database (SQLite always; PostgreSQL when GATEWAY_TEST_DATABASE_URL is set),
and cheap operator-password hashing for in-process tests (see `cheap_password_hashing`)."""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gateway.db import migrate, passwords
from gateway.db.engine import SQLITE_BUSY_TIMEOUT_MS, Database, create_engine
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
        try:
            await _empty(database, quick=database.is_sqlite)
        except OperationalError:
            # A connection a test dropped without returning it (seen after requests cancelled at a
            # harness's teardown) keeps SQLite's write lock until the garbage collector finalizes
            # it and the pool closes it. Collect, then empty the tables with the usual wait.
            gc.collect()
            await _empty(database, quick=False)
        await database.dispose()


async def _empty(database: Database, *, quick: bool) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with database.engine.connect() as connection:
        if database.is_sqlite:  # set on the driver's connection: no transaction begins for it
            raw = await connection.get_raw_connection()
            wait = 2000 if quick else SQLITE_BUSY_TIMEOUT_MS
            await raw.driver_connection.execute(f"PRAGMA busy_timeout={wait}")
        async with connection.begin():
            if database.is_sqlite:
                for table in tables:
                    await connection.execute(text(f'DELETE FROM "{table}"'))
            else:
                await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(TEST_SECRET_KEY)


# argon2id at a tiny cost: the same algorithm, hash format and code paths, a thousandth of the work.
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_CHEAP_DUMMY = _CHEAP_HASHER.hash("kefu-gateway: no such operator")


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process tests hash operator passwords with argon2id at a tiny cost (t=1, m=1 MiB, p=1).

    The production parameters (argon2-cffi's defaults, gateway.db.passwords) cost a large fraction
    of a second per hash or verify on a loaded 2-core machine, and the sign-in tests do hundreds.
    A test that asks for the `production_passwords` fixture keeps the production hasher, as do the
    real `kefu-gateway` processes the CLI tests start.
    """
    if "production_passwords" in request.fixturenames:
        return
    monkeypatch.setattr(passwords, "_hasher", _CHEAP_HASHER)
    monkeypatch.setattr(passwords, "_DUMMY", _CHEAP_DUMMY)


@pytest.fixture
def production_passwords() -> PasswordHasher:
    """Keep gateway.db.passwords' own argon2id parameters for this test (see cheap_password_hashing)."""
    hasher = passwords._hasher
    assert hasher is not _CHEAP_HASHER and hasher.time_cost == PasswordHasher().time_cost
    return hasher
