"""Work that ingest queues in its own transaction and the job runner does after: media into the
vault, profiles (unionid) of new contacts, the WeCom welcome message.

Queued with dedupe keys, so a re-ingested page queues nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels.base import EventCodes
from gateway.channels.pool import ChannelPool
from gateway.db.engine import Database
from gateway.db.models import Job
from gateway.db.repositories import media as media_repo
from gateway.db.types import utcnow
from gateway.domain import Batch, ContentType, InboundMessage, MessageType, SenderType, StateChange, new_msgid
from gateway.errors import PlatformError
from gateway.inbound.ingest import IngestResult, ingest
from gateway.inbound.vault import download_into_vault, mark_media_failed
from gateway.metrics import Metrics
from gateway.outbound.jobs import Handler, RetryLater, enqueue

log = logging.getLogger(__name__)

AfterIngest = Callable[[AsyncSession, Batch, IngestResult], Awaitable[None]]


class FollowUps:
    """`after_ingest` (the hook sync and callbacks call in the ingest transaction) and the job
    handlers it feeds (`handlers()`)."""

    def __init__(
        self,
        db: Database,
        channels: ChannelPool,
        metrics: Metrics,
        media_dir: Path,
        notify: Callable[[], None],
        *,
        also: Sequence[AfterIngest] = (),
    ) -> None:
        self.db = db
        self.also = also  # further hooks in the same transaction (gateway.inbound.sessions)
        self.channels = channels
        self.metrics = metrics
        self.media_dir = media_dir
        self.notify = notify  # new jobs were queued: wake the job runner after the commit

    def handlers(self) -> dict[str, Handler]:
        return {
            "download_media": self.download_media,
            "fetch_profiles": self.fetch_profiles,
            "send_welcome": self.send_welcome,
        }

    async def after_ingest(self, session: AsyncSession, batch: Batch, result: IngestResult) -> None:
        """In the ingest transaction: queue media downloads, profile fetches and welcome messages."""
        if result.media:  # the vault rows, pending until the download job runs
            kinds = {m.media_id: str(m.content_type) for m in batch.messages if m.media_id}
            items = [(message_id, media_id, kinds.get(media_id)) for message_id, media_id in result.media]
            await media_repo.add_pending(session, batch.channel_id, items)
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
        welcomes = [c for c in batch.state_changes if c.event_code_kind == "welcome" and c.event_code]
        for change in welcomes:  # the code is valid 20 s: a job, run at once
            await enqueue(
                session,
                "send_welcome",
                {"channel_id": batch.channel_id, "change": msgspec.to_builtins(change)},
                dedupe_key=f"welcome:{batch.channel_id}:{change.event_code}",
                channel_id=batch.channel_id,
                max_attempts=3,
            )
        for hook in self.also:
            await hook(session, batch, result)
        if result.inserted:
            self.metrics.messages_in.labels(str(batch.channel_id)).inc(len(result.inserted))
        if result.media or result.new_identities or welcomes:
            self.notify()

    async def download_media(self, job: Job) -> None:
        payload = job.payload
        channel = await self.channels.get(payload["channel_id"])
        message_id, media_id = payload["message_id"], payload["media_id"]
        try:
            await download_into_vault(self.db, channel, self.media_dir, message_id=message_id, media_id=media_id)
        except PlatformError as exc:
            if job.attempts >= job.max_attempts or (not exc.transient and exc.errcode is not None):
                async with self.db.session() as session:
                    await mark_media_failed(session, channel.channel_id, message_id, media_id, exc.message, exc.errcode)
                raise
            raise RetryLater(exc.message) from exc

    async def fetch_profiles(self, job: Job) -> None:
        """Profiles (with unionid) for new contact identities; ingesting them merges people across channels."""
        channel_id = job.payload["channel_id"]
        channel = await self.channels.get(channel_id)
        profiles = await channel.fetch_profiles(list(job.payload["source_ids"]))
        if profiles:
            async with self.db.session() as session:
                await ingest(session, Batch(channel_id=channel_id, profiles=profiles))

    async def send_welcome(self, job: Job) -> None:
        """enter_session's welcome_code → the channel's welcome message, recorded as an outgoing bot message."""
        channel = await self.channels.get(job.payload["channel_id"])
        if not isinstance(channel, EventCodes):
            return
        change = msgspec.convert(job.payload["change"], StateChange)
        sent = await channel.send_welcome(change, new_msgid())
        if sent is None:
            return  # no welcome message configured
        message = InboundMessage(
            source_id=sent.source_id,
            inbox_source_id=change.inbox_source_id,
            contact_source_id=change.contact_source_id,
            message_type=MessageType.OUTGOING,
            sender_type=SenderType.BOT,
            content_type=ContentType.TEXT,
            content=channel.welcome_message,
            sent_at=utcnow(),
            content_attributes={"welcome": True},
            raw=sent.raw,
        )
        async with self.db.session() as session:
            await ingest(session, Batch(channel_id=channel.channel_id, messages=[message]))
