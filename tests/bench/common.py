"""Shared helpers of the benchmarks: machine facts, result files, percentiles, databases, servers, wrk.

Benchmarks run by hand from the repository root (`.venv/bin/python -m tests.bench.<name>`); each
prints its figures and writes tests/bench/results/<name>.json.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import re
import resource
import shlex
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"
PYTHON = sys.executable
BIN = Path(PYTHON).parent
SECRET_KEY = "bench-secret-key-0123456789abcdef"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


# ---------------------------------------------------------------------- facts and results


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        rev = ""
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "git": rev,
    }


def save(name: str, figures: dict[str, Any]) -> Path:
    """Write results/<name>.json with the figures, the command, the date and the machine."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "benchmark": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in [Path(PYTHON).name, "-m", f"tests.bench.{name}", *sys.argv[1:]]),
        "machine": machine(),
        **figures,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nwrote {path.relative_to(ROOT)}")
    return path


def percentiles(samples_s: Iterable[float], points: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles of durations in seconds, returned in milliseconds (plus max, n)."""
    ordered = sorted(samples_s)
    if not ordered:
        return {"n": 0}
    out: dict[str, float] = {}
    for p in points:
        rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
        out[f"p{p:g}_ms"] = round(ordered[rank - 1] * 1000, 3)
    out["max_ms"] = round(ordered[-1] * 1000, 3)
    out["n"] = len(ordered)
    return out


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def heading(title: str) -> None:
    print(f"\n=== {title}")


# ---------------------------------------------------------------------- databases


def pg_available() -> bool:
    url = make_url(PG_ADMIN_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            return True
    except OSError:
        return False


async def _pg_exec(url: str, statement: str) -> None:
    from gateway.db.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@dataclass
class BenchDatabase:
    """A fresh, migrated database (SQLite file or a PostgreSQL database of its own); `drop()` removes it."""

    kind: str  # sqlite | postgresql
    url: str
    _tmp: Any = None
    _name: str | None = None

    async def drop(self) -> None:
        if self.kind == "postgresql" and self._name:
            await _pg_exec(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
        if self._tmp is not None:
            self._tmp.cleanup()


async def fresh_database(kind: str, *, migrate: bool = True) -> BenchDatabase:
    """An empty database built with `alembic upgrade head` (the real tables and indexes)."""
    from gateway.db import migrate as migrations

    if kind == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix="kgw-bench-")
        db = BenchDatabase(kind, f"sqlite+aiosqlite:///{tmp.name}/bench.db", _tmp=tmp)
    elif kind == "postgresql":
        name = f"kgw_bench_{uuid.uuid4().hex[:10]}"
        await _pg_exec(PG_ADMIN_URL, f'CREATE DATABASE "{name}"')
        url = make_url(PG_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
        db = BenchDatabase(kind, url.render_as_string(hide_password=False), _name=name)
    else:
        raise ValueError(kind)
    if migrate:
        await migrations.upgrade_async(db.url)
    return db


def database_kinds(requested: str) -> list[str]:
    """--db sqlite|postgresql|both → the kinds to run (PostgreSQL skipped, loudly, when unreachable)."""
    kinds = ["sqlite", "postgresql"] if requested == "both" else [requested]
    if "postgresql" in kinds and not pg_available():
        print(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: skipping it")
        kinds.remove("postgresql")
    return kinds


def settings_for(url: str, **env: str) -> Any:
    from gateway.settings import Settings

    return Settings.from_env(
        {"GATEWAY_DATABASE_URL": url, "GATEWAY_SECRET_KEY": SECRET_KEY, "GATEWAY_LOG_JSON": "0", **env}
    )


async def add_channel(
    url: str, kind: str, *, app_id: str, token: str, name: str, inboxes: tuple[str, ...] = (), **settings: Any
) -> int:
    """A channel row sealed like `kefu-gateway channel add` does, with `inboxes` (kf accounts callbacks
    may name when the platform cannot be asked); returns its id."""
    from gateway.db.engine import Database
    from gateway.db.repositories.channels import ChannelRepository
    from gateway.db.repositories.directory import upsert_inbox
    from gateway.sealing import SecretBox

    db = Database(url)
    try:
        async with db.session() as session:
            row = await ChannelRepository(session, SecretBox(SECRET_KEY)).create(
                kind=kind,
                name=name,
                app_id=app_id,
                secrets={"secret": f"{name}-app-secret", "token": token, "encoding_aes_key": AES_KEY},
                settings=settings,
            )
            for source_id in inboxes:
                await upsert_inbox(session, row.id, source_id)
            return row.id
    finally:
        await db.dispose()


async def add_api_key(url: str, scope: str = "admin") -> str:
    from gateway.db.engine import Database
    from gateway.db.repositories.apikeys import create_key

    db = Database(url)
    try:
        async with db.session() as session:
            _, key = await create_key(session, name=f"bench-{scope}", scope=scope)
            return key
    finally:
        await db.dispose()


def cpu_busy_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class CpuWatch:
    """How busy the whole machine was (in cores) between start and stop; other helpers share it."""

    def __init__(self) -> None:
        self.busy0, self.total0 = cpu_busy_jiffies()
        self.t0 = time.monotonic()

    def busy_cores(self) -> float:
        busy, total = cpu_busy_jiffies()
        cores = os.cpu_count() or 1
        return round((busy - self.busy0) / max(1, total - self.total0) * cores, 2)


def wait_quiet(max_busy_cores: float = 0.3, timeout: float = 0.0) -> float:
    """Wait (up to `timeout` s) until the machine's busy cores over 5 s fall below `max_busy_cores`.

    Returns the last measurement. Benchmarks call it between phases when --quiet-wait is given.
    """
    deadline = time.monotonic() + timeout
    while True:
        watch = CpuWatch()
        time.sleep(5)
        busy = watch.busy_cores()
        if busy <= max_busy_cores or time.monotonic() >= deadline:
            return busy
        print(f"  machine busy ({busy} cores in use by other processes); waiting")


class StatementCounter:
    """Counts the SQL an engine sends: statements (BEGIN IMMEDIATE included on SQLite, where the
    gateway issues it), COMMIT/ROLLBACK, and statements compiled afresh (SQLAlchemy cache misses)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.statements = 0
        self.uncached = 0
        self.by_verb: dict[str, int] = {}
        self._engine = engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._on_execute)
        event.listen(self._engine, "commit", self._on_commit)
        event.listen(self._engine, "rollback", self._on_rollback)

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        self.statements += 1
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        self.by_verb[verb] = self.by_verb.get(verb, 0) + 1
        cache_hit = getattr(context, "cache_hit", None)
        compiled = getattr(context, "compiled", None) is not None  # not exec_driver_sql (BEGIN IMMEDIATE)
        if compiled and cache_hit is not None and str(cache_hit).endswith(("CACHE_MISS", "NO_CACHE_KEY")):
            self.uncached += 1

    def _on_commit(self, _conn: Any) -> None:
        self.by_verb["COMMIT"] = self.by_verb.get("COMMIT", 0) + 1

    def _on_rollback(self, _conn: Any) -> None:  # a read-only session ends with one
        self.by_verb["ROLLBACK"] = self.by_verb.get("ROLLBACK", 0) + 1

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self._engine, "before_cursor_execute", self._on_execute)
        event.remove(self._engine, "commit", self._on_commit)
        event.remove(self._engine, "rollback", self._on_rollback)


# ---------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A server subprocess on loopback; `peak_rss_mb()` reads the kernel's high-water mark (VmHWM)."""

    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/healthz"
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Server:
        self.log_path = Path(tempfile.mkstemp(prefix=f"kgw-bench-{self.name}-", suffix=".log")[1])
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(self.base + self.ready_path, timeout=1.0).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not come up:\n{self.log_tail()}")

    def status(self) -> dict[str, int]:
        """VmRSS / VmHWM (peak) in kB from /proc."""
        out: dict[str, int] = {}
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
        return out

    def peak_rss_mb(self) -> float:
        return round(self.status()["VmHWM"] / 1024, 1)

    def rss_mb(self) -> float:
        return round(self.status()["VmRSS"] / 1024, 1)

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def bench_server(name: str, app: str, port: int, env: dict[str, str]) -> Server:
    """One of tests.bench.serve_app's apps under uvicorn with `kefu-gateway serve`'s options."""
    return Server(name, [PYTHON, "-m", "tests.bench.serve_app", app, "--port", str(port)], port, env)


def gateway_env(url: str, **extra: str) -> dict[str, str]:
    return {
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_SECRET_KEY": SECRET_KEY,
        "GATEWAY_LOG_JSON": "0",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_MEDIA_DIR": tempfile.gettempdir() + "/kgw-bench-media",
        **extra,
    }


# ---------------------------------------------------------------------- wrk


WRK_LUA = Path(__file__).resolve().parent / "rotate.lua"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(
    url: str, *, duration: float, connections: int, threads: int = 1, requests_file: Path | None = None
) -> dict[str, Any]:
    """wrk with latency percentiles; with `requests_file`, rotate.lua sends its requests in turn."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "10s"]
    if requests_file is not None:
        argv += ["-s", str(WRK_LUA), url, "--", str(requests_file), str(threads)]
    else:
        argv += [url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    watch = CpuWatch()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, Any] = {"argv": " ".join(argv)}
    result["machine_busy_cores"] = watch.busy_cores()
    result["wrk_cpu_cores"] = round((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / duration, 2)
    result["requests_per_s"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    result["requests"] = int(done.group(1)) if done else None  # type: ignore[union-attr]
    for p in ("50", "75", "90", "99"):
        found = re.search(rf"^\s+{p}%\s+([\d.]+\w+)", out, re.M)
        if found:
            result[f"p{p}_ms"] = round(_ms(found.group(1)), 3)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = errors.group(1).strip() if errors else ""
    result["raw"] = out
    return result


def write_requests(path: Path, requests: Iterable[tuple[str, str]]) -> int:
    """One request per line: "<path-with-query>\\t<body>" (bodies must not contain newlines or tabs)."""
    count = 0
    with path.open("w") as fh:
        for target, body in requests:
            if "\n" in body or "\t" in body:
                raise ValueError("request bodies for rotate.lua must be single-line")
            fh.write(f"{target}\t{body}\n")
            count += 1
    return count


# ---------------------------------------------------------------------- timing


async def timed(fn: Callable[[], Any], repeat: int, *, warmup: int = 5) -> list[float]:
    """Durations in seconds of `repeat` awaited calls of `fn()` (after `warmup` unmeasured ones)."""
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return samples


def run(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)
