"""Every request gets an id and one access line; its time goes into a histogram by route template.

The id is the client's `X-Request-ID` when it sends a sane one (up to 128 of `A–Z a–z 0–9 . _ -`),
else a new one; it is answered in `X-Request-ID`, set on every log line the request writes
(gateway.logs.REQUEST_ID) and carried into the jobs it queues (gateway.outbound.jobs), so a CRM
reply can be followed from the POST to the platform call. The access line is INFO:
`<method> <route template> <status> <ms> ms`. Route templates (`/api/v1/conversations/{conversation_id}`)
keep the metric's label values bounded whatever paths clients send.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.logs import REQUEST_ID
from gateway.metrics import Metrics

log = logging.getLogger("gateway.access")
HEADER = b"x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")
QUIET = frozenset({"/healthz", "/readyz", "/metrics"})  # probes: timed, not logged


def request_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == HEADER:
            text = value.decode("latin-1").strip()
            if _SANE.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request_id = request_id_of(scope["headers"])
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.http_duration.labels(method, route, f"{status // 100}xx").observe(elapsed)
            if route not in QUIET:
                log.info("%s %s %s %.1f ms", method, route, status, elapsed * 1000)
            REQUEST_ID.reset(token)
