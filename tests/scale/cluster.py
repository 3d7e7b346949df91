"""Real processes on loopback for the scale-out tests: a PostgreSQL database, `kefu-gateway` subprocesses
and a small round-robin proxy that spreads the simulator's callbacks over the replicas.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.db.engine import create_engine
from gateway.settings import normalize_database_url

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"  # what CI and scripts/test use


def pg_admin_url() -> str:
    return normalize_database_url(os.environ.get("GATEWAY_TEST_DATABASE_URL") or DEFAULT_PG_URL)


async def _pg_exec(url: str, statement: str, *, timeout: float | None = None) -> None:
    engine = create_engine(url)
    try:
        async with asyncio.timeout(timeout):
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def pg_unreachable_reason(admin: str) -> str | None:
    """None when PostgreSQL answers at `admin`, else why not (the test skips with it)."""
    try:
        asyncio.run(_pg_exec(admin, "SELECT 1", timeout=5.0))
    except Exception as exc:  # any failure to connect means "no PostgreSQL here"
        shown = make_url(admin).render_as_string(hide_password=True)
        return (
            f"scale-out runs on PostgreSQL only: none reachable at {shown} ({type(exc).__name__}); "
            "start one or set GATEWAY_TEST_DATABASE_URL"
        )
    return None


@contextmanager
def fresh_pg_database(admin: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (dropped afterwards, connections and all)."""
    name = f"kgw_scale_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_exec(admin, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def console_script() -> list[str]:
    """The installed `kefu-gateway` beside this interpreter (as a deployment runs it)."""
    beside = Path(sys.executable).with_name("kefu-gateway")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("kefu-gateway")
    if found:
        return [found]
    return [sys.executable, "-c", "from gateway.cli import main; main()"]


@dataclass
class Proc:
    """One subprocess with its output in a log file (shown when a test fails)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            content = self.log.read_text(errors="replace").splitlines()[-lines:]
        except FileNotFoundError:
            content = []
        return f"--- {self.name} (pid {self.pid}, exit {self.popen.poll()}) ---\n" + "\n".join(content)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, open transactions and leases are simply abandoned."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(5)

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def run_cli(args: list[str], env: dict[str, str]) -> str:
    """Run a one-shot `kefu-gateway` command; its stdout, or an AssertionError with its output."""
    done = subprocess.run([*console_script(), *args], env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"kefu-gateway {' '.join(args[:3])} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Proc:
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen([*console_script(), *args], env=env, stdout=out, stderr=subprocess.STDOUT)
    return Proc(name, popen, log)


async def wait_ready(http: httpx.AsyncClient, url: str, proc: Proc, *, timeout: float = 30.0) -> None:
    """Poll `url` until it answers 200; fail early (with the log) if the process died."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if not proc.alive():
            raise AssertionError(f"{proc.name} exited while starting\n{proc.tail()}")
        try:
            if (await http.get(url, timeout=2.0)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if loop.time() > deadline:
            raise AssertionError(f"{proc.name} not ready at {url} after {timeout:.0f}s\n{proc.tail()}")
        await asyncio.sleep(0.1)


@dataclass
class CallbackProxy:
    """ASGI app standing where a load balancer would: each request goes to the next replica in turn;
    every `mirror_every`-th is also sent, at the same moment, to the other replica (a platform retry
    racing the original), so both replicas ingest the same callback concurrently.

    The answer is the first replica's, or the other's when the first is down; with both down, 502
    (the simulator then retries, as the platform does, and the next attempt goes to the next replica).
    """

    upstreams: list[str]
    mirror_every: int = 4
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10.0))
    forwarded: Counter[str] = field(default_factory=Counter)  # upstream → requests answered 200
    failed: Counter[str] = field(default_factory=Counter)  # upstream → requests that got no answer
    mirrored: int = 0
    _turn: Iterator[int] = field(default_factory=itertools.count)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        turn = next(self._turn)
        order = [self.upstreams[(turn + i) % len(self.upstreams)] for i in range(len(self.upstreams))]
        targets = order if turn % self.mirror_every == 0 else order[:1]
        if len(targets) > 1:
            self.mirrored += 1
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope["path"] + (f"?{query}" if query else "")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k.lower() != b"host"}
        answers = await asyncio.gather(
            *(self._forward(upstream, scope["method"], path, headers, body) for upstream in targets)
        )
        answer = next((a for a in answers if a is not None), None)
        if answer is None:
            status, content, content_type = 502, b"no replica answered", "text/plain"
        else:
            status, content, content_type = answer
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(content))],
            }
        )
        await send({"type": "http.response.body", "body": content})

    async def _forward(
        self, upstream: str, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, str] | None:
        try:
            response = await self.client.request(method, upstream + path, headers=headers, content=body)
        except httpx.TransportError:
            self.failed[upstream] += 1
            return None
        if response.status_code == 200:
            self.forwarded[upstream] += 1
        return response.status_code, response.content, response.headers.get("content-type", "text/plain")


class AsgiServer:
    """Serve an ASGI app with uvicorn inside the running event loop (the test's)."""

    def __init__(self, app: Any, port: int, *, keep_alive: int = 5) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_keep_alive=keep_alive,
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise AssertionError("proxy did not start")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
