"""Load shedding at the API's edge: the admission gate, the pool timeout, and the event-stream limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from gateway.api.admission import Admission, StreamLimits
from gateway.api.app import create_app
from gateway.db.engine import Database
from gateway.db.models import ApiKey
from gateway.errors import Overloaded, TooManyStreams
from gateway.runtime import Runtime
from tests.api.support import Api, api_settings, make_keys


@pytest.fixture
async def gated(db: Database, box) -> AsyncIterator[tuple[Api, Runtime]]:
    """The app with one REST slot and one queue place (0.2 s)."""
    settings = api_settings(
        db, GATEWAY_MAX_REQUESTS="1", GATEWAY_REQUEST_QUEUE="1", GATEWAY_REQUEST_QUEUE_TIMEOUT="0.2"
    )
    runtime = Runtime(settings, db=db)
    app = create_app(settings, runtime=runtime, background=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client:
            yield Api(client, db, box, await make_keys(db)), runtime
    finally:
        await runtime.stop()


async def test_admission_holds_queues_and_sheds() -> None:
    gate = Admission(limit=1, queue=1, timeout=5.0)
    assert await gate.acquire()
    queued = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    assert gate.waiting == 1
    assert not await gate.acquire()  # the queue is full: refused at once
    gate.release()  # the slot passes to the queued request
    assert await queued and gate.active == 1 and gate.waiting == 0
    gate.release()
    assert gate.active == 0 and gate.refused == 1


async def test_a_queued_request_waits_only_its_timeout() -> None:
    gate = Admission(limit=1, queue=4, timeout=0.05)
    assert await gate.acquire()
    assert not await gate.acquire()
    assert gate.waiting == 0 and gate.active == 1


async def test_busy_api_answers_503_overloaded_with_retry_after_but_callbacks_and_healthz_pass(gated) -> None:
    api, runtime = gated
    assert (await api.get("/api/v1/conversations")).status_code == 200
    assert await runtime.admission.acquire()  # every REST slot taken
    try:
        first, second = await asyncio.gather(api.get("/api/v1/conversations"), api.get("/api/v1/conversations"))
        for response in (first, second):
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "overloaded"
            assert response.headers["retry-after"] == "1"
        assert (await api.get("/healthz", as_=None)).status_code == 200
        assert (await api.get("/readyz", as_=None)).status_code == 200
        # a callback is not gated: it reaches its handler (404: no such channel), not the 503
        assert (await api.client.post("/callbacks/999?timestamp=1", content=b"<xml/>")).status_code == 404
    finally:
        runtime.admission.release()
    assert (await api.get("/api/v1/conversations")).status_code == 200
    assert runtime.admission.active == 0


async def test_pool_timeout_answers_503_not_500(db: Database, box) -> None:
    small = Database(db.url, pool_size=1, pool_timeout=0.2)
    settings = api_settings(db)
    runtime = Runtime(settings, db=small)
    app = create_app(settings, runtime=runtime, background=False)
    keys = await make_keys(db)
    try:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client,
            small.engine.connect(),
            small.engine.connect(),  # pool_size 1 + overflow 1: nothing left for REST
        ):
            response = await client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {keys['read']}"})
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "overloaded" and response.headers["retry-after"] == "1"
            # the callback writer's own pool still has connections
            async with runtime.callback_db.sessions() as session:
                assert await session.scalar(select(ApiKey.id).limit(1)) is not None
    finally:
        await runtime.stop()
        await small.dispose()


def test_stream_limits_per_actor_and_in_total() -> None:
    limits = StreamLimits(total=3, per_actor=2)
    a1, a2 = limits.take("api_key:1"), limits.take("api_key:1")
    with pytest.raises(TooManyStreams):
        limits.take("api_key:1")
    b1 = limits.take("operator:1")
    with pytest.raises(Overloaded):
        limits.take("api_key:2")
    a1.release()
    a1.release()  # twice is once
    assert limits.open["api_key:1"] == 1
    limits.take("api_key:2")
    a2.release()
    b1.release()
    assert sum(limits.open.values()) == 1


async def test_event_stream_refused_429_per_key_and_503_in_total(gated) -> None:
    api, runtime = gated
    async with api.db.sessions() as session:
        read_key = await session.scalar(select(ApiKey.id).where(ApiKey.name == "test-read"))
    held = [runtime.streams.take(f"api_key:{read_key}") for _ in range(runtime.streams.per_actor)]
    refused = await api.get("/api/v1/events/stream")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_streams"
    assert refused.headers["retry-after"]
    runtime.streams.total = len(held)  # the process is full as well
    other = await api.get("/api/v1/events/stream", as_="write")
    assert other.status_code == 503 and other.json()["error"]["code"] == "overloaded"
    for lease in held:
        lease.release()
    assert not runtime.streams.open
