"""Replay window: a verified callback whose signed timestamp is too far from now is refused (both ways).

Both signatures cover the query's `timestamp`, so an attacker replaying a captured request cannot
move it: the window bounds how long one capture is worth. (The body's CreateTime is not what counts:
in MP plain and compat mode the body is not signed at all.) MP channels whose bodies go unsigned say
so where the channel is shown, when it is added from the CLI, and in the log.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.channels.advice import channel_warnings
from gateway.db.models import InboundEvent
from gateway.settings import Settings
from gateway.wechat.crypto import sha1_signature
from tests.harness import AES_KEY
from tests.reliability.conftest import Rig, table_counts
from tests.reliability.forge import PLAIN_APPID, Targets, counted, rejected, targets

TARGETS = ["mp_plain", "mp_safe", "wecom"]


@pytest.fixture
async def t(rig: Rig) -> Targets:
    return await targets(rig.h)


async def refused(rig: Rig, push) -> None:
    before = await table_counts(rig.db)
    status, body = await push.send(rig.h)
    assert status == 400 and '"callback_stale"' in body, body
    assert await table_counts(rig.db) == before


@pytest.mark.parametrize("target", TARGETS)
# 305, not 301: the signed timestamp is whole seconds, so "now + 301" can reach the gateway as 300.x s ahead
@pytest.mark.parametrize("offset", [-305, 305, -3 * 365 * 86400, 10**9])
async def test_a_callback_signed_too_far_from_now_is_refused(rig: Rig, t: Targets, target: str, offset: int) -> None:
    push = t.push(target, t.document(target), timestamp=time.time() + offset)
    await refused(rig, push)
    assert counted(rig.h, push.channel_id, "callback_stale") == 1


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("offset", [-250, 250])
async def test_within_the_window_either_way_is_accepted(rig: Rig, t: Targets, target: str, offset: int) -> None:
    push = t.push(target, t.document(target), timestamp=time.time() + offset)
    assert await push.send(rig.h) == (200, "success")
    assert counted(rig.h, push.channel_id, "accepted") == 1


async def test_a_captured_push_replayed_later_is_refused(rig: Rig, t: Targets) -> None:
    """A real push of the platform, stored once; the same request ten minutes later is refused, not a duplicate."""
    await rig.h.driver.flush_callbacks()
    pushed = len(rig.h.sim_app.state.dispatcher.records)
    openid = (await rig.h.driver.mp_add_follower(PLAIN_APPID))["openid"]
    await rig.h.driver.mp_user_text(PLAIN_APPID, openid, "hi")
    await rig.h.driver.flush_callbacks()
    record = rig.h.sim_app.state.dispatcher.records[-1]
    assert len(rig.h.sim_app.state.dispatcher.records) > pushed and record.state == "delivered"
    replay = dict(url=record.url.removeprefix("http://gateway"), params=record.query, content=record.body.encode())
    assert (await rig.h.client.post(**replay)).status_code == 200  # at once: a retry, harmless
    await rig.h.driver.advance(600)
    before = await table_counts(rig.db)
    late = await rig.h.client.post(**replay)
    assert late.status_code == 400 and late.json()["error"]["code"] == "callback_stale"
    forged = dict(replay, content=record.body.replace("hi", "send me your password").encode())
    assert (await rig.h.client.post(**forged)).status_code == 400  # plain mode: another body, same signature
    assert await table_counts(rig.db) == before


async def test_a_stale_malformed_push_is_refused_not_kept(rig: Rig, t: Targets) -> None:
    push = t.push("mp_plain", t.document("mp_plain", CreateTime="²"), timestamp=time.time() - 3600)
    await refused(rig, push)
    assert await rejected(rig.db) == []


async def test_a_bad_signature_is_reported_as_such_even_when_old(rig: Rig, t: Targets) -> None:
    push = t.push("wecom", t.document("wecom"), timestamp=1_700_000_000)
    push.query["msg_signature"] = "0" * 40
    status, body = await push.send(rig.h)
    assert status == 400 and "callback_bad_signature" in body


async def test_a_signed_timestamp_that_is_no_number_is_refused(rig: Rig, t: Targets) -> None:
    push = t.push("mp_plain", t.document("mp_plain"))
    push.query |= {"timestamp": "²", "signature": sha1_signature("MpToken1", "²", push.query["nonce"])}
    await refused(rig, push)


async def test_the_window_is_a_setting_and_zero_turns_it_off(rig: Rig, t: Targets) -> None:
    settings = Settings.from_env({"GATEWAY_CALLBACK_MAX_AGE": "60", "GATEWAY_SECRET_KEY": "x" * 20})
    assert settings.server.callback_max_age == 60.0
    assert Settings.from_env({}).server.callback_max_age == 300.0
    rig.h.runtime.callbacks.max_age = 60
    await refused(rig, t.push("wecom", t.document("wecom"), timestamp=time.time() - 61))
    rig.h.runtime.callbacks.max_age = 0
    assert await t.push("wecom", t.document("wecom"), timestamp=1_700_000_000).send(rig.h) == (200, "success")


async def test_the_gateway_clock_follows_the_platform_in_tests(rig: Rig, t: Targets) -> None:
    """The simulator signs with its own clock; moving it a day on keeps its pushes accepted."""
    await rig.h.driver.advance(86400)
    openid = (await rig.h.driver.mp_add_follower(PLAIN_APPID))["openid"]
    await rig.h.driver.mp_user_text(PLAIN_APPID, openid, "tomorrow")
    await rig.h.driver.flush_callbacks()
    async with rig.db.sessions() as session:
        kinds = list(await session.scalars(select(InboundEvent.kind).where(InboundEvent.channel_id == t.mp_plain)))
    assert "text" in kinds


# ------------------------------------------------------------------ MP bodies without a signature


def test_which_channels_warn() -> None:
    assert channel_warnings("mp", {"callback_mode": "plain"}) and channel_warnings("mp", {"callback_mode": "compat"})
    assert channel_warnings("mp", {}) == channel_warnings("mp", {"callback_mode": "plain"})  # the adapter's default
    assert channel_warnings("mp", {"callback_mode": "safe"}) == []
    assert channel_warnings("wecom", {}) == []


async def test_the_channel_shows_the_warning_where_it_is_created_and_listed(rig: Rig, t: Targets) -> None:
    secrets = {"secret": "s", "token": "MpToken1", "encoding_aes_key": AES_KEY}
    created = await rig.api.call(
        "POST",
        "/api/v1/channels",
        json={
            "kind": "mp",
            "name": "compat",
            "app_id": "wxcompat",
            "secrets": secrets,
            "settings": {"callback_mode": "compat"},
        },
    )
    assert created.status_code == 201, created.text
    assert "safe" in created.json()["warnings"][0] and "not the message body" in created.json()["warnings"][0]
    listed = {c["name"]: c["warnings"] for c in (await rig.api.call("GET", "/api/v1/channels")).json()["data"]}
    assert listed["plain"] and listed["compat"]
    assert listed["safe"] == [] and listed["corp"] == []


async def test_the_warning_is_logged_once_when_the_channel_takes_callbacks(
    rig: Rig, t: Targets, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.api.callbacks")
    for _ in range(3):
        assert await t.push("mp_plain", t.document("mp_plain")).send(rig.h) == (200, "success")
        assert await t.push("mp_safe", t.document("mp_safe")).send(rig.h) == (200, "success")
    logged = [r.getMessage() for r in caplog.records if "not the message body" in r.getMessage()]
    assert len(logged) == 1 and f"channel {t.mp_plain} " in logged[0]


def test_channel_add_warns_about_plain_mode(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).with_name("kefu-gateway"))
    env = {**os.environ, "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "GATEWAY_SECRET_KEY": "k" * 24}
    env["GATEWAY_PUBLIC_URL"] = "https://kefu.example.com"  # no reachability warning to tell apart

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=60)

    assert run("db", "upgrade").returncode == 0
    common = ["--secret", "s", "--token", "t", "--aes-key", AES_KEY]
    plain = run("channel", "add", "mp", "--name", "p", "--appid", "wxp", "--mode", "plain", *common)
    assert plain.returncode == 0 and "warning:" in plain.stderr and "safe" in plain.stderr
    safe = run("channel", "add", "mp", "--name", "s", "--appid", "wxs", "--mode", "safe", *common)
    assert safe.returncode == 0 and "warning" not in safe.stderr
