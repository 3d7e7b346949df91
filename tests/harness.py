"""End-to-end harness: the simulator and the gateway wired to each other in-process (no ports).

The gateway's platform client reaches the simulator through ASGITransport; the simulator's pushed
callbacks reach the gateway app the same way. Both share the test's event loop, so a test can
start the gateway's sync and job loops and watch messages flow.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar

from gateway.api.app import create_app
from gateway.db.engine import Database
from gateway.db.repositories.channels import ChannelRepository
from gateway.runtime import Runtime
from gateway.settings import SecuritySettings, Settings, SyncSettings
from kefu_sim import SimClock, SimDriver, World
from tests.sim_apps import simulator

AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
GATEWAY = "http://gateway"
SIM = "http://sim"
# The development settings (docs/security.md): channels call the simulator, webhooks reach local receivers.
DEV_SECURITY = SecuritySettings(
    allow_custom_api_base=True,
    webhook_allow_http=True,
    webhook_allowed_targets=("sim", "crm.test", "localhost", "127.0.0.0/8", "::1"),
)


@dataclass
class Harness:
    world: World
    sim_app: Litestar
    driver: SimDriver
    app: Litestar
    runtime: Runtime
    client: httpx.AsyncClient  # talks to the gateway app
    sim_http: httpx.AsyncClient  # talks to the simulator

    @property
    def db(self) -> Database:
        return self.runtime.db

    async def wecom_channel(
        self,
        *,
        corpid: str = "wwcorp0001",
        secret: str = "kf-app-secret-0001",
        token: str = "CallbackToken1",
        name: str = "corp",
        **settings: Any,
    ) -> int:
        """A corp in the simulator and its channel in the gateway, callbacks pointed at the gateway."""
        async with self.db.session() as session:
            row = await ChannelRepository(session, self.runtime.box).create(
                kind="wecom",
                name=name,
                app_id=corpid,
                secrets={"secret": secret, "token": token, "encoding_aes_key": AES_KEY},
                settings={"api_base": f"{SIM}/wecom", **settings},
            )
            channel_id = row.id
        await self.driver.wecom_create_corp(
            corpid=corpid,
            secret=secret,
            callback_url=f"{GATEWAY}/callbacks/{channel_id}",
            callback_token=token,
            encoding_aes_key=AES_KEY,
        )
        return channel_id

    async def mp_channel(
        self,
        *,
        appid: str = "wxapp0000000001",
        secret: str = "mp-app-secret-0001",
        token: str = "MpToken1",
        mode: str = "safe",
        name: str = "oa",
        wechat_id: str = "gh_oa",
        **settings: Any,
    ) -> int:
        async with self.db.session() as session:
            row = await ChannelRepository(session, self.runtime.box).create(
                kind="mp",
                name=name,
                app_id=appid,
                secrets={"secret": secret, "token": token, "encoding_aes_key": AES_KEY},
                settings={"api_base": f"{SIM}/mp", "callback_mode": mode, **settings},
            )
            channel_id = row.id
        await self.driver.mp_create_app(
            appid=appid,
            secret=secret,
            wechat_id=wechat_id,
            callback_url=f"{GATEWAY}/callbacks/{channel_id}",
            callback_token=token,
            encoding_aes_key=AES_KEY,
            callback_mode=mode,
        )
        return channel_id

    started: bool = True

    async def sync_all(self) -> None:
        """Deliver pushed callbacks, then pull every known kf account once (what the sync loop does)."""
        await self.driver.flush_callbacks()
        for channel_id, stream in await self.runtime.syncer.known_streams():
            await self.runtime.syncer.sync_stream(channel_id, stream)

    async def settle(self, condition: Callable[[], Awaitable[bool]], *, timeout: float = 10.0) -> None:
        """Flush the simulator's callbacks and wait until `condition()` holds (the loops run meanwhile;
        without them, each round pulls every kf account once)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.driver.flush_callbacks()
            if not self.started:
                await self.sync_all()
            if await condition():
                return
            if loop.time() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.02)


def test_settings(database_url: str, secret_key: str, **sync: float) -> Settings:
    base = Settings.from_env({"GATEWAY_DATABASE_URL": database_url, "GATEWAY_SECRET_KEY": secret_key})
    return Settings(
        database=base.database,
        secret_key=secret_key,
        server=base.server,
        sync=SyncSettings(**{"poll_interval": 3600.0, **sync}),
        security=DEV_SECURITY,
        media_dir=base.media_dir,
        log_level="INFO",
        log_json=False,
    )


@asynccontextmanager
async def harness(
    db: Database,
    secret_key: str,
    *,
    media_dir: Any = None,
    start: bool = True,
    seed: int = 1,
    clock: SimClock | None = None,
    **sync: float,
) -> AsyncIterator[Harness]:
    """Simulator (live clock: the gateway's policy compares with real time) + gateway on `db`."""
    world = World(seed=seed, clock=clock or SimClock())
    world.config.callback_timeout = 5.0
    async with simulator(world) as sim_app:  # the routes built once per process, this world bound to them
        async with _gateway(db, secret_key, world, sim_app, media_dir=media_dir, start=start, **sync) as h:
            yield h


@asynccontextmanager
async def _gateway(
    db: Database, secret_key: str, world: World, sim_app: Litestar, *, media_dir: Any, start: bool, **sync: float
) -> AsyncIterator[Harness]:
    sim_http = httpx.AsyncClient(transport=httpx.ASGITransport(sim_app), base_url=SIM)
    scratch = tempfile.TemporaryDirectory(prefix="kgw-media-") if media_dir is None else None
    # the vault (inbound downloads, kept uploads) in a directory of its own, never the working directory
    settings = dataclasses.replace(
        test_settings(db.url, secret_key, **sync), media_dir=Path(scratch.name if scratch else media_dir)
    )
    runtime = Runtime(settings, db=db, http_client=sim_http)
    runtime.callbacks.clock = world.now  # callbacks are signed on the simulator's clock (tests move it)
    app = create_app(settings, runtime=runtime, background=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=GATEWAY)
    sim_app.state.dispatcher.set_client(client)
    if start:
        await runtime.start()
    try:
        yield Harness(
            world=world,
            sim_app=sim_app,
            driver=SimDriver(sim_http),
            app=app,
            runtime=runtime,
            client=client,
            sim_http=sim_http,
            started=start,
        )
    finally:
        await sim_app.state.dispatcher.close()  # no callback may reach the gateway after it stopped
        await runtime.stop()
        await client.aclose()
        await sim_http.aclose()
        if scratch is not None:
            scratch.cleanup()
