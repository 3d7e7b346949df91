"""Serve a benchmark app under uvicorn with exactly `kefu-gateway serve`'s options (uvloop, httptools, 1 worker).

    python -m tests.bench.serve_app gateway|gateway-loops|bare|peer --port 8000

`gateway` is `create_app()` with the sync loop and job runner off (a callback's sync kick only sets
an event): what a callback costs by itself. `gateway-loops` is `create_app()` as `serve` builds it.
`bare` is a Litestar app with one POST /callbacks/{id} route that reads the body and answers
"success": the ceiling the gateway is compared against. `peer` is a hand-written wechatpy handler
that decrypts, parses and commits one row per callback (tests/bench/peer_handler.py, configured by
PEER_* variables): the floor a durable handler without the gateway sets.
"""

from __future__ import annotations

import argparse

from litestar import Litestar, MediaType, Request, get, route


@route("/callbacks/{channel_id:int}", http_method=["GET", "POST"], media_type=MediaType.TEXT)
async def bare_callback(request: Request, channel_id: int) -> str:
    await request.body()
    return "success"


@get("/healthz", media_type=MediaType.TEXT)
async def bare_healthz() -> str:
    return "ok"


def bare() -> Litestar:
    return Litestar(route_handlers=[bare_callback, bare_healthz], logging_config=None)


def gateway() -> Litestar:
    from gateway.api.app import create_app

    return create_app(background=False)


def gateway_loops() -> Litestar:
    from gateway.api.app import create_app

    return create_app(background=True)


def peer() -> Litestar:
    from tests.bench.peer_handler import peer as peer_app

    return peer_app()


APPS = {"bare": "bare", "gateway": "gateway", "gateway-loops": "gateway_loops", "peer": "peer"}


def main() -> None:
    import uvicorn

    from gateway.commands.server import _uvicorn_options
    from gateway.logs import configure_logging
    from gateway.settings import get_settings

    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=sorted(APPS))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.app not in ("bare", "peer"):
        settings = get_settings()
        configure_logging(settings.log_level, json_lines=settings.log_json)
        settings.require_secret_key()
    uvicorn.run(
        f"tests.bench.serve_app:{APPS[args.app]}", factory=True, host="127.0.0.1", port=args.port, **_uvicorn_options(1)
    )  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
