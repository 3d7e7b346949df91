"""Pushes callbacks to receivers the way the platform does: 5 s to answer, then up to 3 retries.

Platform modules call `CallbackDispatcher.push(...)`; a background task delivers in order. The
receiver is any URL reachable through the dispatcher's httpx client (tests hand in a client with
`ASGITransport(gateway_app)`). Drop/duplicate faults come from `World.callback_faults`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import msgspec

from kefu_sim.world import World

log = logging.getLogger(__name__)


class CallbackAttempt(msgspec.Struct, kw_only=True):
    attempt: int
    status: int | None
    body: str
    error: str | None = None
    seconds: float = 0.0


class CallbackRecord(msgspec.Struct, kw_only=True):
    """One callback the platform decided to push, and what became of it."""

    seq: int
    platform: str
    url: str
    query: dict[str, str]
    body: str
    plaintext: str  # the inner XML before encryption, for tests and the driver log
    state: str = "pending"  # pending | delivered | failed | dropped
    attempts: list[CallbackAttempt] = msgspec.field(default_factory=list)
    duplicate_of: int | None = None


class CallbackDispatcher:
    """Ordered, retried delivery of pushed callbacks."""

    def __init__(self, world: World, client: httpx.AsyncClient | None = None) -> None:
        self.world = world
        self._client = client
        self._own_client = client is None
        self._queue: asyncio.Queue[CallbackRecord] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.records: list[CallbackRecord] = []

    def set_client(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._own_client = False

    def push(self, *, platform: str, url: str, query: dict[str, str], body: str, plaintext: str) -> CallbackRecord:
        """Queue one callback (applying the drop/duplicate faults). Returns its record."""
        record = CallbackRecord(
            seq=self.world.next_seq(), platform=platform, url=url, query=query, body=body, plaintext=plaintext
        )
        self.records.append(record)
        faults = self.world.callback_faults
        if faults.drop_next > 0:
            faults.drop_next -= 1
            record.state = "dropped"
            return record
        self._queue.put_nowait(record)
        if faults.duplicate_next > 0:
            faults.duplicate_next -= 1
            twin = msgspec.structs.replace(record, seq=self.world.next_seq(), attempts=[], duplicate_of=record.seq)
            self.records.append(twin)
            self._queue.put_nowait(twin)
        self._ensure_running()
        return record

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sim-callbacks")

    async def _run(self) -> None:
        while True:
            record = await self._queue.get()
            try:
                await self._deliver(record)
            except Exception:  # a receiver bug must not stop later callbacks
                log.exception("callback %s delivery crashed", record.seq)
                record.state = "failed"
            finally:
                self._queue.task_done()

    async def _deliver(self, record: CallbackRecord) -> None:
        config = self.world.config
        client = self._client_or_default()
        loop = asyncio.get_running_loop()
        for attempt in range(1, config.callback_retries + 2):
            started = loop.time()
            try:
                async with asyncio.timeout(config.callback_timeout):
                    response = await client.post(
                        record.url,
                        params=record.query,
                        content=record.body.encode(),
                        headers={"Content-Type": "text/xml; charset=utf-8"},
                    )
                record.attempts.append(
                    CallbackAttempt(
                        attempt=attempt,
                        status=response.status_code,
                        body=response.text[:200],
                        seconds=loop.time() - started,
                    )
                )
                if response.status_code == 200:
                    record.state = "delivered"
                    return
            except (TimeoutError, httpx.HTTPError) as exc:
                record.attempts.append(
                    CallbackAttempt(
                        attempt=attempt, status=None, body="", error=type(exc).__name__, seconds=loop.time() - started
                    )
                )
            if config.callback_retry_delay:
                await asyncio.sleep(config.callback_retry_delay)
        record.state = "failed"

    def _client_or_default(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient()
        return self._client

    async def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued callback was delivered or gave up."""
        async with asyncio.timeout(timeout):
            await self._queue.join()

    def summary(self) -> list[dict[str, Any]]:
        return [msgspec.to_builtins(r) for r in self.records]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None
