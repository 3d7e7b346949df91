"""Shared helpers of the reliability suite: the harness with API keys, row counts, and a driver loop.

Every test here runs the real gateway against the simulator in-process (tests.harness) on the
test database. Randomness is seeded (random.Random(seed), the simulator's World seed, hypothesis
with derandomize=True), so a failure names the seed that reproduces it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, update

from gateway.db.engine import Database
from gateway.db.models import Base, Inbox, Job, Message
from gateway.db.types import utcnow
from gateway.sealing import SecretBox
from gateway.wechat.http import ApiClient, RetryPolicy
from tests.api.support import Api, make_keys
from tests.conftest import TEST_SECRET_KEY
from tests.harness import Harness, harness

CORP = "wwcorp0001"
APPID = "wxapp0000000001"


@dataclass
class Rig:
    """The harness plus a keyed REST client (keys "read", "write", "admin")."""

    h: Harness
    api: Api

    @property
    def db(self) -> Database:
        return self.h.db


@pytest.fixture
async def rig(db: Database, box: SecretBox) -> AsyncIterator[Rig]:
    """Simulator + gateway, loops stopped (tests drive sync and jobs themselves)."""
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        yield Rig(h, Api(h.client, db, box, await make_keys(db)))


def fast_platform_calls(monkeypatch: pytest.MonkeyPatch, *, timeout: float = 10.0) -> None:
    """Platform clients built from now on time out after `timeout` s and retry without long sleeps.

    The product's values (10 s, backoff from 0.5 s) are right for production and only slow tests.
    """
    defaults = dict(ApiClient.__init__.__kwdefaults__ or {})
    defaults.update(timeout=timeout, retry=RetryPolicy(attempts=3, base_delay=0.005, max_delay=0.02))
    monkeypatch.setattr(ApiClient.__init__, "__kwdefaults__", defaults)


# --------------------------------------------------------------------------- database views


async def table_counts(db: Database) -> dict[str, int]:
    """Rows per table (api_keys and access_tokens excluded: keys are made by fixtures, tokens by refreshes)."""
    counts = {}
    async with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in ("api_keys", "access_tokens"):
                continue
            counts[table.name] = await connection.scalar(select(func.count()).select_from(table))
    return counts


async def stored_messages(db: Database, *, inbox_source_id: str | None = None) -> list[Message]:
    async with db.sessions() as session:
        query = select(Message).order_by(Message.id)
        if inbox_source_id is not None:
            query = query.join(Inbox, Inbox.id == Message.inbox_id).where(Inbox.source_id == inbox_source_id)
        return list(await session.scalars(query))


async def make_jobs_due(db: Database) -> None:
    """Pretend the backoff elapsed: every pending job may run now."""
    async with db.session() as session:
        await session.execute(update(Job).where(Job.status == "pending").values(run_at=utcnow()))


async def jobs_by_status(db: Database, kind: str | None = None) -> dict[str, int]:
    async with db.sessions() as session:
        query = select(Job.status, func.count()).group_by(Job.status)
        if kind is not None:
            query = query.where(Job.kind == kind)
        return {status: n for status, n in await session.execute(query)}


async def sync_everything(h: Harness) -> list[BaseException]:
    """Deliver pushed callbacks, then pull every stream once; returns the errors instead of raising."""
    errors: list[BaseException] = []
    await h.driver.flush_callbacks()
    for channel_id, stream in await h.runtime.syncer.known_streams():
        try:
            await h.runtime.syncer.sync_stream(channel_id, stream)
        except Exception as exc:
            errors.append(exc)
    return errors


async def drive(h: Harness, done: Callable[[], Awaitable[bool]], *, rounds: int = 60) -> int:
    """Callbacks → sync → jobs, with backoffs cut short, until `done()`; returns the rounds used."""
    for n in range(1, rounds + 1):
        await sync_everything(h)
        await h.runtime.jobs.drain()
        await make_jobs_due(h.db)
        if await done():
            return n
        await asyncio.sleep(0)
    raise AssertionError(f"not done after {rounds} rounds")


def exactly_once(found: list[Any], expected: set[Any]) -> None:
    """`found` holds every expected value once, and nothing else."""
    doubled = sorted({x for x in found if found.count(x) > 1}, key=str)
    assert not doubled, f"stored more than once: {doubled}"
    missing = sorted(expected - set(found), key=str)
    assert not missing, f"never stored: {missing}"
    extra = sorted(set(found) - expected, key=str)
    assert not extra, f"stored but never sent by the platform: {extra}"
