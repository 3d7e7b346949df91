"""Webhook delivery: signed POSTs of domain events, in event order per webhook, retried for hours.

Every committed event already has one pending `webhook_deliveries` row per matching enabled webhook
and a wake-up of that webhook's `deliver_webhook` job, written in the event's own transaction
(gateway.db.repositories.feed), so a crash or a receiver down for hours loses nothing.

Request: `POST <url>` with the JSON body `{"id": event id, "type", "created_at", "data": payload}`
and the headers `X-Kefu-Event-Id`, `X-Kefu-Event-Type`, `X-Kefu-Timestamp` (unix seconds of this
attempt) and `X-Kefu-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`, computed over
the exact body bytes. A receiver recomputes it over the raw body, compares in constant time and
rejects stale timestamps (e.g. older than 5 minutes). Any 2xx answer is a delivery (redirects are
not followed); anything else, or no answer within `timeout`, is a failed attempt.

Order: a webhook's queue is delivered one at a time in event-id order (ids are commit-ordered), so
a later event of a conversation never overtakes an earlier one. A failed attempt stops the whole
queue and retries the head after `schedule[n]` seconds (±20 % jitter); once the schedule is used
up the delivery is marked failed and the queue moves on. Delivery is at least once: a crash
between the receiver's 2xx and our bookkeeping repeats that one event (dedupe on X-Kefu-Event-Id).
Secrets are opened only to sign and are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import msgspec
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

import gateway
from gateway.db.models import DomainEvent, Job, Webhook, WebhookDelivery
from gateway.db.repositories import feed
from gateway.db.repositories import webhooks as repo
from gateway.db.types import utcnow
from gateway.jobs import RetryLater
from gateway.logs import REDACTOR

if TYPE_CHECKING:
    from gateway.runtime import Runtime

log = logging.getLogger(__name__)

# Seconds before retry 1, 2, …: ten attempts in all, over about 14 hours.
DEFAULT_SCHEDULE: tuple[float, ...] = (10, 30, 120, 600, 1800, 3600, 7200, 14400, 21600)
RESPONSE_KEEP = 1024  # characters of the receiver's answer kept in the delivery log


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Kefu-Signature value: "v1=" + hex HMAC-SHA256(secret, timestamp + "." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def event_body(event: DomainEvent) -> bytes:
    return msgspec.json.encode(
        {"id": event.id, "type": event.type, "created_at": event.created_at, "data": event.payload}
    )


class WebhookDispatcher:
    """The deliver_webhook job handler; `schedule`, `timeout` and `budget` (seconds) are tunable."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        schedule: Sequence[float] = DEFAULT_SCHEDULE,
        timeout: float = 10.0,
        budget: float | None = None,
    ) -> None:
        self.runtime = runtime
        self.schedule = tuple(schedule)
        self.timeout = timeout
        # A job stops starting attempts after `budget` seconds and hands over to a fresh wake-up, so
        # one drain (budget + one timeout) ends well inside the job lease and is never run twice.
        self.budget = budget if budget is not None else min(30.0, runtime.settings.jobs.lease_seconds / 4)
        feed.watch_commits(self)

    def notify(self) -> None:
        """Events were committed in this process: let the job runner look now."""
        jobs = getattr(self.runtime, "jobs", None)
        if jobs is not None:
            jobs.notify()

    async def deliver(self, job: Job) -> None:
        """Drain one webhook's queue while holding its key; drop the key, then re-wake if work is left."""
        webhook_id = int(job.payload["webhook_id"])
        db = self.runtime.db
        try:
            try:
                async with db.session() as session:
                    if not await repo.hold_key(session, job.id, webhook_id):
                        return  # the key's holder drains, and re-checks after dropping it
            except IntegrityError:
                return
            await self._drain(webhook_id)
            async with db.session() as session:
                await repo.drop_key(session, job.id)
            async with db.session() as session:  # what arrived while we held the key
                webhook = await session.get(Webhook, webhook_id)
                head = await repo.head(session, webhook_id)
                if webhook is not None and webhook.enabled and head is not None:
                    await repo.wake(session, webhook_id, at=head.next_attempt_at)
        except SQLAlchemyError as exc:
            raise RetryLater(f"database: {type(exc).__name__}") from exc

    async def _drain(self, webhook_id: int) -> None:
        """Deliver the head of the queue until it is empty, parked in backoff, or the budget is spent."""
        deadline = time.monotonic() + self.budget
        sealed, secret = "", ""
        while True:
            async with self.runtime.db.sessions() as session:
                webhook = await session.get(Webhook, webhook_id)
                if webhook is None or not webhook.enabled:
                    return  # pending deliveries wait for re-enabling (which wakes the queue)
                delivery = await repo.head(session, webhook_id)
                if delivery is None or (delivery.next_attempt_at is not None and delivery.next_attempt_at > utcnow()):
                    return
                event = await session.get(DomainEvent, delivery.event_id)
            assert event is not None  # the delivery row references it (ON DELETE CASCADE)
            if webhook.secret_sealed != sealed:  # first round, or rotated meanwhile
                sealed, secret = webhook.secret_sealed, self.runtime.box.open(webhook.secret_sealed)
                REDACTOR.add(secret)
            await self._attempt(webhook, secret, delivery, event)
            if time.monotonic() >= deadline:
                return

    async def _attempt(self, webhook: Webhook, secret: str, delivery: WebhookDelivery, event: DomainEvent) -> None:
        body = event_body(event)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"kefu-gateway/{gateway.__version__}",
            "X-Kefu-Event-Id": str(event.id),
            "X-Kefu-Event-Type": event.type,
            "X-Kefu-Timestamp": timestamp,
            "X-Kefu-Signature": signature(secret, timestamp, body),
        }
        status: int | None = None
        text: str | None = None
        try:
            response = await self.runtime.http.post(webhook.url, content=body, headers=headers, timeout=self.timeout)
            status, text = response.status_code, response.text[:RESPONSE_KEEP]
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        retry_at = None
        if error is not None:
            self.runtime.metrics.webhook_failures.inc()
            if delivery.attempts < len(self.schedule):
                delay = self.schedule[delivery.attempts] * random.uniform(0.8, 1.2)
                retry_at = utcnow() + timedelta(seconds=delay)
            log.warning(
                "webhook %s delivery %s (event %s) attempt %s failed: %s%s",
                webhook.id,
                delivery.id,
                event.id,
                delivery.attempts + 1,
                error,
                "" if retry_at else "; giving up",
            )
        async with self.runtime.db.session() as session:
            await repo.record_attempt(
                session,
                delivery.id,
                delivered=error is None,
                response_status=status,
                response_body=text,
                error=error,
                retry_at=retry_at,
            )
