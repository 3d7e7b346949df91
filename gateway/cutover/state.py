"""The cutover's own rows: finished apply steps (cutover_steps) and the invite link a plan ended up with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.cutover.planfile import Plan, PlanError
from gateway.db.cutover import CutoverStep
from gateway.db.engine import Database


async def done_steps(db: Database, plan: str) -> dict[str, dict[str, Any]]:
    """step key → what the platform answered, for every finished step of the plan."""
    async with db.sessions() as session:
        rows = await session.scalars(select(CutoverStep).where(CutoverStep.plan == plan))
        return {row.step: dict(row.result) for row in rows}


async def record_step(db: Database, plan: str, step: str, result: dict[str, Any]) -> None:
    """Remember a finished step (its own transaction, so a later failure keeps it); a concurrent
    apply that recorded it first wins."""
    try:
        async with db.session() as session:
            session.add(CutoverStep(plan=plan, step=step, result=result))
    except IntegrityError:
        pass


async def invite_url(db: Database, plan: Plan) -> str:
    """The contact-way URL personal links are built on, or PlanError when apply has not made it."""
    way = plan.invite_way()
    done = await done_steps(db, plan.name)
    url = done.get(f"way:{way.entry}", {}).get("url")
    if not url:
        raise PlanError(
            f"plan {plan.name}: the {way.entry!r} contact way is not created yet; run `migrate apply` first"
        )
    return str(url)


async def save_plan_record(db: Database, plan: Plan) -> None:
    """The plan as applied (channels, MP kf account → servicer), what the report reads without the file."""
    result = {
        "mp_channel": plan.mp_channel,
        "wecom_channel": plan.wecom_channel,
        "servicers": {s.mp_kf_account: s.servicer for s in plan.servicers},
    }
    async with db.session() as session:
        row = await session.scalar(select(CutoverStep).where(CutoverStep.plan == plan.name, CutoverStep.step == "plan"))
        if row is None:
            session.add(CutoverStep(plan=plan.name, step="plan", result=result))
        else:
            row.result = result


async def plan_record(db: Database, name: str | None) -> tuple[str, dict[str, Any]]:
    """(plan name, its record): the one named, else the most recently applied."""
    query = select(CutoverStep).where(CutoverStep.step == "plan")
    if name:
        query = query.where(CutoverStep.plan == name)
    async with db.sessions() as session:
        row = await session.scalar(query.order_by(CutoverStep.id.desc()).limit(1))
    if row is None:
        raise PlanError(f"no applied plan named {name!r}" if name else "no cutover plan has been applied yet")
    return row.plan, dict(row.result)
