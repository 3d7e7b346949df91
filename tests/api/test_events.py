"""/api/v1/events and /api/v1/events/stream: the feed pages by commit-ordered id and streams live over SSE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text, update

from gateway.api import events as events_api
from gateway.api.app import create_app
from gateway.db.engine import Database
from gateway.db.models import Contact
from gateway.db.repositories.feed import append_event
from gateway.runtime import Runtime
from gateway.sealing import SecretBox
from tests.api.support import Api, add_channel, api_settings, make_keys, say


@dataclass
class EventsApi(Api):
    app: Litestar | None = None


@pytest.fixture
async def api(db: Database, box: SecretBox) -> AsyncIterator[EventsApi]:
    """The app on the test's own event loop (ASGITransport), so SSE and commits share it."""
    settings = api_settings(db)
    app = create_app(settings, runtime=Runtime(settings, db=db), background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        yield EventsApi(client, db, box, await make_keys(db), app=app)


class Stream:
    """Drives the ASGI app directly and hands out SSE frames as they are sent (test clients buffer
    whole responses, which an endless stream never finishes); leaving disconnects the client."""

    def __init__(self, app: Litestar, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": parts.path,
            "raw_path": parts.path.encode(),
            "query_string": parts.query.encode(),
            "root_path": "",
            "client": ("127.0.0.1", 50000),
            "server": ("gateway", 80),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        self.app = app
        self.status: int | None = None
        self.started = asyncio.Event()
        self.gone = asyncio.Event()
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self.buffer = ""
        self.requested = False

    async def __aenter__(self) -> Stream:
        self.task = asyncio.create_task(self.app(self.scope, self._receive, self._send))
        await asyncio.wait_for(self.started.wait(), 5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.gone.set()
        await asyncio.wait_for(self.task, 5)

    async def _receive(self) -> dict[str, Any]:
        if not self.requested:
            self.requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.started.set()
        elif message.get("body"):
            await self.chunks.put(message["body"])

    async def frame(self, timeout: float = 5.0) -> dict[str, str]:
        """The next frame as {"id", "event", "data"} or {"comment"}; the opening resume point is skipped
        (test_stream_opens_with_its_resume_point reads it)."""
        while True:
            fields = await self.raw_frame(timeout)
            if fields.get("comment") != "resume point":
                return fields

    async def raw_frame(self, timeout: float = 5.0) -> dict[str, str]:
        while "\r\n\r\n" not in self.buffer:
            self.buffer += (await asyncio.wait_for(self.chunks.get(), timeout)).decode()
        raw, self.buffer = self.buffer.split("\r\n\r\n", 1)
        fields: dict[str, str] = {}
        for line in raw.split("\r\n"):
            key, _, value = line.partition(": ")
            fields[key or "comment"] = value
        return fields


def stream(api: EventsApi, url: str, **headers: str) -> Stream:
    assert api.app is not None
    return Stream(api.app, url, {**api.headers("read"), **headers})


async def test_pages_by_id_with_type_filters(api: EventsApi, box: SecretBox) -> None:
    channel = await add_channel(api.db, box)
    await say(api.db, channel, "kf1", "alice", "one")
    await say(api.db, channel, "kf1", "alice", "two")
    await say(api.db, channel, "kf1", "bob", "three")
    everything = (await api.get("/api/v1/events")).json()
    types = [e["type"] for e in everything["data"]]
    assert types == [
        "contact.created",
        "conversation.created",
        "message.created",
        "message.created",
        "contact.created",
        "conversation.created",
        "message.created",
    ]
    ids = [e["id"] for e in everything["data"]]
    assert ids == sorted(ids) and everything["next_after"] == ids[-1] and everything["has_more"] is False
    assert everything["next_cursor"]  # a feed has no last page: the cursor to poll next
    first = everything["data"][2]
    assert set(first) == {"id", "type", "created_at", "data"} and first["data"]["content"] == "one"

    page = (await api.get("/api/v1/events?limit=3")).json()
    assert [e["id"] for e in page["data"]] == ids[:3] and page["has_more"] and page["next_after"] == ids[2]
    rest = (await api.get("/api/v1/events", params={"cursor": page["next_cursor"], "limit": 10})).json()
    assert [e["id"] for e in rest["data"]] == ids[3:] and rest["has_more"] is False
    # the deprecated ?after=<event id> alias answers the same page
    alias = (await api.get(f"/api/v1/events?after={page['next_after']}&limit=10")).json()
    assert alias == rest

    messages = (await api.get("/api/v1/events?types=message.created")).json()
    assert [e["data"]["content"] for e in messages["data"]] == ["one", "two", "three"]
    both = (await api.get("/api/v1/events?types=contact.created,conversation.created")).json()["data"]
    repeated = (await api.get("/api/v1/events?types=contact.created&types=conversation.created")).json()["data"]
    not_messages = [i for i, t in zip(ids, types, strict=True) if "message" not in t]
    assert [e["id"] for e in both] == [e["id"] for e in repeated] == not_messages
    merges = (await api.get("/api/v1/events?types=contact.merged")).json()
    assert merges["data"] == [] and merges["next_after"] == ids[-1]  # the cursor moves past what was filtered out
    assert merges["next_cursor"] == everything["next_cursor"]
    quiet = (await api.get("/api/v1/events", params={"cursor": merges["next_cursor"]})).json()
    assert quiet == {"data": [], "next_cursor": merges["next_cursor"], "has_more": False, "next_after": ids[-1]}


async def test_bad_queries_and_keys(api: EventsApi) -> None:
    bad = await api.get("/api/v1/events?types=message.exploded")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "types"
    assert (await api.get("/api/v1/events?limit=0")).status_code in (400, 422)
    cursor = (await api.get("/api/v1/events")).json()["next_cursor"]
    both = await api.get("/api/v1/events", params={"cursor": cursor, "after": 0})
    assert both.status_code == 422 and both.json()["error"]["field"] == "after"
    for foreign in ("nope", (await api.get("/api/v1/contacts")).json()["next_cursor"] or "eyJ4Il0"):
        refused = await api.get("/api/v1/events", params={"cursor": foreign})
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "cursor"
        refused = await api.get("/api/v1/events/stream", params={"cursor": foreign})
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "cursor"
    assert (await api.get("/api/v1/events", as_=None)).status_code == 401
    assert (await api.get("/api/v1/events/stream", as_=None)).status_code == 401
    assert (await api.get("/api/v1/events/stream?types=nope")).status_code == 422
    assert (await api.get("/api/v1/events/stream", headers={"Last-Event-ID": "x"})).status_code == 422


async def test_stream_delivers_a_newly_ingested_message(api: EventsApi, box: SecretBox, monkeypatch) -> None:
    monkeypatch.setattr(events_api, "POLL_INTERVAL", 30.0)  # only the in-process commit wake-up can be fast
    channel = await add_channel(api.db, box)
    await say(api.db, channel, "kf1", "alice", "old news")
    async with stream(api, "/api/v1/events/stream?types=message.created") as live:
        assert live.status == 200
        await asyncio.sleep(0.05)  # let the stream start at the current end of the feed
        await say(api.db, channel, "kf1", "alice", "fresh")
        frame = await live.frame(timeout=5)
    assert frame["event"] == "message.created"
    data = json.loads(frame["data"])
    assert frame["id"] == str(data["id"]) and data["data"]["content"] == "fresh"


async def test_stream_resumes_after_last_event_id_and_sends_heartbeats(
    api: EventsApi, box: SecretBox, monkeypatch
) -> None:
    monkeypatch.setattr(events_api, "HEARTBEAT", 0.1)
    channel = await add_channel(api.db, box)
    await say(api.db, channel, "kf1", "alice", "one")
    await say(api.db, channel, "kf1", "alice", "two")
    ids = [e["id"] for e in (await api.get("/api/v1/events")).json()["data"]]
    async with stream(api, "/api/v1/events/stream?after=0", **{"Last-Event-ID": str(ids[2])}) as live:
        frames = [await live.frame() for _ in ids[3:]]
        assert [int(f["id"]) for f in frames] == ids[3:]  # the header wins over ?after=
        assert (await live.frame(timeout=2)) == {"comment": "keep-alive"}


async def test_stream_opens_with_its_resume_point(api: EventsApi, box: SecretBox) -> None:
    """An id-only first frame: a browser that reconnects before any event sends it as Last-Event-ID."""
    channel = await add_channel(api.db, box)
    await say(api.db, channel, "kf1", "alice", "one")
    newest = (await api.get("/api/v1/events")).json()["next_after"]
    async with stream(api, "/api/v1/events/stream") as live:
        assert await live.raw_frame() == {"comment": "resume point", "id": str(newest)}
    async with stream(api, "/api/v1/events/stream", **{"Last-Event-ID": "1"}) as live:
        assert await live.raw_frame() == {"comment": "resume point", "id": "1"}


@pytest.fixture
def postgres_only(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer: transactions cannot interleave")


async def test_a_late_commit_with_an_early_start_is_not_skipped(api: EventsApi, box: SecretBox, postgres_only) -> None:
    """T1 starts and writes first but commits last: its event must still reach an `after=` poller."""
    channel = await add_channel(api.db, box)
    await say(api.db, channel, "kf1", "alice", "hi")
    seen = (await api.get("/api/v1/events")).json()["next_cursor"]
    async with api.db.sessions() as t1:
        await t1.execute(update(Contact).values(name="T1 was here"))  # T1 holds row locks from here on
        await append_event(t1, "contact.updated", {"by": "T1"})
        await t1.flush()
        async with api.db.session() as t2:
            await append_event(t2, "contact.updated", {"by": "T2"})
        page = (await api.get("/api/v1/events", params={"cursor": seen})).json()
        assert [e["data"]["by"] for e in page["data"]] == ["T2"]
        seen = page["next_cursor"]
        t2_id = page["data"][0]["id"]
        await t1.commit()
    late = (await api.get("/api/v1/events", params={"cursor": seen})).json()["data"]
    assert [e["data"]["by"] for e in late] == ["T1"] and late[0]["id"] > t2_id


async def test_a_commit_waits_for_the_counter_and_takes_the_next_id(api: EventsApi, postgres_only) -> None:
    """While another transaction is inside its commit (holding the counter row), ours waits behind it."""
    async with api.db.session() as session:
        await append_event(session, "contact.updated", {"n": 0})
    async with api.db.engine.connect() as other:
        bump = text("UPDATE feed_counter SET last_event_id = last_event_id + 1 RETURNING last_event_id")
        taken = (await other.execute(bump)).scalar_one()

        async def write() -> int:
            async with api.db.session() as session:
                event = await append_event(session, "contact.updated", {"n": 1})
            return event.id

        writer = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writer.done()  # blocked on the counter row
        await other.commit()
        assert await asyncio.wait_for(writer, 5) == taken + 1


async def test_a_writer_holding_a_contact_row_does_not_deadlock_the_commit_tail(
    api: EventsApi, box: SecretBox, postgres_only
) -> None:
    """T1 changed a contact's unique key (row FOR UPDATE) and commits while T2, writing an event about
    the same contact, is already committing: T2 must wait for T1 before taking the counter, not after."""
    await say(api.db, await add_channel(api.db, box), "kf1", "alice", "hi")
    async with api.db.sessions() as session:
        contact_id = (await session.execute(text("SELECT id FROM contacts"))).scalar_one()
    async with api.db.sessions() as t1:
        await t1.execute(update(Contact).where(Contact.id == contact_id).values(external_id="crm-1"))
        await append_event(t1, "contact.updated", {"by": "T1"}, contact_id=contact_id)

        async def t2() -> None:
            async with api.db.session() as session:
                await append_event(session, "contact.updated", {"by": "T2"}, contact_id=contact_id)

        writer = asyncio.create_task(t2())
        await asyncio.sleep(0.3)
        await asyncio.wait_for(t1.commit(), 5)
        await asyncio.wait_for(writer, 5)
    events = (await api.get("/api/v1/events?types=contact.updated")).json()["data"]
    assert [e["data"]["by"] for e in events] == ["T1", "T2"]
