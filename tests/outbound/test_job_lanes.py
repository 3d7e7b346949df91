"""Lanes (a conversation's sends one at a time, in order), lease heartbeats and a stop that hands
jobs back: on the real queue, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from gateway.db.models import Job
from gateway.outbound.jobs import JobQueue, JobRunner, RetryLater, enqueue


async def add(db, lanes: list[str | None], kind: str = "t") -> list[int]:
    async with db.session() as session:
        ids = [await enqueue(session, kind, {"n": n}, lane=lane) for n, lane in enumerate(lanes)]
    return [i for i in ids if i is not None]


async def test_only_the_oldest_unfinished_job_of_a_lane_is_claimable(db) -> None:
    a1, b1, a2, free, a3, b2 = await add(db, ["a", "b", "a", None, "a", "b"])
    queue = JobQueue(db, worker_id="w1")
    first = [j.id for j in await queue.claim(limit=10)]
    assert first == [a1, b1, free]
    assert await queue.claim(limit=10) == []  # a2, a3 and b2 wait behind their lane's running head
    jobs = {j.id: j for j in await _rows(db)}
    await queue.complete(jobs[a1])
    assert [j.id for j in await queue.claim(limit=10)] == [a2]
    await queue.retry(jobs[b1], "try again", delay=0)  # waiting to retry: b2 still waits behind it
    again = await queue.claim(limit=10)
    assert [j.id for j in again] == [b1]
    await queue.fail(again[0], "for good")  # a failed head lets the lane go on
    assert [j.id for j in await queue.claim(limit=10)] == [b2]
    assert a3 not in [j.id for j in await queue.claim(limit=10)]


async def test_workers_racing_never_run_two_jobs_of_one_lane_at_once(db) -> None:
    lanes = [f"conv:{n % 3}" for n in range(30)]
    ids = await add(db, lanes)
    lane_of = dict(zip(ids, lanes, strict=True))
    running: dict[str, int] = {}
    order: dict[str, list[int]] = {}

    async def handler(job: Job) -> None:
        lane = lane_of[job.id]
        assert lane not in running, f"{lane} has {running[lane]} and {job.id} running at once"
        running[lane] = job.id
        await asyncio.sleep(0.005 * (job.id % 4))
        order.setdefault(lane, []).append(job.id)
        del running[lane]

    runners = [JobRunner(JobQueue(db, worker_id=f"w{i}"), {"t": handler}, concurrency=4) for i in range(3)]

    async def work(runner: JobRunner) -> None:
        for _ in range(200):
            if not await runner.run_once():
                await asyncio.sleep(0.01)
            if sum(len(v) for v in order.values()) == len(ids):
                return

    await asyncio.gather(*(work(r) for r in runners))
    assert {lane: sorted(v) for lane, v in order.items()} == order  # each lane in id order
    assert sum(len(v) for v in order.values()) == 30


async def test_a_live_worker_keeps_its_job_and_a_dead_one_loses_it_within_the_lease(db) -> None:
    await add(db, [None, None])
    release, running = asyncio.Event(), asyncio.Event()
    started: list[int] = []

    async def slow(job: Job) -> None:
        started.append(job.id)
        running.set()
        await release.wait()

    live = JobRunner(JobQueue(db, worker_id="live", lease=0.6), {"t": slow}, concurrency=1)
    task = asyncio.create_task(live.run())
    await asyncio.wait_for(running.wait(), 5)
    dead = JobQueue(db, worker_id="dead", lease=0.6)
    (orphan,) = await dead.claim(limit=1)  # claimed, then its worker "dies": nobody renews it
    other = JobQueue(db, worker_id="other", lease=0.6)
    await asyncio.sleep(1.0)  # past both leases: the live worker renewed (every 0.2 s), the dead one did not
    taken = await other.claim(limit=5)
    assert [j.id for j in taken] == [orphan.id]
    release.set()
    await live.stop(task, grace=5)
    rows = {j.id: j for j in await _rows(db)}
    assert rows[started[0]].status == "done"


async def test_stop_hands_back_what_outlasts_the_grace_period(db) -> None:
    (job_id,) = await add(db, [None])
    started = asyncio.Event()

    async def stuck(job: Job) -> None:
        started.set()
        await asyncio.sleep(60)

    runner = JobRunner(JobQueue(db, worker_id="a"), {"t": stuck})
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 5)
    await runner.stop(task, grace=0.1)
    (row,) = await _rows(db)
    assert (row.status, row.locked_by, row.attempts) == ("pending", None, 0)
    taken = await JobQueue(db, worker_id="b").claim(limit=1)  # at once, not after a lease
    assert [j.id for j in taken] == [job_id]


async def test_stop_waits_for_a_job_that_finishes_in_time(db) -> None:
    await add(db, [None])
    started = asyncio.Event()
    outcomes: list[str] = []

    async def brief(job: Job) -> None:
        started.set()
        await asyncio.sleep(0.2)
        raise RetryLater("after the stop", delay=0)

    runner = JobRunner(JobQueue(db, worker_id="a"), {"t": brief}, on_result=lambda _j, o: outcomes.append(o))
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 5)
    await runner.stop(task, grace=5)
    assert outcomes == ["retry"]  # its outcome was recorded, not cut off
    (row,) = await _rows(db)
    assert (row.status, row.attempts) == ("pending", 1)


async def _rows(db) -> list[Job]:
    async with db.sessions() as session:
        return list(await session.scalars(select(Job).order_by(Job.id)))
