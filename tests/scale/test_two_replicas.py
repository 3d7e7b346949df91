"""Two `kefu-gateway serve` processes on one PostgreSQL, fed by the simulator over real HTTP, one SIGKILLed mid-run.

What must hold (docs/architecture.md §1 "Scale-out"): every customer message stored exactly once, every reply
delivered exactly once, one token fetch per credential (and per revocation) whichever replica needs
it, and a replica dying mid-work loses nothing: its job leases run out and the survivor finishes.
Callbacks reach the replicas through a round-robin proxy that also mirrors every fourth one to both
replicas at once, so the replicas ingest side by side and race on the same callbacks.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from gateway.db.engine import Database
from gateway.db.models import AccessToken, Channel, Conversation, Inbox, Job, Message
from gateway.db.repositories.apikeys import create_key
from kefu_sim import SimDriver
from tests.conftest import TEST_SECRET_KEY
from tests.scale.cluster import (
    AsgiServer,
    CallbackProxy,
    Proc,
    free_port,
    fresh_pg_database,
    pg_admin_url,
    pg_unreachable_reason,
    run_cli,
    spawn,
    wait_ready,
)

pytestmark = pytest.mark.slow

AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORPID = "wwscale000000001"
APPID = "wxscale000000001"
KF_ACCOUNTS = 3
WECOM_CUSTOMERS = 60
MP_FOLLOWERS = 40
MESSAGES = 1000
REPLIES = 200
REPLIES_PER_CONVERSATION = 2  # well inside both platforms' 5-per-customer-message quota
SENDERS = 8  # customers writing at the same time
IN_FLIGHT = 120  # customer messages written but not yet stored, at most (keeps both replicas busy to the end)
INVALIDATE_AT = 250  # messages stored when the platform revokes every token
KILL_AT = 450  # … and when replica B is SIGKILLed, with a WeCom send in its hands
LEASE_SECONDS = 4.0  # GATEWAY_JOB_LEASE_SECONDS of both replicas
SLOW_SEND = 3.0  # send_msg latency while B is being killed: its call is still in the platform when it dies
DEADLINE = 150.0  # the whole run, start to finish


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database: scale-out is a PostgreSQL feature (SQLite is single-process).

    GATEWAY_TEST_DATABASE_URL when set (CI: then an unreachable server fails the test); otherwise the
    default local PostgreSQL if one answers, else the test is skipped, saying why.
    """
    admin = pg_admin_url()
    if not os.environ.get("GATEWAY_TEST_DATABASE_URL"):
        reason = pg_unreachable_reason(admin)
        if reason is not None:
            pytest.skip(reason)
    with fresh_pg_database(admin) as url:
        yield url


@dataclass
class Run:
    """What the drivers did and saw, for pacing and the final comparison."""

    base: dict[str, str]  # process name (sim, A, B, proxy) → base URL
    channel_ids: list[str]  # the WeCom channel, the MP channel
    procs: dict[str, Proc]
    api_key: str = ""
    expected: dict[str, str] = field(default_factory=dict)  # customer message source_id → content
    sent: int = 0  # customer messages written
    stored: int = 0  # … and stored by the gateway (the watcher's last look)
    conversations: list[int] = field(default_factory=list)
    replies: dict[int, str] = field(default_factory=dict)  # gateway message id → content
    replies_by_replica: Counter[str] = field(default_factory=Counter)
    reply_retries: int = 0
    reply_counts: Counter[int] = field(default_factory=Counter)  # conversation id → replies queued
    invalidated_at: float | None = None
    killed_at: float | None = None
    orphaned_jobs: list[int] = field(default_factory=list)  # B's running jobs when it died
    b_metrics: dict[str, float] = field(default_factory=dict)
    orphan_calls: list[int | None] = field(default_factory=list)  # errcodes of send_msg calls for B's orphans
    started: float = field(default_factory=time.monotonic)
    timeline: list[str] = field(default_factory=list)  # progress samples, printed with the outcome
    _tick: asyncio.Event = field(default_factory=asyncio.Event)

    def now(self) -> float:
        return time.monotonic() - self.started

    async def tick(self) -> None:
        """Wait for the watcher's next look at the database."""
        self._tick.clear()
        await self._tick.wait()

    async def reached(self, stored: int) -> None:
        while self.stored < stored:
            await self.tick()

    def alive(self) -> list[str]:
        return [name for name in ("A", "B") if self.procs[name].alive()]

    def logs(self) -> str:
        return "\n".join(proc.tail() for proc in self.procs.values())


async def _watch(db: Database, run: Run) -> None:
    """Every 0.2 s: customer messages stored and conversations open; a timeline line every 2 s."""
    last_line = -2.0
    while True:
        async with db.sessions() as session:
            run.stored = await session.scalar(
                select(func.count())
                .select_from(Message)
                .where(
                    Message.message_type == "incoming", Message.sender_type == "contact", Message.content_type == "text"
                )
            )
            run.conversations = list(await session.scalars(select(Conversation.id).order_by(Conversation.id)))
            if run.now() - last_line >= 2.0:
                last_line = run.now()
                replied = await session.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(Message.message_type == "outgoing", Message.status == "sent")
                )
                run.timeline.append(
                    f"{run.now():5.1f}s written {run.sent} stored {run.stored} replies {len(run.replies)} "
                    f"sent {replied} alive {run.alive()}"
                )
        run._tick.set()
        await asyncio.sleep(0.2)


def _plan(wecom: list[tuple[str, str]], mp: list[str]) -> list[tuple[str, str, str]]:
    """MESSAGES customer messages: everyone once first (so conversations open early), then at random."""
    rng = random.Random(7)
    who = [("wecom", kf, user) for kf, user in wecom] + [("mp", "", openid) for openid in mp]
    return who + [rng.choice(who) for _ in range(MESSAGES - len(who))]


async def _platforms(driver: SimDriver, run: Run) -> None:
    """The corp and the official account, calling back through the proxy (before the replicas start)."""
    proxy, channels = run.base["proxy"], run.channel_ids
    await driver.wecom_create_corp(
        corpid=CORPID,
        secret="scale-wecom-kf-secret",
        callback_url=f"{proxy}/callbacks/{channels[0]}",
        callback_token="ScaleToken",
        encoding_aes_key=AES_KEY,
    )
    await driver.mp_create_app(
        appid=APPID,
        secret="scale-mp-app-secret",
        wechat_id="gh_scale",
        callback_url=f"{proxy}/callbacks/{channels[1]}",
        callback_token="ScaleToken",
        encoding_aes_key=AES_KEY,
        callback_mode="safe",
    )


async def _customers(driver: SimDriver) -> tuple[list[tuple[str, str]], list[str]]:
    """kf accounts, WeCom customers (each writing to one kf account) and MP followers."""
    kfs = [(await driver.wecom_add_kf_account(CORPID, name=f"kf{n}"))["open_kfid"] for n in range(KF_ACCOUNTS)]
    wecom = []
    for n in range(WECOM_CUSTOMERS):
        wecom.append((kfs[n % KF_ACCOUNTS], (await driver.wecom_add_customer(CORPID))["external_userid"]))
    mp = [(await driver.mp_add_follower(APPID))["openid"] for _ in range(MP_FOLLOWERS)]
    return wecom, mp


async def _write(driver: SimDriver, run: Run, plan: list[tuple[str, str, str]]) -> None:
    """SENDERS customers at a time write the planned messages, never more than IN_FLIGHT ahead of ingest."""
    queue: asyncio.Queue[tuple[int, tuple[str, str, str]]] = asyncio.Queue()
    for item in enumerate(plan):
        queue.put_nowait(item)

    async def sender() -> None:
        while not queue.empty():
            n, (platform, kf, user) = queue.get_nowait()
            while run.sent - run.stored >= IN_FLIGHT:
                await run.tick()
            content = f"customer message {n}"
            if platform == "wecom":
                answer = await driver.wecom_customer_send(CORPID, kf, user, content=content)
            else:
                answer = await driver.mp_user_text(APPID, user, content)
            run.expected[str(answer["msgid"])] = content
            run.sent += 1

    await asyncio.gather(*(sender() for _ in range(SENDERS)))


async def _reply(http: httpx.AsyncClient, run: Run) -> None:
    """REPLIES replies, one per five messages stored, alternating between the replicas; a conversation's
    replies are posted back to back, one to each replica, so both replicas hold its sends at once."""
    n = 0
    while n < REPLIES:
        open_slots = [c for c in run.conversations if run.reply_counts[c] < REPLIES_PER_CONVERSATION]
        if (n >= run.stored // 5 and run.stored < MESSAGES) or not open_slots:
            await run.tick()
            continue
        conversation = min(open_slots, key=lambda c: (-run.reply_counts[c], c))
        content = f"reply {n}"
        replica = "AB"[n % 2]  # the CRM keeps using both addresses; B's share is retried on A once B is dead
        message_id = await _post_reply(http, run, replica, conversation, content, key=f"scale-reply-{n}")
        run.replies[message_id] = content
        run.reply_counts[conversation] += 1
        n += 1


async def _post_reply(
    http: httpx.AsyncClient, run: Run, replica: str, conversation: int, content: str, *, key: str
) -> int:
    """POST the reply; when the replica is gone (or busy with the same key) retry on the survivor with
    the same Idempotency-Key, as a CRM would: a request that did land is answered, not repeated."""
    for _ in range(20):
        try:
            response = await http.post(
                f"{run.base[replica]}/api/v1/conversations/{conversation}/messages",
                json={"content_type": "text", "content": content},
                headers={"Authorization": f"Bearer {run.api_key}", "Idempotency-Key": key},
                timeout=10.0,
            )
        except httpx.TransportError:  # refused, or cut off: maybe stored, maybe not; the key settles it
            run.reply_retries += 1
            replica = "A"
            continue
        if response.status_code == 202:
            run.replies_by_replica[replica] += 1
            return int(response.json()["id"])
        if response.status_code != 409:  # 409: the same key is being handled elsewhere right now
            raise AssertionError(f"reply via {replica} answered {response.status_code}: {response.text}")
        run.reply_retries += 1
        await asyncio.sleep(0.1)
    raise AssertionError(f"reply {key} was never accepted\n{run.logs()}")


async def _chaos(http: httpx.AsyncClient, driver: SimDriver, db: Database, run: Run) -> None:
    """Revoke every token at INVALIDATE_AT; SIGKILL replica B at KILL_AT in the middle of a WeCom send."""
    await run.reached(INVALIDATE_AT)
    while True:  # both credentials hold a token, so each must be fetched again exactly once
        async with db.sessions() as session:
            if await session.scalar(select(func.count()).where(AccessToken.token_sealed.is_not(None))) == 2:
                break
        await run.tick()
    await driver.invalidate_tokens()
    run.invalidated_at = run.now()

    await run.reached(KILL_AT)
    b = run.procs["B"]
    run.b_metrics = _metrics((await http.get(f"{run.base['B']}/metrics")).text)
    await driver.add_fault("/cgi-bin/kf/send_msg", "latency", SLOW_SEND)
    slowed = datetime.now(UTC)
    mine = Job.locked_by.like(f"{socket.gethostname()}:{b.pid}:%")
    wecom_channel = int(run.channel_ids[0])
    claimed_since_slowed = Job.locked_until >= slowed + timedelta(seconds=LEASE_SECONDS)
    deadline = time.monotonic() + 20.0
    while True:  # B claims a WeCom send, which now sits SLOW_SEND seconds in the platform
        async with db.sessions() as session:
            held = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(
                    Job.status == "running",
                    Job.kind == "send_message",
                    Job.channel_id == wecom_channel,
                    mine,
                    claimed_since_slowed,
                )
            )
        if held:
            break
        assert time.monotonic() < deadline, "replica B never took a send to die with"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # let the call reach the platform (it answers only after SLOW_SEND)
    b.kill()
    run.killed_at = run.now()
    await driver.clear_faults()
    async with db.sessions() as session:  # read after the kill: exactly what B abandoned
        run.orphaned_jobs = list(await session.scalars(select(Job.id).where(Job.status == "running", mine)))


def _metrics(body: str) -> dict[str, float]:
    """Totals of the gateway's counters in Prometheus text (summed over labels)."""
    totals: Counter[str] = Counter()
    for name, value in re.findall(r"^(gateway_[a-z_]+_total)\{[^}]*\} ([0-9.e+]+)$", body, flags=re.M):
        totals[name] += float(value)
    return dict(totals)


async def _settled(db: Database, run: Run) -> bool:
    """Every customer message stored, every reply finished, no job left."""
    async with db.sessions() as session:
        unfinished = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.id.in_(list(run.replies)), Message.status.not_in(("sent", "failed")))
        )
        busy = await session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(("pending", "running"))))
    return run.stored == MESSAGES and unfinished == 0 and busy == 0


async def test_two_replicas_share_the_work_and_survive_a_sigkill(pg_url: str, tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("sim", "A", "B", "proxy")}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        GATEWAY_DATABASE_URL=pg_url,
        GATEWAY_SECRET_KEY=TEST_SECRET_KEY,
        GATEWAY_ALLOW_CUSTOM_API_BASE="1",  # the replicas talk to the simulator, not to Tencent
        GATEWAY_PUBLIC_URL=base["proxy"],
        GATEWAY_SYNC_POLL_INTERVAL="1",
        GATEWAY_JOB_LEASE_SECONDS=str(LEASE_SECONDS),
        GATEWAY_MEDIA_DIR=str(tmp_path / "media"),
        GATEWAY_LOG_LEVEL="WARNING",
        GATEWAY_LOG_JSON="0",
    )
    started = time.monotonic()
    run_cli(["db", "upgrade"], env)
    secrets = ["--token", "ScaleToken", "--aes-key", AES_KEY]
    wecom_out = run_cli(
        [
            "channel",
            "add",
            "wecom",
            "--name",
            "scale-wecom",
            "--corpid",
            CORPID,
            "--secret",
            "scale-wecom-kf-secret",
            *secrets,
            "--api-base",
            f"{base['sim']}/wecom",
        ],
        env,
    )
    mp_out = run_cli(
        [
            "channel",
            "add",
            "mp",
            "--name",
            "scale-mp",
            "--appid",
            APPID,
            "--secret",
            "scale-mp-app-secret",
            *secrets,
            "--mode",
            "safe",
            "--api-base",
            f"{base['sim']}/mp",
        ],
        env,
    )
    channel_ids = [re.search(r"channel (\d+) ", out).group(1) for out in (wecom_out, mp_out)]  # type: ignore[union-attr]
    assert f"callback URL: {base['proxy']}/callbacks/{channel_ids[0]}" in wecom_out

    procs = {"sim": spawn("simulator", ["simulator", "--port", str(ports["sim"]), "--seed", "3"], env, tmp_path)}
    proxy = CallbackProxy([base["A"], base["B"]])
    proxy_server = AsgiServer(proxy, ports["proxy"])
    db = Database(pg_url)
    run = Run(base=base, channel_ids=channel_ids, procs=procs, started=started)
    watcher: asyncio.Task[None] | None = None
    try:
        async with (
            httpx.AsyncClient(timeout=10.0) as http,
            httpx.AsyncClient(base_url=base["sim"], timeout=30.0) as sim,
        ):
            await proxy_server.start()
            await wait_ready(http, f"{base['sim']}/_sim/clock", procs["sim"])
            driver = SimDriver(sim)
            await _platforms(driver, run)
            for name in ("A", "B"):
                procs[name] = spawn(f"replica-{name}", ["serve", "--port", str(ports[name])], env, tmp_path)
            for name in ("A", "B"):
                await wait_ready(http, f"{base[name]}/healthz", procs[name])
            async with db.session() as session:
                _, run.api_key = await create_key(session, name="scale-test", scope="write")
            wecom, mp = await _customers(driver)
            setup = run.now()
            watcher = asyncio.create_task(_watch(db, run))
            async with asyncio.timeout(DEADLINE - setup):
                await asyncio.gather(
                    _write(driver, run, _plan(wecom, mp)), _reply(http, run), _chaos(http, driver, db, run)
                )
                written = run.now()
                while not await _settled(db, run):
                    assert procs["A"].alive(), f"the surviving replica died\n{run.logs()}"
                    await run.tick()
            settled = run.now()
            await _check(run, db, driver, proxy, http)
            print(
                f"\nscale-out: setup {setup:.1f}s; {MESSAGES} messages and {REPLIES} replies written by "
                f"{written:.1f}s, all stored and delivered at {settled:.1f}s; tokens revoked at "
                f"{run.invalidated_at:.1f}s; B SIGKILLed at {run.killed_at:.1f}s holding jobs {run.orphaned_jobs} "
                f"(send_msg calls for them, errcodes: {run.orphan_calls}); "
                f"callbacks answered {dict(proxy.forwarded)}, unanswered {dict(proxy.failed)}, mirrored "
                f"{proxy.mirrored}; replies via {dict(run.replies_by_replica)} ({run.reply_retries} retried); "
                f"B's counters before death {run.b_metrics}\n" + "\n".join(run.timeline)
            )
    except BaseException:
        print("\n".join(run.timeline))
        print(run.logs())
        await _dump_simulator(base["sim"], tmp_path)
        raise
    finally:
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        await proxy_server.stop()
        await proxy.client.aclose()
        for proc in procs.values():
            proc.stop()
        await db.dispose()


async def _dump_simulator(sim_base: str, tmp_path: Path) -> None:
    """Keep the simulator's call and callback logs beside the process logs of a failed run."""
    try:
        async with httpx.AsyncClient(base_url=sim_base, timeout=10.0) as sim:
            for name in ("calls", "callbacks", "deliveries"):
                (tmp_path / f"sim-{name}.json").write_text((await sim.get(f"/_sim/{name}")).text)
        print(f"simulator logs in {tmp_path}")
    except httpx.HTTPError:
        pass


async def _check(run: Run, db: Database, driver: SimDriver, proxy: CallbackProxy, http: httpx.AsyncClient) -> None:
    # both replicas took callbacks and ingested; B died with a send in hand, which A then finished
    assert all(proxy.forwarded[run.base[name]] > 0 for name in ("A", "B")), proxy.forwarded
    assert proxy.mirrored > 0
    assert run.b_metrics.get("gateway_messages_in_total", 0) > 0, run.b_metrics
    a_metrics = _metrics((await http.get(f"{run.base['A']}/metrics")).text)
    assert a_metrics.get("gateway_messages_in_total", 0) > 0, a_metrics
    assert run.orphaned_jobs, "B was killed with no job in hand"
    async with db.sessions() as session:
        orphans = list(
            await session.execute(
                select(Job.id, Job.kind, Job.status, Job.attempts).where(Job.id.in_(run.orphaned_jobs))
            )
        )
    assert all(status == "done" and attempts >= 2 for _, _, status, attempts in orphans), orphans
    assert "send_message" in {kind for _, kind, _, _ in orphans}
    async with db.sessions() as session:
        orphan_msgids = set(
            await session.scalars(
                select(Message.source_id).where(
                    Message.id.in_(
                        [
                            payload["message_id"]
                            for payload in await session.scalars(
                                select(Job.payload).where(Job.id.in_(run.orphaned_jobs), Job.kind == "send_message")
                            )
                        ]
                    )
                )
            )
        )
    run.orphan_calls = [
        c.get("errcode")
        for c in await driver.calls(path="/cgi-bin/kf/send_msg")
        if isinstance(c["body"], dict) and c["body"].get("msgid") in orphan_msgids
    ]
    undelivered = [(c["seq"], c["state"], c["attempts"]) for c in await driver.callbacks() if c["state"] != "delivered"]
    assert not undelivered

    # every customer message exactly once, and the simulator agrees on what was written
    wecom_written = {m["msgid"] for m in await driver.wecom_messages(CORPID) if m["origin"] == 3}
    assert wecom_written <= set(run.expected) and len(run.expected) == MESSAGES
    async with db.sessions() as session:
        rows = list(
            await session.execute(
                select(Message.source_id, Message.content).where(
                    Message.message_type == "incoming", Message.sender_type == "contact", Message.content_type == "text"
                )
            )
        )
    assert Counter(source for source, _ in rows) == Counter(list(run.expected)), "a message was lost or doubled"
    assert dict(rows) == run.expected

    # every reply delivered exactly once (MP: at most once when the gateway says delivery_unknown)
    assert len(run.replies) == REPLIES
    async with db.sessions() as session:
        sent = list(
            await session.execute(
                select(Message.id, Message.source_id, Message.status, Message.error_code, Channel.kind)
                .join(Inbox, Inbox.id == Message.inbox_id)
                .join(Channel, Channel.id == Inbox.channel_id)
                .where(Message.id.in_(list(run.replies)))
            )
        )
    deliveries = [d for d in await driver.deliveries() if d["sender"] == "api"]
    by_msgid = Counter(d["msgid"] for d in deliveries if d["platform"] == "wecom")
    by_content = Counter(d["payload"].get("content") for d in deliveries if d["platform"] == "mp")
    unknown = delivered_unknown = 0
    for message_id, source_id, status, error_code, kind in sent:
        copies = by_msgid[source_id] if kind == "wecom" else by_content[run.replies[message_id]]
        if status == "failed" and kind == "mp" and error_code == "delivery_unknown":
            unknown += 1
            delivered_unknown += copies
            assert copies <= 1
        else:
            assert (status, copies) == ("sent", 1), (message_id, kind, status, error_code, copies)
    assert unknown <= 1, "more MP sends were cut mid-call than replica B could have had in flight"
    assert len(deliveries) == REPLIES - unknown + delivered_unknown, "a delivery nobody asked for"

    # each conversation's replies reached its customer in the order the API accepted them
    async with db.sessions() as session:
        rows = await session.execute(
            select(Message.id, Message.conversation_id).where(Message.id.in_(list(run.replies)))
        )
        conversation_of: dict[int, int] = {message_id: conversation_id for message_id, conversation_id in rows}
    id_of_msgid = {source_id: message_id for message_id, source_id, *_ in sent}
    id_of_content = {content: message_id for message_id, content in run.replies.items()}
    arrived: dict[int, list[int]] = {}
    for d in deliveries:  # in the simulator's delivery order
        message_id = id_of_msgid[d["msgid"]] if d["platform"] == "wecom" else id_of_content[d["payload"]["content"]]
        arrived.setdefault(conversation_of[message_id], []).append(message_id)
    assert all(ids == sorted(ids) for ids in arrived.values()), "a conversation's replies arrived out of order"
    assert sum(len(ids) > 1 for ids in arrived.values()) >= REPLIES // REPLIES_PER_CONVERSATION // 2

    # one token fetch per credential, and one more after the revocation: never one per replica
    assert len(await driver.calls(path="/cgi-bin/gettoken")) == 2
    assert len(await driver.calls(path="/cgi-bin/stable_token")) == 2
    assert await driver.calls(path="/cgi-bin/token") == []
    async with db.sessions() as session:
        assert sorted(await session.scalars(select(AccessToken.refresh_count))) == [2, 2]
