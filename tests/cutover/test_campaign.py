"""Invitation campaign end to end: personal links go out within the reply policy, followers enter
WeCom through them (with and without a shared unionid), identities are linked, the report counts it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gateway.cutover.apply import apply_plan
from gateway.cutover.invitations import DEFAULT_TEMPLATE
from gateway.cutover.invite import run_campaign
from gateway.cutover.plan import propose
from gateway.cutover.planfile import dump_plan
from gateway.cutover.report import build_report
from gateway.db.cutover import CutoverInvitation
from gateway.db.models import Contact, ContactIdentity, Conversation, Message
from gateway.db.types import utcnow
from tests.api.support import make_keys
from tests.conftest import TEST_SECRET_KEY
from tests.cutover.support import APPID, CORP, cli, setup, wire
from tests.harness import Harness, harness

LINK = re.compile(r"(https?://\S+scene_param=\w+)")


async def _contact(h: Harness, channel_id: int, source_id: str) -> int | None:
    async with h.db.sessions() as session:
        return await session.scalar(
            select(ContactIdentity.contact_id).where(
                ContactIdentity.channel_id == channel_id, ContactIdentity.source_id == source_id
            )
        )


async def _link_sent_to(h: Harness, openid: str) -> str | None:
    for delivery in await h.driver.deliveries(platform="mp", touser=openid):
        found = LINK.search(str(delivery["payload"]))
        if found:
            return found.group(1)
    return None


async def test_campaign_links_followers_who_enter_and_the_report_counts_them(
    db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness(db, TEST_SECRET_KEY) as h:
        s = await setup(h)
        plan = (await propose(h.db, h.runtime.channels, s.mp, s.wecom, {"Carol": "bob"})).plan
        assert (await apply_plan(h.db, h.runtime.channels, plan)).failed == 0
        kfid = (await h.driver.wecom_corp(CORP))["kf_accounts"][-1]["open_kfid"]

        openids = {}
        for name, unionid in (("ann", "U-ann"), ("ben", "U-ben"), ("cat", "U-cat"), ("dan", "U-dan")):
            openids[name] = (await h.driver.mp_add_follower(APPID, unionid=unionid, nickname=name))["openid"]
        await h.driver.mp_user_text(APPID, openids["ann"], "where is my order?")
        await h.driver.mp_user_text(APPID, openids["ben"], "hello")
        await h.driver.mp_user_text(APPID, openids["cat"], " TD ")  # opts out

        async def all_in() -> bool:  # three wrote, and every profile (nickname for {name}) is fetched
            async with h.db.sessions() as session:
                wrote = await session.scalars(select(Conversation.id).where(Conversation.last_incoming_at.is_not(None)))
                named = await session.scalars(
                    select(Contact.name)
                    .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
                    .where(ContactIdentity.source_id.in_(list(openids.values())))
                )
                return len(list(wrote)) == 3 and sorted(n or "" for n in named) == ["ann", "ben", "cat", "dan"]

        await h.settle(all_in)
        dan = await _contact(h, s.mp, openids["dan"])
        async with h.db.session() as session:  # dan followed days ago and never wrote: no open grant
            await session.execute(
                update(Conversation)
                .where(Conversation.contact_id == dan)
                .values(last_event_at=utcnow() - timedelta(days=3))
            )

        dry = await run_campaign(h.db, plan, template=DEFAULT_TEMPLATE, dry_run=True)
        assert dict(dry.outcomes) == {"would_send": 2, "opted_out": 1, "window_closed": 1}
        wire(monkeypatch, h)
        dump_plan(plan, tmp_path / "plan.yaml")
        shown = await cli("migrate", "invite", "--plan", str(tmp_path / "plan.yaml"), "--dry-run")
        assert shown.exit_code == 0, shown.output
        assert "dry run: 4 followers in scope: 1 opted out, 1 window closed, 2 would send" in shown.stdout
        assert re.search(r"would send\s*│\s*2", shown.stdout) and "queued" not in shown.stdout  # the summary table
        unknown = await cli("migrate", "invite", "--plan", str(tmp_path / "plan.yaml"), "--opt-out", "o-nobody")
        assert unknown.exit_code == 1 and unknown.stderr.count("\n") == 1 and "o-nobody" in unknown.stderr
        assert await _link_sent_to(h, openids["ann"]) is None

        limited = await run_campaign(h.db, plan, template="hi {name}: {link}", limit=1, notify=h.runtime.jobs.notify)
        assert limited.outcomes["sent"] == 1 and limited.outcomes["left_for_later"] == 3
        rest = await run_campaign(h.db, plan, template="hi {name}: {link}", notify=h.runtime.jobs.notify)
        assert dict(rest.outcomes) == {"already_invited": 1, "sent": 1, "opted_out": 1, "window_closed": 1}

        async def delivered() -> bool:
            return all([await _link_sent_to(h, openids[n]) for n in ("ann", "ben")])

        await h.settle(delivered)
        links = {n: await _link_sent_to(h, openids[n]) for n in ("ann", "ben")}
        assert (
            links["ann"] != links["ben"]
            and links["ann"]
            and "hi ann: " in str((await h.driver.deliveries(platform="mp", touser=openids["ann"]))[0]["payload"])
        )
        assert await _link_sent_to(h, openids["cat"]) is None

        # ann's WeCom account is not bound to the same open platform: another unionid; ben's is
        ann_w = (await h.driver.wecom_add_customer(CORP, unionid="U-ann-corp", nickname="Ann W"))["external_userid"]
        ben_w = (await h.driver.wecom_add_customer(CORP, unionid="U-ben", nickname="ben"))["external_userid"]
        await h.driver.wecom_enter(CORP, ann_w, url=links["ann"])
        await h.driver.wecom_enter(CORP, ben_w, url=links["ben"])
        await h.driver.wecom_customer_send(CORP, kfid, ann_w, content="hi from WeCom")

        async def linked() -> bool:
            async with h.db.sessions() as session:
                entered = list(
                    await session.scalars(select(CutoverInvitation).where(CutoverInvitation.entered_at.is_not(None)))
                )
            return len(entered) == 2 and await _contact(h, s.wecom, ann_w) == await _contact(h, s.mp, openids["ann"])

        await h.settle(linked)
        assert await _contact(h, s.wecom, ben_w) == await _contact(h, s.mp, openids["ben"])

        async def wrote() -> bool:
            return (await build_report(h.db)).totals.wrote_wecom == 1

        await h.settle(wrote)
        report = await build_report(h.db)
        totals = report.to_dict()["totals"]
        assert totals == {
            "in_scope": 4,
            "invited": 2,
            "entered_wecom": 2,
            "wrote_wecom": 1,
            "only_mp": 2,
            "opted_out": 1,
        }
        day = utcnow().date().isoformat()
        assert report.days[day] == {"invited": 2, "entered_wecom": 2, "wrote_wecom": 1}
        assert report.agents["alice@gh_oa"][0] == "alice" and report.agents["k3@gh_oa"][0] == "bob"
        assert report.to_csv().splitlines()[1] == "total,,,4,2,2,1,2,1"

        # a forwarded link: whoever opens it after ann is not pulled into ann's contact
        stranger = (await h.driver.wecom_add_customer(CORP, unionid="U-str", nickname="S"))["external_userid"]
        await h.driver.wecom_enter(CORP, stranger, url=links["ann"])

        async def stranger_in() -> bool:
            return await _contact(h, s.wecom, stranger) is not None

        await h.settle(stranger_in)
        assert await _contact(h, s.wecom, stranger) != await _contact(h, s.mp, openids["ann"])

        again = await run_campaign(h.db, plan, template=DEFAULT_TEMPLATE)
        assert again.outcomes["sent"] == 0 and again.outcomes["entered"] == 2

        keys = await make_keys(h.db)
        auth = {"Authorization": f"Bearer {keys['read']}"}
        answer = await h.client.get("/api/v1/migration/report", headers=auth)
        assert answer.status_code == 200 and answer.json()["totals"] == totals
        csv = await h.client.get("/api/v1/migration/report", params={"format": "csv"}, headers=auth)
        assert csv.headers["content-type"].startswith("text/csv") and csv.text == report.to_csv()
        svg = await h.client.get("/api/v1/migration/report", params={"format": "svg"}, headers=auth)
        assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.startswith("<svg")
        missing = await h.client.get("/api/v1/migration/report", params={"plan": "nope"}, headers=auth)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_campaign_respects_the_reply_quota(db) -> None:
    """A follower whose open grant has no reply left is not invited until it has one again; an
    invitation whose send failed is sent again on the next run, one that went out is not."""
    async with harness(db, TEST_SECRET_KEY) as h:
        s = await setup(h)
        plan = (await propose(h.db, h.runtime.channels, s.mp, s.wecom, {"Carol": "bob"})).plan
        await apply_plan(h.db, h.runtime.channels, plan)
        eve = (await h.driver.mp_add_follower(APPID, unionid="U-eve", nickname="eve"))["openid"]
        await h.driver.mp_user_text(APPID, eve, "hi")

        async def wrote() -> bool:
            async with h.db.sessions() as session:
                return bool(
                    await session.scalar(select(Conversation.id).where(Conversation.last_incoming_at.is_not(None)))
                )

        await h.settle(wrote)
        async with (
            h.db.session() as session
        ):  # the agents used the message grant's 5 replies; the follow's grant lapsed
            await session.execute(
                update(Conversation).values(replies_since_incoming=5, last_event_at=utcnow() - timedelta(days=3))
            )
        used_up = await run_campaign(h.db, plan, template=DEFAULT_TEMPLATE, notify=h.runtime.jobs.notify)
        assert dict(used_up.outcomes) == {"quota_exhausted": 1}
        async with h.db.session() as session:
            await session.execute(update(Conversation).values(replies_since_incoming=4))
        last_one = await run_campaign(h.db, plan, template=DEFAULT_TEMPLATE, notify=h.runtime.jobs.notify)
        assert dict(last_one.outcomes) == {"sent": 1}

        async def delivered() -> bool:
            return await _link_sent_to(h, eve) is not None

        await h.settle(delivered)
        assert len(await h.driver.deliveries(platform="mp", touser=eve)) == 1
        again = await run_campaign(h.db, plan, template=DEFAULT_TEMPLATE)
        assert dict(again.outcomes) == {"already_invited": 1}

        async with h.db.session() as session:  # the send failed for good after all: the next run tries again
            invitation = await session.scalar(select(CutoverInvitation))
            await session.execute(update(Message).where(Message.id == invitation.message_id).values(status="failed"))
            await session.execute(update(Conversation).values(replies_since_incoming=0))
        retried = await run_campaign(h.db, plan, template=DEFAULT_TEMPLATE, notify=h.runtime.jobs.notify)
        assert dict(retried.outcomes) == {"sent": 1}
        async with h.db.sessions() as session:
            assert (await session.scalar(select(CutoverInvitation))).message_id != invitation.message_id
