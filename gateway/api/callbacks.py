"""`GET/POST /callbacks/{channel_id}`: verify, decrypt, store once, ack fast; WeCom kicks a sync.

The answer never waits for the platform: WeCom content is pulled by the sync loop after the ack;
MP content (pushed in the callback) is ingested in the same transaction as the inbound event.
Callbacks arriving together share that transaction (gateway.intake: group commit); each is
answered only after the COMMIT that stored it.
A bad signature or body answers 400 with a stable code and writes nothing.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote

from litestar import Request, Response, route

from gateway.channels.base import CallbackRequest
from gateway.errors import CallbackError, GatewayError
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

MAX_CALLBACK_BODY = 512 * 1024


def exact_query(raw: bytes) -> dict[str, str]:
    """Decode a query string keeping '+' as '+': echostr and signatures are base64 (API.md §7.10)."""
    out: dict[str, str] = {}
    for pair in raw.decode("latin-1").split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        out.setdefault(unquote(key), unquote(value))
    return out


@route(
    "/callbacks/{channel_id:int}",
    http_method=["GET", "POST"],
    request_max_body_size=MAX_CALLBACK_BODY,
    include_in_schema=True,
    tags=["callbacks"],
)
async def callback(request: Request, channel_id: int, runtime: Runtime) -> Response[Any]:
    """Platform callbacks (authenticated by their signatures, not API keys)."""
    metrics = runtime.metrics.callbacks
    try:
        channel = await runtime.channel(channel_id)
        body = await request.body() if request.method == "POST" else b""
        result = await channel.handle_callback(
            CallbackRequest(
                method=request.method,
                query=exact_query(request.scope.get("query_string", b"")),
                body=body,
                content_type=request.headers.get("content-type", ""),
            )
        )
    except CallbackError as exc:
        metrics.labels(str(channel_id), exc.code).inc()
        log.info("callback refused on channel %s: %s (%s)", channel_id, exc.code, exc.sdk_code)
        raise
    except GatewayError as exc:
        metrics.labels(str(channel_id), exc.code).inc()
        raise
    if result.event_key is not None:
        new = await runtime.intake.record(channel_id, result)  # answered after the (shared) COMMIT
        metrics.labels(str(channel_id), "accepted" if new else "duplicate").inc()
        if result.pull is not None:
            runtime.syncer.wake(channel_id, result.pull.stream)
    else:
        metrics.labels(str(channel_id), "verified").inc()
    return Response(result.reply, media_type=result.media_type, status_code=200)
