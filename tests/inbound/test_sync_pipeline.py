"""The sync loop fetches page N+1 while page N is written: still one page, with its cursor, per commit, in order."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import func, select

import gateway.inbound.sync as sync_module
from gateway.channels.wecom import WeComChannel
from gateway.db.models import ContactIdentity, Message, SyncCursor
from gateway.runtime import Runtime
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness

CORP = "wwcorp0001"
PAGE = 3


async def count_messages(db) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Message))


async def committed_cursor(db, channel_id: int, stream: str) -> str | None:
    async with db.sessions() as session:
        row = await session.get(SyncCursor, (channel_id, stream))
        return row.cursor if row else None


async def setup(h, n: int) -> tuple[int, str]:
    channel_id = await h.wecom_channel()
    await h.driver.wecom_update_corp(CORP, sync_empty_page_rate=0.0)
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customers = [(await h.driver.wecom_add_customer(CORP))["external_userid"] for _ in range(2)]
    for i in range(n):
        await h.driver.wecom_customer_send(CORP, kf, customers[i % 2], content=f"m{i}")
    return channel_id, kf


def small_pages(monkeypatch: pytest.MonkeyPatch, log: list[tuple[str, Any]], fail_pull: set[int] = frozenset()) -> None:
    real_pull = WeComChannel.pull
    pulls = {"n": 0}

    async def pull(
        self: WeComChannel, stream: str, cursor: str | None, *, token: str | None = None, limit: int = 1000
    ) -> Any:
        pulls["n"] += 1
        n = pulls["n"]
        log.append(("pull", cursor))
        if n in fail_pull:
            raise RuntimeError(f"pull {n} failed")
        page = await real_pull(self, stream, cursor, token=token, limit=PAGE)
        log.append(("pulled", page.batch.cursor))
        return page

    monkeypatch.setattr(WeComChannel, "pull", pull)


async def test_each_page_is_written_after_the_previous_page_and_its_cursor_committed(db, monkeypatch) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id, kf = await setup(h, 10)
        log: list[tuple[str, Any]] = []
        small_pages(monkeypatch, log)
        real_ingest = sync_module.ingest
        seen: list[tuple[str | None, str | None]] = []  # (committed cursor when a page starts, its cursor)

        async def ingest(session, batch):
            seen.append((await committed_cursor(db, channel_id, kf), batch.cursor))
            log.append(("ingest", batch.cursor))
            result = await real_ingest(session, batch)
            log.append(("written", batch.cursor))
            return result

        monkeypatch.setattr(sync_module, "ingest", ingest)
        assert await h.runtime.syncer.sync_stream(channel_id, kf) == 10
        assert await count_messages(db) == 10
        assert len(seen) == 4  # 3 + 3 + 3 + 1
        assert seen[0][0] is None
        for (_, previous), (committed, _) in itertools.pairwise(seen):
            assert committed == previous  # the page before, cursor included, was committed first
        assert await committed_cursor(db, channel_id, kf) == seen[-1][1]
        # the next page was asked for before the current one was written
        for cursor in [c for _, c in seen[:-1]]:
            assert log.index(("pull", cursor)) < log.index(("written", cursor))
        assert await h.runtime.syncer.sync_stream(channel_id, kf) == 0


async def test_a_failed_page_drops_the_page_fetched_ahead(db, monkeypatch) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id, kf = await setup(h, 10)
        small_pages(monkeypatch, [])
        real_ingest = sync_module.ingest
        calls = {"n": 0}

        async def ingest(session, batch):
            calls["n"] += 1
            result = await real_ingest(session, batch)
            if calls["n"] == 2:
                raise RuntimeError("killed before COMMIT")
            return result

        monkeypatch.setattr(sync_module, "ingest", ingest)
        with pytest.raises(RuntimeError, match="killed"):
            await h.runtime.syncer.sync_stream(channel_id, kf)
        assert await count_messages(db) == PAGE  # page 1 only; page 3 was fetched, never written
        first_cursor = await committed_cursor(db, channel_id, kf)
        assert first_cursor is not None
        monkeypatch.setattr(sync_module, "ingest", real_ingest)
        assert await h.runtime.syncer.sync_stream(channel_id, kf) == 10 - PAGE
        stored = [m.source_id for m in (await _messages(db))]
        assert len(stored) == len(set(stored)) == 10


async def test_a_failed_pull_ahead_keeps_the_page_being_written(db, monkeypatch) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id, kf = await setup(h, 10)
        log: list[tuple[str, Any]] = []
        small_pages(monkeypatch, log, fail_pull={3})
        with pytest.raises(RuntimeError, match="pull 3 failed"):
            await h.runtime.syncer.sync_stream(channel_id, kf)
        assert await count_messages(db) == 2 * PAGE  # pages 1 and 2 committed, with page 2's cursor
        pulled = [c for kind, c in log if kind == "pulled"]
        assert await committed_cursor(db, channel_id, kf) == pulled[1]
        log.clear()
        assert await h.runtime.syncer.sync_stream(channel_id, kf) == 10 - 2 * PAGE
        assert log[0] == ("pull", pulled[1])  # resumed from the committed cursor
        assert await count_messages(db) == 10


async def _messages(db) -> list[Message]:
    async with db.sessions() as session:
        return list(await session.scalars(select(Message)))


async def test_profiles_are_fetched_once_per_new_contact(db, monkeypatch) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id, kf = await setup(h, 10)
        small_pages(monkeypatch, [])
        path = "/cgi-bin/kf/customer/batchget"
        assert await h.runtime.syncer.sync_stream(channel_id, kf) == 10
        fetched = [c["body"]["external_userid_list"] for c in await h.driver.calls(path=path)]
        assert sorted(u for ids in fetched for u in ids) == sorted({m.contact_source_id for m in await _contacts(db)})
        # a restarted process (empty cache) and a new customer: only the new one is fetched
        newcomer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
        await h.driver.wecom_customer_send(CORP, kf, newcomer, content="hello")
        other = Runtime(h.runtime.settings, db=db, http_client=h.sim_http)
        assert await other.syncer.sync_stream(channel_id, kf) == 1
        fetched = [c["body"]["external_userid_list"] for c in await h.driver.calls(path=path)]
        assert fetched[-1] == [newcomer] and len(fetched) == 2
        async with db.sessions() as session:
            identity = await session.scalar(select(ContactIdentity).where(ContactIdentity.source_id == newcomer))
        assert identity.unionid is not None and identity.profile


async def _contacts(db) -> list[Any]:
    async with db.sessions() as session:
        return list(await session.execute(select(ContactIdentity.source_id.label("contact_source_id"))))
