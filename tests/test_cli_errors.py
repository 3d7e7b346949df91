"""A misconfiguration prints one line (what is wrong, how to fix it) and exits non-zero; --debug shows the traceback.

Run as real processes of the installed console script, the way a person meets these errors.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "kefu-gateway"
KEY = "a-private-test-key-0123456789abcdef"


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    base.update({"GATEWAY_SECRET_KEY": KEY, "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", **env})
    base = {k: v for k, v in base.items() if v != "<unset>"}
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=base, cwd=tmp_path, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({"GATEWAY_SECRET_KEY": "<unset>"}, ["serve"], "GATEWAY_SECRET_KEY is not set"),
        ({"GATEWAY_SECRET_KEY": "short"}, ["serve"], "at least 16 characters"),
        ({"GATEWAY_PORT": "abc"}, ["serve"], "GATEWAY_PORT must be an integer"),
        ({"GATEWAY_PORT": "70000"}, ["serve"], "GATEWAY_PORT must be between 1 and 65535"),
        ({"GATEWAY_LOG_LEVEL": "LOUD"}, ["serve"], "GATEWAY_LOG_LEVEL must be one of"),
        ({"GATEWAY_DATABASE_URL": "mysql://x@y/z"}, ["db", "current"], "GATEWAY_DATABASE_URL must be"),
        ({"GATEWAY_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/x"}, ["db", "current"], "GATEWAY_DATABASE_URL"),
        ({}, ["serve"], "run `kefu-gateway db upgrade`"),
    ],
)
def test_a_misconfiguration_is_one_line(tmp_path: Path, env: dict[str, str], args: list[str], expected: str) -> None:
    done = run(args, tmp_path, **env)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = run(["--debug", "serve"], tmp_path, GATEWAY_LOG_LEVEL="LOUD")
    assert done.returncode != 0 and "Traceback" in done.stderr and "GATEWAY_LOG_LEVEL" in done.stderr


def test_channel_add_refuses_a_taken_name_before_asking_for_secrets(tmp_path: Path) -> None:
    env = {"GATEWAY_ALLOW_CUSTOM_API_BASE": "1"}
    assert run(["db", "upgrade"], tmp_path, **env).returncode == 0
    args = ["channel", "add", "mp", "--name", "oa", "--appid", "wx1", "--mode", "plain"]
    first = subprocess.run(
        [str(SCRIPT), *args, "--secret", "s", "--token", "t"],
        capture_output=True,
        text=True,
        env={**os.environ, "GATEWAY_SECRET_KEY": KEY, "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}"},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    assert "is not reachable from the internet" in first.stderr and "GATEWAY_PUBLIC_URL" in first.stderr
    again = run(args, tmp_path)  # no --secret / --token: it must not get as far as prompting for them
    assert again.returncode == 2
    assert "already exists" in again.stderr and "Secret" not in again.stdout + again.stderr


def test_a_public_https_url_gets_no_reachability_warning(tmp_path: Path) -> None:
    env = {"GATEWAY_PUBLIC_URL": "https://kefu.example.com"}
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    done = run(
        ["channel", "add", "mp", "--name", "oa", "--appid", "wx1", "--mode", "plain", "--secret", "s", "--token", "t"],
        tmp_path,
        **env,
    )
    assert done.returncode == 0, done.stderr
    assert "https://kefu.example.com/callbacks/1" in done.stdout and "not reachable" not in done.stderr


def test_gateway_debug_in_the_environment_shows_the_traceback_too(tmp_path: Path) -> None:
    done = run(["serve"], tmp_path, GATEWAY_LOG_LEVEL="LOUD", GATEWAY_DEBUG="1")
    assert done.returncode != 0 and "Traceback" in done.stderr
