"""The outbox: jobs in SQL, claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) or under SQLite's write lock.

A job is claimed with a lease; a worker that dies leaves it to be reclaimed when the lease ends.
Handlers raise `RetryLater` (or a transient PlatformError) to retry with exponential backoff and
jitter, and anything else to fail the job for good; `max_attempts` bounds the retries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.engine import Database
from gateway.db.models import Job
from gateway.db.repositories.util import insert_for
from gateway.db.types import utcnow
from gateway.errors import PlatformError

log = logging.getLogger(__name__)

Handler = Callable[[Job], Awaitable[None]]


class RetryLater(Exception):
    """Try this job again later (after `delay` seconds, or the backoff schedule)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


def backoff(attempt: int, *, base: float = 2.0, cap: float = 3600.0) -> float:
    """Seconds before retry `attempt` (1-based): exponential with ±20 % jitter, capped."""
    return min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    channel_id: int | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> int | None:
    """Add a job in the caller's transaction; a repeated `dedupe_key` adds nothing (returns None)."""
    now = utcnow()
    stmt = (
        insert_for(session, Job)
        .values(
            kind=kind,
            payload=payload,
            status="pending",
            dedupe_key=dedupe_key,
            channel_id=channel_id,
            attempts=0,
            max_attempts=max_attempts,
            run_at=run_at or now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Job.id)
    )
    return (await session.execute(stmt)).scalar()


async def queue_depth(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Job.kind, func.count()).where(Job.status.in_(("pending", "running"))).group_by(Job.kind)
    )
    return {kind: count for kind, count in rows}


class JobQueue:
    """Claim / complete / fail for one worker identity."""

    def __init__(self, db: Database, *, worker_id: str | None = None, lease: float = 120.0) -> None:
        self.db = db
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{random.randrange(1 << 30):x}"
        self.lease = timedelta(seconds=lease)

    async def claim(self, *, limit: int = 10, kinds: Iterable[str] | None = None) -> list[Job]:
        """Lease up to `limit` due jobs (pending, or running with an expired lease)."""
        now = utcnow()
        due = select(Job.id).where(
            ((Job.status == "pending") & (Job.run_at <= now)) | ((Job.status == "running") & (Job.locked_until < now))
        )
        if kinds is not None:
            due = due.where(Job.kind.in_(list(kinds)))
        due = due.order_by(Job.run_at, Job.id).limit(limit)
        if not self.db.is_sqlite:
            due = due.with_for_update(skip_locked=True)
        async with self.db.session() as session:
            ids = list(await session.scalars(due))
            if not ids:
                return []
            await session.execute(
                update(Job)
                .where(Job.id.in_(ids))
                .values(
                    status="running",
                    locked_by=self.worker_id,
                    locked_until=now + self.lease,
                    attempts=Job.attempts + 1,
                    updated_at=now,
                )
            )
            return list(await session.scalars(select(Job).where(Job.id.in_(ids)).order_by(Job.id)))

    async def complete(self, job: Job) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(Job)
                .where(Job.id == job.id, Job.locked_by == self.worker_id)
                .values(status="done", locked_by=None, locked_until=None, last_error=None, updated_at=utcnow())
            )

    async def retry(self, job: Job, error: str, delay: float | None = None) -> bool:
        """Schedule another attempt; returns False (and fails the job) when attempts are used up."""
        if job.attempts >= job.max_attempts:
            await self.fail(job, f"gave up after {job.attempts} attempts: {error}")
            return False
        run_at = utcnow() + timedelta(seconds=delay if delay is not None else backoff(job.attempts))
        async with self.db.session() as session:
            await session.execute(
                update(Job)
                .where(Job.id == job.id, Job.locked_by == self.worker_id)
                .values(
                    status="pending",
                    locked_by=None,
                    locked_until=None,
                    run_at=run_at,
                    last_error=error,
                    updated_at=utcnow(),
                )
            )
        return True

    async def fail(self, job: Job, error: str) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(status="failed", locked_by=None, locked_until=None, last_error=error, updated_at=utcnow())
            )


class JobRunner:
    """Runs claimed jobs through `handlers[kind]`, a few at a time, until stopped."""

    def __init__(
        self,
        queue: JobQueue,
        handlers: dict[str, Handler],
        *,
        concurrency: int = 4,
        idle: float = 0.5,
        on_result: Callable[[Job, str], None] | None = None,
    ) -> None:
        self.queue = queue
        self.handlers = handlers
        self.concurrency = concurrency
        self.idle = idle
        self.on_result = on_result
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """New jobs were committed: look now instead of after the idle pause."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one round of jobs and run them; returns how many ran."""
        jobs = await self.queue.claim(limit=self.concurrency, kinds=self.handlers)
        if jobs:
            await asyncio.gather(*(self._run(job) for job in jobs))
        return len(jobs)

    async def run(self) -> None:
        while True:
            try:
                ran = await self.run_once()
            except Exception:  # the database may blink; keep the runner alive
                log.exception("job claim failed")
                ran = 0
            if not ran:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle)
                except TimeoutError:
                    pass

    async def drain(self, *, max_rounds: int = 1000) -> None:
        """Run until no job is due (tests and one-shot CLI commands)."""
        for _ in range(max_rounds):
            if not await self.run_once():
                return

    async def _run(self, job: Job) -> None:
        handler = self.handlers[job.kind]
        try:
            await handler(job)
        except RetryLater as exc:
            outcome = "retry" if await self.queue.retry(job, str(exc), exc.delay) else "failed"
        except PlatformError as exc:
            if exc.transient:
                outcome = "retry" if await self.queue.retry(job, exc.message) else "failed"
            else:
                await self.queue.fail(job, exc.message)
                outcome = "failed"
        except Exception as exc:  # a handler bug fails its job, not the runner
            log.exception("job %s (%s) crashed", job.id, job.kind)
            await self.queue.fail(job, f"{type(exc).__name__}: {exc}")
            outcome = "failed"
        else:
            await self.queue.complete(job)
            outcome = "done"
        if self.on_result is not None:
            self.on_result(job, outcome)
