"""`create_simulator_app`: one Litestar app standing in for qyapi.weixin.qq.com and api.weixin.qq.com.

WeCom lives under `/wecom`, MP under `/mp` (the two hosts share paths such as
/cgi-bin/media/upload), each with the real paths below; the driver API under `/_sim`. Point a
client's API base at `http://host:port/wecom` or `/mp` and it cannot tell the difference.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec
from litestar import Litestar, MediaType, Request, Response, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.simulator import driver, driver_contact, driver_mp, driver_wecom, mp, wecom_base, wecom_contact, wecom_kf
from gateway.simulator.callbacks import CallbackDispatcher
from gateway.simulator.world import CallRecord, SimError, World

HOSTS = ("wecom", "mp")


def _platform_path(scope_path: str) -> tuple[str | None, str]:
    for host in HOSTS:
        prefix = f"/{host}/"
        if scope_path.startswith(prefix):
            return host, scope_path[len(prefix) - 1 :]
    return None, scope_path


class PlatformMiddleware:
    """Logs every platform call and applies the fault plan before the handler runs."""

    def __init__(self, app: ASGIApp, world: World) -> None:
        self.app = app
        self.world = world

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host, path = _platform_path(scope.get("path", "")) if scope["type"] == "http" else (None, "")
        if host is None:
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = dict(httpx.QueryParams(scope.get("query_string", b"").decode("latin-1")))
        token = query.pop("access_token", None)
        grant = self.world.state.tokens.get(token) if token else None
        record = CallRecord(
            seq=self.world.next_seq(),
            time=self.world.now(),
            host=host,
            method=scope["method"],
            path=path,
            query=query,
            body=_loggable(body),
            owner=grant.owner if grant else None,
        )
        self.world.calls.append(record)

        rule = self.world.take_fault(host, path)
        if rule is not None:
            record.fault = rule.kind
            if rule.kind == "latency":
                await asyncio.sleep(rule.value)
            elif rule.kind == "timeout":
                await asyncio.sleep(rule.value)
                await _send_plain(send, 504, b"gateway timeout")
                record.http_status = 504
                return
            elif rule.kind == "http_status":
                await _send_plain(send, int(rule.value), b"injected failure")
                record.http_status = int(rule.value)
                return
            elif rule.kind == "errcode":
                record.errcode = int(rule.value)
                payload = msgspec.json.encode({"errcode": int(rule.value), "errmsg": rule.errmsg})
                await _send_plain(send, 200, payload, b"application/json")
                return

        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.http_status = message["status"]
            elif message["type"] == "http.response.body" and record.errcode is None:
                chunk = message.get("body", b"")
                if chunk[:1] == b"{":
                    try:
                        record.errcode = msgspec.json.decode(chunk).get("errcode", 0)
                    except (msgspec.DecodeError, AttributeError):
                        pass
            await send(message)

        await self.app(scope, replay, capture)


def _loggable(body: bytes) -> Any:
    if not body:
        return None
    if body[:1] in (b"{", b"["):
        try:
            return msgspec.json.decode(body)
        except msgspec.DecodeError:
            pass
    return f"<{len(body)} bytes>"


async def _send_plain(send: Send, status: int, body: bytes, content_type: bytes = b"text/plain") -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]})
    await send({"type": "http.response.body", "body": body})


def _sim_error(_: Request, exc: SimError) -> Response[Any]:
    return Response({"errcode": exc.errcode, "errmsg": exc.errmsg}, status_code=200, media_type=MediaType.JSON)


def _http_error(request: Request, exc: HTTPException) -> Response[Any]:
    # The platform never shows a framework error page: unknown paths and bad methods get errcodes.
    host, _ = _platform_path(request.url.path)
    if host is not None:
        errcode = 48001 if exc.status_code in (404, 405) else 47001
        return Response({"errcode": errcode, "errmsg": f"api unauthorized or bad request: {exc.detail}"},
                        status_code=200, media_type=MediaType.JSON)
    return Response({"error": {"code": "sim_http_error", "message": str(exc.detail)}},
                    status_code=exc.status_code, media_type=MediaType.JSON)


def _unexpected(request: Request, exc: Exception) -> Response[Any]:
    host, _ = _platform_path(request.url.path)
    if host is not None:
        return Response({"errcode": -1, "errmsg": f"system error: {type(exc).__name__}"}, status_code=200,
                        media_type=MediaType.JSON)
    return Response({"error": {"code": "sim_error", "message": f"{type(exc).__name__}: {exc}"}}, status_code=500,
                    media_type=MediaType.JSON)


def create_simulator_app(
    world: World | None = None,
    *,
    seed: int = 0,
    callback_client: httpx.AsyncClient | None = None,
    debug: bool = False,
) -> Litestar:
    """Build the simulator. `callback_client` carries pushed callbacks (default: a plain httpx client)."""
    world = world or World(seed=seed)
    dispatcher = CallbackDispatcher(world, callback_client)

    async def shutdown() -> None:
        await dispatcher.close()

    app = Litestar(
        route_handlers=[
            Router("/wecom", route_handlers=[*wecom_base.HANDLERS, *wecom_kf.HANDLERS, *wecom_contact.HANDLERS]),
            Router("/mp", route_handlers=[*mp.HANDLERS]),
            Router("/_sim", route_handlers=[*driver.HANDLERS, *driver_wecom.HANDLERS, *driver_mp.HANDLERS,
                                            *driver_contact.HANDLERS]),
        ],
        dependencies={
            "world": Provide(lambda: world, sync_to_thread=False, use_cache=True),
            "dispatcher": Provide(lambda: dispatcher, sync_to_thread=False, use_cache=True),
        },
        exception_handlers={SimError: _sim_error, HTTPException: _http_error, Exception: _unexpected},
        middleware=[lambda app: PlatformMiddleware(app, world)],
        on_shutdown=[shutdown],
        openapi_config=None,
        logging_config=None,
        debug=debug,
    )
    app.state.world = world
    app.state.dispatcher = dispatcher
    return app
