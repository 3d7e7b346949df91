"""Load for tests/reliability/test_overload.py, in a process of its own (so it does not share the server's loop).

    python -m tests.reliability.loadgen URL KEY READERS STREAMS SECONDS

`READERS` clients GET a REST page in a loop (not waiting out Retry-After: the harsher client) and
`STREAMS` clients open the event stream with the same key and keep reading it. Prints "ready" once
every stream has its answer, then, after SECONDS, one JSON line: REST answers by status, whether every
503 said `overloaded` with a Retry-After, and the streams' statuses.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter

import httpx

PAGE = "/api/v1/conversations?limit=50"


async def reader(client: httpx.AsyncClient, until: float, seen: Counter[str], bad_503: list[str]) -> None:
    while time.monotonic() < until:
        try:
            response = await client.get(PAGE)
        except httpx.HTTPError as exc:
            seen[type(exc).__name__] += 1
            continue
        seen[str(response.status_code)] += 1
        if response.status_code == 503:
            code = response.json().get("error", {}).get("code")
            if code != "overloaded" or not response.headers.get("retry-after"):
                bad_503.append(f"{code} retry-after={response.headers.get('retry-after')}")


async def stream(client: httpx.AsyncClient, until: float, statuses: list[int], opened: asyncio.Event) -> None:
    try:
        async with client.stream("GET", "/api/v1/events/stream") as response:
            statuses.append(response.status_code)
            opened.set()
            if response.status_code != 200:
                await response.aread()
                return
            async for _ in response.aiter_lines():
                if time.monotonic() >= until:
                    return
    except httpx.HTTPError:
        statuses.append(0)
        opened.set()


async def main(url: str, key: str, readers: int, streams: int, seconds: float) -> None:
    limits = httpx.Limits(max_connections=readers + streams + 10, max_keepalive_connections=readers + streams)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30.0) as client:
        until = time.monotonic() + seconds + 5
        statuses: list[int] = []
        events = [asyncio.Event() for _ in range(streams)]
        stream_tasks = [asyncio.create_task(stream(client, until, statuses, e)) for e in events]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 20)
        print("ready", flush=True)
        until = time.monotonic() + seconds
        seen: Counter[str] = Counter()
        bad_503: list[str] = []
        await asyncio.gather(*(reader(client, until, seen, bad_503) for _ in range(readers)))
        for task in stream_tasks:
            task.cancel()
        await asyncio.gather(*stream_tasks, return_exceptions=True)
    print(json.dumps({"rest": dict(seen), "bad_503": bad_503[:5], "streams": statuses}), flush=True)


if __name__ == "__main__":
    url, key, readers, streams, seconds = sys.argv[1:6]
    asyncio.run(main(url, key, int(readers), int(streams), float(seconds)))
