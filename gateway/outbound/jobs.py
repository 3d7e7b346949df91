"""The outbox: jobs in SQL, claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) or under SQLite's write lock.

A job is claimed with a lease that its worker renews while it runs (a heartbeat every third of the
lease); a worker that dies stops renewing, and its jobs are taken over once the lease runs out.
Handlers raise `RetryLater` (or a transient PlatformError) to retry with exponential backoff and
jitter, and anything else to fail the job for good; `max_attempts` bounds the retries.

Lanes: jobs that share a `lane` (a conversation's sends) run one at a time in id order, across
workers and replicas: a job is claimable only while no older job of its lane is pending or running.
A job waiting to retry holds its lane; a job that fails for good releases it (fail and continue).

Stopping (`JobRunner.stop`): no new claims; jobs in flight get a grace period to finish and record
their outcome; whatever is still running after it is cancelled and its lease released, so another
worker takes it at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway.backoff import exponential, jittered
from gateway.db.engine import Database
from gateway.db.models import Job
from gateway.db.repositories.util import insert_for
from gateway.db.types import utcnow
from gateway.errors import PlatformError
from gateway.logs import REQUEST_ID
from gateway.metrics import Metrics

log = logging.getLogger(__name__)

Handler = Callable[[Job], Awaitable[None]]


class RetryLater(Exception):
    """Try this job again later (after `delay` seconds, or the backoff schedule)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


def backoff(attempt: int, *, base: float = 2.0, cap: float = 3600.0) -> float:
    """Seconds before retry `attempt` (1-based): exponential with ±20 % jitter, capped."""
    return jittered(exponential(attempt, base=base, cap=cap))


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    channel_id: int | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 8,
    lane: str | None = None,
) -> int | None:
    """Add a job in the caller's transaction; a repeated `dedupe_key` adds nothing (returns None).

    Jobs with the same `lane` run one at a time, in the order they were added. A job queued while a
    request is handled carries its id (`payload["request_id"]`), set again while the job runs."""
    now = utcnow()
    request_id = REQUEST_ID.get()
    if request_id and "request_id" not in payload:
        payload = {**payload, "request_id": request_id}
    stmt = (
        insert_for(session, Job)
        .values(
            kind=kind,
            lane=lane,
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
        """Lease up to `limit` due jobs (pending, or running with an expired lease), each the oldest
        unfinished job of its lane."""
        now = utcnow()
        older = aliased(Job)
        ahead_in_lane = (
            select(older.id)
            .where(older.lane == Job.lane, older.id < Job.id, older.status.in_(("pending", "running")))
            .exists()
        )
        due = select(Job.id).where(
            ((Job.status == "pending") & (Job.run_at <= now)) | ((Job.status == "running") & (Job.locked_until < now)),
            Job.lane.is_(None) | ~ahead_in_lane,
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

    async def renew(self) -> int:
        """Extend the lease of every job this worker is running (the heartbeat); returns how many."""
        now = utcnow()
        async with self.db.session() as session:
            result = await session.execute(
                update(Job)
                .where(Job.locked_by == self.worker_id, Job.status == "running")
                .values(locked_until=now + self.lease)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def release(self, job_ids: Iterable[int]) -> None:
        """Give back jobs this worker will not finish (at shutdown): pending again, due now, the
        attempt not counted."""
        ids = list(job_ids)
        if not ids:
            return
        async with self.db.session() as session:
            await session.execute(
                update(Job)
                .where(Job.id.in_(ids), Job.locked_by == self.worker_id, Job.status == "running")
                .values(
                    status="pending",
                    locked_by=None,
                    locked_until=None,
                    run_at=utcnow(),
                    attempts=Job.attempts - 1,
                    updated_at=utcnow(),
                )
            )

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
        metrics: Metrics | None = None,
    ) -> None:
        self.queue = queue
        self.metrics = metrics
        self.handlers = handlers
        self.concurrency = concurrency
        self.idle = idle
        self.on_result = on_result
        self._wake = asyncio.Event()
        self._stopping = False
        self._inflight: dict[int, asyncio.Task[None]] = {}

    def notify(self) -> None:
        """New jobs were committed: look now instead of after the idle pause."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one round of jobs and run them; returns how many ran."""
        if self._stopping:
            return 0
        jobs = await self.queue.claim(limit=self.concurrency, kinds=self.handlers)
        tasks = {job.id: asyncio.create_task(self._run(job), name=f"job-{job.id}") for job in jobs}
        self._inflight.update(tasks)
        try:
            if tasks:
                await asyncio.gather(*tasks.values())
        finally:
            for job_id in tasks:
                self._inflight.pop(job_id, None)
        return len(jobs)

    async def run(self) -> None:
        """Claim and run until `stop()`; renews the leases of running jobs meanwhile."""
        self._stopping = False
        heartbeat = asyncio.create_task(self._heartbeat(), name="job-heartbeat")
        try:
            while not self._stopping:
                try:
                    ran = await self.run_once()
                except Exception:  # the database may blink; keep the runner alive
                    log.exception("job claim failed")
                    ran = 0
                if not ran and not self._stopping:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=self.idle)
                    except TimeoutError:
                        pass
        finally:
            heartbeat.cancel()
            await asyncio.wait([heartbeat])

    async def stop(self, task: asyncio.Task[None], *, grace: float = 10.0) -> None:
        """Stop `task` (this runner's `run()`): no new claims; jobs in flight get `grace` seconds to
        finish; the rest are cancelled and their leases released for another worker to take at once."""
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait([task], timeout=grace)
        if done:
            return
        unfinished = list(self._inflight)
        log.warning("stopping: %d job(s) still running after %.0fs; released to other workers", len(unfinished), grace)
        task.cancel()
        await asyncio.wait([task])
        try:
            await self.queue.release(unfinished)
        except Exception:  # the leases then run out instead
            log.exception("could not release the leases of jobs %s", unfinished)

    async def drain(self, *, max_rounds: int = 1000) -> None:
        """Run until no job is due (tests and one-shot CLI commands)."""
        for _ in range(max_rounds):
            if not await self.run_once():
                return

    async def _heartbeat(self) -> None:
        interval = self.queue.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            if self._inflight:
                try:
                    await self.queue.renew()
                except Exception:  # a missed beat is survivable: the lease has two more
                    log.warning("job lease renewal failed", exc_info=True)

    async def _run(self, job: Job) -> None:
        handler = self.handlers[job.kind]
        request_id = job.payload.get("request_id") if isinstance(job.payload, dict) else None
        REQUEST_ID.set(str(request_id) if request_id else None)  # this task's own context
        started = time.perf_counter()
        if self.metrics is not None:
            self.metrics.job_lag.labels(job.kind).observe(max((utcnow() - job.run_at).total_seconds(), 0.0))
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
        if self.metrics is not None:
            self.metrics.job_seconds.labels(job.kind, outcome).observe(time.perf_counter() - started)
        if self.on_result is not None:
            self.on_result(job, outcome)
