"""Load shedding for the REST API, so callbacks keep their deadline (docs/security.md, "Load and overload").

`Admission` lets a bounded number of requests run at once and a bounded number wait, each for a
bounded time; the rest are refused at once. `AdmissionMiddleware` puts /api/v1 behind it (uploads
behind a smaller gate of their own, since each may carry tens of megabytes) and answers a refused
request 503 `overloaded` with `Retry-After` before reading its body or checking its key, so shed
load costs neither memory nor a database connection. Callbacks, /healthz and /readyz never pass
through it. An event stream holds its slot only until its response starts; `StreamLimits` bounds
the streams themselves, per actor (429 `too_many_streams`) and in total (503 `overloaded`).
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send

from gateway.errors import Overloaded, TooManyStreams

API_PREFIX = "/api/v1/"
STREAM_PATH = "/api/v1/events/stream"
UPLOAD_SUFFIXES = ("/media", "/messages/upload")


class Admission:
    """At most `limit` holders; up to `queue` more wait (first come, first served) for `timeout` seconds."""

    def __init__(self, limit: int, queue: int, timeout: float) -> None:
        self.limit = limit
        self.queue = queue
        self.timeout = timeout
        self.active = 0
        self.refused = 0  # requests shed since start (tests and /metrics-minded readers)
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    async def acquire(self) -> bool:
        """True with a slot held (give it back with `release()`); False when the request is shed."""
        if self.active < self.limit and not self.waiting:
            self.active += 1
            return True
        if self.waiting >= self.queue or self.timeout <= 0:
            self.refused += 1
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, self.timeout)  # release() hands its slot over by resolving it
            return True
        except TimeoutError:
            self.refused += 1
            return False
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot arrived as the request went away
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
            if waiter.cancelled() and waiter in self._waiters:
                self._waiters.remove(waiter)

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes straight on: `active` stays
                return
        self.active -= 1


class AdmissionMiddleware:
    """ASGI middleware: /api/v1 requests through `requests` (uploads through `uploads` as well)."""

    def __init__(self, app: ASGIApp, requests: Admission, uploads: Admission) -> None:
        self.app = app
        self.requests = requests
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != ScopeType.HTTP or not path.startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        gates = [self.requests]
        if scope.get("method") == "POST" and path.endswith(UPLOAD_SUFFIXES):
            gates.append(self.uploads)
        held: list[Admission] = []
        try:
            for gate in gates:
                if not await gate.acquire():
                    await _refuse(send)
                    return
                held.append(gate)
            if path == STREAM_PATH:  # the slot covers the key check and set-up, not the stream's life
                send = _releasing_at_start(send, held)
            await self.app(scope, receive, send)
        finally:
            for gate in held:
                gate.release()
            held.clear()


def _releasing_at_start(send: Send, held: list[Admission]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            for gate in held:
                gate.release()
            held.clear()
        await send(message)

    return wrapped


OVERLOADED_BODY = msgspec.json.encode(
    {"error": {"code": Overloaded.code, "message": "the gateway is busy; retry after the Retry-After seconds"}}
)


async def _refuse(send: Send) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(Overloaded.retry_after).encode()),
        (b"content-length", str(len(OVERLOADED_BODY)).encode()),
    ]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": Overloaded.status_code,
        "headers": headers,
    }
    body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": OVERLOADED_BODY, "more_body": False}
    await send(start)
    await send(body)


class StreamLease:
    """One open event stream; `release()` may be called more than once."""

    def __init__(self, limits: StreamLimits, actor: str) -> None:
        self.limits = limits
        self.actor = actor
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.limits.open[self.actor] -= 1
            if self.limits.open[self.actor] <= 0:
                del self.limits.open[self.actor]


class StreamLimits:
    """Open event streams: at most `total` in the process and `per_actor` for one key or operator."""

    def __init__(self, total: int, per_actor: int) -> None:
        self.total = total
        self.per_actor = per_actor
        self.open: Counter[str] = Counter()

    def take(self, actor: str) -> StreamLease:
        if self.open[actor] >= self.per_actor:
            raise TooManyStreams(
                f"at most {self.per_actor} event streams per API key or operator; close one first",
                limit=self.per_actor,
            )
        if sum(self.open.values()) >= self.total:
            raise Overloaded("the gateway serves as many event streams as it takes; retry later")
        self.open[actor] += 1
        return StreamLease(self, actor)
