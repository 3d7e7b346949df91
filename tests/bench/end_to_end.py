"""Benchmark 4 (+ 6): end to end — a customer message in the simulator → visible in the event feed; peak RSS.

Two real processes on loopback: the simulator (`kefu-gateway simulator`) and the gateway
(`kefu-gateway serve`, sync loop and job runner on). The simulator's corp pushes encrypted
kf_msg_or_event callbacks to the gateway, which pulls sync_msg from the simulator and ingests.

This process drives `--customers` customers through the simulator's driver API at a steady
`--rate` messages per second for `--duration` seconds (each message a driver call started on
schedule, not waiting for the previous one) and follows the gateway's event feed over SSE
(GET /api/v1/events/stream?types=message.created, a read API key). Latency of a message = the
moment its `message.created` event arrives on the stream − the moment the driver call that made
the customer write it was started (so it includes the driver call, the callback push, the sync
pull, ingest, commit and the SSE hop). Reported overall and per 5-second window (a backlog would
show as growing windows).

    .venv/bin/python -m tests.bench.end_to_end [--db sqlite|postgresql|both] [--rate 200] [--duration 30]
        [--customers 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httpx

from tests.bench.common import (
    AES_KEY,
    BIN,
    CpuWatch,
    Server,
    add_api_key,
    add_channel,
    database_kinds,
    free_port,
    fresh_database,
    gateway_env,
    heading,
    percentiles,
    run,
    save,
)

CORPID = "wwe2ebench000001"
SECRET = "wecom-app-secret"
TOKEN = "E2eCallbackToken"
WINDOW = 5.0


class Follower:
    """Reads the SSE stream and notes when each `e2e-<n>` message.created arrives."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.key = key
        self.arrived: dict[int, float] = {}
        self.connected = asyncio.Event()
        self.events = 0

    async def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "Accept": "text/event-stream"}
        async with httpx.AsyncClient(base_url=self.base, timeout=httpx.Timeout(5.0, read=None)) as client:
            async with client.stream(
                "GET", "/api/v1/events/stream", params={"types": "message.created"}, headers=headers
            ) as response:
                if response.status_code != 200:
                    raise RuntimeError(f"event stream answered {response.status_code}: {await response.aread()}")
                self.connected.set()
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    now = time.monotonic()
                    event = json.loads(line[5:].strip())
                    self.events += 1
                    content = (event.get("data") or {}).get("content") or ""
                    if content.startswith("e2e-"):
                        self.arrived.setdefault(int(content[4:].split(" ", 1)[0]), now)


async def drive(sim: str, gateway: str, key: str, args: argparse.Namespace) -> dict[str, Any]:
    from kefu_sim import SimDriver

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=sim, timeout=30.0, limits=limits) as client:
        driver = SimDriver(client)
        kf = (await driver.wecom_add_kf_account(CORPID, name="E2E"))["open_kfid"]
        customers = [
            (await driver.wecom_add_customer(CORPID, nickname=f"客户{n}", unionid=f"U-e2e-{n:05d}"))["external_userid"]
            for n in range(args.customers)
        ]
        follower = Follower(gateway, key)
        follow_task = asyncio.create_task(follower.run())
        await asyncio.wait_for(follower.connected.wait(), 10)
        started: dict[int, float] = {}
        call_seconds: list[float] = []
        errors: list[str] = []

        async def send(n: int) -> None:
            t0 = time.monotonic()
            started[n] = t0
            try:
                await driver.wecom_customer_send(
                    CORPID, kf, customers[n % len(customers)], content=f"e2e-{n} 你好，请问我的订单到哪了"
                )
            except Exception as exc:  # counted and reported
                errors.append(repr(exc))
            call_seconds.append(time.monotonic() - t0)

        async def phase(first: int, count: int, rate: float) -> None:
            begin = time.monotonic()
            tasks = []
            for i in range(count):
                delay = begin + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(send(first + i)))
            await asyncio.gather(*tasks)

        async def settle(upto: int, timeout: float) -> None:
            deadline = time.monotonic() + timeout
            while True:
                if time.monotonic() > deadline or all(n in follower.arrived for n in range(upto)):
                    return
                await asyncio.sleep(0.1)

        warm = min(200, int(args.rate * 2))
        await phase(0, warm, args.rate / 2)  # warm-up at half rate: tokens, contacts, conversations
        await settle(warm, 60)
        total = int(args.rate * args.duration)
        watch = CpuWatch()
        send_begin = time.monotonic()
        await phase(warm, total, args.rate)
        send_seconds = time.monotonic() - send_begin
        await settle(warm + total, 60)
        busy = watch.busy_cores()
        follow_task.cancel()
        measured = range(warm, warm + total)
        latencies = [follower.arrived[n] - started[n] for n in measured if n in follower.arrived]
        windows = []
        for w in range(int(args.duration / WINDOW)):
            lo, hi = warm + int(w * WINDOW * args.rate), warm + int((w + 1) * WINDOW * args.rate)
            found = [follower.arrived[n] - started[n] for n in range(lo, hi) if n in follower.arrived]
            windows.append({"from_s": w * WINDOW, **percentiles(found, (50, 95))})
        return {
            "warmup_messages": warm,
            "messages_sent": total,
            "achieved_send_rate": round(total / send_seconds, 1),
            "received": len(latencies),
            "missing": total - len(latencies),
            "driver_errors": len(errors),
            "latency": percentiles(latencies, (50, 95, 99)),
            "driver_call": percentiles(call_seconds, (50, 95)),
            "windows": windows,
            "machine_busy_cores": busy,
            "sample_errors": errors[:3],
        }


def bench(kind: str, sim: Server, args: argparse.Namespace) -> dict[str, Any]:
    db = run(fresh_database(kind))
    try:
        channel_id = run(
            add_channel(db.url, "wecom", app_id=CORPID, token=TOKEN, name="wecom", api_base=f"{sim.base}/wecom")
        )
        key = run(add_api_key(db.url, "read"))
        port = free_port()
        gateway = Server(
            "gateway", [str(BIN / "kefu-gateway"), "serve", "--port", str(port)], port, gateway_env(db.url)
        ).start()
        try:
            httpx.post(
                f"{sim.base}/_sim/wecom/corps",
                json={
                    "corpid": CORPID,
                    "secret": SECRET,
                    "callback_url": f"{gateway.base}/callbacks/{channel_id}",
                    "callback_token": TOKEN,
                    "encoding_aes_key": AES_KEY,
                },
            ).raise_for_status()
            gw_cpu, sim_cpu, started = gateway.cpu_seconds(), sim.cpu_seconds(), time.monotonic()
            found = run(drive(sim.base, gateway.base, key, args))
            elapsed = time.monotonic() - started  # warm-up, steady phase and settling
            found["gateway_cpu_cores"] = round((gateway.cpu_seconds() - gw_cpu) / elapsed, 2)
            found["simulator_cpu_cores"] = round((sim.cpu_seconds() - sim_cpu) / elapsed, 2)
            found["gateway_cpu_ms_per_message"] = round(
                (gateway.cpu_seconds() - gw_cpu) * 1000 / (found["messages_sent"] + found["warmup_messages"]), 2
            )
            found["gateway_peak_rss_mb"] = gateway.peak_rss_mb()
            found["gateway_rss_end_mb"] = gateway.rss_mb()
        finally:
            gateway.stop()
    finally:
        run(db.drop())
    lat = found["latency"]
    print(
        f"sent {found['messages_sent']} at {found['achieved_send_rate']}/s; received {found['received']} "
        f"(missing {found['missing']}, driver errors {found['driver_errors']})"
    )
    print(
        f"latency ms: p50 {lat.get('p50_ms')}  p95 {lat.get('p95_ms')}  p99 {lat.get('p99_ms')}  "
        f"max {lat.get('max_ms')}   (driver call p50 {found['driver_call'].get('p50_ms')} ms)"
    )
    print("per 5 s window p50/p95: " + "  ".join(f"{w.get('p50_ms')}/{w.get('p95_ms')}" for w in found["windows"]))
    print(
        f"CPU cores over the run: gateway {found['gateway_cpu_cores']} "
        f"({found['gateway_cpu_ms_per_message']} ms per message), simulator {found['simulator_cpu_cores']}; "
        f"machine busy during the steady phase {found['machine_busy_cores']};  "
        f"gateway peak RSS {found['gateway_peak_rss_mb']} MB"
    )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--customers", type=int, default=200)
    args = parser.parse_args()
    figures: dict[str, Any] = {"settings": vars(args), "databases": {}}
    for kind in database_kinds(args.db):
        heading(f"{kind}: {args.rate:g} messages/s for {args.duration:g} s")
        port = free_port()
        sim = Server(
            "simulator",
            [str(BIN / "kefu-gateway"), "simulator", "--port", str(port), "--seed", "4"],
            port,
            ready_path="/_sim/clock",
        ).start()
        try:
            figures["databases"][kind] = bench(kind, sim, args)
        finally:
            sim.stop()
    save("end_to_end", figures)


if __name__ == "__main__":
    main()
