"""`/api/v1/events` (read scope): the domain event feed, paged by id, and live as Server-Sent Events.

Event ids are commit-ordered (gateway.db.repositories.feed), so a consumer that keeps the feed's
`next_cursor` and asks `?cursor=` with it (or reconnects with `Last-Event-ID`) never skips an event,
even when writers commit concurrently on PostgreSQL. The feed pages like every list (cursor,
next_cursor, gateway.api.listing) but has no last page: next_cursor is never null, `has_more` says
whether to ask again at once. `?after=<event id>` stays as a deprecated alias: an event id is what
consumers hold from the SSE stream (`id:`) and webhook bodies, and existing feed consumers store it.

The stream polls the table every POLL_INTERVAL seconds and is woken at once by commits in the same
process; it sends a comment every HEARTBEAT seconds so proxies keep the connection open.

Streams are limited (gateway.api.admission.StreamLimits): GATEWAY_MAX_STREAMS_PER_ACTOR per API key or
operator (429 `too_many_streams`) and GATEWAY_MAX_STREAMS in the process (503 `overloaded`). An
idle stream holds no database connection (each poll takes one and gives it back), and polls at most
every MIN_POLL_GAP seconds however often commits wake it, so a burst of callbacks costs each stream
a few reads, not one per commit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.background_tasks import BackgroundTask
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from msgspec import Struct

from gateway.api import listing
from gateway.api.actor import current_actor
from gateway.api.admission import StreamLease, StreamLimits
from gateway.api.auth import SECURITY
from gateway.api.listing import CursorParam
from gateway.db.engine import Database
from gateway.db.models import DomainEvent
from gateway.db.repositories import feed
from gateway.errors import InvalidRequest

POLL_INTERVAL = 0.5  # seconds between polls when no in-process commit wakes the stream
MIN_POLL_GAP = 0.2  # seconds at least between two polls of one stream
HEARTBEAT = 15.0  # seconds of silence before a keep-alive comment
STREAM_BATCH = 500

After = Annotated[
    int | None,
    Parameter(
        ge=0, description="deprecated alias of cursor: the last event id already seen (an SSE id: or webhook event id)"
    ),
]
Types = Annotated[
    list[str] | None,
    Parameter(description=f"only these types (repeat, or comma-separate): {', '.join(feed.EVENT_TYPES)}"),
]


class EventOut(Struct, kw_only=True):
    """Also the body of a webhook delivery."""

    id: int
    type: str
    created_at: datetime
    data: dict[str, Any]


class EventPage(Struct, kw_only=True):
    data: list[EventOut]  # oldest first
    # pass as ?cursor= next time; never null (a feed has no last page): it moves past filtered-out
    # events and stays put when nothing is new
    next_cursor: str
    has_more: bool  # more events are waiting now: ask again at once
    next_after: int  # deprecated: the event id next_cursor points after, for consumers of ?after=


FEED = "events"


def feed_position(cursor: str | None, after: int | None) -> int | None:
    """The event id to continue after: from `cursor`, or the deprecated `after` alias (not both)."""
    if cursor is not None and after is not None:
        raise InvalidRequest("give cursor or after, not both", field="after")
    key = listing.decode(cursor, FEED, (int,))
    return int(key[0]) if key is not None else after


def _types(raw: list[str] | None) -> list[str] | None:
    if not raw:
        return None
    types = [t.strip() for item in raw for t in item.split(",") if t.strip()]
    unknown = sorted(set(types) - set(feed.EVENT_TYPES))
    if unknown:
        raise InvalidRequest(f"unknown event types: {', '.join(unknown)}", field="types")
    return types or None


def _out(event: DomainEvent) -> EventOut:
    return EventOut(id=event.id, type=event.type, created_at=event.created_at, data=event.payload)


class EventController(Controller):
    path = "/api/v1/events"
    tags = ("events",)
    security = SECURITY

    @get("/")
    async def list_events(
        self,
        db: Database,
        cursor: CursorParam = None,
        after: After = None,
        limit: Annotated[int, Parameter(ge=1, le=1000, description="page size (1–1000, default 100)")] = 100,
        types: Types = None,
    ) -> EventPage:
        """Events after the cursor (without one: from the first event), oldest first. Keep the answer's
        `next_cursor` and ask with it next time; `has_more` says whether to ask again at once."""
        wanted = _types(types)
        start = feed_position(cursor, after) or 0
        async with db.sessions() as session:
            upto = await feed.last_event_id(session)
            rows = await feed.events_after(session, start, limit=limit + 1, types=wanted, upto=upto)
        page = rows[:limit]
        has_more = len(rows) > limit
        next_after = page[-1].id if has_more else max(start, upto)
        return EventPage(
            data=[_out(e) for e in page],
            next_cursor=listing.encode(FEED, (next_after,)),
            has_more=has_more,
            next_after=next_after,
        )

    @get("/stream", media_type="text/event-stream")
    async def stream(
        self,
        request: Request[Any, Any, Any],
        db: Database,
        streams: StreamLimits,
        cursor: Annotated[
            str | None, Parameter(max_length=512, description="a next_cursor of GET /api/v1/events: start there")
        ] = None,
        after: Annotated[int | None, Parameter(ge=0, description="start after this event id (default: now)")] = None,
        types: Types = None,
    ) -> ServerSentEvent:
        """`id:` event id, `event:` type, `data:` the event JSON. Starts after `Last-Event-ID` when the
        client reconnects, else after `?cursor=` (a feed page's next_cursor) or `?after=`, else at the
        newest event (only new ones follow); the first frame is `id:` alone, the position it starts
        after (what a reconnect sends back).
        429 `too_many_streams` when this key or operator already holds its streams."""
        wanted = _types(types)
        header = request.headers.get("last-event-id")
        if header:
            try:
                start = int(header)
            except ValueError:
                raise InvalidRequest("Last-Event-ID must be an event id", field="Last-Event-ID") from None
        elif (position := feed_position(cursor, after)) is not None:
            start = position
        else:
            async with db.sessions() as session:
                start = await feed.last_event_id(session)
        actor = current_actor(request)
        lease = streams.take(f"{actor.type}:{actor.id}")
        # released when the stream ends, and after the response in case the stream never started
        return ServerSentEvent(_follow(db, start, wanted, lease), background=BackgroundTask(lease.release))


class _Waker:
    """Set by feed's after-commit hook; lets an idle stream skip the rest of its poll interval."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def notify(self) -> None:
        self.event.set()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            pass
        self.event.clear()


async def _follow(
    db: Database, after: int, types: list[str] | None, lease: StreamLease
) -> AsyncIterator[ServerSentEventMessage]:
    waker = _Waker()
    feed.watch_commits(waker)
    try:
        # An id-only frame (no event is dispatched): a browser's EventSource takes it as its last
        # event id, so a reconnect sends Last-Event-ID and resumes here even when no event came yet.
        yield ServerSentEventMessage(id=after, comment="resume point", data=None)
        polled = 0.0
        quiet_since = time.monotonic()
        while True:
            await asyncio.sleep(max(0.0, polled + MIN_POLL_GAP - time.monotonic()))
            polled = time.monotonic()
            async with db.sessions() as session:
                upto = await feed.last_event_id(session)
                events = await feed.events_after(session, after, limit=STREAM_BATCH, types=types, upto=upto)
            for event in events:
                yield ServerSentEventMessage(
                    id=event.id, event=event.type, data=msgspec.json.encode(_out(event)).decode()
                )
            if len(events) == STREAM_BATCH:
                after = events[-1].id
                polled = 0.0  # catching up: the next page at once
                continue
            after = max(after, upto)
            if events:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= HEARTBEAT:
                yield ServerSentEventMessage(comment="keep-alive", data=None)
                quiet_since = time.monotonic()
            await waker.wait(POLL_INTERVAL)
    finally:
        feed.unwatch_commits(waker)
        lease.release()
