"""Benchmark 1 (+ 6): callback ingest throughput and latency, against a bare Litestar endpoint; peak RSS.

Servers run on loopback under uvicorn with `kefu-gateway serve`'s options (uvloop, httptools, one
worker; tests/bench/serve_app.py); wrk (one thread, `--connections` connections) sends real
encrypted callbacks, every request a distinct valid body (tests/bench/rotate.lua rotates through
pre-generated files, so dedupe never short-circuits):

- WeCom `kf_msg_or_event` pushes, each with its own sync Token: verify, decrypt, store the
  inbound event (dedupe key), save the Token on the stream's cursor, ack, kick a sync.
- MP safe-mode text messages from 2,000 followers: verify, decrypt, normalize and ingest in the
  request (contact, conversation, message, domain event, profile job), ack.

The sync kick: by default the gateway runs with its sync loop and job runner off (`serve_app
gateway`: create_app(background=False)), so a kick only sets an asyncio.Event and the figures are
the callback path alone. `--sync simulator` adds a run of `serve_app gateway-loops` (sync + jobs
on) whose WeCom channel pulls from a simulator process that knows every Token, so each kick does a
real sync_msg pull (an empty page) and commits its cursor.

The bare endpoint (same route shape, reads the body, answers "success") is measured before and
after the gateway runs; the ratio uses their mean. Target: gateway ≥ 70 % of bare.

The peer (tests/bench/peer_handler.py, `serve_app peer`): a hand-written wechatpy handler on the
same server options that verifies, decrypts and parses each callback and commits one row per
callback (ON CONFLICT DO NOTHING; SQLite WAL through aiosqlite, PostgreSQL through asyncpg
autocommit), in a fresh database of its own. Each case runs peer then gateway back to back on the
same request files; the summary prints gateway/bare, gateway/peer and peer/bare (`--no-peer`
skips it). `--no-inprocess` skips the in-process breakdowns (steps, layers, SQL per callback).

    .venv/bin/python -m tests.bench.callback_ingest [--db sqlite|postgresql|both] [--duration 10]
        [--connections 32] [--profile] [--sync none|simulator] [--sweep 1,4,32] [--no-peer]
        [--no-inprocess]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import string
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from tests.bench.callback_layers import layer_costs
from tests.bench.common import (
    AES_KEY,
    PYTHON,
    BenchDatabase,
    Server,
    StatementCounter,
    add_channel,
    bench_server,
    database_kinds,
    free_port,
    fresh_database,
    gateway_env,
    heading,
    ratio,
    run,
    run_wrk,
    save,
    settings_for,
    write_requests,
)

CORPID = "wwbenchcorp000001"
APPID = "wxbenchapp0000001"
WECOM_TOKEN = "BenchWeComToken"
MP_TOKEN = "BenchMpToken"
OPEN_KFID = "wkBenchAccount0000000000000001"
FOLLOWERS = 2000


def wecom_requests(
    channel_id: int,
    count: int,
    rng: random.Random,
    open_kfid: str = OPEN_KFID,
) -> tuple[list[tuple[str, str]], list[str]]:
    """(path?query, body) of `count` kf_msg_or_event pushes and the sync Tokens they carry."""
    from gateway.wechat.crypto import WeChatCrypto
    from gateway.wechat.xmlmsg import build_xml

    crypto = WeChatCrypto(WECOM_TOKEN, AES_KEY, CORPID)
    now = int(time.time())
    requests, tokens = [], []
    for n in range(count):
        token = "ENC" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(44))
        plain = build_xml(
            {
                "ToUserName": CORPID,
                "CreateTime": now,
                "MsgType": "event",
                "Event": "kf_msg_or_event",
                "Token": token,
                "OpenKfId": open_kfid,
            }
        )
        nonce = str(rng.randint(10**8, 10**10 - 1))
        env = crypto.encrypt_message(plain, timestamp=str(now), nonce=nonce, to_user=CORPID, random16=rng.randbytes(16))
        target = f"/callbacks/{channel_id}?msg_signature={env.msg_signature}&timestamp={now}&nonce={nonce}"
        requests.append((target, env.xml))
        tokens.append(token)
        if n % 50_000 == 49_999:
            print(f"  {n + 1} WeCom bodies")
    return requests, tokens


def mp_requests(channel_id: int, count: int, rng: random.Random, first_msgid: int) -> list[tuple[str, str]]:
    """Safe-mode MP text messages (query signature + msg_signature, body <ToUserName/><Encrypt/>)."""
    from gateway.wechat.crypto import WeChatCrypto, sha1_signature
    from gateway.wechat.xmlmsg import build_xml

    crypto = WeChatCrypto(MP_TOKEN, AES_KEY, APPID)
    now = int(time.time())
    followers = [f"oBench{n:06d}" + "x" * 16 for n in range(FOLLOWERS)]
    out = []
    for n in range(count):
        openid = rng.choice(followers)
        plain = build_xml(
            {
                "ToUserName": "gh_bench",
                "FromUserName": openid,
                "CreateTime": now + n // 1000,
                "MsgType": "text",
                "Content": f"你好，订单 {n} 什么时候发货？",
                "MsgId": str(first_msgid + n),
            }
        )
        nonce = str(rng.randint(10**8, 10**10 - 1))
        encrypt = crypto.encrypt(plain, random16=rng.randbytes(16))
        query = (
            f"signature={sha1_signature(MP_TOKEN, str(now), nonce)}&timestamp={now}&nonce={nonce}"
            f"&openid={openid}&encrypt_type=aes&msg_signature={crypto.signature(str(now), nonce, encrypt)}"
        )
        out.append((f"/callbacks/{channel_id}?{query}", build_xml({"ToUserName": "gh_bench", "Encrypt": encrypt})))
    return out


async def count_rows(url: str) -> dict[str, int]:
    from gateway.db.engine import Database
    from gateway.db.models import DomainEvent, InboundEvent, Job, Message

    db = Database(url)
    try:
        async with db.sessions() as session:
            return {
                model.__tablename__: await session.scalar(select(func.count()).select_from(model))
                for model in (InboundEvent, Message, DomainEvent, Job)
            }
    finally:
        await db.dispose()


async def count_peer_rows(url: str) -> dict[str, int]:
    from gateway.db.engine import Database

    db = Database(url)
    try:
        async with db.sessions() as session:
            return {
                table: int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
                for table in ("peer_wecom_events", "peer_mp_messages")
            }
    finally:
        await db.dispose()


def peer_env(db: BenchDatabase) -> dict[str, str]:
    """The peer's configuration: its own database, the channels' tokens and key."""
    return {
        "PEER_DATABASE_URL": db.url,
        "PEER_AES_KEY": AES_KEY,
        "PEER_MP_TOKEN": MP_TOKEN,
        "PEER_MP_APPID": APPID,
        "PEER_WECOM_TOKEN": WECOM_TOKEN,
        "PEER_WECOM_CORPID": CORPID,
    }


async def statements_per_callback(url: str, count: int = 200) -> dict[str, Any]:
    """In-process (ASGI, no server): SQL statements and fresh compilations per callback, by case."""
    from gateway.api.app import create_app
    from gateway.runtime import Runtime

    runtime = Runtime(settings_for(url))
    app = create_app(runtime.settings, runtime=runtime, background=False)
    rng = random.Random(7)
    cases = {
        "wecom": wecom_requests(1, count, rng)[0],
        "mp": mp_requests(2, count, rng, first_msgid=23_000_000_000_000_000),
    }
    out: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client:
            for case, requests in cases.items():
                half = count // 2
                for target, body in requests[:half]:  # warm the caches (and, for MP, create most contacts)
                    (await client.post(target, content=body)).raise_for_status()
                # the callback writer has an engine of its own (Runtime.callback_db): count both
                counters = [StatementCounter(runtime.db.engine), StatementCounter(runtime.callback_db.engine)]
                for target, body in requests[half:]:
                    (await client.post(target, content=body)).raise_for_status()
                by_verb: Counter[str] = Counter()
                for counter in counters:
                    counter.close()
                    by_verb.update(counter.by_verb)
                n = count - half
                out[case] = {
                    "statements": round(sum(c.statements for c in counters) / n, 1),
                    "uncached": round(sum(c.uncached for c in counters) / n, 1),
                    "by_verb": {k: round(v / n, 1) for k, v in sorted(by_verb.items())},
                }
    finally:
        await runtime.stop()
    return out


async def cpu_breakdown(url: str, count: int = 600) -> dict[str, Any]:
    """Sequential, in-process: wall and CPU µs of each step of a callback (process CPU, so the
    aiosqlite worker threads count), plus the cost of one trivial statement through the driver."""
    from urllib.parse import urlsplit

    from sqlalchemy import text

    from gateway.api.callbacks import exact_query
    from gateway.channels.base import CallbackRequest
    from gateway.db.repositories.feed import save_callback_token
    from gateway.db.repositories.inbound import record_inbound_many
    from gateway.db.types import utcnow
    from gateway.inbound.ingest import ingest
    from gateway.runtime import Runtime

    runtime = Runtime(settings_for(url))
    rng = random.Random(11)
    wecom = wecom_requests(1, count, rng)[0]
    mp = mp_requests(2, count, rng, first_msgid=22_000_000_000_000_000)
    out: dict[str, Any] = {}

    def request(target: str, body: str) -> CallbackRequest:
        return CallbackRequest(
            method="POST",
            query=exact_query(urlsplit(target).query.encode()),
            body=body.encode(),
            content_type="text/xml",
        )

    async def step(name: str, fn: Any, items: list[Any]) -> None:
        warm = len(items) // 5
        for item in items[:warm]:
            await fn(item)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for item in items[warm:]:
            await fn(item)
        n = len(items) - warm
        out[name] = {
            "wall_us": round((time.perf_counter() - wall0) / n * 1e6),
            "cpu_us": round((time.process_time() - cpu0) / n * 1e6),
        }

    try:
        wecom_channel, mp_channel = await runtime.channels.get(1), await runtime.channels.get(2)

        async def lookup(_: Any) -> None:
            await runtime.channels.get(1)

        async def trivial(_: Any) -> None:
            async with runtime.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        async def trivial_reused(_: Any) -> None:
            await reused.execute(text("SELECT 1"))

        async def wecom_verify(item: tuple[str, str]) -> None:
            await wecom_channel.handle_callback(request(*item))

        async def mp_verify(item: tuple[str, str]) -> None:
            await mp_channel.handle_callback(request(*item))

        wecom_results = [await wecom_channel.handle_callback(request(*i)) for i in wecom]
        mp_results = [await mp_channel.handle_callback(request(*i)) for i in mp]

        async def wecom_txn(result: Any) -> None:
            async with runtime.db.session() as session:
                await record_inbound_many(session, [(1, result.event_key, result.event_kind, result.payload)])
                await save_callback_token(session, 1, result.pull.stream, result.pull.token, utcnow())

        async def mp_txn(result: Any) -> None:
            async with runtime.db.session() as session:
                await record_inbound_many(session, [(2, result.event_key, result.event_kind, result.payload)])
                ingested = await ingest(session, result.batch)
                await runtime.followups.after_ingest(session, result.batch, ingested)

        await step("SELECT 1 (pool checkout + statement)", trivial, wecom)
        async with runtime.db.engine.connect() as reused:
            await step("SELECT 1 (statement only)", trivial_reused, wecom)
        await step("channel lookup (runtime.channel)", lookup, wecom)
        await step("wecom verify+decrypt+parse", wecom_verify, wecom)
        await step("wecom transaction (inbound event + token)", wecom_txn, wecom_results)
        await step("mp verify+decrypt+normalize", mp_verify, mp)
        await step("mp transaction (inbound event + ingest)", mp_txn, mp_results)
    finally:
        await runtime.stop()
    return out


def profile_summary(folded: Path, top: int = 25) -> dict[str, Any]:
    """Inclusive share of samples per function (each counted once per stack) and self share per file."""
    inclusive: Counter[str] = Counter()
    self_by_file: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        total += count
        frames = stack.split(";")
        if frames and frames[0].startswith(("thread", "process")):
            threads[frames[0].split(" ")[0] + (" main" if "MainThread" in stack.split(";")[0] else "")] += count
        names = set()
        for frame in frames:
            name = frame.split(" (")[0]
            where = frame[frame.find("(") + 1 : frame.rfind(":")] if "(" in frame else ""
            if "site-packages/" in where:
                where = where.split("site-packages/")[1]
            elif "/gateway/" in where:
                where = "gateway/" + where.split("/gateway/")[1]
            names.add(f"{name} [{where}]")
        for name in names:
            inclusive[name] += count
        leaf = frames[-1]
        where = leaf[leaf.find("(") + 1 : leaf.rfind(":")] if "(" in leaf else leaf
        if "site-packages/" in where:
            where = where.split("site-packages/")[1].split("/")[0]
        elif "/gateway/" in where:
            where = "gateway/" + where.split("/gateway/")[1]
        elif "/lib/python3" in where:
            where = "stdlib/" + where.split("/lib/python3")[1].split("/", 2)[-1]
        self_by_file[where] += count
    return {
        "samples": total,
        "inclusive_pct": {k: round(100 * v / total, 1) for k, v in inclusive.most_common(top)},
        "self_pct_by_module": {k: round(100 * v / total, 1) for k, v in self_by_file.most_common(top)},
    }


def measure(
    server: Server, name: str, requests_file: Path, warm_file: Path, args: argparse.Namespace, *, profile: bool = False
) -> dict[str, Any]:
    run_wrk(server.base, duration=2, connections=args.connections, requests_file=warm_file)
    cpu_before = server.cpu_seconds()
    result = run_wrk(server.base, duration=args.duration, connections=args.connections, requests_file=requests_file)
    result["server_cpu_cores"] = round((server.cpu_seconds() - cpu_before) / args.duration, 2)
    result["server_cpu_us_per_request"] = round(result["server_cpu_cores"] / result["requests_per_s"] * 1e6)
    result["other_cpu_cores"] = round(
        result["machine_busy_cores"] - result["server_cpu_cores"] - result["wrk_cpu_cores"], 2
    )
    result["loadavg_1m"] = round(os.getloadavg()[0], 2)
    raw = result.pop("raw")
    print(
        f"{name:<28} {result['requests_per_s']:>9.0f} req/s  p50 {result.get('p50_ms')} ms  "
        f"p99 {result.get('p99_ms')} ms  non-2xx {result['non_2xx']}  CPU cores: server "
        f"{result['server_cpu_cores']} wrk {result['wrk_cpu_cores']} other {result['other_cpu_cores']}; "
        f"server CPU per request {result['server_cpu_us_per_request']} µs; load {result['loadavg_1m']}"
    )
    if result["non_2xx"] or result["socket_errors"]:
        print(raw)
    if profile:
        folded = Path(tempfile.gettempdir()) / f"kgw-bench-{name.replace(' ', '_')}.folded"
        assert server.proc is not None
        spy = subprocess.Popen(
            [
                shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy"),
                "record",
                "-p",
                str(server.proc.pid),
                "-d",
                str(max(3, int(args.duration) - 2)),
                "-r",
                "200",
                "-f",
                "raw",
                "--nonblocking",
                "--threads",
                "-o",
                str(folded),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(0.5)
        run_wrk(server.base, duration=args.duration, connections=args.connections, requests_file=requests_file)
        spy.wait()
        if folded.exists():
            result["profile"] = profile_summary(folded)
            result["profile"]["folded_file"] = str(folded)
            print(f"  profile ({result['profile']['samples']} samples) → {folded}")
            for key, value in list(result["profile"]["inclusive_pct"].items())[:25]:
                print(f"    {value:>5}%  {key}")
        else:
            print("  py-spy failed:", spy.stderr.read().decode() if spy.stderr else "")
    return result


async def simulator_state(path: Path, tokens: list[str]) -> None:
    """A simulator world with the bench corp, its kf account and every Token the callbacks carry."""
    from kefu_sim import SimDriver, World
    from kefu_sim import create_app as create_simulator_app
    from kefu_sim.wecom.state import SyncToken

    world = World(seed=1)
    app = create_simulator_app(world)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
        driver = SimDriver(client)
        await driver.wecom_create_corp(corpid=CORPID, secret="wecom-app-secret", sync_empty_page_rate=0.0)
        await driver.wecom_add_kf_account(CORPID, name="Bench", open_kfid=OPEN_KFID)
    corp = world.state.corps[CORPID]
    expires = world.now() + 86_400
    for token in tokens:
        corp.sync_tokens[token] = SyncToken(token=token, open_kfid=OPEN_KFID, expires_at=expires)
    path.write_bytes(world.dump())


def bench_database(
    kind: str, args: argparse.Namespace, files: dict[str, Path], bare: dict[str, Any], tokens: list[str]
) -> dict[str, Any]:
    heading(f"{kind}: peer and gateway" if args.peer else f"{kind}: gateway")
    db = run(fresh_database(kind))
    peer_db: BenchDatabase | None = None
    out: dict[str, Any] = {}
    try:
        wecom_id = run(
            add_channel(
                db.url,
                "wecom",
                app_id=CORPID,
                token=WECOM_TOKEN,
                name="wecom",
                inboxes=(OPEN_KFID,),  # callbacks name it; the platform (port 9) cannot be asked
                api_base="http://127.0.0.1:9/wecom",
            )
        )
        mp_id = run(
            add_channel(
                db.url,
                "mp",
                app_id=APPID,
                token=MP_TOKEN,
                name="mp",
                callback_mode="safe",
                api_base="http://127.0.0.1:9/mp",
            )
        )
        assert (wecom_id, mp_id) == (1, 2), "request files assume channel ids 1 (wecom) and 2 (mp)"
        if args.inprocess:
            in_process(db.url, out)
        peer_server: Server | None = None
        if args.peer:
            peer_db = run(fresh_database(kind, migrate=False))  # the peer creates its two tables
            peer_server = bench_server("peer", "peer", free_port(), peer_env(peer_db)).start()
            out["peer"] = {}
        server = bench_server("gateway", "gateway", free_port(), gateway_env(db.url))
        try:
            server.start()
            for case in ("wecom", "mp"):
                if peer_server is not None:
                    out["peer"][case] = measure(
                        peer_server, f"{kind} peer {case}", files[case], files[f"{case}_warm"], args
                    )
                out[case] = measure(
                    server, f"{kind} gateway {case}", files[case], files[f"{case}_warm"], args, profile=args.profile
                )
            if args.sweep:
                out["wecom_by_connections"] = {}
                for connections in (int(c) for c in args.sweep.split(",")):
                    swept = argparse.Namespace(**{**vars(args), "connections": connections})
                    out["wecom_by_connections"][connections] = measure(
                        server, f"{kind} wecom c={connections}", files["wecom"], files["wecom_warm"], swept
                    )
            out["peak_rss_mb"] = server.peak_rss_mb()
            out["rss_end_mb"] = server.rss_mb()
            if peer_server is not None:
                out["peer"]["peak_rss_mb"] = peer_server.peak_rss_mb()
        finally:
            server.stop()
            if peer_server is not None:
                peer_server.stop()
        out["rows"] = run(count_rows(db.url))
        sent = sum(r["requests"] for r in (out["wecom"], out["mp"]))
        print(f"rows after the runs: {out['rows']}  (main runs sent {sent} requests; warm-ups come on top)")
        if peer_db is not None:
            out["peer"]["rows"] = run(count_peer_rows(peer_db.url))
            sent = sum(out["peer"][case]["requests"] for case in ("wecom", "mp"))
            print(f"peer rows after the runs: {out['peer']['rows']}  (main runs sent {sent}; warm-ups on top)")
        for case in ("wecom", "mp"):
            out[case]["ratio_to_bare"] = ratio(out[case]["requests_per_s"], bare["mean_requests_per_s"])
            print(f"{kind} {case}: gateway/bare = {out[case]['ratio_to_bare']}  (target ≥ 0.70)")
            if args.peer:
                out[case]["ratio_to_peer"] = ratio(out[case]["requests_per_s"], out["peer"][case]["requests_per_s"])
                print(f"{kind} {case}: gateway/peer = {out[case]['ratio_to_peer']}")
        print(f"serve process peak RSS {out['peak_rss_mb']} MB")
        if args.sync == "simulator":
            out["wecom_sync_on"] = bench_sync_on(kind, args, files, tokens, bare)
    finally:
        run(db.drop())
        if peer_db is not None:
            run(peer_db.drop())
    return out


def in_process(url: str, out: dict[str, Any]) -> None:
    """The in-process breakdowns: sequential steps, layers under 32 callers, SQL per callback."""
    out["cpu_breakdown"] = run(cpu_breakdown(url))
    print(
        "sequential in-process steps (wall / CPU µs): "
        + "; ".join(f"{k} {v['wall_us']}/{v['cpu_us']}" for k, v in out["cpu_breakdown"].items())
    )
    out["layers"] = run(layer_costs(url, wecom_requests(1, 8000, random.Random(3))[0]))
    layers = out["layers"]
    print(
        f"in-process CPU µs per WeCom callback, 32 concurrent: bare {layers['bare']}, gateway "
        f"{layers['gateway']} = bare + routing {layers['routing_us']} + verify/decrypt/parse "
        f"{layers['crypto_and_parse_us']} + durable write {layers['durable_write_us']} "
        f"({layers['callbacks_per_transaction']} callbacks per transaction)"
    )
    out["sql_per_callback"] = run(statements_per_callback(url))
    print(
        "SQL statements per callback (after warm-up): "
        + "; ".join(
            f"{case} {v['statements']} ({v['uncached']} compiled afresh) {v['by_verb']}"
            for case, v in out["sql_per_callback"].items()
        )
    )


def bench_sync_on(
    kind: str, args: argparse.Namespace, files: dict[str, Path], tokens: list[str], bare: dict[str, Any]
) -> dict[str, Any]:
    """WeCom callbacks with the sync loop on, pulling from a simulator process that knows the Tokens."""
    heading(f"{kind}: gateway with sync loop + jobs, pulling from the simulator")
    state = Path(tempfile.gettempdir()) / "kgw-bench-sim-state.json"
    run(simulator_state(state, tokens))
    sim_port = free_port()
    sim = Server(
        "simulator",
        [str(Path(PYTHON).parent / "kefu-gateway"), "simulator", "--port", str(sim_port), "--state", str(state)],
        sim_port,
        ready_path="/_sim/clock",
    ).start(timeout=60)
    db = run(fresh_database(kind))
    try:
        run(add_channel(db.url, "wecom", app_id=CORPID, token=WECOM_TOKEN, name="wecom", api_base=f"{sim.base}/wecom"))
        server = bench_server("gateway-loops", "gateway-loops", free_port(), gateway_env(db.url)).start()
        try:
            out = measure(server, f"{kind} gateway wecom +sync", files["wecom"], files["wecom_warm"], args)
            out["peak_rss_mb"] = server.peak_rss_mb()
        finally:
            server.stop()
        out["rows"] = run(count_rows(db.url))
        calls = httpx.get(f"{sim.base}/_sim/calls", params={"path": "/cgi-bin/kf/sync_msg"}, timeout=60).json()
        out["sync_msg_calls"] = len(calls)
        out["ratio_to_bare"] = ratio(out["requests_per_s"], bare["mean_requests_per_s"])
        print(
            f"{kind} wecom with sync on: gateway/bare = {out['ratio_to_bare']}; "
            f"sync_msg calls served by the simulator: {out['sync_msg_calls']}"
        )
    finally:
        sim.stop()
        run(db.drop())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--bodies", type=int, default=80_000, help="distinct bodies per file (≥ requests sent)")
    parser.add_argument("--profile", action="store_true", help="extra run of each case under py-spy")
    parser.add_argument("--sync", default="none", choices=["none", "simulator"])
    parser.add_argument("--sweep", default="", help="also run WeCom at these connection counts, e.g. 1,4,32")
    parser.add_argument("--no-peer", dest="peer", action="store_false", help="skip the hand-written wechatpy peer")
    parser.add_argument("--no-inprocess", dest="inprocess", action="store_false", help="skip the in-process breakdowns")
    args = parser.parse_args()

    rng = random.Random(1)
    work = Path(tempfile.mkdtemp(prefix="kgw-bench-callbacks-"))
    heading(f"pre-generating {args.bodies} distinct bodies per case in {work}")
    wecom, tokens = wecom_requests(1, args.bodies + 10_000, rng)
    files = {
        "wecom_warm": work / "wecom_warm.txt",
        "wecom": work / "wecom.txt",
        "mp_warm": work / "mp_warm.txt",
        "mp": work / "mp.txt",
    }
    write_requests(files["wecom_warm"], wecom[:10_000])
    write_requests(files["wecom"], wecom[10_000:])
    mp = mp_requests(2, args.bodies + 10_000, rng, first_msgid=24_000_000_000_000_000)
    write_requests(files["mp_warm"], mp[:10_000])
    write_requests(files["mp"], mp[10_000:])

    heading("bare Litestar endpoint (same uvicorn options)")
    bare: dict[str, Any] = {}
    kinds = database_kinds(args.db)
    bare_server = bench_server("bare", "bare", free_port(), {})
    bare_server.start()
    try:
        bare["before"] = measure(bare_server, "bare (before)", files["wecom"], files["wecom_warm"], args)
        bare["peak_rss_mb"] = bare_server.peak_rss_mb()
    finally:
        bare_server.stop()
    figures: dict[str, Any] = {
        "settings": {
            "duration_s": args.duration,
            "connections": args.connections,
            "wrk_threads": 1,
            "bodies_per_file": args.bodies,
            "sync": args.sync,
            "peer": args.peer,
        },
        "bare": bare,
    }
    bare["mean_requests_per_s"] = bare["before"]["requests_per_s"]
    results = {}
    for kind in kinds:
        results[kind] = bench_database(kind, args, files, bare, tokens)
    bare_server = bench_server("bare", "bare", free_port(), {}).start()
    try:
        bare["after"] = measure(bare_server, "bare (after)", files["wecom"], files["wecom_warm"], args)
    finally:
        bare_server.stop()
    bare["mean_requests_per_s"] = round((bare["before"]["requests_per_s"] + bare["after"]["requests_per_s"]) / 2)
    heading("summary (ratio against the mean of the two bare runs)")
    print(
        f"bare: {bare['before']['requests_per_s']:.0f} / {bare['after']['requests_per_s']:.0f} req/s "
        f"(mean {bare['mean_requests_per_s']})"
    )
    for kind, found in results.items():
        for case in ("wecom", "mp"):
            found[case]["ratio_to_bare"] = ratio(found[case]["requests_per_s"], bare["mean_requests_per_s"])
            print(
                f"{kind:<10} {case:<5} {found[case]['requests_per_s']:>8.0f} req/s  p50 {found[case].get('p50_ms')} "
                f"ms  p99 {found[case].get('p99_ms')} ms  ratio {found[case]['ratio_to_bare']}  (target ≥ 0.70)"
            )
            if "peer" in found:
                peer = found["peer"][case]
                peer["ratio_to_bare"] = ratio(peer["requests_per_s"], bare["mean_requests_per_s"])
                print(
                    f"{'':<10} {'':<5} peer {peer['requests_per_s']:>5.0f} req/s  p50 {peer.get('p50_ms')} ms  "
                    f"p99 {peer.get('p99_ms')} ms  gateway/bare {found[case]['ratio_to_bare']}  gateway/peer "
                    f"{found[case]['ratio_to_peer']}  peer/bare {peer['ratio_to_bare']}"
                )
        if "wecom_sync_on" in found:
            s = found["wecom_sync_on"]
            s["ratio_to_bare"] = ratio(s["requests_per_s"], bare["mean_requests_per_s"])
            print(f"{kind:<10} wecom+sync {s['requests_per_s']:>8.0f} req/s  ratio {s['ratio_to_bare']}")
        print(f"{kind:<10} serve process peak RSS {found['peak_rss_mb']} MB")
    figures["databases"] = results
    save("callback_ingest", figures)
    for path in files.values():
        path.unlink(missing_ok=True)
    os.rmdir(work)


if __name__ == "__main__":
    main()
