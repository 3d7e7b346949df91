"""Webhook subscriptions, their delivery queue (webhook_deliveries) and the deliver_webhook wake-up job.

Each webhook has at most one *keyed* job (dedupe_key "webhook:<id>"): a new event coalesces into
it instead of adding jobs. The key is the webhook's drain lock: only the job holding it delivers,
and it drops the key before it stops (gateway.outbound.webhooks), so a wake-up is never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from gateway.db.models import DomainEvent, Job, Webhook, WebhookDelivery
from gateway.db.repositories.util import insert_for, is_postgres
from gateway.db.types import utcnow
from gateway.errors import NotFound

JOB_KIND = "deliver_webhook"
JOB_ATTEMPTS = 20  # job-level retries only cover database trouble; deliveries count their own attempts


def wake_key(webhook_id: int) -> str:
    return f"webhook:{webhook_id}"


# --------------------------------------------------------------------------- fan-out (commit hook, sync)


def fan_out_targets(session: Session) -> list[tuple[int, frozenset[str]]]:
    """(id, event types or empty = all) of enabled webhooks; on PostgreSQL each row is KEY SHARE
    locked so a concurrent delete cannot fail the delivery insert after the counter is taken."""
    query = select(Webhook.id, Webhook.events).where(Webhook.enabled.is_(True)).order_by(Webhook.id)
    if is_postgres(session):
        query = query.with_for_update(read=True, key_share=True)
    return [(webhook_id, frozenset(types or ())) for webhook_id, types in session.execute(query)]


def fan_out(session: Session, targets: Sequence[tuple[int, frozenset[str]]], events: Sequence[DomainEvent]) -> None:
    """One pending delivery per (matching webhook, event) and a wake-up per webhook, in this transaction."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    woken: list[int] = []
    for webhook_id, types in targets:
        matched = [e for e in events if not types or e.type in types]
        rows += [
            {
                "webhook_id": webhook_id,
                "event_id": e.id,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for e in matched
        ]
        if matched:
            woken.append(webhook_id)
    if rows:
        session.execute(insert(WebhookDelivery), rows)
    for webhook_id in woken:
        session.execute(wake_statement(session, webhook_id, urgent=False))


def wake_statement(
    session: Session | AsyncSession, webhook_id: int, *, at: datetime | None = None, urgent: bool = True
) -> Any:
    """Insert the webhook's keyed job, or touch the existing one (which row-locks it until COMMIT).

    A finished keyed job is revived. `urgent` pulls a pending job's run_at forward to `at` (default
    now); an event fan-out is not urgent, so a queue parked in backoff stays parked. The fan-out
    takes this lock after the feed counter, so a transaction that wakes a webhook must not also
    append events (it would take the two locks in the other order).
    """
    now = utcnow()
    stmt = insert_for(session, Job).values(
        kind=JOB_KIND,
        payload={"webhook_id": webhook_id},
        status="pending",
        dedupe_key=wake_key(webhook_id),
        attempts=0,
        max_attempts=JOB_ATTEMPTS,
        run_at=at or now,
        created_at=now,
        updated_at=now,
    )
    new = stmt.excluded
    revive = Job.status.in_(("done", "failed"))
    run_at = case((revive, new.run_at), else_=Job.run_at)
    if urgent:
        run_at = case(
            (revive, new.run_at), ((Job.status == "pending") & (new.run_at < Job.run_at), new.run_at), else_=Job.run_at
        )
    return stmt.on_conflict_do_update(
        index_elements=["dedupe_key"],
        set_={
            "status": case((revive, "pending"), else_=Job.status),
            "attempts": case((revive, 0), else_=Job.attempts),
            "run_at": run_at,
            "updated_at": new.updated_at,
        },
    )


async def wake(session: AsyncSession, webhook_id: int, *, at: datetime | None = None) -> None:
    await session.execute(wake_statement(session, webhook_id, at=at))


async def hold_key(session: AsyncSession, job_id: int, webhook_id: int) -> bool:
    """True when job `job_id` holds (or could take) the webhook's key. A race on the unique key
    raises IntegrityError: treat it as "not held"."""
    key = wake_key(webhook_id)
    if await session.scalar(select(Job.dedupe_key).where(Job.id == job_id)) == key:
        return True
    if await session.scalar(select(Job.id).where(Job.dedupe_key == key)) is not None:
        return False
    await session.execute(update(Job).where(Job.id == job_id).values(dedupe_key=key))
    return True


async def drop_key(session: AsyncSession, job_id: int) -> None:
    """Waits for every transaction that touched the job (wake_statement) to commit first."""
    await session.execute(update(Job).where(Job.id == job_id).values(dedupe_key=None))


# --------------------------------------------------------------------------- subscriptions


async def create_webhook(
    session: AsyncSession, *, url: str, events: list[str], secret_sealed: str, description: str, enabled: bool
) -> Webhook:
    webhook = Webhook(url=url, events=events, secret_sealed=secret_sealed, description=description, enabled=enabled)
    session.add(webhook)
    await session.flush()
    return webhook


async def list_webhooks(
    session: AsyncSession, *, after_id: int | None = None, limit: int | None = None
) -> list[Webhook]:
    query = select(Webhook).order_by(Webhook.id).limit(limit)
    if after_id is not None:
        query = query.where(Webhook.id > after_id)
    return list(await session.scalars(query))


async def get_webhook(session: AsyncSession, webhook_id: int) -> Webhook:
    webhook = await session.get(Webhook, webhook_id)
    if webhook is None:
        raise NotFound(f"webhook {webhook_id} not found")
    return webhook


async def delete_webhook(session: AsyncSession, webhook_id: int) -> None:
    """Its deliveries go with it (ON DELETE CASCADE); a leftover keyed job finds no webhook and ends."""
    await session.delete(await get_webhook(session, webhook_id))


# --------------------------------------------------------------------------- deliveries


async def head(session: AsyncSession, webhook_id: int) -> WebhookDelivery | None:
    """The next delivery of the webhook's queue: its pending delivery with the smallest event id."""
    return await session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "pending")
        .order_by(WebhookDelivery.event_id)
        .limit(1)
    )


async def record_attempt(
    session: AsyncSession,
    delivery_id: int,
    *,
    delivered: bool,
    response_status: int | None,
    response_body: str | None,
    error: str | None,
    retry_at: datetime | None,
) -> None:
    """Count one attempt: delivered, or pending until `retry_at`, or (retry_at None) failed for good."""
    now = utcnow()
    status = "delivered" if delivered else "pending" if retry_at is not None else "failed"
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=status,
            attempts=WebhookDelivery.attempts + 1,
            response_status=response_status,
            response_body=response_body,
            last_error=error,
            next_attempt_at=None if delivered else retry_at,
            delivered_at=now if delivered else None,
            updated_at=now,
        )
    )


async def list_deliveries(
    session: AsyncSession,
    webhook_id: int,
    *,
    status: str | None = None,
    before_event_id: int | None = None,
    limit: int = 50,
) -> list[tuple[WebhookDelivery, str]]:
    """(delivery, event type), newest event first."""
    query = (
        select(WebhookDelivery, DomainEvent.type)
        .join(DomainEvent, DomainEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.event_id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before_event_id is not None:
        query = query.where(WebhookDelivery.event_id < before_event_id)
    return [(delivery, type_) for delivery, type_ in await session.execute(query)]


async def get_delivery(session: AsyncSession, webhook_id: int, delivery_id: int) -> tuple[WebhookDelivery, str]:
    row = (
        await session.execute(
            select(WebhookDelivery, DomainEvent.type)
            .join(DomainEvent, DomainEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"delivery {delivery_id} of webhook {webhook_id} not found")
    return row[0], row[1]


async def requeue(session: AsyncSession, delivery: WebhookDelivery) -> None:
    """Make a delivery pending again with a fresh retry schedule, and wake its webhook now."""
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = None
    delivery.delivered_at = None
    delivery.updated_at = utcnow()
    await session.flush()
    await wake(session, delivery.webhook_id)


async def resume(session: AsyncSession, webhook_id: int) -> None:
    """Retry the head now (its backoff is cleared, its attempts kept) and wake the webhook."""
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "pending")
        .where(WebhookDelivery.next_attempt_at.is_not(None))
        .values(next_attempt_at=None, updated_at=utcnow())
    )
    await wake(session, webhook_id)


async def pending_counts(session: AsyncSession, webhook_ids: Sequence[int]) -> dict[int, int]:
    """{webhook id: pending deliveries}: the backlog, read from the queue index."""
    if not webhook_ids:
        return {}
    rows = await session.execute(
        select(WebhookDelivery.webhook_id, func.count())
        .where(WebhookDelivery.webhook_id.in_(list(webhook_ids)), WebhookDelivery.status == "pending")
        .group_by(WebhookDelivery.webhook_id)
    )
    return {webhook_id: count for webhook_id, count in rows}
