"""Cutover mode of an MP channel: `settings.cutover = {plan, url, template, since}` turns on the
automatic reply with the personal link (gateway.cutover.links) and a warning on the channel."""

from __future__ import annotations

from gateway.cutover.invitations import DEFAULT_TEMPLATE, check_template
from gateway.cutover.planfile import Plan, PlanError
from gateway.cutover.state import invite_url
from gateway.db.engine import Database
from gateway.db.models import Channel
from gateway.db.types import utcnow
from gateway.domain import ChannelKind


async def set_cutover(db: Database, mp_channel: int, plan: Plan | None, template: str | None) -> str:
    """Turn cutover mode on (with `plan`) or off (plan None); returns a line saying what happened."""
    url = None
    if plan is not None:
        if plan.mp_channel != mp_channel:
            raise PlanError(f"plan {plan.name} moves MP channel {plan.mp_channel}, not {mp_channel}")
        url = await invite_url(db, plan)
        template = check_template(template or DEFAULT_TEMPLATE)
    async with db.session() as session:
        row = await session.get(Channel, mp_channel)
        if row is None or row.kind != ChannelKind.MP:
            raise PlanError(f"--mp-channel {mp_channel}: no such MP channel (`kefu-gateway channel list`)")
        settings = dict(row.settings)
        if plan is None:
            was = settings.pop("cutover", None)
            row.settings = settings
            return f"cutover mode off for channel {row.name}" + ("" if was else " (it was not on)")
        settings["cutover"] = {"plan": plan.name, "url": url, "template": template, "since": utcnow().isoformat()}
        row.settings = settings
        return f"cutover mode on for channel {row.name}: new conversations get the personal link of plan {plan.name}"
