"""`import mp-history` and `export` refuse, in one line and with a non-zero exit, to run where they cannot,
and leave no file behind; `--demo` opens the demo's database with the demo's key.

Real processes of the installed console script, in a fresh directory each (SQLite; the checks run
before any database is opened).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.db import migrate
from gateway.db.engine import Database
from gateway.db.repositories.channels import ChannelRepository
from gateway.sealing import SecretBox
from gateway.settings import DEMO_SECRET_KEY

SCRIPT = Path(sys.executable).parent / "kefu-gateway"
KEY = "a-private-test-key-0123456789abcdef"
IMPORT = ["import", "mp-history", "--channel", "1", "--since", "2026-01-01", "-q"]


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    base.update({"GATEWAY_SECRET_KEY": KEY, **env})
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=base, cwd=cwd, timeout=60, check=False
    )


def one_line(done: subprocess.CompletedProcess[str], expected: str) -> None:
    assert done.returncode != 0, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def _add_channel(path: Path, kind: str, key: str = KEY) -> int:
    async def add() -> int:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            async with db.session() as session:
                row = await ChannelRepository(session, SecretBox(key)).create(
                    kind=kind, name=f"{kind}-1", app_id=f"{kind}app", secrets={"secret": "s", "token": "t"}, settings={}
                )
                return row.id
        finally:
            await db.dispose()

    return asyncio.run(add())


@pytest.mark.parametrize("args", [IMPORT, ["export"], ["export", "--out", "history.jsonl"]])
def test_no_database_is_one_line_and_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    one_line(run(args, tmp_path), "run `kefu-gateway db upgrade` first")
    assert list(tmp_path.iterdir()) == []  # no empty ./kefu-gateway.db, no output file


@pytest.mark.parametrize("args", [IMPORT, ["export", "--out", "history.jsonl"]])
def test_a_database_behind_the_code_is_one_line(tmp_path: Path, args: list[str]) -> None:
    migrate.upgrade(f"sqlite:///{tmp_path / 'kefu-gateway.db'}", "0006c_job_lanes")
    one_line(run(args, tmp_path), "is at 0006c_job_lanes")
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("kefu-gateway.db")] == []


def test_unknown_and_non_mp_channels_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "kefu-gateway.db"
    migrate.upgrade(f"sqlite:///{path}")
    one_line(run(IMPORT, tmp_path), "channel 1 not found")
    one_line(run(["export", "--channel", "1", "--out", "out.jsonl"], tmp_path), "channel 1 not found")
    assert not (tmp_path / "out.jsonl").exists()
    wecom = _add_channel(path, "wecom")
    args = ["import", "mp-history", "--channel", str(wecom), "--since", "2026-01-01", "-q"]
    one_line(run(args, tmp_path), f"channel {wecom} is not an MP channel")


def test_the_demo_key_points_at_demo(tmp_path: Path) -> None:
    migrate.upgrade(f"sqlite:///{tmp_path / 'kefu-gateway.db'}")
    for args in (IMPORT, ["export"]):
        one_line(run(args, tmp_path, GATEWAY_SECRET_KEY=DEMO_SECRET_KEY), "add --demo")


def test_demo_opens_the_demo_database_with_the_demo_key(tmp_path: Path) -> None:
    demo_db = tmp_path / "kefu-gateway-demo.db"
    migrate.upgrade(f"sqlite:///{demo_db}")
    mp = _add_channel(demo_db, "mp", DEMO_SECRET_KEY)
    exported = run(["export", "--demo", "--out", "all.jsonl"], tmp_path, GATEWAY_SECRET_KEY="")
    assert exported.returncode == 0, exported.stderr
    assert "exported 0 conversations" in exported.stderr and (tmp_path / "all.jsonl").read_text() == ""
    # the import gets past the key and the database: it opens the channel's secrets and asks the
    # platform (no simulator runs here, so that is the one-line error it stops at)
    args = ["import", "mp-history", "--demo", "--channel", str(mp), "--since", "2026-01-01", "-q"]
    done = run(args, tmp_path, GATEWAY_SECRET_KEY="")
    assert done.returncode != 0 and "demo key" not in done.stderr and "db upgrade" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("kefu-gateway-demo.db")) == ["all.jsonl"]
