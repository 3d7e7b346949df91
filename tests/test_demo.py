"""The README's run command: `kefu-gateway demo` shows conversations of both platforms over REST quickly."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

EXE = str(Path(sys.executable).with_name("kefu-gateway"))


def free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind(("127.0.0.1", 0))
                port = a.getsockname()[1]
                b.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port pair")


@pytest.mark.slow
def test_demo_serves_both_platforms_through_the_api(tmp_path: Path) -> None:
    port = free_port_pair()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    proc = subprocess.Popen(
        [EXE, "demo", "--port", str(port), "--rate", "8", "--duration", "60"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        key = None
        sign_in: dict[str, str] = {}
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while key is None or "Ctrl-C" not in lines[-1]:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "demo exited early:\n" + "".join(lines)
            lines.append(line)
            if match := re.search(r"API key\s+(kgw_\S+)", line):
                key = match.group(1)
            if match := re.match(r"Operator (email|password)\s+(\S+)", line):
                sign_in[match.group(1)] = match.group(2)
            assert time.monotonic() < deadline, "demo did not print its API key:\n" + "".join(lines)
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}/api/v1" in text and f"http://127.0.0.1:{port}/schema" in text
        headers = {"Authorization": f"Bearer {key}"}
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 45
        kinds: set[str] = set()
        while kinds != {"wecom", "mp"}:
            assert time.monotonic() < deadline, f"only {kinds} after 45 s"
            time.sleep(0.5)
            channels = {c["id"]: c["kind"] for c in httpx.get(f"{base}/channels", headers=headers).json()["data"]}
            inboxes = {i["id"]: i["channel_id"] for i in httpx.get(f"{base}/inboxes", headers=headers).json()["data"]}
            page = httpx.get(f"{base}/conversations", headers=headers, params={"limit": 200}).json()["data"]
            kinds = {channels[inboxes[c["inbox_id"]]] for c in page if c["inbox_id"] in inboxes}
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
        # the printed operator signs in over HTTP and the session works (the cookie jar keeps it)
        assert sign_in.keys() == {"email", "password"}, text
        with httpx.Client(base_url=base) as browser:
            signed = browser.post("/auth/sign-in", json=sign_in)
            assert signed.status_code == 200, signed.text
            assert "kefu_session" in browser.cookies
            me = browser.get("/auth/me")
            assert me.status_code == 200 and me.json()["operator"]["email"] == sign_in["email"]
            assert me.json()["operator"]["role"] == "admin" and me.json()["csrf_token"] == signed.json()["csrf_token"]
            assert browser.get("/conversations").status_code == 200
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out
    assert "stopping" in out
