"""Simulator apps for the tests, built once and re-bound to a fresh `World` per use.

Building the simulator's Litestar app (route registration, signature parsing) is most of what a
simulator costs; the state it serves lives in the `World` and the `CallbackDispatcher` that
`kefu_sim.bind_world` swaps in. `simulator(world)` hands out a built app bound to `world` (and a
new dispatcher); on exit the dispatcher is closed (pending callbacks cancelled) and the app goes
back to the pool. Apps in use are never shared: a test holding two simulators at once gets two apps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar

from kefu_sim import World, bind_world, create_app

_idle: list[Litestar] = []


@asynccontextmanager
async def simulator(world: World, callback_client: httpx.AsyncClient | None = None) -> AsyncIterator[Litestar]:
    """A simulator app serving `world` only, for the duration of the block (what `create_app(world,
    callback_client=...)` builds, without building it again)."""
    app = _idle.pop() if _idle else create_app()
    dispatcher = bind_world(app, world, callback_client)
    try:
        yield app
    finally:
        await dispatcher.close()
        _idle.append(app)
