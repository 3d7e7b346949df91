"""Webhook delivery through the outbox: signed, one at a time in event order, retried through outages, never lost."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, Response, post
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.db.engine import Database
from gateway.db.models import DomainEvent, Job, WebhookDelivery
from gateway.db.repositories import webhooks as repo
from gateway.db.repositories.feed import append_event
from gateway.outbound.jobs import JobQueue
from gateway.outbound.webhooks import standard_key
from gateway.runtime import Runtime
from gateway.sealing import SecretBox
from tests.api.support import add_channel, api_settings, say

SECRET = "whsec_receiver_test_secret_0123"  # chosen by hand: not base64, so its bytes are the key
CRM = "http://crm.test"


class Receiver:
    """A CRM endpoint written from docs/webhooks.md: checks X-Kefu-Signature, can be down or choke on one event."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.accepted: dict[str, list[dict[str, Any]]] = {}  # path → bodies, in arrival order
        self.attempts: list[int] = []  # event id of every request
        self.bad = 0  # requests failing verification
        self.down = False  # answer 503 to everything
        self.poison: set[str] = set()  # message contents answered with 500, always

        @post("/{name:str}")
        async def hook(name: str, request: Request[Any, Any, Any]) -> Response[None]:
            body = await request.body()
            event = json.loads(body)
            self.attempts.append(event["id"])
            if not self.verify(request.headers, body) or request.headers["x-kefu-event-id"] != str(event["id"]):
                self.bad += 1
                return Response(None, status_code=401)
            if self.down:
                return Response(None, status_code=503)
            if event["data"].get("content") in self.poison:
                return Response(None, status_code=500)
            self.accepted.setdefault(name, []).append(event)
            return Response(None, status_code=204)

        self.app = Litestar([hook])

    def verify(self, headers: Any, body: bytes) -> bool:
        """Both schemes must hold: Standard Webhooks (checked by its own library) and X-Kefu-Signature."""
        key = standard_key(self.secret)  # a secret that is not whsec_<base64> signs with its own bytes
        try:
            StandardWebhook(key).verify(
                body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
            )
        except (WebhookVerificationError, KeyError):
            return False
        timestamp = headers["x-kefu-timestamp"]
        expected = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(timestamp)) < 300
        return fresh and hmac.compare_digest(headers["x-kefu-signature"], f"v1={expected}")

    def ids(self, name: str = "hook") -> list[int]:
        return [e["id"] for e in self.accepted.get(name, [])]


@pytest.fixture
async def receiver() -> Receiver:
    return Receiver(SECRET)


@pytest.fixture
async def runtime(db: Database, receiver: Receiver) -> AsyncIterator[Runtime]:
    http = httpx.AsyncClient(mounts={CRM: httpx.ASGITransport(app=receiver.app)})
    rt = Runtime(api_settings(db), db=db, http_client=http)
    rt.webhooks.schedule = (0.05,) * 8
    yield rt
    await http.aclose()


async def subscribe(
    db: Database,
    box: SecretBox,
    path: str = "hook",
    *,
    events: list[str] | None = None,
    enabled: bool = True,
    secret: str = SECRET,
) -> int:
    async with db.session() as session:
        webhook = await repo.create_webhook(
            session,
            url=f"{CRM}/{path}",
            events=events or [],
            secret_sealed=box.seal(secret),
            description="",
            enabled=enabled,
        )
        return webhook.id


async def pump(runtime: Runtime, done: Callable[[], Awaitable[bool]], *, timeout: float = 15.0) -> None:
    """Run the job loop until `done()`, as `serve` would (due jobs only)."""
    deadline = time.monotonic() + timeout
    while not await done():
        assert time.monotonic() < deadline, "timed out"
        await runtime.jobs.run_once()
        await asyncio.sleep(0.01)


async def event_ids(db: Database) -> list[int]:
    async with db.sessions() as session:
        return list(await session.scalars(select(DomainEvent.id).order_by(DomainEvent.id)))


async def deliveries(db: Database, status: str | None = None) -> list[WebhookDelivery]:
    async with db.sessions() as session:
        query = select(WebhookDelivery).order_by(WebhookDelivery.event_id)
        if status:
            query = query.where(WebhookDelivery.status == status)
        return list(await session.scalars(query))


async def settled(db: Database) -> bool:
    """No delivery is pending any more."""
    return not await deliveries(db, "pending")


async def live_jobs(db: Database) -> int:
    async with db.sessions() as session:
        return await session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == "deliver_webhook", Job.status != "done")
        )


async def test_signed_body_and_headers_in_event_order(db, box, runtime, receiver) -> None:
    await subscribe(db, box)
    channel = await add_channel(db, box)
    for n in range(3):
        await say(db, channel, "kf1", "alice", f"a{n}")
        await say(db, channel, "kf1", "bob", f"b{n}")
    ids = await event_ids(db)
    await pump(runtime, lambda: _true(len(receiver.ids()) == len(ids)))
    assert receiver.bad == 0
    assert receiver.ids() == ids  # every event, once, in id order
    first = receiver.accepted["hook"][0]
    assert set(first) == {"id", "type", "created_at", "data"} and first["type"] == "contact.created"
    messages = [e for e in receiver.accepted["hook"] if e["type"] == "message.created"]
    assert [e["data"]["content"] for e in messages] == ["a0", "b0", "a1", "b1", "a2", "b2"]
    assert all(d.status == "delivered" and d.attempts == 1 and d.response_status == 204 for d in await deliveries(db))


async def _true(value: bool) -> bool:
    return value


async def test_receiver_down_for_a_while_gets_everything_once_in_order(db, box, runtime, receiver) -> None:
    await subscribe(db, box)
    channel = await add_channel(db, box)
    receiver.down = True
    await say(db, channel, "kf1", "alice", "a1")
    await say(db, channel, "kf1", "bob", "b1")
    head = (await event_ids(db))[0]
    await pump(runtime, lambda: _true(len(receiver.attempts) >= 3))
    for text in ("a2", "b2", "a3"):  # events keep coming during the outage
        await say(db, channel, "kf1", "alice" if text[0] == "a" else "bob", text)
    await pump(runtime, lambda: _true(len(receiver.attempts) >= 5))
    assert set(receiver.attempts) == {head}  # the queue stops at its head: nothing overtakes it
    assert await live_jobs(db) == 1  # one parked wake-up, however many events arrived
    receiver.down = False
    ids = await event_ids(db)
    await pump(runtime, lambda: _true(len(receiver.ids()) == len(ids)))
    await runtime.jobs.drain()
    assert receiver.ids() == ids and receiver.bad == 0
    per_conversation: dict[int, list[int]] = {}
    for event in receiver.accepted["hook"]:
        if "conversation_id" in event["data"]:
            per_conversation.setdefault(event["data"]["conversation_id"], []).append(event["id"])
    assert len(per_conversation) == 2 and all(v == sorted(v) for v in per_conversation.values())
    rows = await deliveries(db)
    assert rows[0].attempts >= 5 and all(r.status == "delivered" for r in rows)
    assert runtime.metrics.registry.get_sample_value("gateway_webhook_failures_total") >= 4


async def test_a_delivery_that_keeps_failing_is_given_up_and_the_queue_moves_on(db, box, runtime, receiver) -> None:
    runtime.webhooks.schedule = (0.01, 0.02)  # three attempts in all
    await subscribe(db, box)
    channel = await add_channel(db, box)
    receiver.poison.add("poison")
    for text in ("ok1", "poison", "ok2"):
        await say(db, channel, "kf1", "alice", text)
    ids = await event_ids(db)
    await pump(runtime, lambda: settled(db))
    failed = await deliveries(db, "failed")
    assert len(failed) == 1
    assert (failed[0].attempts, failed[0].response_status, failed[0].last_error) == (3, 500, "HTTP 500")
    assert failed[0].next_attempt_at is None
    assert receiver.ids() == [i for i in ids if i != failed[0].event_id]
    after = receiver.attempts[receiver.attempts.index(failed[0].event_id) :]
    assert after[:3] == [failed[0].event_id] * 3  # retried in place before the next event went


async def test_disabled_webhook_gets_nothing_and_filters_apply(db, box, runtime, receiver) -> None:
    await subscribe(db, box, "off", enabled=False)
    await subscribe(db, box, "convs", events=["conversation.created"])
    await subscribe(db, box, "all")
    channel = await add_channel(db, box)
    await say(db, channel, "kf1", "alice", "hi")
    await say(db, channel, "kf1", "bob", "hi")
    ids = await event_ids(db)
    await pump(runtime, lambda: _true(len(receiver.ids("all")) == len(ids)))
    await runtime.jobs.drain()
    assert "off" not in receiver.accepted
    assert [e["type"] for e in receiver.accepted["convs"]] == ["conversation.created"] * 2
    assert len(await deliveries(db)) == len(ids) + 2  # none at all for the disabled one


async def test_a_worker_dying_mid_delivery_loses_nothing(db, box, runtime, receiver) -> None:
    await subscribe(db, box)
    channel = await add_channel(db, box)
    await say(db, channel, "kf1", "alice", "before")
    dead = JobQueue(db, lease=0.2)  # claims the wake-up, then "crashes" without a word
    assert [j.kind for j in await dead.claim(kinds=["deliver_webhook"])] == ["deliver_webhook"]
    await say(db, channel, "kf1", "alice", "during")  # coalesces into the dead worker's job
    assert await runtime.jobs.run_once() == 0 and receiver.ids() == []
    ids = await event_ids(db)
    await pump(runtime, lambda: _true(len(receiver.ids()) == len(ids)))  # reclaimed once the lease ends
    assert receiver.ids() == ids


async def test_a_drain_past_its_budget_hands_over_without_reordering(db, box, runtime, receiver) -> None:
    runtime.webhooks.budget = 0  # one attempt per job run, then a fresh wake-up takes over
    await subscribe(db, box)
    channel = await add_channel(db, box)
    for n in range(4):
        await say(db, channel, "kf1", "alice", f"m{n}")
    ids = await event_ids(db)
    await pump(runtime, lambda: _true(len(receiver.ids()) == len(ids)))
    assert receiver.ids() == ids and receiver.attempts == ids
    async with db.sessions() as session:
        runs = await session.scalar(select(func.count()).select_from(Job).where(Job.kind == "deliver_webhook"))
    assert runs >= len(ids)


async def test_events_and_deliveries_share_the_writers_transaction(db, box, runtime, receiver) -> None:
    webhook_id = await subscribe(db, box)
    async with db.sessions() as session:
        await append_event(session, "contact.updated", {"contact_id": 1})
        await session.rollback()
    async with db.sessions() as session:
        kept = await append_event(session, "contact.updated", {"n": "kept"})
        savepoint = await session.begin_nested()
        await append_event(session, "contact.updated", {"n": "dropped"})
        await savepoint.rollback()
        session.add(DomainEvent(type="contact.updated", payload={"n": "added"}))  # not through append_event
        assert kept.id is None  # ids are taken at commit
        await session.commit()
    assert kept.id is not None
    async with db.sessions() as session:
        events = list(await session.scalars(select(DomainEvent).order_by(DomainEvent.id)))
        jobs = list(await session.scalars(select(Job)))
    assert [e.payload["n"] for e in events] == ["kept", "added"] and events[0].id == kept.id
    assert [(d.webhook_id, d.event_id) for d in await deliveries(db)] == [(webhook_id, e.id) for e in events]
    assert [(j.kind, j.dedupe_key) for j in jobs] == [("deliver_webhook", f"webhook:{webhook_id}")]


async def test_a_generated_secret_verifies_with_the_standard_library_as_given(db, box, runtime) -> None:
    """What a receiver does with the secret the API showed: hand the whsec_ string to a Standard Webhooks library."""
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    seen: list[tuple[bytes, dict[str, str]]] = []

    @post("/std")
    async def hook(request: Request[Any, Any, Any]) -> Response[None]:
        seen.append((await request.body(), dict(request.headers)))
        return Response(None, status_code=204)

    runtime.webhooks.http = httpx.AsyncClient(mounts={CRM: httpx.ASGITransport(app=Litestar([hook]))})
    await subscribe(db, box, "std", secret=secret)
    await say(db, await add_channel(db, box), "kf1", "alice", "hi")
    await pump(runtime, lambda: _true(bool(seen)))
    body, headers = seen[0]
    event = StandardWebhook(secret).verify(body, headers)
    assert event["id"] == int(headers["webhook-id"])
    with pytest.raises(WebhookVerificationError):
        StandardWebhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(body, headers)


async def test_delivery_attempts_are_timed_by_result(db, box, runtime, receiver) -> None:
    await subscribe(db, box)
    await say(db, await add_channel(db, box), "kf1", "alice", "hi")
    receiver.down = True
    await runtime.jobs.run_once()
    receiver.down = False
    await pump(runtime, lambda: settled(db))
    registry = runtime.metrics.registry
    assert registry.get_sample_value("gateway_webhook_delivery_seconds_count", {"result": "failed"}) >= 1
    assert registry.get_sample_value("gateway_webhook_delivery_seconds_count", {"result": "delivered"}) >= 1
