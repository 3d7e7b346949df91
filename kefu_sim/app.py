"""`create_app`: one Litestar app standing in for qyapi.weixin.qq.com and api.weixin.qq.com.

WeCom lives under `/wecom`, MP under `/mp` (the two hosts share paths such as
/cgi-bin/media/upload), each with the real paths below; the driver API under `/_sim`. Point a
client's API base at `http://host:port/wecom` or `/mp` and it cannot tell the difference.

The app serves whichever `World` was last bound to it (`app.state.world`, with its
`CallbackDispatcher` in `app.state.dispatcher`): `bind_world` swaps in a fresh one without
rebuilding the routes, which is most of what building the app costs.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec
from litestar import Litestar, MediaType, Request, Response, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.driver import common as driver_common
from kefu_sim.driver import mp as driver_mp
from kefu_sim.driver import mp_kf as driver_mp_kf
from kefu_sim.driver import wecom_contact as driver_wecom_contact
from kefu_sim.driver import wecom_contact_customers as driver_wecom_contact_customers
from kefu_sim.driver import wecom_contact_groups as driver_wecom_contact_groups
from kefu_sim.driver import wecom_kf as driver_wecom_kf
from kefu_sim.driver import wecom_kf_actions as driver_wecom_kf_actions
from kefu_sim.mp import kf_accounts as mp_kf_accounts
from kefu_sim.mp import send as mp_send
from kefu_sim.mp import session as mp_session
from kefu_sim.mp import tokens as mp_tokens
from kefu_sim.mp import users as mp_users
from kefu_sim.wecom import base as wecom_base
from kefu_sim.wecom_contact import customers as contact_customers
from kefu_sim.wecom_contact import groups as contact_groups
from kefu_sim.wecom_contact import messages as contact_messages
from kefu_sim.wecom_contact import tags as contact_tags
from kefu_sim.wecom_contact import transfer as contact_transfer
from kefu_sim.wecom_contact import ways as contact_ways
from kefu_sim.wecom_kf import accounts as kf_accounts
from kefu_sim.wecom_kf import customers as kf_customers
from kefu_sim.wecom_kf import send as kf_send
from kefu_sim.wecom_kf import servicers as kf_servicers
from kefu_sim.wecom_kf import stats as kf_stats
from kefu_sim.wecom_kf import sync as kf_sync
from kefu_sim.world import CallRecord, SimError, World

HOSTS = ("wecom", "mp")


def _platform_path(scope_path: str) -> tuple[str | None, str]:
    for host in HOSTS:
        prefix = f"/{host}/"
        if scope_path.startswith(prefix):
            return host, scope_path[len(prefix) - 1 :]
    return None, scope_path


class PlatformMiddleware:
    """Logs every platform call and applies the fault plan (of the world the app serves) before the handler runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host, path = _platform_path(scope.get("path", "")) if scope["type"] == "http" else (None, "")
        if host is None:
            await self.app(scope, receive, send)
            return
        world: World = Litestar.from_scope(scope).state.world
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = dict(httpx.QueryParams(scope.get("query_string", b"").decode("latin-1")))
        token = query.pop("access_token", None)
        grant = world.state.tokens.get(token) if token else None
        record = CallRecord(
            seq=world.next_seq(),
            time=world.now(),
            host=host,
            method=scope["method"],
            path=path,
            query=query,
            body=_loggable(body),
            owner=grant.owner if grant else None,
        )
        world.calls.append(record)

        rule = world.take_fault(host, path)
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
        return Response(
            {"errcode": errcode, "errmsg": f"api unauthorized or bad request: {exc.detail}"},
            status_code=200,
            media_type=MediaType.JSON,
        )
    return Response(
        {"error": {"code": "sim_http_error", "message": str(exc.detail)}},
        status_code=exc.status_code,
        media_type=MediaType.JSON,
    )


def _unexpected(request: Request, exc: Exception) -> Response[Any]:
    host, _ = _platform_path(request.url.path)
    if host is not None:
        return Response(
            {"errcode": -1, "errmsg": f"system error: {type(exc).__name__}"}, status_code=200, media_type=MediaType.JSON
        )
    return Response(
        {"error": {"code": "sim_error", "message": f"{type(exc).__name__}: {exc}"}},
        status_code=500,
        media_type=MediaType.JSON,
    )


WECOM_HANDLERS = [
    *wecom_base.HANDLERS,
    *kf_accounts.HANDLERS,
    *kf_servicers.HANDLERS,
    *kf_sync.HANDLERS,
    *kf_send.HANDLERS,
    *kf_customers.HANDLERS,
    *kf_stats.HANDLERS,
    *contact_customers.HANDLERS,
    *contact_ways.HANDLERS,
    *contact_transfer.HANDLERS,
    *contact_groups.HANDLERS,
    *contact_messages.HANDLERS,
    *contact_tags.HANDLERS,
]
MP_HANDLERS = [
    *mp_tokens.HANDLERS,
    *mp_kf_accounts.HANDLERS,
    *mp_session.HANDLERS,
    *mp_send.HANDLERS,
    *mp_users.HANDLERS,
]
DRIVER_HANDLERS = [
    *driver_common.HANDLERS,
    *driver_wecom_kf.HANDLERS,
    *driver_wecom_kf_actions.HANDLERS,
    *driver_mp.HANDLERS,
    *driver_mp_kf.HANDLERS,
    *driver_wecom_contact.HANDLERS,
    *driver_wecom_contact_customers.HANDLERS,
    *driver_wecom_contact_groups.HANDLERS,
]


def _world(state: State) -> World:
    return state.world


def _dispatcher(state: State) -> CallbackDispatcher:
    return state.dispatcher


async def _shutdown(app: Litestar) -> None:
    await app.state.dispatcher.close()


def bind_world(app: Litestar, world: World, callback_client: httpx.AsyncClient | None = None) -> CallbackDispatcher:
    """Make `app` serve `world` from now on, with a new dispatcher pushing callbacks through
    `callback_client` (default: a plain httpx client). The previous dispatcher is left as it was:
    close it first when it may still hold pending callbacks."""
    dispatcher = CallbackDispatcher(world, callback_client)
    app.state.world = world
    app.state.dispatcher = dispatcher
    return dispatcher


def create_app(
    world: World | None = None,
    *,
    seed: int = 0,
    callback_client: httpx.AsyncClient | None = None,
    debug: bool = False,
) -> Litestar:
    """Build the simulator. `callback_client` carries pushed callbacks (default: a plain httpx client)."""
    app = Litestar(
        route_handlers=[
            Router("/wecom", route_handlers=WECOM_HANDLERS),
            Router("/mp", route_handlers=MP_HANDLERS),
            Router("/_sim", route_handlers=DRIVER_HANDLERS),
        ],
        dependencies={
            "world": Provide(_world, sync_to_thread=False),
            "dispatcher": Provide(_dispatcher, sync_to_thread=False),
        },
        exception_handlers={SimError: _sim_error, HTTPException: _http_error, Exception: _unexpected},
        middleware=[PlatformMiddleware],
        on_shutdown=[_shutdown],
        openapi_config=None,
        logging_config=None,
        debug=debug,
    )
    bind_world(app, world or World(seed=seed), callback_client)
    return app
