"""A person writing to a WeCom kf account and to the MP account is one contact with two identities."""

from __future__ import annotations

from sqlalchemy import func, select

from gateway.db.models import Contact, ContactIdentity, Job
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness

CORP, APPID = "wwcorp0001", "wxapp0000000001"


async def test_unionid_merges_wecom_and_mp_identities(db) -> None:
    async with harness(db, TEST_SECRET_KEY) as h:
        await h.wecom_channel()
        await h.mp_channel(appid=APPID)
        kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
        wecom_user = (await h.driver.wecom_add_customer(CORP, unionid="U-shared", nickname="Ann"))["external_userid"]
        openid = (await h.driver.mp_add_follower(APPID, unionid="U-shared", nickname="Ann"))["openid"]
        other = (await h.driver.mp_add_follower(APPID, unionid="U-other", nickname="Bo"))["openid"]
        await h.driver.mp_user_text(APPID, openid, "hi on MP")
        await h.driver.mp_user_text(APPID, other, "someone else")
        await h.driver.wecom_customer_send(CORP, kf, wecom_user, content="hi on WeCom")

        async def merged() -> bool:
            async with h.db.sessions() as session:
                identities = await session.scalar(select(func.count()).select_from(ContactIdentity))
                live = await session.scalar(
                    select(func.count()).select_from(Contact).where(Contact.merged_into_id.is_(None))
                )
            return identities == 3 and live == 2

        await h.settle(merged)

        async def jobs_done() -> bool:
            async with h.db.sessions() as session:
                return not await session.scalar(select(func.count()).select_from(Job).where(Job.status != "done"))

        await h.settle(jobs_done)
        async with h.db.sessions() as session:
            ann = await session.scalar(select(Contact).where(Contact.unionid == "U-shared"))
            owned = set(
                await session.scalars(select(ContactIdentity.source_id).where(ContactIdentity.contact_id == ann.id))
            )
            jobs = list(await session.scalars(select(Job)))
        assert owned == {wecom_user, openid}
        assert all(j.status == "done" for j in jobs), [(j.kind, j.status, j.payload, j.created_at, j.id) for j in jobs]
