"""Webhook delivery: signed POSTs of domain events, in event order per webhook, retried for hours.

Every committed event already has one pending `webhook_deliveries` row per matching enabled webhook
and a wake-up of that webhook's `deliver_webhook` job, written in the event's own transaction
(gateway.db.repositories.feed), so a crash or a receiver down for hours loses nothing.

Request: `POST <url>` with the JSON body `{"id": event id, "type", "created_at", "data": payload}`,
signed two ways over the exact body bytes:
- Standard Webhooks (standardwebhooks.com, signed with its maintained library): `webhook-id` (the
  event id), `webhook-timestamp` (unix seconds of this attempt), `webhook-signature: v1,<base64
  HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>`; the key is the secret's base64 part when the secret
  is `whsec_<base64>` (every generated secret is), else the secret's UTF-8 bytes;
- the gateway's first scheme, kept for existing receivers: `X-Kefu-Event-Id`, `X-Kefu-Event-Type`,
  `X-Kefu-Timestamp` and `X-Kefu-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`.
A receiver verifies either, compares in constant time and rejects stale timestamps (e.g. older
than 5 minutes). Any 2xx answer is a delivery (redirects are
not followed); anything else, or no answer within `timeout`, is a failed attempt. The delivery log
keeps the status and a short excerpt of the answer (at most RESPONSE_EXCERPT characters, read from
at most EXCERPT_BYTES bytes). In production the http client is the guarded one
(gateway.outbound.netguard): a target that is or now resolves to a non-public address gets no
connection, and the attempt fails with the reason, no status and no excerpt.

Order: a webhook's queue is delivered one at a time in event-id order (ids are commit-ordered), so
a later event of a conversation never overtakes an earlier one. A failed attempt stops the whole
queue and retries the head after `schedule[n]` seconds (±20 % jitter); once the schedule is used
up the delivery is marked failed and the queue moves on. Delivery is at least once: a crash
between the receiver's 2xx and our bookkeeping repeats that one event (dedupe on X-Kefu-Event-Id).
Secrets are opened only to sign and are never logged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from standardwebhooks.webhooks import Webhook as StandardWebhook

import gateway
from gateway.backoff import jittered
from gateway.db.engine import Database
from gateway.db.models import DomainEvent, Job, Webhook, WebhookDelivery
from gateway.db.repositories import feed
from gateway.db.repositories import webhooks as repo
from gateway.db.types import utcnow
from gateway.logs import REDACTOR
from gateway.metrics import Metrics
from gateway.outbound.jobs import RetryLater
from gateway.sealing import SecretBox

log = logging.getLogger(__name__)

# Seconds before retry 1, 2, …: ten attempts in all, over about 14 hours.
DEFAULT_SCHEDULE: tuple[float, ...] = (10, 30, 120, 600, 1800, 3600, 7200, 14400, 21600)
RESPONSE_EXCERPT = 256  # characters of the receiver's answer kept in the delivery log
EXCERPT_BYTES = 1024  # bytes of the answer read at most (the rest is never downloaded)
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n")  # dropped from excerpts (NUL: PostgreSQL)


def standard_key(secret: str) -> bytes:
    """The Standard Webhooks signing key of `secret` (see the module docstring)."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def standard_headers(secret: str, event_id: int, when: datetime, body: bytes) -> dict[str, str]:
    stamp = int(when.timestamp())
    return {
        "webhook-id": str(event_id),
        "webhook-timestamp": str(stamp),
        "webhook-signature": StandardWebhook(standard_key(secret)).sign(str(event_id), when, body),
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Kefu-Signature value: "v1=" + hex HMAC-SHA256(secret, timestamp + "." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


async def excerpt(response: httpx.Response) -> str:
    """The start of a streamed answer as text: at most EXCERPT_BYTES read, RESPONSE_EXCERPT characters kept."""
    head = b""
    async for chunk in response.aiter_bytes():
        head += chunk
        if len(head) >= EXCERPT_BYTES:
            break
    text = head[:EXCERPT_BYTES].decode(response.encoding or "utf-8", errors="replace")
    return text.translate(_CONTROL)[:RESPONSE_EXCERPT]


def event_body(event: DomainEvent) -> bytes:
    return msgspec.json.encode(
        {"id": event.id, "type": event.type, "created_at": event.created_at, "data": event.payload}
    )


class WebhookDispatcher:
    """The deliver_webhook job handler; `schedule`, `timeout` and `budget` (seconds) are tunable."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        http: httpx.AsyncClient,
        metrics: Metrics,
        *,
        notify: Callable[[], None],
        lease_seconds: float,
        schedule: Sequence[float] = DEFAULT_SCHEDULE,
        timeout: float = 10.0,
        budget: float | None = None,
    ) -> None:
        self.db = db
        self.box = box
        self.http = http
        self.metrics = metrics
        self._notify = notify
        self.schedule = tuple(schedule)
        self.timeout = timeout
        # A job stops starting attempts after `budget` seconds and hands over to a fresh wake-up, so
        # one drain (budget + one timeout) ends well inside the job lease and is never run twice.
        self.budget = budget if budget is not None else min(30.0, lease_seconds / 4)
        feed.watch_commits(self)

    def notify(self) -> None:
        """Events were committed in this process: let the job runner look now."""
        self._notify()

    async def deliver(self, job: Job) -> None:
        """Drain one webhook's queue while holding its key; drop the key, then re-wake if work is left."""
        webhook_id = int(job.payload["webhook_id"])
        db = self.db
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
            async with self.db.sessions() as session:
                webhook = await session.get(Webhook, webhook_id)
                if webhook is None or not webhook.enabled:
                    return  # pending deliveries wait for re-enabling (which wakes the queue)
                delivery = await repo.head(session, webhook_id)
                if delivery is None or (delivery.next_attempt_at is not None and delivery.next_attempt_at > utcnow()):
                    return
                event = await session.get(DomainEvent, delivery.event_id)
            assert event is not None  # the delivery row references it (ON DELETE CASCADE)
            if webhook.secret_sealed != sealed:  # first round, or rotated meanwhile
                sealed, secret = webhook.secret_sealed, self.box.open(webhook.secret_sealed)
                REDACTOR.add(secret)
            await self._attempt(webhook, secret, delivery, event)
            if time.monotonic() >= deadline:
                return

    async def _attempt(self, webhook: Webhook, secret: str, delivery: WebhookDelivery, event: DomainEvent) -> None:
        body = event_body(event)
        now = datetime.now(UTC)
        timestamp = str(int(now.timestamp()))
        headers = {
            **standard_headers(secret, event.id, now, body),
            "Content-Type": "application/json",
            "User-Agent": f"kefu-gateway/{gateway.__version__}",
            "X-Kefu-Event-Id": str(event.id),
            "X-Kefu-Event-Type": event.type,
            "X-Kefu-Timestamp": timestamp,
            "X-Kefu-Signature": signature(secret, timestamp, body),
        }
        status: int | None = None
        text: str | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):  # the whole attempt, a slowly dribbled answer included
                request = self.http.build_request(
                    "POST", webhook.url, content=body, headers=headers, timeout=self.timeout
                )
                response = await self.http.send(request, stream=True, follow_redirects=False)
                try:
                    status, text = response.status_code, await excerpt(response)
                finally:
                    await response.aclose()
            if response.is_redirect:
                error = f"HTTP {response.status_code} (redirects are not followed)"
            elif not response.is_success:
                error = f"HTTP {response.status_code}"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        except TimeoutError:
            error = f"no complete answer within {self.timeout:g} s"
        retry_at = None
        self.metrics.webhook_seconds.labels("failed" if error else "delivered").observe(time.perf_counter() - started)
        if error is not None:
            self.metrics.webhook_failures.inc()
            if delivery.attempts < len(self.schedule):
                delay = jittered(self.schedule[delivery.attempts])
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
        async with self.db.session() as session:
            await repo.record_attempt(
                session,
                delivery.id,
                delivered=error is None,
                response_status=status,
                response_body=text,
                error=error,
                retry_at=retry_at,
            )
