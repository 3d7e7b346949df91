"""Browser tests of the web inbox: Debian's Chromium driven by Playwright against the real gateway.

The gateway app of tests.harness (simulator behind it, sync and job loops running) is served by
uvicorn on a loopback port in the test's event loop; Chromium loads it like any browser would.
Screenshots go to test-results/inbox/ (CI keeps the folder). Every page records its console
errors and the API answers it got, so a test can assert there were no errors and no unauthorized
calls.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect

from gateway.db.engine import Database
from tests.conftest import TEST_SECRET_KEY
from tests.harness import Harness, harness

# A page waits for the app's own API calls; on a loaded 2-core machine those can take longer than
# Playwright's default 5 s. These are checks of what the page shows, not timings.
expect.set_options(timeout=15_000)

RESULTS = Path(os.environ.get("GATEWAY_TEST_RESULTS", "test-results")) / "inbox"


def chromium_path() -> str:
    found = os.environ.get("GATEWAY_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("the web inbox tests need Chromium: apt-get install chromium (scripts/test does it as root)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Inbox:
    """The gateway served on a loopback port; `restart()` stops the server and starts it again."""

    h: Harness
    base: str
    port: int
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # a short grace period: a page's open event stream would otherwise hold the shutdown forever
        config = uvicorn.Config(
            self.h.app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            assert not self.task.done(), "uvicorn did not start"
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task
        self.server = self.task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@dataclass
class Watch:
    """What a page did: console errors, uncaught exceptions and every /api/v1 answer's status."""

    errors: list[str] = field(default_factory=list)
    api: list[tuple[str, str, int]] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "response",
            lambda r: self.api.append((r.request.method, r.url, r.status)) if "/api/v1/" in r.url else None,
        )
        return page

    def unauthorized(self) -> list[tuple[str, str, int]]:
        return [call for call in self.api if call[2] in (401, 403)]


@pytest.fixture
async def inbox(db: Database, tmp_path: Path) -> AsyncIterator[Inbox]:
    async with harness(db, TEST_SECRET_KEY, media_dir=tmp_path / "media", poll_interval=0.5) as h:
        port = free_port()
        served = Inbox(h=h, base=f"http://127.0.0.1:{port}", port=port)
        await served.start()
        try:
            yield served
        finally:
            await served.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def screenshot(page: Page, name: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=False)
