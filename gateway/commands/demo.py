"""`kefu-gateway demo`: one command, no configuration — gateway + simulator + chatting customers on SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import click
import uvicorn

DEMO_DB = "kefu-gateway-demo.db"


@click.command("demo")
@click.option("--port", type=int, default=8000, show_default=True, help="Gateway port (simulator: port+1).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the simulated world and chatter.")
@click.option("--rate", type=float, default=0.5, show_default=True, help="Customer actions per second.")
@click.option("--customers", type=int, default=8, show_default=True)
@click.option("--keep", is_flag=True, help=f"Keep ./{DEMO_DB} from an earlier run (default: start fresh).")
@click.option("--duration", type=float, default=0, help="Stop after this many seconds (0: run until Ctrl-C).")
@click.option("--operator-password", help="Password of the demo operator (default: a random one, printed).")
def demo(
    port: int,
    host: str,
    seed: int,
    rate: float,
    customers: int,
    keep: bool,
    duration: float,
    operator_password: str | None,
) -> None:
    """Run the gateway against the simulator with seeded channels and customers chatting."""
    from gateway.logs import configure_logging
    from gateway.settings import Settings

    env = demo_env()
    env.setdefault("GATEWAY_SYNC_POLL_INTERVAL", "10")
    env.setdefault("GATEWAY_PUBLIC_URL", f"http://{host}:{port}")
    settings = Settings.from_env(env, demo=True)
    configure_logging(env.get("GATEWAY_LOG_LEVEL", "WARNING"), json_lines=False)
    if not keep and settings.database.url.endswith(DEMO_DB):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DB}{suffix}").unlink(missing_ok=True)
    from gateway.db.passwords import check_password
    from gateway.errors import InvalidRequest

    password = operator_password or secrets.token_urlsafe(12)
    try:
        check_password(password)
    except InvalidRequest as exc:
        raise click.BadParameter(exc.message, param_hint="--operator-password") from None
    asyncio.run(_run(settings, host, port, seed, rate, customers, duration, password))


def demo_env() -> dict[str, str]:
    """The environment the demo runs with: ./kefu-gateway-demo.db and development settings (docs/security.md):
    channels call the simulator on loopback, webhooks may go to a receiver on this machine over http.
    Also what `import mp-history --demo` and `export --demo` use to open the demo's database."""
    env = dict(os.environ)
    env.setdefault("GATEWAY_DATABASE_URL", f"sqlite+aiosqlite:///{Path.cwd() / DEMO_DB}")
    env.setdefault("GATEWAY_ALLOW_CUSTOM_API_BASE", "1")
    env.setdefault("GATEWAY_WEBHOOK_ALLOW_HTTP", "1")
    env.setdefault("GATEWAY_WEBHOOK_ALLOWED_TARGETS", "127.0.0.0/8,::1,localhost")
    return env


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to the demo, which stops both servers itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _run(
    settings, host: str, port: int, seed: int, rate: float, customers: int, duration: float, password: str
) -> None:
    import httpx

    from gateway import demo as scenario
    from gateway.api.app import create_app
    from gateway.db import migrate
    from gateway.db.repositories.apikeys import create_key
    from gateway.runtime import Runtime
    from kefu_sim import SimDriver, World
    from kefu_sim import create_app as create_simulator_app

    await migrate.upgrade_async(settings.database.url)
    sim_port = port + 1
    sim_base, api_base = f"http://{host}:{sim_port}", f"http://{host}:{port}"
    runtime = Runtime(settings)
    state = scenario.DemoState()
    state.wecom_channel_id, state.mp_channel_id = await scenario.ensure_channels(
        runtime.db, runtime.box, sim_base, api_base
    )
    async with runtime.db.session() as session:
        _, key = await create_key(session, name="demo", scope="admin")
    email = await scenario.ensure_operator(runtime.db, password)

    servers = [
        _QuietServer(
            uvicorn.Config(
                create_simulator_app(World(seed=seed)),
                host=host,
                port=sim_port,
                log_config=None,
                access_log=False,
                lifespan="on",
            )
        ),
        _QuietServer(
            uvicorn.Config(
                create_app(settings, runtime=runtime),
                host=host,
                port=port,
                log_config=None,
                access_log=False,
                lifespan="on",
            )
        ),
    ]
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            for t in tasks:
                if t.done() and t.exception():
                    raise click.ClickException(f"a server failed to start: {t.exception()}")
            raise click.ClickException(f"could not listen on {host}:{port} / {sim_port} (in use?)")
        await asyncio.sleep(0.05)

    async with httpx.AsyncClient(base_url=sim_base, timeout=10) as sim:
        driver = SimDriver(sim)
        await scenario.seed(driver, state, api_base, rng=random.Random(seed), customers=customers)
        await scenario.seed_mp_kf(await runtime.channels.get(state.mp_channel_id), driver)
        for line in scenario.summary_lines(api_base, key, sim_base, (email, password)):
            click.echo(line)
        chatter = asyncio.create_task(scenario.chatter(driver, state, rate=rate, seed=seed, stop=stop))
        if duration:
            loop.call_later(duration, stop.set)
        await stop.wait()
        await chatter
    click.echo(f"stopping (customers sent {state.sent} messages)")
    for server in reversed(servers):
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
