"""Alembic environment: the URL comes from the caller (gateway.db.migrate) or from GATEWAY_* settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from gateway.db.engine import create_engine
from gateway.db.models import Base
from gateway.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("database_url") or get_settings().database.url


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Leave out what the models do not describe on purpose: SQLite's FTS5 index of message text
    (migration 0005: a virtual table and its shadow tables)."""
    return not (type_ == "table" and name is not None and name.startswith("message_fts"))


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTERs
        compare_type=True,
        include_name=_include_name,
        literal_binds=url is not None,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    _configure(url=_url())
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
    else:
        asyncio.run(_run_async())
