"""A corp and an official account in the simulator, wired to the gateway, ready for a cutover; and
the `kefu-gateway migrate …` commands run against them (the `open_runtime` seam)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from gateway.channels.mp import MpChannel
from gateway.cli import main
from gateway.commands import cutover as commands
from gateway.db.engine import Database
from gateway.runtime import Runtime
from tests.conftest import TEST_SECRET_KEY
from tests.harness import SIM, Harness
from tests.harness import test_settings as gateway_settings

CORP, APPID = "wwcorp0001", "wxapp0000000001"


@dataclass
class Setup:
    mp: int
    wecom: int
    old_kfid: str  # an existing WeCom kf account whose servicers (alice, bob) the plan can match


async def setup(h: Harness) -> Setup:
    wecom = await h.wecom_channel()
    mp = await h.mp_channel(appid=APPID, name="oa")
    for userid in ("alice", "bob"):
        await h.driver.wecom_add_member(CORP, userid, name=userid.title())
    old = (await h.driver.wecom_add_kf_account(CORP, "老客服", servicers=["alice", "bob"]))["open_kfid"]
    adapter = await h.runtime.channels.get(mp)
    assert isinstance(adapter, MpChannel)
    await adapter.add_agent("alice@gh_oa", "Alice")  # matched by name: servicer alice
    await adapter.add_agent("k3@gh_oa", "Carol")  # no servicer of that name: the mapping gives one
    return Setup(mp=mp, wecom=wecom, old_kfid=old)


def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click ≥ 8.2 keeps stderr apart already
        return CliRunner()


def wire(monkeypatch: pytest.MonkeyPatch, h: Harness) -> None:
    """Point the migrate commands' `open_runtime` at the test database and the in-process simulator."""

    @asynccontextmanager
    async def open_runtime() -> AsyncIterator[Any]:
        db = Database(h.db.url)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(h.sim_app), base_url=SIM)
        runtime = Runtime(gateway_settings(h.db.url, TEST_SECRET_KEY), db=db, http_client=http)
        try:
            yield runtime
        finally:
            await runtime.stop()
            await http.aclose()
            await db.dispose()

    monkeypatch.setattr(commands, "open_runtime", open_runtime)


async def cli(*args: str) -> Result:
    """Run `kefu-gateway ARGS` in a worker thread (each command `asyncio.run`s its own loop)."""
    return await asyncio.to_thread(runner().invoke, main, list(args))
