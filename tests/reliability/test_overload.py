"""Overload on loopback (issue #18): REST readers and event streams flood a real server while signed
callbacks keep answering within the platforms' deadline, and REST sheds with 503 + Retry-After.

The gateway (harness runtime, real database) is served by uvicorn on a real socket in the test's
loop; the load comes from another process (tests/reliability/loadgen.py), so the server's loop is
the only thing the callbacks and the load share, as in production. The limits are shrunk so a
2-core box saturates them with a modest load: 4 REST requests at a time, 8 waiting for 0.5 s,
4 streams per key.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx
from sqlalchemy import func, select

from gateway.db.models import InboundEvent
from tests.reliability.conftest import Rig
from tests.reliability.forge import targets
from tests.scale.cluster import AsgiServer, free_port

READERS, STREAMS, SECONDS = 120, 8, 6.0
CALLBACKS = 30
# WeCom gives its URL check 1 s (message pushes get 5 s). Unprotected, callbacks starved behind
# REST (1 answer in 46 s); protected, they answer in a few hundred ms on an idle 2-core box. The
# bound is the platform's, which this test holds the gateway to under load (issue #18).
DEADLINE = 1.0


async def test_callbacks_answer_within_a_second_while_rest_sheds_load(rig: Rig) -> None:
    h = rig.h
    admission, streams = h.runtime.admission, h.runtime.streams
    admission.limit, admission.queue, admission.timeout = 4, 8, 0.5
    streams.per_actor = 4
    forge = await targets(h)
    port = free_port()
    # keep-alive outlasts the run: a loop stalled by the load (2 cores) can fire uvicorn's idle timer
    # just as a request arrives on that connection, and the client sees a ReadError, not an answer
    server = AsgiServer(h.app, port, keep_alive=60)
    await server.start()
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:  # the channel's first callback
        warm = forge.push("mp_safe", forge.document("mp_safe", Content="before the load", MsgId="8999"))
        response = await client.post(
            f"/callbacks/{warm.channel_id}", params=warm.query, content=warm.body, headers={"Content-Type": "text/xml"}
        )  # loads and caches its config: a cold start is not what this test measures
        assert response.text == "success"
    load = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.reliability.loadgen",
        url,
        rig.api.keys["read"],
        str(READERS),
        str(STREAMS),
        str(SECONDS),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert load.stdout is not None
        assert (await asyncio.wait_for(load.stdout.readline(), 30)).strip() == b"ready"
        latencies, answers, most_waiting = [], [], 0
        async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
            for n in range(CALLBACKS):
                push = forge.push("mp_safe", forge.document("mp_safe", Content=f"under load {n}", MsgId=str(9000 + n)))
                started = time.monotonic()
                response = await client.post(
                    f"/callbacks/{push.channel_id}",
                    params=push.query,
                    content=push.body,
                    headers={"Content-Type": "text/xml"},
                )
                latencies.append(time.monotonic() - started)
                answers.append((response.status_code, response.text))
                most_waiting = max(most_waiting, admission.waiting)
                await asyncio.sleep(SECONDS / CALLBACKS / 2)
        report = json.loads((await asyncio.wait_for(load.stdout.readline(), 60)).decode())
        await asyncio.wait_for(load.wait(), 30)
    finally:
        if load.returncode is None:
            load.kill()
            await load.wait()
        await server.stop()

    assert answers == [(200, "success")] * CALLBACKS
    assert max(latencies) < DEADLINE, f"callback latencies {sorted(latencies)[-5:]}"
    async with h.db.sessions() as session:
        stored = await session.scalar(
            select(func.count()).select_from(InboundEvent).where(InboundEvent.channel_id == forge.mp_safe)
        )
    assert stored == CALLBACKS + 1  # every answered callback is durable (and the warm-up)

    rest = report["rest"]
    assert "500" not in rest, rest
    assert rest.get("503", 0) > 0 and rest.get("200", 0) > 0, rest  # shed some, served some
    assert set(rest) <= {"200", "503"}, rest
    assert report["bad_503"] == [], report["bad_503"]  # every 503: `overloaded` with Retry-After
    assert sorted(report["streams"]) == [200] * 4 + [429] * (STREAMS - 4), report["streams"]
    assert most_waiting <= admission.queue and admission.refused > 0
