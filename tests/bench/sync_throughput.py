"""Benchmark 2: sync throughput, simulator sync_msg pages of 1000 → SQL through the real Syncer and ingest.

A simulator process (`kefu-gateway simulator --state`) holds one kf account with `--messages`
customer text messages from `--customers` customers (empty-page rate 0, so every page is full) and
a valid callback sync Token. The benchmark process runs the gateway's own `Syncer` (with the
Runtime's channel adapter and after_ingest hook) over real HTTP on loopback: sync_msg page →
normalize → customer/batchget for new contacts → ingest (contacts, conversations, messages,
domain events, cursor) → one commit per page, the next page's sync_msg already under way.
Messages per second = messages stored / wall time.

Baseline, same run: the very message rows the sync stored, read back and inserted into a fresh
migrated database (parents copied first, untimed) with a raw SQLAlchemy Core `insert(messages)`
executemany, 1000 rows and one commit per page. Target: sync ≥ 50 % of the raw insert rate.

    .venv/bin/python -m tests.bench.sync_throughput [--db sqlite|postgresql|both] [--messages 50000]
        [--customers 2000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.bench.common import (
    AES_KEY,
    BIN,
    CpuWatch,
    Server,
    StatementCounter,
    add_channel,
    database_kinds,
    free_port,
    fresh_database,
    heading,
    ratio,
    run,
    save,
    settings_for,
)

CORPID = "wwsyncbench00001"
SECRET = "wecom-app-secret"
OPEN_KFID = "wkSyncBenchAccount000000000001"
SYNC_TOKEN = "ENCsyncbenchtoken0000000000000000000000000000"
PAGE = 1000


async def build_world(path: Path, messages: int, customers: int) -> None:
    """Simulator state: corp, kf account, customers, `messages` text messages, a long-lived sync Token."""
    from kefu_sim import SimDriver, World, create_app
    from kefu_sim.wecom.state import SyncToken
    from kefu_sim.wecom_kf.actor import Actor

    world = World(seed=2)
    app = create_app(world)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        driver = SimDriver(client)
        await driver.wecom_create_corp(
            corpid=CORPID,
            secret=SECRET,
            sync_empty_page_rate=0.0,
            callback_token="SyncBenchToken",
            encoding_aes_key=AES_KEY,
        )
        await driver.wecom_add_kf_account(CORPID, name="Bench", open_kfid=OPEN_KFID)
        for n in range(customers):
            await driver.wecom_add_customer(CORPID, nickname=f"客户{n:05d}", unionid=f"U-sync-{n:05d}")
    corp = world.state.corps[CORPID]
    actor = Actor(world, None, corp)  # no dispatcher: no callbacks, the benchmark pulls
    account = corp.kf_accounts[OPEN_KFID]
    people = list(corp.customers.values())
    for n in range(messages):
        actor.write(account, people[n % len(people)], "text", {"content": f"你好，我的订单 {n} 还没到，麻烦查一下"})
        if n % 500 == 499:
            corp.sync_tokens.clear()  # every write issues a Token; keep the simulator's dict small
    corp.sync_tokens.clear()
    corp.sync_tokens[SYNC_TOKEN] = SyncToken(token=SYNC_TOKEN, open_kfid=OPEN_KFID, expires_at=world.now() + 86_400)
    path.write_bytes(world.dump())


class TimedChannel:
    """The Runtime's adapter, with the time spent in pull (HTTP + JSON + normalize) and profile fetches."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.pull_s = 0.0
        self.profiles_s = 0.0
        self.pages = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def pull(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await self.inner.pull(*args, **kwargs)
        finally:
            self.pull_s += time.perf_counter() - started
            self.pages += 1

    async def fetch_profiles(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await self.inner.fetch_profiles(*args, **kwargs)
        finally:
            self.profiles_s += time.perf_counter() - started


def profile_shares(profile: cProfile.Profile, total_s: float, top: int = 15) -> dict[str, float]:
    """Cumulative share of the run spent in the gateway's functions (cProfile; indicative only)."""
    stats = pstats.Stats(profile)
    rows = []
    for (path, line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "/gateway/" in path and name not in ("sync_stream", "_pull_all", "_execute_internal"):
            rows.append((cumulative, f"{path.split('/gateway/')[1]}:{line} {name}"))
    return {label: round(100 * cumulative / total_s, 1) for cumulative, label in sorted(rows, reverse=True)[:top]}


async def sync_run(url: str, sim_base: str, expected: int, *, profile: bool = False) -> dict[str, Any]:
    from gateway.db.engine import Database
    from gateway.db.models import Message
    from gateway.db.repositories.feed import save_callback_token
    from gateway.db.types import utcnow
    from gateway.inbound.sync import Syncer
    from gateway.runtime import Runtime

    channel_id = await add_channel(
        url, "wecom", app_id=CORPID, token="SyncBenchToken", name="wecom", api_base=f"{sim_base}/wecom"
    )
    db = Database(url)
    runtime = Runtime(settings_for(url), db=db)
    try:
        async with db.session() as session:  # what the kf_msg_or_event callback would have saved
            await save_callback_token(session, channel_id, OPEN_KFID, SYNC_TOKEN, utcnow())
        timed: dict[int, TimedChannel] = {}

        async def lookup(cid: int) -> Any:
            if cid not in timed:
                timed[cid] = TimedChannel(await runtime.channels.get(cid))
            return timed[cid]

        syncer = Syncer(db, lookup, runtime.settings.sync, after_ingest=runtime.followups.after_ingest)
        counter = StatementCounter(db.engine)
        watch = CpuWatch()
        cpu0 = time.process_time()
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        stored = await syncer.sync_stream(channel_id, OPEN_KFID)
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        busy = watch.busy_cores()
        counter.close()
        async with db.sessions() as session:
            count = await session.scalar(select(func.count()).select_from(Message))
        assert stored == expected == count, (stored, expected, count)
        channel = timed[channel_id]
        shares = profile_shares(profiler, elapsed) if profiler is not None else {}
        return {
            "profile_cumulative_pct": shares,
            "messages": stored,
            "seconds": round(elapsed, 3),
            "messages_per_s": round(stored / elapsed),
            "pages": channel.pages,
            # time inside pull; the Syncer fetches page N+1 while page N is written, so this overlaps
            # the ingest and is not a share of the wall time
            "pull_s": round(channel.pull_s, 3),
            "profiles_s": round(channel.profiles_s, 3),
            "bench_process_cpu_s": round(cpu, 3),
            "cpu_ms_per_page": round(1000 * cpu / max(1, channel.pages), 1),
            "machine_busy_cores": busy,
            "sql_statements": counter.statements,
            "sql_statements_per_message": round(counter.statements / max(1, stored), 2),
            "sql_compiled_afresh": counter.uncached,
            "sql_by_verb": counter.by_verb,
        }
    finally:
        await runtime.stop()
        await db.dispose()


async def raw_insert(source_url: str, kind: str) -> dict[str, Any]:
    """Copy the synced rows' parents into a fresh database, then time a Core executemany of the messages."""
    from gateway.db.engine import Database
    from gateway.db.models import Base, Message

    source = Database(source_url)
    target_db = await fresh_database(kind)
    target = Database(target_db.url)
    try:
        messages_table = Message.__table__
        parents = [
            t
            for t in Base.metadata.sorted_tables
            if t.name in ("channels", "inboxes", "agents", "contacts", "contact_identities", "conversations")
        ]
        async with source.engine.connect() as src:
            copies = {t.name: [dict(r._mapping) for r in await src.execute(select(t))] for t in parents}
            rows = [dict(r._mapping) for r in await src.execute(select(messages_table).order_by(messages_table.c.id))]
        async with target.engine.begin() as dst:
            for table in parents:
                if copies[table.name]:
                    await dst.execute(table.insert(), copies[table.name])
        for row in rows:
            del row["id"]
        watch = CpuWatch()
        started = time.perf_counter()
        for offset in range(0, len(rows), PAGE):
            async with target.engine.begin() as dst:
                await dst.execute(messages_table.insert(), rows[offset : offset + PAGE])
        elapsed = time.perf_counter() - started
        busy = watch.busy_cores()
        async with target.engine.connect() as dst:
            count = await dst.scalar(select(func.count()).select_from(messages_table))
        assert count == len(rows)
        return {
            "rows": len(rows),
            "seconds": round(elapsed, 3),
            "rows_per_s": round(len(rows) / elapsed),
            "machine_busy_cores": busy,
        }
    finally:
        await source.dispose()
        await target.dispose()
        await target_db.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="extra sync run under cProfile (slower; shares of time per gateway function)",
    )
    args = parser.parse_args()

    heading(f"simulator world: {args.messages} messages from {args.customers} customers")
    state = Path(tempfile.gettempdir()) / "kgw-bench-sync-world.json"
    run(build_world(state, args.messages, args.customers))
    port = free_port()
    sim = Server(
        "simulator",
        [str(BIN / "kefu-gateway"), "simulator", "--port", str(port), "--state", str(state)],
        port,
        ready_path="/_sim/clock",
    ).start(timeout=120)
    figures: dict[str, Any] = {
        "settings": {"messages": args.messages, "customers": args.customers, "page": PAGE},
        "target_ratio": 0.5,
        "databases": {},
    }
    try:
        for kind in database_kinds(args.db):
            heading(kind)
            db = run(fresh_database(kind))
            try:
                synced = run(sync_run(db.url, sim.base, args.messages))
                print(
                    f"sync:  {synced['messages']} messages in {synced['seconds']} s = {synced['messages_per_s']}/s "
                    f"({synced['pages']} pages; inside pull {synced['pull_s']} s, overlapping the ingest; "
                    f"profiles {synced['profiles_s']} s; process CPU {synced['bench_process_cpu_s']} s = "
                    f"{synced['cpu_ms_per_page']} ms per page; machine busy {synced['machine_busy_cores']})"
                )
                raw = run(raw_insert(db.url, kind))
                print(
                    f"       SQL: {synced['sql_statements']} statements ({synced['sql_statements_per_message']} per "
                    f"message, {synced['sql_compiled_afresh']} compiled afresh) {synced['sql_by_verb']}"
                )
                print(
                    f"raw:   {raw['rows']} rows in {raw['seconds']} s = {raw['rows_per_s']}/s "
                    f"(Core executemany, {PAGE} rows per commit)"
                )
                found = {"sync": synced, "raw_insert": raw, "ratio": ratio(synced["messages_per_s"], raw["rows_per_s"])}
                print(f"ratio sync/raw = {found['ratio']}  (target ≥ 0.5)")
                if args.profile:
                    again = run(fresh_database(kind))
                    try:
                        profiled = run(sync_run(again.url, sim.base, args.messages, profile=True))
                    finally:
                        run(again.drop())
                    found["profiled_run"] = profiled
                    print(f"cProfile run ({profiled['messages_per_s']}/s under the profiler), cumulative % of the run:")
                    for label, pct in profiled["profile_cumulative_pct"].items():
                        print(f"  {pct:>5}%  {label}")
                figures["databases"][kind] = found
            finally:
                run(db.drop())
    finally:
        sim.stop()
        state.unlink(missing_ok=True)
    save("sync_throughput", figures)


if __name__ == "__main__":
    main()
