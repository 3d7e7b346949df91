"""Sync streams and inboxes exist only for kf accounts a channel really has (gateway.inbound.directory.KfAccounts).

Whoever holds a WeCom channel's Token and EncodingAESKey can sign a kf_msg_or_event for any
OpenKfId. Before the screen, each such id became a sync stream polled forever (186 strays → 147
platform calls per 20 s). Now an unknown id triggers one directory refresh (rate-limited per
channel, remembered as unknown for a while) and, still unknown, is kept only as a rejected event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from gateway.db.models import Inbox, SyncCursor
from gateway.db.repositories.feed import save_callback_token
from gateway.db.types import utcnow
from tests.conftest import TEST_SECRET_KEY
from tests.harness import Harness, harness
from tests.reliability.forge import CORP, Targets, rejected, targets

ACCOUNT_LIST = "/cgi-bin/kf/account/list"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def h(db) -> AsyncIterator[Harness]:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        yield h


@pytest.fixture
def clock(h: Harness) -> Clock:
    clock = Clock()
    h.runtime.callbacks.accounts.clock = clock
    return clock


@pytest.fixture
async def t(h: Harness, clock: Clock) -> Targets:
    targets_ = await targets(h)  # reads the directory once
    clock.now += 60
    return targets_


async def streams(h: Harness) -> set[str]:
    async with h.db.sessions() as session:
        return set(await session.scalars(select(SyncCursor.stream)))


async def inboxes(h: Harness) -> dict[str, bool]:
    async with h.db.sessions() as session:
        return {i.source_id: i.enabled for i in await session.scalars(select(Inbox).where(Inbox.channel_id == 1))}


async def list_calls(h: Harness) -> int:
    return len(await h.driver.calls(path=ACCOUNT_LIST))


async def test_a_forged_open_kfid_creates_no_stream_and_no_inbox(h: Harness, t: Targets, clock: Clock) -> None:
    calls = await list_calls(h)
    push = t.push("wecom", t.document("wecom", OpenKfId="wkFORGED0001"))
    assert await push.send(h) == (200, "success")
    assert "wkFORGED0001" not in await streams(h)
    assert "wkFORGED0001" not in await inboxes(h)
    assert "wkFORGED0001" not in {s for _, s in await h.runtime.syncer.known_streams()}
    assert all(stream != "wkFORGED0001" for _, stream in h.runtime.syncer._streams)  # never woken
    (row,) = await rejected(h.db)
    assert "wkFORGED0001" in (row.error or "") and row.payload == push.plaintext
    assert await list_calls(h) == calls + 1  # the directory was asked once


async def test_a_flood_of_forged_ids_costs_one_refresh_per_interval(h: Harness, t: Targets, clock: Clock) -> None:
    calls = await list_calls(h)
    for n in range(60):
        assert await t.push("wecom", t.document("wecom", OpenKfId=f"wkFORGED{n:04}")).send(h) == (200, "success")
        clock.now += 0.1
    assert await list_calls(h) == calls + 1
    assert await streams(h) == set() and set(await inboxes(h)) == {t.open_kfid}
    assert len(await rejected(h.db)) == 60
    clock.now += 10  # past the refresh interval: the next unknown id is looked up again, once
    await t.push("wecom", t.document("wecom", OpenKfId="wkFORGED0059")).send(h)
    await t.push("wecom", t.document("wecom", OpenKfId="wkFORGED0058")).send(h)
    assert await list_calls(h) == calls + 2
    clock.now += 15  # the refresh interval passed again, but the platform just said 0059 is not there
    await t.push("wecom", t.document("wecom", OpenKfId="wkFORGED0059")).send(h)
    assert await list_calls(h) == calls + 2
    clock.now += 60  # forgotten: asked again
    await t.push("wecom", t.document("wecom", OpenKfId="wkFORGED0059")).send(h)
    assert await list_calls(h) == calls + 3
    assert await streams(h) == set()


async def test_a_new_kf_account_is_found_by_the_refresh_and_pulled(h: Harness, t: Targets, clock: Clock) -> None:
    """An account added on the platform after the last directory refresh: its first push refreshes and goes through."""
    fresh = (await h.driver.wecom_add_kf_account(CORP, "新客服"))["open_kfid"]
    assert fresh not in await inboxes(h)
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, fresh, customer, content="hello new account")
    await h.sync_all()
    assert (await inboxes(h))[fresh] is True and fresh in await streams(h)
    assert await rejected(h.db) == []
    assert (t.wecom, fresh) in await h.runtime.syncer.known_streams()


async def test_the_known_account_goes_through_without_asking_the_platform(h: Harness, t: Targets, clock: Clock) -> None:
    calls = await list_calls(h)
    assert await t.push("wecom", t.document("wecom")).send(h) == (200, "success")
    assert await streams(h) == {t.open_kfid} and await list_calls(h) == calls


async def test_account_changes_naming_unknown_accounts_create_no_inbox(h: Harness, t: Targets, clock: Clock) -> None:
    document = t.document(
        "wecom",
        Event="kf_account_auth_change",
        Token=None,
        OpenKfId=None,
        AuthAddOpenKfId=["wkFORGEDadd", t.open_kfid],
        AuthDelOpenKfId=["wkFORGEDdel"],
    )
    assert await t.push("wecom", document).send(h) == (200, "success")
    assert await inboxes(h) == {t.open_kfid: True}
    withdraw = t.document(
        "wecom", Event="kf_account_auth_change", Token=None, OpenKfId=None, AuthDelOpenKfId=t.open_kfid
    )
    assert await t.push("wecom", withdraw).send(h) == (200, "success")
    assert await inboxes(h) == {t.open_kfid: False}


async def test_a_stray_stream_left_by_an_older_version_is_not_polled(h: Harness, t: Targets) -> None:
    async with h.db.session() as session:
        await save_callback_token(session, t.wecom, "wkSTRAY", "ENCold", utcnow())
    assert await h.runtime.syncer.known_streams() == [(t.wecom, t.open_kfid)]


async def test_a_platform_that_fails_the_refresh_leaves_the_id_unknown(h: Harness, t: Targets, clock: Clock) -> None:
    await h.driver.add_fault(ACCOUNT_LIST, "errcode", -1, remaining=100)
    assert await t.push("wecom", t.document("wecom", OpenKfId="wkMAYBE")).send(h) == (200, "success")
    assert await streams(h) == set()
    assert len(await rejected(h.db)) == 1
