"""`kefu-gateway db …`, `channel …` and `simulator` as a user runs them (real subprocesses)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

EXE = str(Path(sys.executable).with_name("kefu-gateway"))
AES = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def run(*args: str, env: dict[str, str], input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], env=env, input=input, capture_output=True, text=True, timeout=60)


def test_db_and_channel_commands(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "GATEWAY_SECRET_KEY": "a-long-enough-secret-key-123",
    }
    assert "base (behind head" in run("db", "current", env=env).stdout
    assert run("db", "upgrade", env=env).returncode == 0
    assert "(up to date)" in run("db", "current", env=env).stdout
    assert "no channels configured" in run("channel", "list", env=env).stdout
    added = run(
        "channel",
        "add",
        "wecom",
        "--name",
        "c",
        "--corpid",
        "ww1",
        "--secret",
        "S3CR3T-VALUE",
        "--token",
        "TOKEN-VALUE",
        "--aes-key",
        AES,
        env=env,
    )
    assert added.returncode == 0 and "callback URL" in added.stdout and "/callbacks/1" in added.stdout
    listed = run("channel", "list", env=env).stdout
    assert "ww1" in listed and "S3CR3T-VALUE" not in listed and AES not in listed
    bad = run(
        "channel",
        "add",
        "mp",
        "--name",
        "m",
        "--appid",
        "wx",
        "--secret",
        "s",
        "--token",
        "t",
        "--aes-key",
        "short",
        env=env,
    )
    assert bad.returncode == 2 and "43 characters" in bad.stderr
    dup = run(
        "channel",
        "add",
        "wecom",
        "--name",
        "c",
        "--corpid",
        "ww2",
        "--secret",
        "s",
        "--token",
        "t",
        "--aes-key",
        AES,
        env=env,
    )
    # a taken name is refused before any secret is asked for (a usage error: exit 2)
    assert dup.returncode == 2 and "already exists" in dup.stderr
    assert run("db", "downgrade", "base", env=env).returncode == 0
    assert "base (behind head" in run("db", "current", env=env).stdout


def test_secret_key_is_required_outside_the_demo(tmp_path: Path) -> None:
    env = {**os.environ, "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}"}
    env.pop("GATEWAY_SECRET_KEY", None)
    run("db", "upgrade", env=env)
    result = run(
        "channel",
        "add",
        "wecom",
        "--name",
        "c",
        "--corpid",
        "ww1",
        "--secret",
        "s",
        "--token",
        "t",
        "--aes-key",
        AES,
        env=env,
    )
    assert result.returncode == 1 and "GATEWAY_SECRET_KEY" in result.stderr


def test_simulator_runs_standalone() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [EXE, "simulator", "--port", str(port), "--seed", "7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/_sim/clock", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.1)
        httpx.post(f"{base}/_sim/wecom/corps", json={"corpid": "wwx", "secret": "sec"}).raise_for_status()
        token = httpx.get(f"{base}/wecom/cgi-bin/gettoken", params={"corpid": "wwx", "corpsecret": "sec"}).json()
        assert token["errcode"] == 0 and token["expires_in"] == 7200
        bad = httpx.get(f"{base}/wecom/cgi-bin/kf/account/list").json()
        assert bad["errcode"] == 41001  # no token: a platform errcode, not a framework error page
    finally:
        proc.terminate()
        proc.wait(timeout=10)
