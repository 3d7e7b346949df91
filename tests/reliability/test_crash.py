"""The gateway killed at random points of its write paths, trial after trial: nothing lost, nothing doubled.

A "kill" is an exception raised from inside the product at one of these points, chosen per trial
with a seeded rng (and a random number of passes through the point before it fires):

    before_fetch     sync, before sync_msg is called
    after_fetch      sync, sync_msg answered, nothing written yet
    mid_transaction  ingest, after some message rows and events of a page were written (rolled back)
    before_cursor    ingest, every row of the page written, the cursor not yet
    after_commit     sync, a page committed, before the next page is fetched
    wecom_callback   callback, after the inbound events were written, before commit (every
                     callback of that group commit answered 500)
    mp_callback      callback, MP content ingested, before commit (answered 500)
    mp_after_commit  callback, committed, the answer lost (500 after the commit)

Between trials customers keep writing; sometimes the process "restarts" (a new Runtime: fresh
syncer, caches and token manager over the same database). The simulator retries failed pushes
like the platform does. After every recovery the stored messages are compared by msgid with the
simulator's own lists.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

import gateway.inbound.callbacks as intake_module
import gateway.inbound.ingest as ingest_module
from gateway.channels.wecom import WeComChannel
from gateway.runtime import Runtime
from gateway.wechat.xmlmsg import parse_xml
from tests.harness import Harness
from tests.reliability.conftest import APPID, CORP, Rig, exactly_once, stored_messages

TRIALS = 30
PAGE = 3  # sync_msg page size during the test, so a pull has several pages to be killed between
POINTS = (
    "before_fetch",
    "after_fetch",
    "mid_transaction",
    "before_cursor",
    "after_commit",
    "wecom_callback",
    "mp_callback",
    "mp_after_commit",
)


class Killed(Exception):
    """Stands for the process dying at a point (the exception unwinds and rolls back like a crash)."""


class Trap:
    """Raises Killed at `point` after it was passed `skip` times; fires once per arming."""

    def __init__(self) -> None:
        self.point: str | None = None
        self.skip = 0
        self.fired: list[str] = []

    def arm(self, point: str, skip: int) -> None:
        self.point, self.skip = point, skip

    def disarm(self) -> None:
        self.point = None

    def at(self, point: str) -> None:
        if self.point != point:
            return
        if self.skip > 0:
            self.skip -= 1
            return
        self.point = None
        self.fired.append(point)
        raise Killed(point)


def install(monkeypatch: pytest.MonkeyPatch, trap: Trap, runtime: Runtime, mp_channel: int) -> None:
    real_pull = WeComChannel.pull

    async def pull(
        self: WeComChannel, stream: str, cursor: str | None, *, token: str | None = None, limit: int = 1000
    ) -> Any:
        trap.at("before_fetch")
        page = await real_pull(self, stream, cursor, token=token, limit=PAGE)
        trap.at("after_fetch")
        return page

    real_append = ingest_module.append_event

    async def append_event(*args: Any, **kwargs: Any) -> Any:
        result = await real_append(*args, **kwargs)
        trap.at("mid_transaction")
        return result

    real_append_many = ingest_module.append_events

    async def append_events(*args: Any, **kwargs: Any) -> Any:  # a page's message.created events
        result = await real_append_many(*args, **kwargs)
        trap.at("mid_transaction")
        return result

    real_save_cursor = ingest_module.save_cursor

    async def save_cursor(*args: Any, **kwargs: Any) -> Any:
        trap.at("before_cursor")
        return await real_save_cursor(*args, **kwargs)

    real_record = intake_module.record_inbound_many

    async def record_inbound_many(session: Any, events: list[tuple[int, str, str, str]]) -> Any:
        new = await real_record(session, events)
        if any(kind == "event:kf_msg_or_event" for _, _, kind, _ in events):
            trap.at("wecom_callback")
        return new

    real_ingest = intake_module.ingest

    async def callback_ingest(session: Any, batch: Any) -> Any:
        result = await real_ingest(session, batch)
        trap.at("mp_callback")
        return result

    monkeypatch.setattr(WeComChannel, "pull", pull)
    monkeypatch.setattr(ingest_module, "append_event", append_event)
    monkeypatch.setattr(ingest_module, "append_events", append_events)
    monkeypatch.setattr(ingest_module, "save_cursor", save_cursor)
    monkeypatch.setattr(intake_module, "record_inbound_many", record_inbound_many)
    monkeypatch.setattr(intake_module, "ingest", callback_ingest)
    runtime.callbacks.isolate_failures = False  # a kill fails the whole shared transaction, as a crash would
    callback_metric = runtime.metrics.callbacks

    class AnswerLost:  # the commit happened; the process dies before answering "success"
        def labels(self, channel: str, outcome: str) -> Any:
            if outcome == "accepted" and channel == str(mp_channel):
                trap.at("mp_after_commit")
            return callback_metric.labels(channel, outcome)

    monkeypatch.setattr(runtime.metrics, "callbacks", AnswerLost())


def attach(syncer: Any, trap: Trap) -> None:
    syncer.on_page = lambda *_: trap.at("after_commit")


async def pull_all(h: Harness, runtime: Runtime) -> list[BaseException]:
    errors: list[BaseException] = []
    await h.driver.flush_callbacks()
    for channel_id, stream in await runtime.syncer.known_streams():
        try:
            await runtime.syncer.sync_stream(channel_id, stream)
        except Exception as exc:
            errors.append(exc)
    return errors


async def check(h: Harness, kfs: list[str], mp_pushes: list[str]) -> int:
    """Stored incoming messages == the platforms' customer messages, each once; returns how many."""
    platform = [m["msgid"] for m in await h.driver.wecom_messages(CORP) if m["origin"] == 3]
    stored = [
        m.source_id
        for kf in kfs
        for m in await stored_messages(h.db, inbox_source_id=kf)
        if m.message_type == "incoming"
    ]
    exactly_once(stored, set(platform))
    mp_stored = [
        m.source_id for m in await stored_messages(h.db, inbox_source_id=APPID) if m.message_type == "incoming"
    ]
    exactly_once(mp_stored, set(mp_pushes))
    return len(stored) + len(mp_stored)


@pytest.mark.parametrize("seed", [7, 8])
async def test_killed_at_random_points_loses_and_doubles_nothing(rig: Rig, monkeypatch, seed: int) -> None:
    h = rig.h
    rng = random.Random(seed)
    trap = Trap()
    await h.wecom_channel()
    mp_channel = await h.mp_channel(appid=APPID)
    await h.driver.wecom_update_corp(CORP, sync_empty_page_rate=0.2)
    kfs = [(await h.driver.wecom_add_kf_account(CORP, name=f"kf{i}"))["open_kfid"] for i in range(2)]
    customers = [(await h.driver.wecom_add_customer(CORP))["external_userid"] for _ in range(3)]
    followers = [(await h.driver.mp_add_follower(APPID))["openid"] for _ in range(2)]
    install(monkeypatch, trap, h.runtime, mp_channel)
    runtime = h.runtime
    attach(runtime.syncer, trap)
    mp_pushes: list[str] = []
    restarts = checks = 0

    schedule = list(POINTS) * (TRIALS // len(POINTS) + 1)  # every point armed about as often
    rng.shuffle(schedule)
    for trial in range(TRIALS):
        trap.arm(schedule[trial], rng.randint(0, 2))
        for n in range(rng.randint(1, 6)):
            if rng.random() < 0.7:
                kf, customer = rng.choice(kfs), rng.choice(customers)
                await h.driver.wecom_customer_send(CORP, kf, customer, content=f"t{trial}.{n}")
            else:
                sent = await h.driver.mp_user_text(APPID, rng.choice(followers), f"t{trial}.{n}")
                mp_pushes.append(str(sent["msgid"]))
        errors = await pull_all(h, runtime)
        assert all(isinstance(e, Killed) for e in errors), errors
        trap.disarm()
        if rng.random() < 0.4:  # the process restarts: nothing survives but the database
            runtime = Runtime(h.runtime.settings, db=h.db, http_client=h.sim_http)
            attach(runtime.syncer, trap)
            restarts += 1
        if rng.random() < 0.5 or trial == TRIALS - 1:
            assert await pull_all(h, runtime) == []
            await check(h, kfs, mp_pushes)
            checks += 1

    callbacks = h.sim_app.state.dispatcher.records
    assert all(c.state == "delivered" for c in callbacks), [c.state for c in callbacks]
    assert len(set(trap.fired)) >= 7, f"too few kinds of kill fired: {trap.fired}"
    assert restarts and checks >= 5
    total = await check(h, kfs, mp_pushes)
    assert total == len([m for m in await h.driver.wecom_messages(CORP) if m["origin"] == 3]) + len(mp_pushes)
    assert {parse_xml(c.plaintext).get("MsgType") for c in callbacks} >= {"event", "text"}
