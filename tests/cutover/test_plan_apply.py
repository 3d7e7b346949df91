"""migrate plan → apply → apply again through the simulator: idempotent, resumable, dry run, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.cutover.apply import apply_plan
from gateway.cutover.plan import load_mapping, propose
from gateway.cutover.planfile import PlanError, dump_plan, load_plan
from gateway.db.models import Inbox
from tests.conftest import TEST_SECRET_KEY
from tests.cutover.support import CORP, setup
from tests.harness import harness


async def test_plan_apply_apply_again(db, tmp_path: Path) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        s = await setup(h)
        proposal = await propose(h.db, h.runtime.channels, s.mp, s.wecom, {"Carol": "bob"})
        plan = proposal.plan
        assert [a.name for a in plan.accounts] == ["oa"] and plan.accounts[0].open_kfid is None
        assert {(t.mp_kf_account, t.servicer, t.matched_by) for t in plan.servicers} == {
            ("alice@gh_oa", "alice", "name"),
            ("k3@gh_oa", "bob", "mapping"),
        }
        scenes = {w.entry: w.scene for w in plan.contact_ways}
        assert set(scenes) == {"invite", "menu", "article", "auto_reply"} and scenes["invite"] == "mp_invite"
        assert len(set(scenes.values())) == 4  # one scene per entry point: the report can tell them apart
        assert proposal.warnings == []
        path = tmp_path / "plan.yaml"
        dump_plan(plan, path)
        plan = load_plan(path)  # what the team edits comes back the same
        dump_plan(plan, tmp_path / "plan.json")
        assert load_plan(tmp_path / "plan.json") == plan  # and as JSON

        dry = await apply_plan(h.db, h.runtime.channels, plan, dry_run=True)
        assert dry.changed == 1 + 2 + 4 and dry.failed == 0
        corp = await h.driver.wecom_corp(CORP)
        assert len(corp["kf_accounts"]) == 1  # the dry run changed nothing

        first = await apply_plan(h.db, h.runtime.channels, plan)
        assert (first.count("created"), first.count("added"), first.failed) == (5, 2, 0)
        corp = await h.driver.wecom_corp(CORP)
        new = next(a for a in corp["kf_accounts"] if a["name"] == "oa")
        assert set(new["servicers"]) == {"alice", "bob"}
        async with h.db.sessions() as session:
            assert await session.scalar(select(Inbox.id).where(Inbox.source_id == new["open_kfid"]))

        again = await apply_plan(h.db, h.runtime.channels, plan)
        assert again.changed == 0 and again.failed == 0 and again.count("exists") == 7
        ways = await h.driver.calls(path="/cgi-bin/kf/add_contact_way")
        adds = await h.driver.calls(path="/cgi-bin/kf/account/add")
        assert len(ways) == 4 and len(adds) == 1


async def test_partial_failure_then_rerun_completes(db, tmp_path: Path) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        s = await setup(h)
        plan = (await propose(h.db, h.runtime.channels, s.mp, s.wecom, {"Carol": "bob"})).plan
        await h.driver.add_fault("/cgi-bin/kf/add_contact_way", "errcode", 95000, remaining=2)
        await h.driver.add_fault("/cgi-bin/kf/servicer/add", "errcode", 45009, remaining=1)
        cut = await apply_plan(h.db, h.runtime.channels, plan)
        assert cut.failed == 3 and cut.count("created") == 3  # the account and two links
        resumed = await apply_plan(h.db, h.runtime.channels, plan)
        assert resumed.failed == 0 and resumed.changed == 3  # one servicer, two links; nothing twice
        final = await apply_plan(h.db, h.runtime.channels, plan)
        assert final.changed == 0
        ok = [c for c in await h.driver.calls(path="/cgi-bin/kf/add_contact_way") if c.get("fault") is None]
        assert len(ok) == 4
        corp = await h.driver.wecom_corp(CORP)
        assert len([a for a in corp["kf_accounts"] if a["name"] == "oa"]) == 1


async def test_bad_and_partial_mappings_say_so_in_one_line(db, tmp_path: Path) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False) as h:
        s = await setup(h)
        with pytest.raises(PlanError) as unknown:
            await propose(h.db, h.runtime.channels, s.mp, s.wecom, {"dave@gh_oa": "bob"})
        assert "'dave@gh_oa'" in unknown.value.message and "\n" not in unknown.value.message
        partial = await propose(h.db, h.runtime.channels, s.mp, s.wecom)
        assert len(partial.warnings) == 1 and "k3@gh_oa (Carol)" in partial.warnings[0]
        with pytest.raises(PlanError, match=r"is a mp channel, not wecom"):
            await propose(h.db, h.runtime.channels, s.mp, s.mp)
        with pytest.raises(PlanError, match="no such channel"):
            await propose(h.db, h.runtime.channels, 99, s.wecom)
        # an unmatched servicer is skipped, not guessed
        skipped = await apply_plan(h.db, h.runtime.channels, partial.plan)
        assert skipped.count("skipped") == 1 and skipped.failed == 0

    bad_yaml = tmp_path / "m.yaml"
    bad_yaml.write_text("alice: [unclosed\n")
    with pytest.raises(PlanError, match=r"not valid YAML/JSON at line"):
        load_mapping(bad_yaml)
    bad_value = tmp_path / "m2.yaml"
    bad_value.write_text("Carol: {userid: bob}\n")
    with pytest.raises(PlanError, match="not a WeCom userid"):
        load_mapping(bad_value)
    plan = tmp_path / "p.yaml"
    plan.write_text(
        "name: x\nmp_channel: 1\nwecom_channel: 2\naccounts: [{key: main, name: oa}]\n"
        "servicers: [{mp_kf_account: a@gh, servicer: bob, account: other}]\n"
    )
    with pytest.raises(PlanError, match=r"servicers\[0\]\.account 'other' is not one of the plan's accounts"):
        load_plan(plan)
