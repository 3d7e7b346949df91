"""SIGTERM to a real `kefu-gateway serve` process while a reply is on its way to the platform.

The process (SQLite file, the simulator as another real process) must let the send in flight finish,
record its outcome, and exit cleanly: the customer gets the reply once and the message says `sent`,
not `sending` until a lease runs out (issue #13: a restart cancelled in-flight sends).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
from sqlalchemy import select

from gateway.db.engine import Database
from gateway.db.models import Message
from gateway.db.repositories.apikeys import create_key
from kefu_sim import SimDriver
from tests.conftest import TEST_SECRET_KEY
from tests.scale.cluster import free_port, run_cli, spawn, wait_ready

AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
APPID = "wxsigterm0000001"
SEND = "/cgi-bin/message/custom/send"
PLATFORM_DELAY = 3.0  # the platform takes this long to answer the send: SIGTERM lands inside it


async def until(check, what: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_sigterm_lets_the_send_in_flight_finish_and_record_it(tmp_path: Path) -> None:
    sim_port, port = free_port(), free_port()
    sim_url, url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{port}"
    db_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    env = {
        "PATH": "/usr/bin:/bin",
        "GATEWAY_DATABASE_URL": db_url,
        "GATEWAY_SECRET_KEY": TEST_SECRET_KEY,
        "GATEWAY_ALLOW_CUSTOM_API_BASE": "1",  # the gateway talks to the simulator, not to Tencent
        "GATEWAY_PUBLIC_URL": url,
        "GATEWAY_MEDIA_DIR": str(tmp_path / "media"),
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_LOG_JSON": "0",
    }
    run_cli(["db", "upgrade"], env)
    added = run_cli(
        [
            "channel",
            "add",
            "mp",
            "--name",
            "sigterm-mp",
            "--appid",
            APPID,
            "--secret",
            "sigterm-secret",
            "--token",
            "SigtermToken",
            "--aes-key",
            AES_KEY,
            "--mode",
            "safe",
            "--api-base",
            f"{sim_url}/mp",
        ],
        env,
    )
    channel_id = int(added.split("channel ", 1)[1].split()[0])
    sim = spawn("simulator", ["simulator", "--port", str(sim_port), "--seed", "5"], env, tmp_path)
    gateway = spawn("gateway", ["serve", "--port", str(port)], env, tmp_path)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    try:
        async with httpx.AsyncClient(timeout=10.0) as http, httpx.AsyncClient(base_url=sim_url, timeout=30.0) as s:
            await wait_ready(http, f"{sim_url}/_sim/clock", sim)
            await wait_ready(http, f"{url}/healthz", gateway)
            driver = SimDriver(s)
            await driver.mp_create_app(
                appid=APPID,
                secret="sigterm-secret",
                wechat_id="gh_sigterm",
                callback_url=f"{url}/callbacks/{channel_id}",
                callback_token="SigtermToken",
                encoding_aes_key=AES_KEY,
                callback_mode="safe",
            )
            async with db.session() as session:
                _, key = await create_key(session, name="sigterm", scope="write")
            api = httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10.0)
            openid = (await driver.mp_add_follower(APPID))["openid"]
            await driver.mp_user_text(APPID, openid, "are you closing?")

            async def conversation() -> bool:
                return bool((await api.get("/api/v1/conversations")).json()["data"])

            await until(conversation, "the customer's message")
            conversation_id = (await api.get("/api/v1/conversations")).json()["data"][0]["id"]
            await driver.add_fault(SEND, "latency", PLATFORM_DELAY, remaining=1)
            accepted = await api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": "bye"})
            assert accepted.status_code == 202, accepted.text
            message_id = accepted.json()["id"]

            async def in_flight() -> bool:
                return bool(await driver.calls(path=SEND))

            await until(in_flight, "the send to reach the platform")
            gateway.popen.send_signal(signal.SIGTERM)
            exit_code = await asyncio.to_thread(gateway.popen.wait, 30)
            await api.aclose()
            # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM (or 0)
            assert exit_code in (0, -signal.SIGTERM), gateway.tail()
            deliveries = [d for d in await driver.deliveries(platform="mp", touser=openid) if "bye" in str(d)]
            assert len(deliveries) == 1
        async with db.sessions() as session:
            reply = await session.scalar(select(Message).where(Message.id == message_id))
        assert reply is not None and reply.status == "sent", (reply and reply.status, gateway.tail())
    finally:
        gateway.stop()
        sim.stop()
        await db.dispose()
