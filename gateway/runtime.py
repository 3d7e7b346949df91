"""The wiring of one gateway process: it builds every long-lived piece and hands each the narrow
dependencies it uses. Nothing imports this module to reach a service; entry points (the app
factory, `serve`, `sync`, `demo`, the import command) build one Runtime and pass its parts on.

Tests build theirs with a test database and an http client that reaches the simulator.
"""

from __future__ import annotations

import asyncio

import httpx

from gateway.api.admission import Admission, StreamLimits
from gateway.channels.pool import ChannelPool
from gateway.cutover.links import CutoverLinks
from gateway.db.engine import Database
from gateway.db.repositories.tokens import SqlTokenStore
from gateway.inbound.callbacks import CallbackWriter
from gateway.inbound.directory import DirectoryRefresher
from gateway.inbound.followups import FollowUps
from gateway.inbound.sessions import SessionTruth
from gateway.inbound.sync import Syncer
from gateway.metrics import Metrics
from gateway.outbound.jobs import JobQueue, JobRunner
from gateway.outbound.netguard import NetGuard, Resolver, TargetPolicy, system_resolver
from gateway.outbound.pacing import Limiter
from gateway.outbound.replies import Sender
from gateway.outbound.webhooks import WebhookDispatcher
from gateway.sealing import SecretBox
from gateway.settings import Settings
from gateway.wechat.tokens import TokenManager


class Runtime:
    """Everything long-lived in a gateway process. `start()` runs sync, the directory refresh and the job runner."""

    def __init__(
        self,
        settings: Settings,
        *,
        db: Database | None = None,
        http_client: httpx.AsyncClient | None = None,
        webhook_http: httpx.AsyncClient | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        """`http_client` reaches the platforms; webhooks go through `webhook_http`, by default a client
        guarded by `netguard` (tests that inject `http_client` alone deliver webhooks through it)."""
        self.settings = settings
        database = settings.database
        self.db = db or Database(
            database.url, echo=database.echo, pool_size=database.pool_size, pool_timeout=database.pool_timeout
        )
        self._own_db = db is None
        # callbacks write through connections of their own: REST load cannot take them (docs/security.md)
        self.callback_db = self.db.reserved(database.callback_pool_size)
        limits = settings.limits
        self.admission = Admission(limits.max_requests, limits.request_queue, limits.queue_timeout)
        self.upload_admission = Admission(limits.max_uploads, limits.request_queue, limits.queue_timeout)
        self.streams = StreamLimits(limits.max_streams, limits.max_streams_per_actor)
        self.http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=5.0), limits=httpx.Limits(max_connections=100)
        )
        self._own_http = http_client is None
        security = settings.security
        self.netguard = NetGuard(
            TargetPolicy.build(allow_http=security.webhook_allow_http, targets=security.webhook_allowed_targets),
            resolver,
        )
        self._own_webhook_http = webhook_http is None and http_client is None
        self.webhook_http = webhook_http or http_client or self.netguard.client()
        self.box = SecretBox(settings.require_secret_key())
        self.metrics = Metrics()
        self.tokens = TokenManager(
            self.http,
            SqlTokenStore(self.db, self.box),
            on_refresh=lambda credential: self.metrics.token_refreshes.labels(credential.kind).inc(),
        )
        self.channels = ChannelPool(
            self.db,
            self.box,
            self.http,
            self.tokens,
            ttl=settings.server.channel_cache_seconds,
            on_call=lambda api, outcome, seconds: self.metrics.platform_calls.labels(api, outcome).observe(seconds),
        )
        # the job runner first: every other piece may wake it; its handlers are filled in below
        self.jobs = JobRunner(JobQueue(self.db, lease=settings.jobs.lease_seconds), {}, metrics=self.metrics)
        # inbound: callbacks (group commit) and pulls both ingest, then queue the follow-up jobs
        self.sessions = SessionTruth(
            self.db,
            self.channels,
            self.jobs.notify,
            interval=settings.sync.wait_queue_interval,
            ttl=settings.sync.state_ttl,
        )
        self.followups = FollowUps(
            self.db,
            self.channels,
            self.metrics,
            settings.media_dir,
            self.jobs.notify,
            also=[self.sessions.after_ingest, CutoverLinks(self.jobs.notify).after_ingest],
        )
        self.callbacks = CallbackWriter(
            self.callback_db, self.followups.after_ingest, max_age=settings.server.callback_max_age
        )
        self.syncer = Syncer(self.db, self.channels.get, settings.sync, after_ingest=self.followups.after_ingest)
        self.directory = DirectoryRefresher(self.db, self.channels, settings.sync.directory_interval)
        # outbound: replies through the adapters, paced per channel; webhooks in event order
        self.pacing = Limiter(settings.jobs.send_rate)
        self.sender = Sender(self.db, self.channels, self.pacing, self.metrics)
        self.webhooks = WebhookDispatcher(  # tests shrink self.webhooks.schedule
            self.db,
            self.box,
            self.webhook_http,
            self.metrics,
            notify=self.jobs.notify,
            lease_seconds=settings.jobs.lease_seconds,
        )
        self.jobs.handlers.update(
            {
                **self.followups.handlers(),
                **self.sessions.handlers(),
                "send_message": self.sender.send_message,
                "deliver_webhook": self.webhooks.deliver,
            }
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._jobs_task: asyncio.Task[None] | None = None

    async def start(self, *, sync: bool = True, jobs: bool = True) -> None:
        self.callbacks.closed = False  # a Runtime stopped and started again takes callbacks again
        if sync:
            self._tasks.append(asyncio.create_task(self.syncer.run(), name="sync"))
            self._tasks.append(asyncio.create_task(self.directory.run(), name="directory"))
            self._tasks.append(asyncio.create_task(self.sessions.run(), name="wait-queue"))
        if jobs:
            self._jobs_task = asyncio.create_task(self.jobs.run(), name="jobs")

    async def stop(self, *, grace: float = 10.0) -> None:
        """Graceful: pulls stop, queued callbacks are written, jobs in flight get `grace` seconds to
        finish and record their outcome (the rest are released to other workers), then the
        connections close."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        await self.callbacks.close()
        if self._jobs_task is not None:
            await self.jobs.stop(self._jobs_task, grace=grace)
            self._jobs_task = None
        if self._own_http:
            await self.http.aclose()
        if self._own_webhook_http:
            await self.webhook_http.aclose()
        await self.callback_db.dispose()
        if self._own_db:
            await self.db.dispose()
