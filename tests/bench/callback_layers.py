"""Where a WeCom callback's CPU goes, layer by layer (part of benchmark 1).

In-process, no HTTP server: 32 concurrent callers drive the ASGI apps directly with distinct
encrypted `kf_msg_or_event` callbacks, and the process CPU per request is taken for

    bare                       the bare Litestar endpoint (reads the body, answers "success")
    gateway                    the real callback route: verify, decrypt, parse, group commit, ack
    gateway, no database       the same with `CallbackWriter.record` answering at once (nothing stored)
    gateway, no database, no crypto
                               … and the channel's `handle_callback` returning a ready result

so the differences are what the durable write, the crypto + XML parsing and the gateway's own
routing cost per callback. uvicorn's HTTP parsing and socket work come on top of every row
equally (the wrk runs measure them).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

CONCURRENCY = 32


async def _call(app: Any, target: str, body: bytes) -> None:
    url = urlsplit(target)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": url.path,
        "raw_path": url.path.encode(),
        "query_string": url.query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"gateway"),
            (b"content-type", b"text/xml"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    delivered = False
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    if not statuses or statuses[0] >= 300:
        raise AssertionError(f"{target}: answered {statuses}")


async def _drive(app: Any, requests: Sequence[tuple[str, bytes]]) -> None:
    pending = iter(requests)

    async def caller() -> None:
        for target, body in pending:
            await _call(app, target, body)

    await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))


async def _cpu_per_request(app: Any, requests: Sequence[tuple[str, bytes]], warm: int = 300) -> float:
    await _drive(app, requests[:warm])
    cpu = time.process_time()
    await _drive(app, requests[warm:])
    return round((time.process_time() - cpu) / (len(requests) - warm) * 1e6, 1)


async def layer_costs(url: str, requests: Sequence[tuple[str, str]], per_case: int = 2000) -> dict[str, Any]:
    """CPU µs per request of each layer (see the module docstring); `requests` target channel 1 (WeCom)."""
    from gateway.api.app import create_app
    from gateway.channels.base import CallbackResult, PullRequest
    from gateway.runtime import Runtime
    from tests.bench.callback_ingest import OPEN_KFID
    from tests.bench.common import settings_for
    from tests.bench.serve_app import bare

    encoded = [(target, body.encode()) for target, body in requests]
    chunks = [encoded[n * per_case : (n + 1) * per_case] for n in range(4)]
    if len(chunks[-1]) < per_case:
        raise ValueError(f"need {4 * per_case} requests")
    runtime = Runtime(settings_for(url))
    app = create_app(runtime.settings, runtime=runtime, background=False)
    out: dict[str, Any] = {}
    try:
        out["bare"] = await _cpu_per_request(bare(), chunks[0])
        batches = runtime.callbacks.batches
        out["gateway"] = await _cpu_per_request(app, chunks[1])
        out["callbacks_per_transaction"] = round(per_case / max(1, runtime.callbacks.batches - batches), 1)

        async def stored_nothing(channel_id: int, result: CallbackResult) -> bool:
            return True

        runtime.callbacks.record = stored_nothing  # type: ignore[method-assign]
        out["gateway_no_database"] = await _cpu_per_request(app, chunks[2])
        channel = await runtime.channels.get(1)
        ready = CallbackResult(
            event_key="k",
            event_kind="event:kf_msg_or_event",
            payload="",
            pull=PullRequest(stream=OPEN_KFID, token="t"),  # a kf account of the channel: not rejected
        )

        async def no_crypto(request: Any) -> CallbackResult:
            return ready

        channel.handle_callback = no_crypto  # type: ignore[method-assign]
        out["gateway_no_database_no_crypto"] = await _cpu_per_request(app, chunks[3])
    finally:
        await runtime.stop()
    out["durable_write_us"] = round(out["gateway"] - out["gateway_no_database"], 1)
    out["crypto_and_parse_us"] = round(out["gateway_no_database"] - out["gateway_no_database_no_crypto"], 1)
    out["routing_us"] = round(out["gateway_no_database_no_crypto"] - out["bare"], 1)
    return out
