"""`kefu-gateway serve | simulator | sync`: the long-running processes."""

from __future__ import annotations

import asyncio
import sys

import click

from gateway.commands import run


def _uvicorn_options(workers: int) -> dict[str, object]:
    """uvloop + httptools where available (docs/architecture.md §6: the server choice moves the ceiling ~4×)."""
    options: dict[str, object] = {"log_config": None, "access_log": False, "workers": workers}
    try:
        import uvloop  # noqa: F401

        options["loop"] = "uvloop"
    except ImportError:
        options["loop"] = "asyncio"
    try:
        import httptools  # noqa: F401

        options["http"] = "httptools"
    except ImportError:
        options["http"] = "h11"
    return options


@click.command("serve")
@click.option("--host", default=None, help="Bind address (default GATEWAY_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default GATEWAY_PORT or 8000).")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """API + callbacks + sync + job runner in one process (several with --workers)."""
    import uvicorn

    from gateway.logs import configure_logging
    from gateway.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    settings.require_secret_key()
    _check_migrated(settings.database.url)
    if not _channel_count(settings.database.url):
        click.echo(
            "no channels configured: add one with `kefu-gateway channel add wecom|mp …` "
            "(or try everything against the simulator with `kefu-gateway demo`)",
            err=True,
        )
    uvicorn.run(
        "gateway.api.app:create_app",
        factory=True,
        host=host or settings.server.host,
        port=port or settings.server.port,
        **_uvicorn_options(workers),  # type: ignore[arg-type]
    )


def _channel_count(url: str) -> int:
    from sqlalchemy import func, select

    from gateway.db.engine import Database
    from gateway.db.models import Channel

    async def count() -> int:
        db = Database(url)
        try:
            async with db.sessions() as session:
                return int(await session.scalar(select(func.count()).select_from(Channel)) or 0)
        finally:
            await db.dispose()

    return asyncio.run(count())


def _check_migrated(url: str) -> None:
    from gateway.db import migrate

    current, head = migrate.current(url), migrate.head_revision(url)
    if current != head:
        click.echo(f"database is at {current or 'base'}, code expects {head}: run `kefu-gateway db upgrade`", err=True)
        sys.exit(1)


@click.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=9000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for ids and random choices.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Load this world dump (JSON).")
def simulator(host: str, port: int, seed: int, state_file: str | None) -> None:
    """The simulated WeCom (/wecom) + MP (/mp) platform with its driver API (/_sim)."""
    import uvicorn

    from kefu_sim import World, create_app

    world = World(seed=seed)
    if state_file:
        with open(state_file, "rb") as fh:
            world = World.load(fh.read(), frozen=False)
    click.echo(f"simulator on http://{host}:{port}  (WeCom base /wecom, MP base /mp, driver /_sim)")
    uvicorn.run(create_app(world), host=host, port=port, **_uvicorn_options(1))  # type: ignore[arg-type]


@click.command("sync")
@click.option("--once", is_flag=True, help="Pull every kf account once, then exit.")
def sync(once: bool) -> None:
    """Run only the sync loop (callbacks may be served elsewhere)."""
    from gateway.logs import configure_logging
    from gateway.runtime import Runtime
    from gateway.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)

    async def main() -> None:
        runtime = Runtime(settings)
        try:
            if once:
                for channel_id, stream in await runtime.syncer.known_streams():
                    stored = await runtime.syncer.sync_stream(channel_id, stream)
                    click.echo(f"channel {channel_id} {stream}: {max(stored, 0)} new messages")
                await runtime.jobs.drain()
            else:
                await runtime.start(sync=True, jobs=True)
                await asyncio.Event().wait()
        finally:
            await runtime.stop()

    run(main())
