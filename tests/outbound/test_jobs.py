"""The outbox: claims never overlap, leases expire, retries back off, permanent errors fail."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from gateway.db.models import Job
from gateway.db.types import utcnow
from gateway.errors import SystemBusy
from gateway.outbound.jobs import JobQueue, JobRunner, RetryLater, backoff, enqueue
from gateway.wechat.errcodes import platform_error


async def add(db, n: int, kind: str = "t", **kw) -> list[int]:
    async with db.session() as session:
        return [await enqueue(session, kind, {"n": i}, **kw) for i in range(n)]


async def test_dedupe_key_adds_once(db) -> None:
    async with db.session() as session:
        first = await enqueue(session, "t", {}, dedupe_key="k")
        again = await enqueue(session, "t", {}, dedupe_key="k")
    assert first is not None and again is None


async def test_concurrent_claims_never_share_a_job(db) -> None:
    await add(db, 40)
    queues = [JobQueue(db, worker_id=f"w{i}") for i in range(4)]

    async def claim_all(q: JobQueue) -> list[int]:
        got: list[int] = []
        while batch := await q.claim(limit=3):
            got += [j.id for j in batch]
        return got

    results = await asyncio.gather(*(claim_all(q) for q in queues))
    flat = [i for r in results for i in r]
    assert len(flat) == 40 and len(set(flat)) == 40


async def test_expired_lease_is_reclaimed(db) -> None:
    await add(db, 1)
    dead = JobQueue(db, worker_id="dead")
    [job] = await dead.claim()
    assert await JobQueue(db, worker_id="other").claim() == []
    async with db.session() as session:
        await session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    [again] = await JobQueue(db, worker_id="other").claim()
    assert again.id == job.id and again.attempts == 2


async def test_runner_outcomes(db) -> None:
    await add(db, 1, kind="ok")
    await add(db, 1, kind="flaky")
    await add(db, 1, kind="bad")
    await add(db, 1, kind="boom")
    seen: dict[str, int] = {"flaky": 0}

    async def ok(job: Job) -> None:
        return None

    async def flaky(job: Job) -> None:
        seen["flaky"] += 1
        if seen["flaky"] < 3:
            raise SystemBusy(-1, "busy") if seen["flaky"] == 1 else RetryLater("again", delay=0)
        return None

    async def bad(job: Job) -> None:
        raise platform_error(95018, "state forbids")

    async def boom(job: Job) -> None:
        raise ValueError("handler bug")

    results: list[tuple[str, str]] = []
    runner = JobRunner(
        JobQueue(db),
        {"ok": ok, "flaky": flaky, "bad": bad, "boom": boom},
        on_result=lambda job, outcome: results.append((job.kind, outcome)),
    )
    await runner.run_once()
    async with db.session() as session:  # make the backed-off retry due now
        await session.execute(update(Job).where(Job.status == "pending").values(run_at=utcnow()))
    await runner.drain()
    async with db.sessions() as session:
        status = {j.kind: (j.status, j.last_error) for j in await session.scalars(select(Job))}
    assert status["ok"] == ("done", None)
    assert status["flaky"][0] == "done" and seen["flaky"] == 3
    assert status["bad"][0] == "failed" and "95018" in status["bad"][1]
    assert status["boom"][0] == "failed" and "handler bug" in status["boom"][1]


async def test_attempts_are_bounded(db) -> None:
    await add(db, 1, kind="never", max_attempts=3)

    async def never(job: Job) -> None:
        raise RetryLater("nope", delay=0)

    await JobRunner(JobQueue(db), {"never": never}).drain()
    async with db.sessions() as session:
        job = await session.scalar(select(Job))
    assert (job.status, job.attempts) == ("failed", 3) and "gave up" in job.last_error


def test_backoff_grows_and_caps() -> None:
    assert 1.6 <= backoff(1) <= 2.4 and 12.8 <= backoff(4) <= 19.2 and backoff(30) <= 3600 * 1.2
