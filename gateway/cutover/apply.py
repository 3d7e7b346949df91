"""Carry a cutover plan out on WeCom: kf accounts, servicers, contact-way links; idempotent.

Each finished step is recorded (gateway.cutover.state) before the next begins, so a run cut short by
a platform failure continues where it stopped, and a second full run changes nothing: kf accounts
are also found by name, servicers already on the account are left alone (servicer/add treats a
repeat as "ignored" anyway), and a contact way is created once per entry point. `dry_run` reads
the platform and reports what would change without a single write.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.channels.base import ManagesInboxes, require
from gateway.channels.pool import ChannelPool
from gateway.cutover.plan import channel_rows
from gateway.cutover.planfile import Plan
from gateway.cutover.state import done_steps, record_step, save_plan_record
from gateway.db.engine import Database
from gateway.errors import GatewayError
from gateway.inbound.directory import refresh_inboxes

# a 1×1 PNG: account/add needs an avatar; the team changes it in the WeCom console
AVATAR = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
CHANGED = ("created", "added", "would create", "would add")


@dataclass
class Change:
    step: str
    action: str  # created | added | exists | skipped | failed | would create | would add
    detail: str = ""


@dataclass
class ApplySummary:
    changes: list[Change] = field(default_factory=list)

    def count(self, *actions: str) -> int:
        return sum(1 for c in self.changes if c.action in actions)

    @property
    def changed(self) -> int:
        return self.count(*CHANGED)

    @property
    def failed(self) -> int:
        return self.count("failed")


def step_total(plan: Plan) -> int:
    return len(plan.accounts) + len(plan.servicers) + len(plan.contact_ways)


async def apply_plan(
    db: Database,
    channels: ChannelPool,
    plan: Plan,
    *,
    dry_run: bool = False,
    on_step: Callable[[Change], None] = lambda change: None,
) -> ApplySummary:
    await channel_rows(db, plan.mp_channel, plan.wecom_channel)
    adapter = await channels.get(plan.wecom_channel)
    wecom = require(adapter, ManagesInboxes, "create kf accounts")  # type: ignore[type-abstract]  # python/mypy#4717
    summary = ApplySummary()
    done = await done_steps(db, plan.name)

    def note(step: str, action: str, detail: str = "") -> None:
        change = Change(step, action, detail)
        summary.changes.append(change)
        on_step(change)

    async def finish(step: str, action: str, result: dict[str, str], detail: str = "") -> None:
        if not dry_run:
            await record_step(db, plan.name, step, result)
        note(step, action, detail)

    listed = {i.source_id: i for i in await adapter.list_inboxes()}
    kfids: dict[str, str | None] = {}
    for account in plan.accounts:
        step = f"account:{account.key}"
        recorded = done.get(step, {}).get("open_kfid")
        by_name = next((i.source_id for i in listed.values() if i.name == account.name), None)
        if recorded and recorded in listed:
            kfids[account.key] = recorded
            note(step, "exists", f"{account.name} ({recorded})")
        elif account.open_kfid or by_name:
            kfid = account.open_kfid or by_name
            if kfid not in listed:
                kfids[account.key] = None
                note(step, "failed", f"open_kfid {kfid} is not a kf account of channel {plan.wecom_channel}")
                continue
            kfids[account.key] = kfid
            await finish(step, "exists", {"open_kfid": str(kfid)}, f"{account.name} ({kfid})")
        elif dry_run:
            kfids[account.key] = None
            note(step, "would create", f"kf account {account.name!r}")
        else:
            try:
                info = await wecom.add_inbox(account.name, AVATAR)
            except GatewayError as exc:
                kfids[account.key] = None
                note(step, "failed", f"account/add {account.name!r}: {exc.message}")
                continue
            kfids[account.key] = info.source_id
            await finish(
                step, "created", {"open_kfid": info.source_id}, f"kf account {account.name!r} ({info.source_id})"
            )

    current: dict[str, set[str]] = {}
    for agent in await adapter.list_agents():
        for kfid in agent.inbox_source_ids:
            current.setdefault(kfid, set()).add(agent.source_id)
    for target in plan.servicers:
        step = f"servicer:{target.account}:{target.mp_kf_account}"
        if target.servicer is None:
            note(step, "skipped", f"{target.mp_kf_account}: no WeCom servicer in the plan")
            continue
        kfid = kfids.get(target.account)
        what = f"{target.servicer} ← {target.mp_kf_account}"
        if kfid is None:
            note(step, "would add" if dry_run else "skipped", what if dry_run else f"{what}: its kf account is missing")
            continue
        if target.servicer in current.get(kfid, set()):
            if step not in done and not dry_run:
                await record_step(db, plan.name, step, {"userid": target.servicer})
            note(step, "exists", what)
        elif dry_run:
            note(step, "would add", what)
        else:
            try:
                errcode = (await wecom.add_servicers(kfid, [target.servicer])).get(target.servicer, 0)
            except GatewayError as exc:
                note(step, "failed", f"{what}: {exc.message}")
                continue
            if errcode:
                note(step, "failed", f"{what}: servicer/add answered {errcode} (not a member, or not activated?)")
                continue
            await finish(step, "added", {"userid": target.servicer}, what)

    for way in plan.contact_ways:
        step = f"way:{way.entry}"
        if done.get(step, {}).get("url"):
            note(step, "exists", f"{way.entry} (scene {way.scene})")
            continue
        kfid = kfids.get(way.account)
        if dry_run or kfid is None:
            note(step, "would create" if dry_run else "skipped", f"{way.entry} link (scene {way.scene})")
            continue
        try:
            url = await wecom.contact_way_url(kfid, way.scene)
        except GatewayError as exc:
            note(step, "failed", f"add_contact_way {way.scene}: {exc.message}")
            continue
        await finish(step, "created", {"url": url, "scene": way.scene, "open_kfid": kfid}, f"{way.entry} link {url}")

    if not dry_run:
        await save_plan_record(db, plan)
    if not dry_run and summary.count("created"):
        await refresh_inboxes(db, adapter, plan.wecom_channel)  # the new accounts become inboxes now
    return summary
