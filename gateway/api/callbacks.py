"""`GET/POST /callbacks/{channel_id}`: verify, decrypt, screen, store once, ack fast; WeCom kicks a sync.

The answer never waits for the platform: WeCom content is pulled by the sync loop after the ack;
MP content (pushed in the callback) is ingested in the same transaction as the inbound event.
Callbacks arriving together share that transaction (gateway.inbound.callbacks: group commit); each is
answered only after the COMMIT that stored it.

What each outcome answers (docs/security.md, "Callbacks: what is checked"):
- a bad signature, envelope or ciphertext: 400 with a stable code, nothing written;
- a verified POST whose signed timestamp is outside the replay window: 400 `callback_stale`, nothing written;
- a verified callback whose document breaks the platform's documented types or lengths, or that
  names a kf account the channel does not have: 200 "success" (so the platform stops retrying),
  kept as a rejected inbound event with its reason, logged and counted, nothing else written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from litestar import Request, Response, route

from gateway.channels.advice import channel_warnings
from gateway.channels.base import CallbackRequest, Channel
from gateway.channels.pool import ChannelPool
from gateway.errors import CallbackError, ChannelNotFound, GatewayError
from gateway.inbound.callbacks import CallbackWriter
from gateway.inbound.sync import Syncer
from gateway.metrics import Metrics
from gateway.wechat.xmlmsg import MalformedCallback

log = logging.getLogger(__name__)

MAX_CALLBACK_BODY = 512 * 1024
SUCCESS = "success"  # what both platforms take as "received": no retry follows


def exact_query(raw: bytes) -> dict[str, str]:
    """Decode a query string keeping '+' as '+': echostr and signatures are base64 (docs/platforms.md §7.10)."""
    out: dict[str, str] = {}
    for pair in raw.decode("latin-1").split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        out.setdefault(unquote(key), unquote(value))
    return out


@dataclass(frozen=True, slots=True)
class CallbackIntake:
    """What the callback route works with, handed in as ONE dependency (`intake`, gateway.api.app).

    Litestar resolves two or more dependencies of a handler in an anyio task group, one task per
    dependency, on every request: for four constants that cost each callback more CPU than its
    AES decryption (in-process, 32 concurrent callers). One dependency is awaited directly.
    """

    callbacks: CallbackWriter
    channels: ChannelPool
    metrics: Metrics
    syncer: Syncer


@route(
    "/callbacks/{channel_id:int}",
    http_method=["GET", "POST"],
    request_max_body_size=MAX_CALLBACK_BODY,
    include_in_schema=True,
    tags=["callbacks"],
)
async def callback(request: Request, channel_id: int, intake: CallbackIntake) -> Response[Any]:
    """Platform callbacks (authenticated by their signatures, not API keys)."""
    callbacks, channels, metrics, syncer = intake.callbacks, intake.channels, intake.metrics, intake.syncer
    counter = metrics.callbacks
    query = exact_query(request.scope.get("query_string", b""))
    body = b""
    try:
        channel = await channels.get(channel_id, db=callbacks.db)  # through the callbacks' own pool
        body = await request.body() if request.method == "POST" else b""
        try:
            result = await channel.handle_callback(
                CallbackRequest(
                    method=request.method, query=query, body=body, content_type=request.headers.get("content-type", "")
                )
            )
        except MalformedCallback as exc:  # the signature held: refuse the content, not the delivery
            callbacks.check_fresh(query.get("timestamp", ""))
            payload = exc.payload if exc.payload is not None else body.decode("utf-8", "replace")
            return await _reject(callbacks, metrics, channel_id, payload, exc.reason)
        if request.method == "POST":
            callbacks.check_fresh(query.get("timestamp", ""))
            _warn_once(callbacks, channel_id, channel)
    except CallbackError as exc:
        counter.labels(str(channel_id), exc.code).inc()
        log.info("callback refused on channel %s: %s (%s)", channel_id, exc.code, exc.message)
        raise
    except ChannelNotFound:
        # any number can be put in the path: unknown ids share one label, so the series stay bounded
        counter.labels("unknown", ChannelNotFound.code).inc()
        raise
    except GatewayError as exc:
        counter.labels(str(channel_id), exc.code).inc()
        raise
    if result.event_key is not None:
        screened = await callbacks.screen(channel_id, channel, result)
        if isinstance(screened, str):
            return await _reject(callbacks, metrics, channel_id, result.payload, screened)
        new = await callbacks.record(channel_id, screened)  # answered after the (shared) COMMIT
        counter.labels(str(channel_id), "accepted" if new else "duplicate").inc()
        if screened.pull is not None:
            syncer.wake(channel_id, screened.pull.stream)
    else:
        counter.labels(str(channel_id), "verified").inc()
    return Response(result.reply, media_type=result.media_type, status_code=200)


def _warn_once(callbacks: CallbackWriter, channel_id: int, channel: Channel) -> None:
    """Log the channel's configuration warnings (an MP channel taking unauthenticated bodies) once per process."""
    warnings = channel_warnings(channel.kind, getattr(channel, "settings", {}))
    key = (channel_id, tuple(warnings))
    if warnings and key not in callbacks.warned:
        callbacks.warned.add(key)
        for warning in warnings:
            log.warning("channel %s takes callbacks with %s", channel_id, warning)


async def _reject(
    callbacks: CallbackWriter, metrics: Metrics, channel_id: int, payload: str, reason: str
) -> Response[Any]:
    new = await callbacks.reject(channel_id, payload, reason)
    metrics.callbacks.labels(str(channel_id), "rejected").inc()
    if new:
        log.warning("verified callback on channel %s rejected: %s", channel_id, reason)
    return Response(SUCCESS, media_type="text/plain", status_code=200)
