"""Dialect helpers shared by repositories (INSERT … ON CONFLICT on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


def insert_for(session: AsyncSession | Session, table: Any) -> Any:
    """An INSERT construct that supports `.on_conflict_do_nothing()` for this session's dialect."""
    name = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (pg_insert if name == "postgresql" else sqlite_insert)(table)


def is_postgres(session: AsyncSession | Session) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"
