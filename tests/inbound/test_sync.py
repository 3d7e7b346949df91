"""The sync loop: racing pullers, crashes between fetch and commit, token expiry, backoff, media."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from gateway.db.models import Job, Media, Message, SyncCursor
from gateway.db.types import utcnow
from gateway.runtime import Runtime
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness

CORP = "wwcorp0001"


async def count(db, model) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def setup(h, n: int) -> tuple[int, str, str]:
    channel_id = await h.wecom_channel()
    await h.driver.wecom_update_corp(CORP, sync_empty_page_rate=0.3)  # empty pages with has_more=1 too
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    for i in range(n):
        await h.driver.wecom_customer_send(CORP, kf, customer, content=f"m{i}")
    return channel_id, kf, customer


async def test_two_pullers_racing_store_each_message_once(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id, kf, _ = await setup(h, 40)
        other = Runtime(h.runtime.settings, db=db, http_client=h.sim_http)  # a second replica's syncer
        try:
            results = await asyncio.gather(
                h.runtime.syncer.sync_stream(channel_id, kf), other.syncer.sync_stream(channel_id, kf)
            )
        finally:
            await other.stop()
        assert await count(db, Message) == 40
        if not db.is_sqlite:
            assert -1 in results  # the advisory lock let only one of them pull
        again = await h.runtime.syncer.sync_stream(channel_id, kf)
        assert again == 0 and await count(db, Message) == 40


async def test_crash_between_fetch_and_commit_loses_and_doubles_nothing(db, monkeypatch) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id, kf, _ = await setup(h, 30)
        await h.driver.wecom_update_corp(CORP, sync_empty_page_rate=0.0)
        import gateway.inbound.sync as sync_module

        real_ingest = sync_module.ingest
        calls = {"n": 0}

        async def crashing_ingest(session, batch):
            calls["n"] += 1
            result = await real_ingest(session, batch)  # rows are written in the transaction...
            if calls["n"] == 1:
                raise RuntimeError("process killed before COMMIT")  # ...and rolled back
            return result

        monkeypatch.setattr(sync_module, "ingest", crashing_ingest)
        with pytest.raises(RuntimeError, match="killed"):
            await h.runtime.syncer.sync_stream(channel_id, kf)
        assert await count(db, Message) == 0
        async with db.sessions() as session:
            assert await session.get(SyncCursor, (channel_id, kf)) is None or True
        stored = await h.runtime.syncer.sync_stream(channel_id, kf)  # "after restart"
        assert stored == 30 and await count(db, Message) == 30
        assert await h.runtime.syncer.sync_stream(channel_id, kf) == 0


async def test_crash_after_commit_does_not_reread(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id, kf, customer = await setup(h, 5)
        await h.runtime.syncer.sync_stream(channel_id, kf)
        async with db.sessions() as session:
            cursor = (await session.get(SyncCursor, (channel_id, kf))).cursor
        assert cursor
        for i in range(3):
            await h.driver.wecom_customer_send(CORP, kf, customer, content=f"late{i}")
        calls_before = len(await h.driver.calls(path="/cgi-bin/kf/sync_msg"))
        assert await h.runtime.syncer.sync_stream(channel_id, kf) == 3
        first = (await h.driver.calls(path="/cgi-bin/kf/sync_msg"))[calls_before]
        assert first["body"]["cursor"] == cursor  # resumed from the committed cursor
        assert await count(db, Message) == 8


async def test_token_expiry_mid_sync_is_transparent(db) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id, kf, customer = await setup(h, 3)
        await h.runtime.syncer.sync_stream(channel_id, kf)
        await h.driver.invalidate_tokens()
        await h.driver.wecom_customer_send(CORP, kf, customer, content="after expiry")
        assert await h.runtime.syncer.sync_stream(channel_id, kf) == 1
        gettoken = await h.driver.calls(path="/cgi-bin/gettoken")
        assert len(gettoken) == 2  # one fetch, one refresh after 40014


@pytest.mark.parametrize(("kind", "value"), [("errcode", 45009), ("http_status", 502)])
async def test_rate_limit_and_5xx_back_off_then_recover(db, kind: str, value: int) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id, kf, _ = await setup(h, 4)
        await h.driver.add_fault("/cgi-bin/kf/sync_msg", kind, value, remaining=3)
        syncer = h.runtime.syncer
        syncer.wake(channel_id, kf)
        before = asyncio.get_running_loop().time()
        await syncer._attempt(channel_id, kf)
        state = syncer._streams[(channel_id, kf)]
        assert state.failures == 1 and state.next_try >= before + 0.4  # first backoff: 0.5 s ± 20 %
        async with db.sessions() as session:
            assert (await session.get(SyncCursor, (channel_id, kf))).last_error
        await h.driver.clear_faults()
        await syncer._attempt(channel_id, kf)
        assert state.failures == 0 and await count(db, Message) == 4


async def test_media_is_downloaded_and_hashed(db, tmp_path: Path) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False, media_dir=tmp_path) as h:
        channel_id, kf, customer = await setup(h, 0)
        content = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
        import base64

        await h.driver.wecom_customer_send(
            CORP, kf, customer, "image", {"content_b64": base64.b64encode(content).decode()}
        )
        await h.runtime.syncer.sync_stream(channel_id, kf)
        await h.runtime.jobs.drain()
        async with db.sessions() as session:
            media = await session.scalar(select(Media))
            message = await session.scalar(select(Message))
        assert media is not None and media.status == "stored"
        assert media.sha256 == hashlib.sha256(content).hexdigest() and media.size == len(content)
        assert Path(media.path).read_bytes() == content
        assert message.content_attributes["media_status"] == "stored"


async def test_media_failure_is_retried_and_visible(db, tmp_path: Path) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False, media_dir=tmp_path) as h:
        channel_id, kf, customer = await setup(h, 0)
        await h.driver.wecom_customer_send(CORP, kf, customer, "file", {})
        await h.runtime.syncer.sync_stream(channel_id, kf)
        await h.driver.add_fault("/cgi-bin/media/get", "http_status", 503, remaining=20)
        await h.runtime.jobs.run_once()
        async with db.sessions() as session:
            job = await session.scalar(select(Job).where(Job.kind == "download_media"))
        assert job.status == "pending" and job.last_error
        await h.driver.clear_faults()
        async with db.session() as session:
            await session.execute(update(Job).values(run_at=utcnow()))
        await h.runtime.jobs.drain()
        assert await count(db, Media) == 1


async def test_a_nul_in_a_synced_text_does_not_block_the_stream(db) -> None:
    """sync_msg JSON may carry "\\u0000", which PostgreSQL cannot store: the page is stored (U+FFFD)
    instead of failing on every retry, and the messages after it arrive."""
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        channel_id, kf, customer = await setup(h, 0)
        for content in ("bad\x00text", "next"):
            await h.driver.wecom_customer_send(CORP, kf, customer, content=content)
        assert await h.runtime.syncer.sync_stream(channel_id, kf) == 2
        async with db.sessions() as session:
            contents = list(await session.scalars(select(Message.content).order_by(Message.id)))
        assert contents == ["bad\ufffdtext", "next"]
