"""The wiring of one gateway process: database, HTTP client, tokens, channel adapters, sync, jobs, metrics.

`create_app` (REST + callbacks), `kefu-gateway serve`, `sync` and `demo` all build one Runtime;
tests build theirs with a test database and an http client that reaches the simulator.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import msgspec
from sqlalchemy import select

from gateway.channels import channel_classes
from gateway.channels.base import Channel
from gateway.db.engine import Database
from gateway.db.models import Channel as ChannelRow
from gateway.db.models import Inbox, Job, SyncCursor
from gateway.db.repositories.channels import ChannelRepository
from gateway.db.repositories.tokens import SqlTokenStore
from gateway.db.types import utcnow
from gateway.domain import Batch, ContentType, InboundMessage, MessageType, SenderType, StateChange
from gateway.errors import ChannelNotFound, PlatformError
from gateway.ingest import IngestResult, ingest
from gateway.intake import Intake
from gateway.jobs import Handler, JobQueue, JobRunner, RetryLater, enqueue
from gateway.logs import REDACTOR
from gateway.media import download_into_vault, mark_media_failed
from gateway.metrics import Metrics
from gateway.ratelimit import Limiter
from gateway.sealing import SecretBox
from gateway.settings import Settings
from gateway.sync import Syncer
from gateway.webhooks import WebhookDispatcher
from gateway.wechat.tokens import Credential, TokenManager

log = logging.getLogger(__name__)


class Runtime:
    """Everything long-lived in a gateway process. `start()` runs sync and the job runner."""

    def __init__(
        self, settings: Settings, *, db: Database | None = None, http_client: httpx.AsyncClient | None = None
    ) -> None:
        self.settings = settings
        self.db = db or Database(
            settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size
        )
        self._own_db = db is None
        self.http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=5.0), limits=httpx.Limits(max_connections=100)
        )
        self._own_http = http_client is None
        self.box = SecretBox(settings.require_secret_key())
        self.metrics = Metrics()
        self.tokens = TokenManager(self.http, SqlTokenStore(self.db, self.box), on_refresh=self._token_refreshed)
        self._channels: dict[int, tuple[Any, float, Channel]] = {}  # id → (updated_at, checked, adapter)
        self.syncer = Syncer(self.db, self.channel, settings.sync, after_ingest=self.after_ingest)
        self.intake = Intake(self.db, self.after_ingest)  # callbacks: group commit
        self.handlers: dict[str, Handler] = {
            "download_media": self._download_media,
            "send_message": self._send_message,
            "fetch_profiles": self._fetch_profiles,
            "send_welcome": self._send_welcome,
        }
        self.webhooks = WebhookDispatcher(self)  # tests shrink self.webhooks.schedule
        self.handlers["deliver_webhook"] = self.webhooks.deliver
        self.jobs = JobRunner(
            JobQueue(self.db, lease=settings.jobs.lease_seconds), self.handlers, on_result=lambda job, outcome: None
        )
        self.send_limiter = Limiter(settings.jobs.send_rate)
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ channels

    async def channel(self, channel_id: int) -> Channel:
        """The live adapter for a channel row (rebuilt when the row changes); NotFound if disabled.

        An adapter is trusted for `channel_cache_seconds` without a look at its row (callbacks come
        in bursts); changes through this process's API take effect at once (`forget_channel`),
        changes made elsewhere (another replica, the CLI) within that time.
        """
        cached = self._channels.get(channel_id)
        now = time.monotonic()
        if cached is not None and now - cached[1] < self.settings.server.channel_cache_seconds:
            return cached[2]
        async with self.db.sessions() as session:
            row = await session.get(ChannelRow, channel_id)
            if row is None or not row.enabled:
                self._channels.pop(channel_id, None)
                raise ChannelNotFound(f"channel {channel_id} not found or disabled")
            if cached is not None and cached[0] == row.updated_at:
                self._channels[channel_id] = (row.updated_at, now, cached[2])
                return cached[2]
            secrets = ChannelRepository(session, self.box).secrets(row)
        REDACTOR.add(*secrets.values())
        cls = channel_classes()[row.kind]
        adapter = cls(
            channel_id=row.id,
            app_id=row.app_id,
            settings=row.settings,
            secrets=secrets,
            http=self.http,
            tokens=self.tokens,
        )
        self._channels[channel_id] = (row.updated_at, now, adapter)
        return adapter

    def forget_channel(self, channel_id: int) -> None:
        """The channel row changed (after its commit): the next `channel()` reads it again."""
        self._channels.pop(channel_id, None)

    async def wecom_streams(self) -> list[tuple[int, str]]:
        """(channel id, open_kfid) of every enabled kf account, and of streams a callback announced."""
        async with self.db.sessions() as session:
            enabled_wecom = select(ChannelRow.id).where(ChannelRow.kind == "wecom", ChannelRow.enabled.is_(True))
            inboxes = await session.execute(
                select(Inbox.channel_id, Inbox.source_id).where(
                    Inbox.channel_id.in_(enabled_wecom), Inbox.enabled.is_(True)
                )
            )
            cursors = await session.execute(
                select(SyncCursor.channel_id, SyncCursor.stream).where(SyncCursor.channel_id.in_(enabled_wecom))
            )
            disabled = set(
                await session.execute(select(Inbox.channel_id, Inbox.source_id).where(Inbox.enabled.is_(False)))
            )
            found = {(c, s) for c, s in inboxes} | {(c, s) for c, s in cursors}
            return sorted(key for key in found if key not in disabled)

    # ------------------------------------------------------------------ ingest hooks

    async def after_ingest(self, session: Any, batch: Batch, result: IngestResult) -> None:
        """In the ingest transaction: queue media downloads; count what came in."""
        for message_id, media_id in result.media:
            await enqueue(
                session,
                "download_media",
                {"channel_id": batch.channel_id, "message_id": message_id, "media_id": media_id},
                dedupe_key=f"media:{message_id}",
                channel_id=batch.channel_id,
                max_attempts=10,
            )
        if result.new_identities:  # MP pushes content without profiles: learn unionid off the request path
            ids = sorted(result.new_identities)
            await enqueue(
                session,
                "fetch_profiles",
                {"channel_id": batch.channel_id, "source_ids": ids},
                dedupe_key=f"profiles:{batch.channel_id}:{ids[0]}:{len(ids)}",
                channel_id=batch.channel_id,
            )
        for change in batch.state_changes:
            if change.event_code_kind == "welcome" and change.event_code:  # valid 20 s: a job, run at once
                await enqueue(
                    session,
                    "send_welcome",
                    {"channel_id": batch.channel_id, "change": msgspec.to_builtins(change)},
                    dedupe_key=f"welcome:{batch.channel_id}:{change.event_code}",
                    channel_id=batch.channel_id,
                    max_attempts=3,
                )
                self.jobs.notify()
        if result.inserted:
            self.metrics.messages_in.labels(str(batch.channel_id)).inc(len(result.inserted))
        if result.media or result.new_identities:
            self.jobs.notify()

    async def _download_media(self, job: Job) -> None:
        payload = job.payload
        channel = await self.channel(payload["channel_id"])
        try:
            async with self.db.session() as session:
                await download_into_vault(
                    session,
                    channel,
                    self.settings.media_dir,
                    message_id=payload["message_id"],
                    media_id=payload["media_id"],
                )
        except PlatformError as exc:
            if job.attempts >= job.max_attempts or (not exc.transient and exc.errcode is not None):
                async with self.db.session() as session:
                    await mark_media_failed(session, payload["message_id"], exc.message)
                raise
            raise RetryLater(exc.message) from exc

    async def _fetch_profiles(self, job: Job) -> None:
        """Profiles (with unionid) for new contact identities; ingesting them merges people across channels."""
        channel_id = job.payload["channel_id"]
        channel = await self.channel(channel_id)
        profiles = await channel.fetch_profiles(list(job.payload["source_ids"]))
        if profiles:
            async with self.db.session() as session:
                await ingest(session, Batch(channel_id=channel_id, profiles=profiles))

    async def _send_welcome(self, job: Job) -> None:
        """enter_session's welcome_code → the channel's welcome message, recorded as an outgoing bot message."""
        from gateway.actions import new_msgid

        channel = await self.channel(job.payload["channel_id"])
        change = msgspec.convert(job.payload["change"], StateChange)
        send_welcome = getattr(channel, "send_welcome", None)
        if send_welcome is None:
            return
        sent = await send_welcome(change, new_msgid())
        if sent is None:
            return  # no welcome message configured
        message = InboundMessage(
            source_id=sent.source_id,
            inbox_source_id=change.inbox_source_id,
            contact_source_id=change.contact_source_id,
            message_type=MessageType.OUTGOING,
            sender_type=SenderType.BOT,
            content_type=ContentType.TEXT,
            content=getattr(channel, "welcome_message", None),
            sent_at=utcnow(),
            content_attributes={"welcome": True},
            raw=sent.raw,
        )
        async with self.db.session() as session:
            await ingest(session, Batch(channel_id=channel.channel_id, messages=[message]))

    async def _send_message(self, job: Job) -> None:
        from gateway.actions import send_message_job  # actions builds on the runtime

        await send_message_job(self, job)

    def _token_refreshed(self, credential: Credential) -> None:
        self.metrics.token_refreshes.labels(credential.kind).inc()

    # ------------------------------------------------------------------ lifecycle

    async def refresh_directories(self) -> None:
        """Inboxes and agents (online status) of every enabled channel, from the platforms."""
        from gateway.directory import sync_directory

        async with self.db.sessions() as session:
            ids = list(await session.scalars(select(ChannelRow.id).where(ChannelRow.enabled.is_(True))))
        for channel_id in ids:
            try:
                await sync_directory(self.db, await self.channel(channel_id), channel_id)
            except Exception as exc:  # one channel's trouble must not stop the others
                log.warning("directory refresh of channel %s failed: %s", channel_id, exc)

    async def _directory_loop(self) -> None:
        while True:
            await self.refresh_directories()
            await asyncio.sleep(self.settings.sync.directory_interval)

    async def start(self, *, sync: bool = True, jobs: bool = True) -> None:
        self.intake.closed = False  # a Runtime stopped and started again takes callbacks again
        if sync:
            self._tasks.append(asyncio.create_task(self.syncer.run(self.wecom_streams), name="sync"))
            self._tasks.append(asyncio.create_task(self._directory_loop(), name="directory"))
        if jobs:
            self._tasks.append(asyncio.create_task(self.jobs.run(), name="jobs"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        await self.intake.close()
        if self._own_http:
            await self.http.aclose()
        if self._own_db:
            await self.db.dispose()
