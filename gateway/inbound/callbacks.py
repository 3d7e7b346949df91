"""Group commit for verified callbacks: many requests, one transaction, each answered after COMMIT.

A callback's cost is its transaction, not its crypto. `CallbackWriter.record()` queues a verified
callback and waits; one writer task takes everything queued, and in one transaction stores the
inbound events (`ON CONFLICT DO NOTHING` on the dedupe key), ingests the MP content of the new ones
(one merged batch per channel, arrival order kept) and saves the newest sync Token per stream.
Every caller learns whether its callback was new only after that COMMIT, so an acknowledged
callback is durable and a crash before the commit leaves the platform to retry.

While a batch commits, new callbacks queue for the next one: the batch grows with the load, and a
lone callback is written at once (no timer). If the shared transaction fails, each callback of the
batch is written again in its own transaction, so one bad callback never fails its neighbours.

The writer works through its own database (Runtime.callback_db: a small pool of its own), so
REST and SSE load cannot take the connections it needs; at most MAX_QUEUED callbacks wait.

Before a verified callback is written, the intake screens it (docs/security.md): its signed
timestamp must lie within `max_age` seconds of now (`check_fresh`), and a kf account it names
must be one the channel has (`screen`, through gateway.inbound.directory.KfAccounts). A verified
callback refused for its content is kept as a rejected inbound event (`reject`) and nothing else.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels.base import CallbackResult, Channel
from gateway.db.engine import Database
from gateway.db.repositories.feed import save_callback_token
from gateway.db.repositories.inbound import inbox_ids, record_inbound_many, record_rejected
from gateway.db.types import utcnow
from gateway.domain import Batch
from gateway.errors import Overloaded, ServiceStopping
from gateway.inbound.directory import KfAccounts
from gateway.inbound.ingest import IngestResult, ingest
from gateway.wechat.crypto import check_timestamp

log = logging.getLogger(__name__)

AfterIngest = Callable[[AsyncSession, Batch, IngestResult], Awaitable[None]]

MAX_BATCH = 500  # callbacks per transaction
MAX_QUEUED = 20 * MAX_BATCH  # callbacks waiting for the writer; more answer 503 (the platform retries)
MAX_AGE = 300.0  # seconds a signed timestamp may be from now, either way (GATEWAY_CALLBACK_MAX_AGE)


@dataclass(slots=True)
class _Pending:
    channel_id: int
    result: CallbackResult
    done: asyncio.Future[bool]
    key: tuple[int, str] = field(init=False)

    def __post_init__(self) -> None:
        self.key = (self.channel_id, (self.result.event_key or "")[:256])


class CallbackWriter:
    """The process's callback writer (one per Runtime)."""

    def __init__(
        self, db: Database, after_ingest: AfterIngest, *, max_batch: int = MAX_BATCH, max_age: float = MAX_AGE
    ) -> None:
        self.db = db
        self.after_ingest = after_ingest
        self.max_batch = max_batch
        self.max_age = max_age
        self.clock: Callable[[], float] = time.time  # epoch seconds (tests hand in the simulator's clock)
        self.accounts = KfAccounts(db)
        self.warned: set[tuple[int, tuple[str, ...]]] = set()  # configuration warnings already logged
        # On a failed shared transaction, write each callback alone (True) or fail them all, as a
        # crash would (False: the crash-injection tests).
        self.isolate_failures = True
        self._queue: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self.closed = False  # after close(): callbacks are refused (503) instead of written behind shutdown
        self.batches = 0  # transactions written (tests and benchmarks read it)

    async def record(self, channel_id: int, result: CallbackResult) -> bool:
        """Store a verified callback (and its MP content); False when its key was stored before."""
        if result.event_key is None:
            raise ValueError("a callback without an event key is not stored")
        if self.closed:
            raise ServiceStopping("the gateway is stopping; not stored")
        if len(self._queue) >= MAX_QUEUED:  # memory stays bounded under a flood
            raise Overloaded("too many callbacks waiting to be written; not stored")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        self._queue.append(_Pending(channel_id, result, done))
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._writer = loop.create_task(self._drain(), name="intake")
        return await asyncio.shield(done)  # a caller that goes away does not cancel the batch

    def check_fresh(self, timestamp: str) -> None:
        """Refuse (StaleCallback, 400) a verified callback whose signed timestamp is too far from now."""
        check_timestamp(timestamp, now=self.clock(), max_age=self.max_age)

    async def screen(self, channel_id: int, adapter: Channel, result: CallbackResult) -> CallbackResult | str:
        """The callback with the kf accounts it names checked against the channel's directory: the
        reason to reject it when it asks to pull an account the channel does not have; account
        changes naming unknown accounts are dropped from it."""
        if result.pull is not None:
            stream = result.pull.stream
            if stream not in await self.accounts.known(adapter, channel_id, [stream]):
                return f"kf account {stream!r} is not one of this channel's"
        changes = result.batch.inbox_changes if result.batch is not None else []
        if changes:
            added = {c.inbox_source_id for c in changes if c.added}
            removed = {c.inbox_source_id for c in changes if not c.added}
            known = await self.accounts.known(adapter, channel_id, added) if added else set()
            if removed:
                self.accounts.forget(channel_id, removed)
                async with self.db.sessions() as session:
                    known |= await inbox_ids(session, channel_id, removed)
            changes[:] = [c for c in changes if c.inbox_source_id in known]
        return result

    async def reject(self, channel_id: int, payload: str, reason: str) -> bool:
        """Keep a verified but refused callback as a rejected inbound event (once per payload); nothing
        else is written. False when the same payload was rejected before (a platform retry)."""
        # PostgreSQL text holds neither U+0000 nor a lone surrogate
        payload = payload.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
        key = "rejected:" + hashlib.sha1(payload.encode("utf-8", "replace")).hexdigest()
        async with self.db.session() as session:
            return await record_rejected(session, channel_id, key, payload, reason[:1000])

    async def close(self, timeout: float = 10.0) -> None:
        """Refuse new callbacks and let the writer finish what was queued (at shutdown, before the database goes)."""
        self.closed = True
        if self._writer is not None and not self._writer.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._writer), timeout)
            except TimeoutError:
                self._writer.cancel()  # the waiting callbacks answer 503; the platforms retry
                await asyncio.wait([self._writer])  # its transaction is rolled back before we return

    async def _drain(self) -> None:
        batch: list[_Pending] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                try:
                    await self._write_together(batch)
                except Exception as exc:
                    if not self.isolate_failures:
                        _fail(batch, exc)
                        continue
                    log.warning("callback batch of %d failed (%s); writing them one by one", len(batch), exc)
                    for pending in batch:
                        await self._write_alone(pending)
                self.batches += 1
        except BaseException:  # cancelled at shutdown: nobody waits forever (the platform will retry)
            _fail([*batch, *self._queue], ServiceStopping("the gateway is stopping; not stored"))
            self._queue.clear()
            raise

    async def _write_together(self, batch: list[_Pending]) -> None:
        first: dict[tuple[int, str], _Pending] = {}
        for pending in batch:
            first.setdefault(pending.key, pending)
        async with self.db.session() as session:
            new_keys = await record_inbound_many(
                session,
                [
                    (p.channel_id, p.key[1], p.result.event_kind, p.result.payload)
                    for p in sorted(first.values(), key=lambda p: p.key)  # one lock order across replicas
                ],
            )
            new = [p for p in first.values() if p.key in new_keys]
            for content in _merged_batches(new).values():
                await self.after_ingest(session, content, await ingest(session, content))
            await _save_tokens(session, new)
        for pending in batch:
            if not pending.done.done():
                pending.done.set_result(pending is first[pending.key] and pending.key in new_keys)

    async def _write_alone(self, pending: _Pending) -> None:
        """The same write for one callback, its own transaction; its error goes to its caller only."""
        try:
            await self._write_together([pending])
        except Exception as exc:
            _fail([pending], exc)


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    for pending in batch:
        if not pending.done.done():
            pending.done.set_exception(exc)


def _merged_batches(new: list[_Pending]) -> dict[int, Batch]:
    """One batch per channel of every new callback's content; `seq` keeps callbacks in arrival order."""
    merged: dict[int, Batch] = {}
    next_seq: dict[int, int] = {}
    for pending in new:
        content = pending.result.batch
        if content is None:
            continue
        target = merged.setdefault(content.channel_id, Batch(channel_id=content.channel_id))
        offset = next_seq.get(content.channel_id, 0)
        items: list[Any] = [*content.messages, *content.state_changes, *content.message_updates]
        next_seq[content.channel_id] = offset + max((item.seq for item in items), default=-1) + 1
        for name in ("messages", "state_changes", "message_updates"):
            getattr(target, name).extend(
                msgspec.structs.replace(item, seq=offset + item.seq) for item in getattr(content, name)
            )
        target.agent_changes.extend(content.agent_changes)
        target.inbox_changes.extend(content.inbox_changes)
        target.profiles.extend(content.profiles)
    return merged


async def _save_tokens(session: AsyncSession, new: list[_Pending]) -> None:
    """The newest sync Token each stream was announced with (WeCom kf_msg_or_event)."""
    newest: dict[tuple[int, str], str] = {}
    for pending in new:
        pull = pending.result.pull
        if pull is not None and pull.token:
            newest[(pending.channel_id, pull.stream)] = pull.token
    at = utcnow()
    for (channel_id, stream), token in sorted(newest.items()):
        await save_callback_token(session, channel_id, stream, token, at)
