"""Benchmark: the web inbox in a real Chromium on the demo machine — the list after sign-in, live messages.

Two claims of the web inbox, measured in Debian's Chromium driven by Playwright (launched as
tests/web/conftest.py does) against `kefu-gateway demo` (the gateway and the simulator on loopback
in one process, sync and job loops on, callbacks over real HTTP) on a database seeded like
tests/bench/inbox_reads.py (100k conversations, 1M messages, with inbox_people.py's operators,
read states and labels):

(a) "The list view renders in under 300 ms after sign-in." Per repetition a fresh browser context
    (no cookies) loads the page, fills the sign-in form and submits it; the time runs from the
    form's submit event to the moment `#conversations` holds the list's first page of
    `[data-conversation-id]` rows (the page asks for `const PAGE` rows, list.js), measured in the
    page with `performance.now()` and a MutationObserver (tests/bench/inbox_web_page.py). The same
    page then reloads with its session: navigation start → the rows. `frame` is the next animation
    frame after the rows are in the DOM (just before they are painted). The operator signing in is
    inbox_people's viewer (operator 1: assigned conversations, 5,000+ read states), turned into
    the demo's admin `demo@kefu.local`.
(b) "A new message appears in an open thread within 1 s of the platform callback." The page opens
    a WeCom conversation, then an MP conversation, of customers this benchmark adds to the demo's
    simulated corp and official account; the customer writes `--repeat` times (0.5–1 s apart) and
    the time runs from just before the driver call that makes the simulator push the callback
    (time.time()) to the moment a MutationObserver sees the message in `#thread`
    (performance.timeOrigin + performance.now(), corrected by the measured offset between the two
    clocks). WeCom: callback → sync_msg pull → ingest → event stream → the page fetches the new
    page of messages; MP: the callback carries the message.

The seeded channels are disabled (their inboxes would otherwise be polled at the real platforms'
hosts); their conversations still list. PostgreSQL gets VACUUM ANALYZE after seeding, as autovacuum would;
SQLite is left as the gateway leaves it (`--sqlite-analyze` to run ANALYZE there too).

    PYTHONPATH=. .venv/bin/python -m tests.bench.inbox_web [--db sqlite|postgresql|both]
        [--conversations 100000] [--messages 1000000] [--repeat 20] [--chatter 0]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

import httpx
from sqlalchemy import text, update

from tests.bench.common import (
    PYTHON,
    CpuWatch,
    Server,
    database_kinds,
    free_port,
    fresh_database,
    gateway_env,
    heading,
    percentiles,
    run,
    save,
)
from tests.bench.inbox_people import VIEWER, seed_people
from tests.bench.inbox_reads import analyze, seed
from tests.bench.inbox_web_page import (
    ROWS_PROBE,
    clock_offset,
    list_page_size,
    open_conversation,
    seen_at,
    sign_in_once,
)

PASSWORD = "bench correct horse battery staple"
SEEDED_APPS = ("wwreadsbench0001", "wxreadsbench0001")
WARMUP = 2
WHAT = {"rows": "in the DOM", "frame": "next frame", "after_answer": "from the sign-in answer"}


async def prepare(url: str) -> None:
    """Disable the seeded channels, make the viewer the demo's operator, and (PostgreSQL) move the id
    sequences past the bulk-inserted explicit ids so the demo's ingest can insert rows."""
    from gateway import demo
    from gateway.db.engine import Database
    from gateway.db.models import Base, Channel
    from gateway.db.people import Operator

    db = Database(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(update(Channel).where(Channel.app_id.in_(SEEDED_APPS)).values(enabled=False))
            await connection.execute(
                update(Operator).where(Operator.id == VIEWER).values(email=demo.OPERATOR_EMAIL, name="Demo Admin")
            )
            if not db.is_sqlite:
                for table in Base.metadata.sorted_tables:
                    if "id" in table.c and table.c.id.primary_key:
                        await connection.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                f"(SELECT COALESCE(max(id), 0) + 1 FROM {table.name}), false)"
                            )
                        )
    finally:
        await db.dispose()


def start_demo(url: str, chatter: float) -> Server:
    """`kefu-gateway demo` on the seeded database; returns once it printed its sign-in lines."""
    port = free_port()
    argv = [PYTHON, "-c", "from gateway.cli import main; main()", "demo", "--port", str(port)]
    argv += ["--rate", str(chatter), "--operator-password", PASSWORD, "--seed", "1"]
    env = gateway_env(url, GATEWAY_LOG_LEVEL="WARNING")
    server = Server("demo", argv, port, env).start(timeout=120)
    deadline = time.monotonic() + 120
    while "Operator email" not in server.log_tail(200):
        if time.monotonic() > deadline or (server.proc is not None and server.proc.poll() is not None):
            server.stop()
            raise RuntimeError(f"the demo did not finish seeding:\n{server.log_tail()}")
        time.sleep(0.2)
    return server


async def measure_list(browser: Any, base: str, repeat: int, rows: int) -> dict[str, Any]:
    from gateway import demo

    samples: list[dict[str, Any]] = []
    watch = CpuWatch()
    for n in range(WARMUP + repeat):
        context = await browser.new_context()
        await context.add_init_script(ROWS_PROBE % rows)
        try:
            found = await sign_in_once(context, base, demo.OPERATOR_EMAIL, PASSWORD)
        finally:
            await context.close()
        if n >= WARMUP:
            samples.append(found)
    out: dict[str, Any] = {"rows": rows, "machine_busy_cores": watch.busy_cores()}
    for phase in ("signin", "reload"):
        out[phase] = {
            "rows": percentiles([s[phase]["rows_ms"] / 1000 for s in samples], (50, 95)),
            "frame": percentiles([s[phase]["frame_ms"] / 1000 for s in samples], (50, 95)),
            "after_answer": percentiles(
                [s[phase]["after_answer_ms"] / 1000 for s in samples if "after_answer_ms" in s[phase]], (50, 95)
            ),
            "calls": call_breakdown([s[phase]["calls"] for s in samples]),
            "samples_ms": [round(s[phase]["rows_ms"], 1) for s in samples],
        }
    out["rows_seen"] = sorted({s["signin"]["rows"] for s in samples})
    return out


def call_breakdown(runs: list[list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Per API path (first call of a run): median start and end, ms from the phase's start."""
    by_path: dict[str, list[tuple[float, float]]] = {}
    for calls in runs:
        first: dict[str, tuple[float, float]] = {}
        for call in calls:
            first.setdefault(call["path"], (call["start"], call["end"]))
        for path, span in first.items():
            by_path.setdefault(path, []).append(span)
    out = {}
    for path, spans in by_path.items():
        starts, ends = sorted(s for s, _ in spans), sorted(e for _, e in spans)
        out[path] = {"start_p50_ms": starts[len(starts) // 2], "end_p50_ms": ends[len(ends) // 2], "n": len(spans)}
    return dict(sorted(out.items(), key=lambda item: item[1]["start_p50_ms"]))


async def conversation_of(url: str, source_id: str, timeout: float = 30.0) -> int:
    """The open conversation of the customer whose external_userid / openid is `source_id` (waits for it)."""
    from gateway.db.engine import Database

    db = Database(url)
    deadline = time.monotonic() + timeout
    query = text(
        "SELECT c.id FROM conversations c JOIN contact_identities i ON c.identity_id = i.id "
        "WHERE i.source_id = :s AND c.status != 'resolved' ORDER BY c.id DESC"
    )
    try:
        while True:
            async with db.engine.connect() as connection:
                found = await connection.scalar(query, {"s": source_id})
            if found is not None:
                return int(found)
            if time.monotonic() > deadline:
                raise RuntimeError(f"no conversation of {source_id!r} was ingested")
            await asyncio.sleep(0.1)
    finally:
        await db.dispose()


async def measure_live(browser: Any, base: str, sim: str, url: str, repeat: int) -> dict[str, Any]:
    from gateway import demo
    from kefu_sim import SimDriver

    rng = random.Random(7)
    out: dict[str, Any] = {}
    context = await browser.new_context()
    page = await context.new_page()
    async with httpx.AsyncClient(base_url=sim, timeout=30.0) as client:
        driver = SimDriver(client)
        world = await driver.dump_state()
        kfs = world["corps"][demo.CORPID]["kf_accounts"]
        kf = next((k for k, a in kfs.items() if a.get("servicers")), next(iter(kfs)))
        wecom_user = (await driver.wecom_add_customer(demo.CORPID, nickname="基准客户"))["external_userid"]
        openid = (await driver.mp_add_follower(demo.APPID, nickname="基准粉丝"))["openid"]
        senders = {
            "wecom": (
                wecom_user,
                lambda content: driver.wecom_customer_send(demo.CORPID, kf, wecom_user, content=content),
            ),
            "mp": (openid, lambda content: driver.mp_user_text(demo.APPID, openid, content)),
        }
        try:
            await page.goto(base)
            await page.fill("input[name=email]", demo.OPERATOR_EMAIL)
            await page.fill("input[name=password]", PASSWORD)
            await page.click("#signin-form button[type=submit]")
            await page.locator("#conversations [data-conversation-id]").first.wait_for(timeout=60_000)
            for platform, (customer, send) in senders.items():
                await send(f"bench-{platform}-0 你好")
                conversation = await conversation_of(url, customer)
                await open_conversation(page, conversation, f"bench-{platform}-0")
                clock = await clock_offset(page)
                latencies, calls, missing = [], [], 0
                watch = CpuWatch()
                for n in range(1, WARMUP + repeat + 1):
                    marker = f"bench-{platform}-{n}"
                    started = time.time()
                    await send(f"{marker} 请问我的订单到哪了")
                    calls.append(time.time() - started)
                    at = await seen_at(page, marker)
                    if at is None:
                        missing += 1
                    elif n > WARMUP:
                        latencies.append((at - clock["offset_ms"]) / 1000 - started)
                    await asyncio.sleep(rng.uniform(0.5, 1.0))
                out[platform] = {
                    "conversation_id": conversation,
                    "samples_ms": [round(x * 1000, 1) for x in latencies],
                    "latency": percentiles(latencies, (50, 95)),
                    "driver_call": percentiles(calls[WARMUP:], (50, 95)),
                    "missing": missing,
                    "clock": clock,
                    "machine_busy_cores": watch.busy_cores(),
                }
        finally:
            await context.close()
    return out


async def measure(base: str, sim: str, url: str, args: argparse.Namespace, rows: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from tests.web.conftest import chromium_path

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            found = {"list": await measure_list(browser, base, args.repeat, rows)}
            found["live"] = await measure_live(browser, base, sim, url, args.repeat)
        finally:
            await browser.close()
    return found


def bench(kind: str, args: argparse.Namespace, rows: int) -> dict[str, Any]:
    db = run(fresh_database(kind))
    try:
        contacts = max(1, int(args.conversations * 0.8))
        data = run(seed(db.url, conversations=args.conversations, messages=args.messages, contacts=contacts))
        found: dict[str, Any] = {"seed_seconds": round(data["seed_seconds"], 1), "people": run(seed_people(db.url))}
        if kind == "postgresql" or args.sqlite_analyze:
            run(analyze(db.url))
        found["analyzed"] = kind == "postgresql" or args.sqlite_analyze
        run(prepare(db.url))
        demo = start_demo(db.url, args.chatter)
        try:
            cpu, started = demo.cpu_seconds(), time.monotonic()
            found.update(run(measure(demo.base, f"http://127.0.0.1:{demo.port + 1}", db.url, args, rows)))
            found["demo_cpu_cores"] = round((demo.cpu_seconds() - cpu) / (time.monotonic() - started), 2)
            found["demo_peak_rss_mb"] = demo.peak_rss_mb()
        finally:
            demo.stop()
    finally:
        run(db.drop())
    show(kind, found)
    return found


def show(kind: str, found: dict[str, Any]) -> None:
    heading(f"{kind}: ms (p50 / p95 / max), in the page")
    listing = found["list"]
    for phase, label in (("signin", "sign-in submit → rows"), ("reload", "reload: navigation start → rows")):
        for what in ("rows", "frame", "after_answer"):
            p = listing[phase][what]
            if not p["n"]:
                continue
            name = f"{label} ({WHAT[what]})"
            print(f"  {name:<50} {p['p50_ms']:>8.1f} {p['p95_ms']:>8.1f} {p['max_ms']:>8.1f}   n={p['n']}")
    print(f"  rows awaited: {listing['rows']}; machine busy {listing['machine_busy_cores']} cores")
    for phase in ("signin", "reload"):
        spans = "  ".join(
            f"{path.removeprefix('/api/v1')} {c['start_p50_ms']:.0f}→{c['end_p50_ms']:.0f}"
            for path, c in listing[phase]["calls"].items()
        )
        print(f"  {phase} API calls (median start→end ms): {spans}")
    for platform, live in found["live"].items():
        p = live["latency"]
        name = f"{platform}: callback → message in the open thread"
        print(
            f"  {name:<50} {p.get('p50_ms', 0):>8.1f} {p.get('p95_ms', 0):>8.1f} {p.get('max_ms', 0):>8.1f}   "
            f"n={p['n']} missing={live['missing']} (driver call p50 {live['driver_call'].get('p50_ms')} ms, "
            f"clock offset {live['clock']['offset_ms']} ms, busy {live['machine_busy_cores']})"
        )
    print(f"  demo process: {found['demo_cpu_cores']} cores over the run, peak RSS {found['demo_peak_rss_mb']} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20, help="measured repetitions of each case (after 2 warm-up)")
    parser.add_argument("--rows", type=int, default=0, help="rows to wait for (default: the list's page size)")
    parser.add_argument("--chatter", type=float, default=0.0, help="the demo's own customer actions per second")
    parser.add_argument("--sqlite-analyze", action="store_true", help="run ANALYZE on SQLite after seeding")
    args = parser.parse_args()
    rows = args.rows or list_page_size()
    figures: dict[str, Any] = {
        "settings": {**vars(args), "rows": rows},
        "targets_ms": {"list_after_signin": 300, "live_message": 1000},
        "databases": {},
    }
    for kind in database_kinds(args.db):
        heading(f"{kind}: seeding {args.conversations} conversations, {args.messages} messages")
        figures["databases"][kind] = bench(kind, args, rows)
    save("inbox_web", figures)


if __name__ == "__main__":
    main()
