"""Column types: UTC timestamps and JSON round-trip on the test database, and on SQLite the stored
text is exactly what SQLAlchemy's own DATETIME would write (rows written before and after the fast
path compare and sort the same)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, select, text

from gateway.db.engine import Database
from gateway.db.types import Json, UTCDateTime

metadata = MetaData()
probe = Table(
    "type_probe",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime()),
    Column("naive", DateTime()),
    Column("doc", Json),
)
INSTANTS = [
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # no microseconds: still written with .000000
    datetime(2026, 1, 2, 11, 4, 5, 123, tzinfo=timezone(timedelta(hours=8))),  # Beijing time → UTC
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


@pytest.fixture
async def table(db: Database):
    async with db.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield probe
    async with db.engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)


async def test_timestamps_round_trip_as_aware_utc(db: Database, table: Table) -> None:
    async with db.engine.begin() as connection:
        for n, at in enumerate(INSTANTS):
            await connection.execute(table.insert().values(id=n, at=at))
    async with db.engine.connect() as connection:
        found = list((await connection.execute(select(table.c.at).order_by(table.c.id))).scalars())
    assert found == INSTANTS and all(at.tzinfo is not None and at.utcoffset() == timedelta(0) for at in found)
    async with db.engine.connect() as connection:
        ordered = list((await connection.execute(select(table.c.id).order_by(table.c.at))).scalars())
    assert ordered == [3, 2, 0, 1]


async def test_sqlite_stores_the_text_sqlalchemy_would(db: Database, table: Table) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite stores timestamps as text; PostgreSQL as timestamptz")
    async with db.engine.begin() as connection:
        for n, at in enumerate(INSTANTS):
            naive = at.astimezone(UTC).replace(tzinfo=None)
            await connection.execute(table.insert().values(id=n, at=at, naive=naive))
        rows = (await connection.execute(text("SELECT at, naive FROM type_probe ORDER BY id"))).all()
    assert [at for at, _ in rows] == [naive for _, naive in rows]
    assert rows[0][0] == "2026-01-02 03:04:05.000000" and rows[1][0] == "2026-01-02 03:04:05.000123"


async def test_sqlite_text_written_by_hand_reads_as_utc(db: Database, table: Table) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite stores timestamps as text; PostgreSQL as timestamptz")
    hand_written = ["2026-01-02 03:04:05", "2026-01-02T11:04:05.000123+08:00", "2026-01-02 03:04:05.5"]
    async with db.engine.begin() as connection:
        for n, value in enumerate(hand_written):
            await connection.execute(text("INSERT INTO type_probe (id, at) VALUES (:id, :at)"), {"id": n, "at": value})
    async with db.engine.connect() as connection:
        found = list((await connection.execute(select(table.c.at).order_by(table.c.id))).scalars())
    assert found == [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 123, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC),
    ]
    assert all(at.tzinfo is UTC for at in found)


async def test_naive_timestamps_are_refused(db: Database, table: Table) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with db.engine.begin() as connection:
            await connection.execute(table.insert().values(id=1, at=datetime(2026, 1, 1)))


async def test_json_round_trips_unicode_and_nesting(db: Database, table: Table) -> None:
    doc = {"text": {"content": "你好，订单 7 什么时候发货？"}, "ids": [1, 2.5, None, True], "empty": {}}
    async with db.engine.begin() as connection:
        await connection.execute(table.insert().values(id=1, doc=doc))
    async with db.engine.connect() as connection:
        assert (await connection.execute(select(table.c.doc))).scalar_one() == doc
