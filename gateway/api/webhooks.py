"""`/api/v1/webhooks` (admin scope): subscriptions, their delivery log, and redelivery.

The secret is write-only: sealed at rest, generated when not given, and shown once, in the answer
to POST. URLs must be https and reach public addresses only, unless the operator allows more
(gateway.outbound.netguard). How deliveries are signed, ordered and retried: gateway.outbound.webhooks.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from msgspec import UNSET, Meta, Struct, UnsetType

from gateway.api import listing
from gateway.api.actor import audited
from gateway.api.auth import SECURITY, require_scope
from gateway.api.listing import CursorParam, Limit, Retired
from gateway.db.engine import Database
from gateway.db.models import Webhook, WebhookDelivery
from gateway.db.repositories import webhooks as repo
from gateway.db.repositories.feed import EVENT_TYPES
from gateway.errors import Conflict, InvalidRequest
from gateway.outbound.netguard import NetGuard
from gateway.outbound.webhooks import RESPONSE_EXCERPT
from gateway.sealing import SecretBox

Url = Annotated[str, Meta(min_length=1, max_length=2048)]
Secret = Annotated[str, Meta(min_length=16, max_length=256)]
Description = Annotated[str, Meta(max_length=256)]
EventTypes = Annotated[list[str], Meta(description=f"event types ({', '.join(EVENT_TYPES)}); empty = all")]


class WebhookCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url
    events: EventTypes = msgspec.field(default_factory=list)
    secret: Secret | None = None  # generated when absent
    description: Description = ""
    enabled: bool = True


class WebhookUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url | UnsetType = UNSET
    events: EventTypes | UnsetType = UNSET
    secret: Secret | UnsetType = UNSET  # replaces the secret; never shown again
    description: Description | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


class WebhookOut(Struct, kw_only=True):
    id: int
    url: str
    events: list[str]
    description: str
    enabled: bool
    pending_deliveries: int
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut, kw_only=True):
    secret: str  # shown once: the Standard Webhooks key (whsec_…), also the X-Kefu-Signature key


class WebhookList(Struct, kw_only=True):
    data: list[WebhookOut]
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page; null on the last page


class DeliveryOut(Struct, kw_only=True):
    id: int
    webhook_id: int
    event_id: int
    event_type: str
    status: str  # pending | delivered | failed
    attempts: int
    response_status: int | None
    # the start of the receiver's answer (a short excerpt, control characters dropped) for diagnosis;
    # none when no connection was made (e.g. a target the guard refused)
    response_excerpt: str | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliveryPage(Struct, kw_only=True):
    data: list[DeliveryOut]  # newest event first
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page; null on the last page


def _check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidRequest(f"unknown event types: {', '.join(unknown)}", field="events")
    return list(dict.fromkeys(events))


def _out(webhook: Webhook, pending: int) -> WebhookOut:
    return WebhookOut(
        id=webhook.id,
        url=webhook.url,
        events=list(webhook.events),
        description=webhook.description,
        enabled=webhook.enabled,
        pending_deliveries=pending,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )


def _delivery_out(delivery: WebhookDelivery, event_type: str) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        webhook_id=delivery.webhook_id,
        event_id=delivery.event_id,
        event_type=event_type,
        status=delivery.status,
        attempts=delivery.attempts,
        response_status=delivery.response_status,
        # rows written before excerpts were short hold up to 1024 characters: shown as excerpts too
        response_excerpt=None if delivery.response_body is None else delivery.response_body[:RESPONSE_EXCERPT],
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
        updated_at=delivery.updated_at,
    )


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ("webhooks",)
    security = SECURITY
    guards = [require_scope("admin")]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/", status_code=201)
    async def create_webhook(
        self, request: Request, data: WebhookCreate, box: SecretBox, db: Database, netguard: NetGuard
    ) -> WebhookCreated:
        """Subscribe `url` to `events`. The answer carries the secret, once. A URL that is not https
        (422 webhook_url_insecure) or whose host is or resolves to a loopback, link-local, private,
        multicast, reserved or unspecified address (422 webhook_target_forbidden) is refused."""
        secret = data.secret or "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        url = await netguard.check_url(data.url)
        async with db.session() as session:
            webhook = await repo.create_webhook(
                session,
                url=url,
                events=_check_events(data.events),
                secret_sealed=box.seal(secret),
                description=data.description,
                enabled=data.enabled,
            )
            detail = {"url": url, "events": webhook.events}
            await audited(
                session, request, "webhook.created", subject_type="webhook", subject_id=webhook.id, detail=detail
            )
        out = _out(webhook, 0)
        return WebhookCreated(**{f: getattr(out, f) for f in out.__struct_fields__}, secret=secret)

    @get("/")
    async def list_webhooks(
        self, db: Database, cursor: CursorParam = None, limit: Limit = listing.PAGE_DEFAULT
    ) -> WebhookList:
        """Webhook subscriptions with their pending deliveries, by id; secrets are never shown again."""
        after = listing.decode(cursor, "webhooks", (int,))
        async with db.sessions() as session:
            rows = await repo.list_webhooks(session, after_id=int(after[0]) if after else None, limit=limit + 1)
            webhooks, more = listing.cut(rows, limit, "webhooks", lambda w: (w.id,))
            pending = await repo.pending_counts(session, [w.id for w in webhooks])
        return WebhookList(data=[_out(w, pending.get(w.id, 0)) for w in webhooks], next_cursor=more)

    @get("/{webhook_id:int}")
    async def get_webhook(self, webhook_id: int, db: Database) -> WebhookOut:
        """One webhook subscription."""
        async with db.sessions() as session:
            webhook = await repo.get_webhook(session, webhook_id)
            pending = await repo.pending_counts(session, [webhook_id])
        return _out(webhook, pending.get(webhook_id, 0))

    @patch("/{webhook_id:int}")
    async def update_webhook(
        self, request: Request, webhook_id: int, data: WebhookUpdate, box: SecretBox, db: Database, netguard: NetGuard
    ) -> WebhookOut:
        """Changes apply to events committed afterwards. Re-enabling resumes the pending queue at once
        (a head waiting in backoff is retried now). A new `url` is checked as on creation."""
        url = None if isinstance(data.url, UnsetType) else await netguard.check_url(data.url)
        async with db.session() as session:
            webhook = await repo.get_webhook(session, webhook_id)
            if url is not None:
                webhook.url = url
            if not isinstance(data.events, UnsetType):
                webhook.events = _check_events(data.events)
            if not isinstance(data.secret, UnsetType):
                webhook.secret_sealed = box.seal(data.secret)
            if not isinstance(data.description, UnsetType):
                webhook.description = data.description
            resumed = data.enabled is True and not webhook.enabled
            if not isinstance(data.enabled, UnsetType):
                webhook.enabled = data.enabled
            await session.flush()
            if resumed:
                await repo.resume(session, webhook_id)
            changed = [f for f in WebhookUpdate.__struct_fields__ if not isinstance(getattr(data, f), UnsetType)]
            await audited(
                session,
                request,
                "webhook.updated",
                subject_type="webhook",
                subject_id=webhook_id,
                detail={"fields": changed},
            )
            pending = await repo.pending_counts(session, [webhook_id])
        return _out(webhook, pending.get(webhook_id, 0))

    @delete("/{webhook_id:int}")
    async def delete_webhook(self, request: Request, webhook_id: int, db: Database) -> None:
        """Deletes the subscription and its delivery log."""
        async with db.session() as session:
            await repo.delete_webhook(session, webhook_id)
            await audited(session, request, "webhook.deleted", subject_type="webhook", subject_id=webhook_id)

    @get("/{webhook_id:int}/deliveries")
    async def list_deliveries(
        self,
        webhook_id: int,
        db: Database,
        status: Literal["pending", "delivered", "failed"] | None = None,
        cursor: CursorParam = None,
        limit: Limit = listing.PAGE_DEFAULT,
        before: Retired = None,
    ) -> DeliveryPage:
        """A webhook's delivery log, newest first: status, attempts, the receiver's status and a short excerpt."""
        listing.refuse_retired(before=before)
        kind = f"webhooks:{webhook_id}:deliveries"
        position = listing.decode(cursor, kind, (int,))
        async with db.sessions() as session:
            await repo.get_webhook(session, webhook_id)
            rows = await repo.list_deliveries(
                session,
                webhook_id,
                status=status,
                before_event_id=int(position[0]) if position else None,
                limit=limit + 1,
            )
        page, more = listing.cut(rows, limit, kind, lambda row: (row[0].event_id,))
        return DeliveryPage(data=[_delivery_out(d, t) for d, t in page], next_cursor=more)

    @post("/{webhook_id:int}/deliveries/{delivery_id:int}/redeliver", status_code=202)
    async def redeliver(self, request: Request, webhook_id: int, delivery_id: int, db: Database) -> DeliveryOut:
        """Queue the delivery again with a fresh retry schedule. Being the oldest pending event of
        its webhook, it goes before the rest of the queue."""
        async with db.session() as session:
            webhook = await repo.get_webhook(session, webhook_id)
            if not webhook.enabled:
                raise Conflict("webhook is disabled; enable it first")
            delivery, event_type = await repo.get_delivery(session, webhook_id, delivery_id)
            await repo.requeue(session, delivery)
            await audited(
                session,
                request,
                "webhook.redelivered",
                subject_type="webhook",
                subject_id=webhook_id,
                detail={"delivery_id": delivery_id},
            )
        return _delivery_out(delivery, event_type)
