"""Per-(channel, stream) pull loops: WeCom sync_msg per kf account, kicked by callbacks, polled as a fallback.

One puller per stream at a time: an asyncio.Lock inside the process and, on PostgreSQL, a
session-level advisory lock across replicas. A pull walks pages while `has_more` (empty pages
included) and ingests each page with its cursor in one transaction, so a crash re-reads at most
the page it was on and unique keys drop what was already stored. The next page is fetched while
the current one is written, and written only after it commits. Errors back off exponentially;
a stream whose last success is close to the platform's 3-day horizon logs a warning.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.backoff import exponential, jittered
from gateway.channels import CHANNELS
from gateway.channels.base import Channel, Pulls, SyncPage, require
from gateway.db.engine import Database
from gateway.db.repositories import contacts as contact_repo
from gateway.db.repositories import feed
from gateway.db.repositories.channels import pull_streams
from gateway.db.types import utcnow
from gateway.domain import Batch
from gateway.errors import InvalidCode, PlatformError
from gateway.inbound.ingest import IngestResult, ingest
from gateway.settings import SyncSettings

log = logging.getLogger(__name__)

SYNC_TOKEN_TTL = timedelta(minutes=10)  # the callback Token's life on the platform
HORIZON = timedelta(days=3)
PULLING_KINDS = [kind for kind, cls in CHANNELS.items() if issubclass(cls, Pulls)]  # WeCom
KNOWN_CONTACTS_MAX = 200_000  # per channel; past it the cache starts over

ChannelLookup = Callable[[int], Awaitable[Channel]]
AfterIngest = Callable[[AsyncSession, Batch, IngestResult], Awaitable[None]]


def _lock_id(channel_id: int, stream: str) -> int:
    digest = hashlib.sha256(f"kefu-gateway:sync:{channel_id}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(slots=True)
class StreamState:
    failures: int = 0
    next_try: float = 0.0  # loop time before which the poller leaves this stream alone
    kicked: asyncio.Event = field(default_factory=asyncio.Event)


class Syncer:
    """Pulls streams into SQL. `after_ingest(session, batch, result)` runs inside each page's transaction."""

    def __init__(
        self,
        db: Database,
        channel: ChannelLookup,
        settings: SyncSettings,
        *,
        after_ingest: AfterIngest | None = None,
        on_page: Callable[[int, str, int], None] | None = None,
    ) -> None:
        self.db = db
        self.channel = channel
        self.settings = settings
        self.after_ingest = after_ingest
        self.on_page = on_page
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        # contact source ids known to have an identity, per channel: a page of known contacts needs
        # no lookup before ingest (were one deleted, ingest recreates it and queues its profile)
        self._known: dict[int, set[str]] = {}
        self._streams: dict[tuple[int, str], StreamState] = {}
        self._wake = asyncio.Event()

    # ------------------------------------------------------------------ entry points

    def wake(self, channel_id: int, stream: str) -> None:
        """A callback said `stream` has news (its sync Token, if any, is already saved): pull it soon."""
        state = self._streams.setdefault((channel_id, stream), StreamState())
        if state.failures == 0:  # a failing stream keeps its backoff; the saved token serves the retry
            state.next_try = 0.0
        state.kicked.set()
        self._wake.set()

    async def sync_stream(self, channel_id: int, stream: str) -> int:
        """Pull `stream` until the platform has nothing more; returns messages stored.

        Returns -1 when another replica holds the stream (it will see the news).
        """
        key = (channel_id, stream)
        async with self._locks.setdefault(key, asyncio.Lock()), self._cross_replica_lock(channel_id, stream) as held:
            if not held:
                return -1
            return await self._pull_all(channel_id, stream)

    async def known_streams(self) -> list[tuple[int, str]]:
        """(channel id, stream) of every enabled kf account of a pulling channel, and of streams a
        callback announced."""
        async with self.db.sessions() as session:
            return await pull_streams(session, PULLING_KINDS)

    async def run(self, streams: Callable[[], Awaitable[list[tuple[int, str]]]] | None = None) -> None:
        """Serve kicks as they come and poll every known stream each `poll_interval` seconds."""
        streams = streams or self.known_streams
        loop = asyncio.get_running_loop()
        last_poll = 0.0
        while True:
            now = loop.time()
            if now - last_poll >= self.settings.poll_interval:
                last_poll = now
                for key in await streams():
                    self._streams.setdefault(key, StreamState()).kicked.set()
            due = [k for k, s in self._streams.items() if s.kicked.is_set() and s.next_try <= now]
            self._wake.clear()  # before the pulls: a kick that lands during one must wake the wait below
            for channel_id, stream in due:
                await self._attempt(channel_id, stream)
            waits = [s.next_try - now for s in self._streams.values() if s.kicked.is_set() and s.next_try > now]
            timeout = min([self.settings.poll_interval - (loop.time() - last_poll), *waits, 5.0])
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.05, timeout))
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ internals

    async def _attempt(self, channel_id: int, stream: str) -> None:
        state = self._streams.setdefault((channel_id, stream), StreamState())
        state.kicked.clear()
        try:
            stored = await self.sync_stream(channel_id, stream)
            if stored == -1:  # another replica is on it; look again shortly in case it just finished
                state.kicked.set()
                state.next_try = asyncio.get_running_loop().time() + 1.0
                return
            state.failures = 0
        except Exception as exc:  # one stream's trouble must not stop the others
            state.failures += 1
            delay = jittered(exponential(state.failures, base=0.5, cap=self.settings.backoff_max))
            state.next_try = asyncio.get_running_loop().time() + delay
            state.kicked.set()
            log.warning("sync %s/%s failed (%s); retry in %.1fs", channel_id, stream, _describe(exc), delay)
            async with self.db.session() as session:
                await feed.record_sync_error(session, channel_id, stream, _describe(exc))

    async def _pull_all(self, channel_id: int, stream: str) -> int:
        adapter = await self.channel(channel_id)
        channel = require(adapter, Pulls, "pull messages")  # type: ignore[type-abstract]  # protocol class as type[T] (python/mypy#4717)
        async with self.db.sessions() as session:
            row = await feed.get_cursor(session, channel_id, stream)
        cursor = row.cursor if row else None
        token = row.callback_token if row and _token_fresh(row.callback_token_at) else None
        self._warn_horizon(channel_id, stream, row.last_synced_at if row else None)
        stored = 0

        async def pull(cursor: str | None, token: str | None) -> tuple[SyncPage, str | None]:
            while True:
                try:
                    return await channel.pull(stream, cursor, token=token), token
                except InvalidCode:
                    if token is None:
                        raise
                    token = None  # the callback token lapsed: pull without it (strictly rate limited)

        # Page N+1 is fetched (HTTP, JSON, normalize) while page N is written; it is written only after
        # page N and its cursor are committed, and dropped unread if page N fails. Its profile lookup
        # waits for that commit too, so contacts page N introduced are not fetched twice.
        ahead: asyncio.Future[tuple[SyncPage, str | None]] | None = asyncio.ensure_future(pull(cursor, token))
        try:
            while ahead is not None:
                page, token = await ahead
                batch = page.batch
                ahead = asyncio.ensure_future(pull(batch.cursor, token)) if page.has_more else None
                batch.profiles.extend(await self._profiles(adapter, batch))
                async with self.db.session() as session:
                    result = await ingest(session, batch)
                    if self.after_ingest is not None:
                        await self.after_ingest(session, batch, result)
                stored += len(result.inserted)
                self._remember(batch)
                if self.on_page is not None:
                    self.on_page(channel_id, stream, len(result.inserted))
            return stored
        finally:
            if ahead is not None:  # this page failed: the one fetched ahead is not wanted
                ahead.cancel()
                await asyncio.wait([ahead])
                if not ahead.cancelled():
                    ahead.exception()  # retrieved: the error being raised is this page's, not that one's

    async def _profiles(self, channel: Channel, batch: Batch) -> list:
        """Profiles (unionid) of contacts this page introduces; a failure here never blocks ingest."""
        known = self._known.setdefault(batch.channel_id, set())
        wanted = _contacts(batch) - known
        if not wanted:
            return []
        async with self.db.sessions() as session:
            found = await contact_repo.identity_refs_by_source(session, batch.channel_id, wanted)
        known.update(found)
        unknown = sorted(wanted - set(found))
        if not unknown:
            return []
        try:
            return await channel.fetch_profiles(unknown)
        except PlatformError as exc:
            log.warning("profile fetch failed for %d contacts: %s", len(unknown), exc.code)
            return []

    def _remember(self, batch: Batch) -> None:
        """After the commit: every contact of the page now has an identity."""
        known = self._known.setdefault(batch.channel_id, set())
        if len(known) > KNOWN_CONTACTS_MAX:
            known.clear()
        known.update(_contacts(batch))

    @asynccontextmanager
    async def _cross_replica_lock(self, channel_id: int, stream: str) -> AsyncIterator[bool]:
        if self.db.is_sqlite:
            yield True
            return
        lock_id = _lock_id(channel_id, stream)
        async with self.db.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            held = bool(await connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_id}))
            try:
                yield held
            finally:
                if held:
                    await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_id})

    def _warn_horizon(self, channel_id: int, stream: str, last: datetime | None) -> None:
        if last is None:
            return
        age = utcnow() - last
        if age > timedelta(hours=self.settings.horizon_warning_hours):
            log.warning(
                "sync %s/%s last succeeded %.1f h ago; sync_msg keeps only 3 days (%.1f h left)",
                channel_id,
                stream,
                age.total_seconds() / 3600,
                (HORIZON - age).total_seconds() / 3600,
            )


def _contacts(batch: Batch) -> set[str]:
    return {m.contact_source_id for m in batch.messages} | {c.contact_source_id for c in batch.state_changes}


def _token_fresh(at: datetime | None) -> bool:
    return at is not None and utcnow() - at < SYNC_TOKEN_TTL


def _describe(exc: Exception) -> str:
    if isinstance(exc, PlatformError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"
